"""Pure parsing of registry documents: media types, indexes, image manifests, configs, schema 1, digests."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockdoctor.platforms import Platform, PlatformError, checked, format_platform, is_attestation, normalize
from dockdoctor.probes.registry._failure import Kind
from dockdoctor.reference import DIGEST_HEX_LENGTHS

if TYPE_CHECKING:  # imported where results are built: a cold lookup's first request leaves before the model
    from dockdoctor.model import Attestation, ImagePlatform, ProbeErrorKind

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
SCHEMA1_TYPES = frozenset({SCHEMA1_SIGNED, SCHEMA1})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
GENERIC_TYPES = frozenset({"", "application/json", "text/plain", "application/octet-stream"})

# Brief §1.3: one header, most preferred first, ending in */* like containerd.
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, SCHEMA1_SIGNED, SCHEMA1, "*/*"))

MAX_MANIFEST_BYTES = 4 << 20
MAX_CONFIG_BYTES = 8 << 20
MAX_INDEX_ENTRIES = 1000  # entries read per reference, over all its indexes (real ones list a few dozen)
MAX_JSON_CONTAINERS = 100_000  # `{` and `[` in one document: 4 MiB of `{},` would be 1.4 million dicts to build

_HEX_RE = re.compile(r"[a-f0-9]+", re.ASCII)


class DocumentError(ValueError):
    """A registry document that cannot be understood (not JSON, wrong shape, digest mismatch)."""

    def __init__(self, kind: ProbeErrorKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Classified:
    """What a manifest response is: kind (index | manifest | schema1 | unknown) and its media type."""

    kind: str
    media_type: str
    doc: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class IndexContents:
    """An index's entries: runnable platforms, attestations, and child indexes still to fetch."""

    platforms: tuple[ImagePlatform, ...]
    attestations: tuple[Attestation, ...]
    children: tuple[str, ...]  # digests of nested indexes


@dataclass(frozen=True, slots=True)
class ImageManifest:
    """The parts of a single image manifest that decide what to fetch next."""

    config_digest: str
    config_media_type: str
    artifact_type: str  # set for artifacts (Helm charts, signatures, SBOMs)

    @property
    def is_artifact(self) -> bool:
        return bool(self.artifact_type) or self.config_media_type not in CONFIG_TYPES


def strip_params(content_type: str) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def sha256_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def is_digest(value: object) -> bool:
    """go-digest Validate: `algorithm:hex` with a known algorithm and exactly its length of lowercase hex.

    The one test every digest a registry names (index entries, config descriptors, attestation references,
    Docker-Content-Digest headers, tag entries read back from the cache) passes before it is used for anything:
    a URL, a cache path, a comparison, a fact.
    """
    if not isinstance(value, str):
        return False
    algorithm, sep, hex_part = value.partition(":")
    want = DIGEST_HEX_LENGTHS.get(algorithm)
    return bool(sep) and want is not None and len(hex_part) == want and _HEX_RE.fullmatch(hex_part) is not None


def check_digest(value: object, what: str) -> str:
    """value when it is a valid digest (is_digest), else a protocol DocumentError naming what carried it."""
    if is_digest(value):
        return value  # type: ignore[return-value]
    text = repr(value) if len(repr(value)) <= 90 else repr(value)[:80] + "..."
    raise DocumentError(
        Kind.PROTOCOL,
        f"{what} {text} is not a valid digest ({', '.join(DIGEST_HEX_LENGTHS)} "
        "followed by its exact number of lowercase hex digits)",
    )


def verify_digest(body: bytes, digest: str) -> None:
    """Raise digest-mismatch unless body hashes to `digest` (protocol error for a digest that is not valid)."""
    algorithm, _, expected = check_digest(digest, "digest").partition(":")
    actual = hashlib.new(algorithm, body).hexdigest()  # sha256, sha384, sha512: always there
    if actual != expected:
        raise DocumentError(Kind.DIGEST_MISMATCH, f"content has digest {algorithm}:{actual}, expected {digest}")


def load_json(body: bytes, what: str) -> Mapping[str, object]:
    """The JSON object in body, or a protocol DocumentError naming what was expected."""
    containers = body.count(b"{") + body.count(b"[")  # counted in C before anything is built (strings included)
    if containers > MAX_JSON_CONTAINERS:
        raise DocumentError(
            Kind.LIMIT,
            f"{what} has {containers} JSON objects and arrays, more than the "
            f"{MAX_JSON_CONTAINERS} dockdoctor reads in one document",
        )
    try:
        doc = json.loads(body)
    except RecursionError:
        raise DocumentError(Kind.PROTOCOL, f"{what} is nested too deeply to be a registry document") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise DocumentError(Kind.PROTOCOL, f"{what} is not JSON ({err})") from err
    if not isinstance(doc, dict):
        raise DocumentError(Kind.PROTOCOL, f"{what} is not a JSON object")
    return doc


def sniff(doc: Mapping[str, object]) -> str:
    """The media type a document's shape implies (brief §1.4): manifests, config, fsLayers."""
    if isinstance(doc.get("manifests"), list):
        return OCI_INDEX
    if isinstance(doc.get("config"), dict):
        return OCI_MANIFEST
    if doc.get("schemaVersion") == 1 or "fsLayers" in doc:
        return SCHEMA1_SIGNED if "signatures" in doc else SCHEMA1
    return ""


def kind_of(media_type: str) -> str:
    if media_type in INDEX_TYPES:
        return "index"
    if media_type in IMAGE_TYPES:
        return "manifest"
    if media_type in SCHEMA1_TYPES:
        return "schema1"
    return "unknown"


def classify(content_type: str, body: bytes) -> Classified:
    """Trust the body when Content-Type is missing, generic or contradicts it; else the header."""
    doc = load_json(body, "manifest")
    header = strip_params(content_type)
    declared = doc.get("mediaType")
    declared = declared if isinstance(declared, str) else ""
    shape = sniff(doc)
    if declared and kind_of(declared) != "unknown":
        media_type = declared
    elif header not in GENERIC_TYPES and kind_of(header) != "unknown" and kind_of(header) == kind_of(shape or header):
        media_type = header
    else:
        media_type = shape or declared or header
    return Classified(kind=kind_of(media_type), media_type=media_type, doc=doc)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _platform(raw: Mapping[str, object]) -> Platform:
    features = raw.get("os.features")
    return Platform(
        os=_str(raw.get("os")),
        architecture=_str(raw.get("architecture")),
        variant=_str(raw.get("variant")),
        os_version=_str(raw.get("os.version")),
        os_features=tuple(f for f in features if isinstance(f, str)) if isinstance(features, list) else (),
    )


def platform_string(raw: Mapping[str, object]) -> tuple[str, str]:
    """(normalized os/arch[/variant], os.version) of an OCI platform object or image config."""
    p = normalize(_platform(raw))
    if not p.os and not p.architecture:
        return "unknown", ""
    try:  # the registry's words become a platform only when they are one (a saved facts file must replay)
        return checked(p, full=False), p.os_version
    except PlatformError:
        raise DocumentError(
            Kind.PROTOCOL,
            f"platform {format_platform(p, full=False)!r} is not a platform (os/arch[/variant])",
        ) from None


def _annotations(desc: Mapping[str, object]) -> dict[str, str]:
    raw = desc.get("annotations")
    return {k: v for k, v in raw.items() if isinstance(v, str)} if isinstance(raw, dict) else {}


def _entry_is_attestation(desc: Mapping[str, object]) -> bool:
    raw = desc.get("platform")
    plat = raw if isinstance(raw, dict) else {}
    annotations = _annotations(desc)
    if not plat and not annotations:
        return False
    return is_attestation(os=_str(plat.get("os")), architecture=_str(plat.get("architecture")), annotations=annotations)


def parse_index(doc: Mapping[str, object], *, max_entries: int = MAX_INDEX_ENTRIES) -> IndexContents:
    """Index entries -> platforms, attestations (listed apart) and nested indexes; other artifacts are dropped.

    An entry without `platform` is kept with platform "unknown" (Docker matches it last). Every digest is
    validated; an index of more than max_entries entries is a `limit` error, read no further.
    """
    entries = doc.get("manifests")
    if not isinstance(entries, list):
        raise DocumentError(Kind.PROTOCOL, "index has no `manifests` list")
    if len(entries) > max_entries:
        which = (
            f"index lists {len(entries)} entries"
            if max_entries == MAX_INDEX_ENTRIES
            else "the indexes of this reference list"
        )
        raise DocumentError(
            Kind.LIMIT,
            f"{which}, more than the {MAX_INDEX_ENTRIES} entries dockdoctor reads for one reference",
        )
    from dockdoctor.model import Attestation, ImagePlatform

    platforms: list[ImagePlatform] = []
    attestations: list[Attestation] = []
    children: list[str] = []
    for number, desc in enumerate(entries, 1):
        if not isinstance(desc, dict) or desc.get("digest") in (None, ""):
            continue
        digest = check_digest(desc.get("digest"), f"index entry {number}: digest")
        media_type = _str(desc.get("mediaType"))
        if _entry_is_attestation(desc):
            refers_to = _annotations(desc).get("vnd.docker.reference.digest", "")
            if refers_to:
                check_digest(refers_to, f"index entry {number}: attestation reference")
            attestations.append(Attestation(digest=digest, refers_to=refers_to, media_type=media_type))
        elif media_type in INDEX_TYPES:
            children.append(digest)
        elif media_type and media_type not in IMAGE_TYPES and media_type not in SCHEMA1_TYPES:
            continue  # an artifact or unknown descriptor: never an error (image-index.md)
        else:
            raw = desc.get("platform")
            plat, os_version = platform_string(raw) if isinstance(raw, dict) else ("unknown", "")
            platforms.append(ImagePlatform(platform=plat, digest=digest, media_type=media_type, os_version=os_version))
    return IndexContents(tuple(platforms), tuple(attestations), tuple(children))


def parse_image_manifest(doc: Mapping[str, object]) -> ImageManifest:
    """config digest/media type and artifactType of an OCI or Docker schema 2 manifest."""
    config = doc.get("config")
    if not isinstance(config, dict) or config.get("digest") in (None, ""):
        raise DocumentError(Kind.PROTOCOL, "image manifest has no config descriptor")
    digest = check_digest(config.get("digest"), "image manifest: config digest")
    return ImageManifest(
        config_digest=digest,
        config_media_type=_str(config.get("mediaType")),
        artifact_type=_str(doc.get("artifactType")),
    )


def parse_config(body: bytes) -> tuple[str, str]:
    """(platform, os.version) from an image config blob."""
    doc = load_json(body, "image config")
    if not _str(doc.get("architecture")) and not _str(doc.get("os")):
        raise DocumentError(Kind.PROTOCOL, "image config has neither `os` nor `architecture`")
    return platform_string(doc)


def parse_schema1(doc: Mapping[str, object]) -> str:
    """Schema 1: `architecture` at the top, `os` inside history[0].v1Compatibility (a JSON string)."""
    os_name = ""
    history = doc.get("history")
    if isinstance(history, list) and history and isinstance(history[0], dict):
        compat = history[0].get("v1Compatibility")
        if isinstance(compat, str):
            try:
                first = json.loads(compat)
            except (ValueError, RecursionError):
                first = {}
            os_name = _str(first.get("os")) if isinstance(first, dict) else ""
    arch = _str(doc.get("architecture"))
    plat, _ = platform_string({"os": os_name or "linux", "architecture": arch})
    return plat


MAX_LAYERS = 256  # layers read from one image manifest (docker caps images at 127 layers)


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer descriptor of an image manifest: digest (validated), size and media type."""

    digest: str
    size: int
    media_type: str


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What a container of the image execs: Entrypoint, Cmd, Env (PATH) and WorkingDir from the config."""

    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    env: tuple[str, ...]
    workdir: str

    @property
    def argv(self) -> tuple[str, ...]:
        return self.entrypoint + self.cmd


def parse_layers(doc: Mapping[str, object]) -> tuple[Layer, ...]:
    """The layers of an OCI or Docker schema 2 image manifest, base first; every digest validated."""
    raw = doc.get("layers")
    if not isinstance(raw, list):
        raise DocumentError(Kind.PROTOCOL, "image manifest has no `layers` list")
    if len(raw) > MAX_LAYERS:
        raise DocumentError(
            Kind.LIMIT, f"image manifest lists {len(raw)} layers, more than the {MAX_LAYERS} dockdoctor reads"
        )
    layers = []
    for number, desc in enumerate(raw, 1):
        if not isinstance(desc, dict):
            raise DocumentError(Kind.PROTOCOL, f"layer {number} is not a descriptor")
        digest = check_digest(desc.get("digest"), f"layer {number}: digest")
        size = desc.get("size")
        layers.append(
            Layer(
                digest=digest,
                size=size if isinstance(size, int) and size >= 0 else 0,
                media_type=_str(desc.get("mediaType")),
            )
        )
    return tuple(layers)


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def parse_run_config(body: bytes) -> RunConfig:
    """Entrypoint, Cmd, Env and WorkingDir of an image config blob (the `config` object of it)."""
    doc = load_json(body, "image config")
    config = doc.get("config")
    config = config if isinstance(config, dict) else {}
    return RunConfig(
        entrypoint=_strings(config.get("Entrypoint")),
        cmd=_strings(config.get("Cmd")),
        env=_strings(config.get("Env")),
        workdir=_str(config.get("WorkingDir")),
    )
