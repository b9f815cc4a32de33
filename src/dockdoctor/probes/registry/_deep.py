"""`--deep`: the file a container of an image variant would exec, read from its layers in the registry.

The manifest and config come through the registry client's cached, digest-checked document door; layers are
streamed top layer first through its authenticated blob door and read only until the entry is seen (never
written to disk). What a scan saw of a layer (its entries and the few file heads read) is cached by the
layer's digest, so a second run reads nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from dockdoctor.model import DeepImage, ElfFacts, ImageFile, ProbeError, ProbeErrorKind
from dockdoctor.probes import elf as elfmod
from dockdoctor.probes import layers as lay
from dockdoctor.probes.registry import _manifest as mf
from dockdoctor.probes.registry._http import Stream
from dockdoctor.reference import ImageRef

if TYPE_CHECKING:
    from dockdoctor.probes.registry._client import _Client

PROBE = "deep"
INDEX_FORMAT = 1
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # moby's default PATH
MAX_CANDIDATES = 16
DEFAULT_BUDGET = 512 << 20  # compressed bytes per image
UNCOMPRESSED_FACTOR = 8  # decompressed bytes allowed per compressed byte of budget
STORED_HEADS = 1 << 20  # bytes of file heads kept in one layer's cached index
CHUNK = 16384  # bytes read from a layer stream at a time: the read stops within one chunk of the entry


@dataclass(slots=True)
class _Scanner:
    """Scans one image's layers for the merged view, with the image's byte budget and the layer cache."""

    client: _Client
    ref: ImageRef
    layers: tuple[mf.Layer, ...]
    budget: lay.Budget
    indexes: dict[int, lay.LayerIndex] = field(default_factory=dict)
    streamed: int = 0

    def __call__(self, number: int, goals: tuple[str, ...] | str, head: bool) -> lay.LayerIndex:
        goals = (goals,) if isinstance(goals, str) else goals
        index = self.indexes.get(number)
        if index is None:
            index = self._cached(self.layers[number].digest)
            if index is not None:
                self.indexes[number] = index
        if index is not None and (index.complete and not head or any(index.determined(g, head=head) for g in goals)):
            if not (head and index.complete and any(self._head_missing(index, g) for g in goals)):
                return index
        if self.client.options.offline:
            raise lay.LayerError(
                ProbeErrorKind.OFFLINE,
                f"layer {number + 1} of {len(self.layers)} is not in the layer cache "
                "(--offline reads no layers; run once without it)",
            )
        index = self._scan(number, goals)
        self.indexes[number] = index
        self._store(self.layers[number].digest, index)
        return index

    @staticmethod
    def _head_missing(index: lay.LayerIndex, goal: str) -> bool:
        entry = index.entries.get(goal)
        return entry is not None and entry.kind in ("file", "hardlink") and entry.head is None

    def _scan(self, number: int, goals: tuple[str, ...]) -> lay.LayerIndex:
        layer = self.layers[number]
        what = f"layer {number + 1} of {len(self.layers)} ({layer.digest[:19]})"
        wanted = set(goals)
        above = {a for g in goals for a in lay.ancestors(g)}
        resp = self.client._request(self.ref, "GET", f"blobs/{layer.digest}", accept="", stream=True)
        self.client._check(self.ref, resp)
        assert isinstance(resp, Stream)  # open() answers a 200 as a Stream, and _check let only a 200 through
        self.streamed += 1
        hasher = hashlib.new(layer.digest.partition(":")[0])
        index = lay.LayerIndex()

        def chunks() -> Iterator[bytes]:  # the compressed bytes, hashed as they pass
            for chunk in resp.chunks(CHUNK):
                hasher.update(chunk)
                yield chunk

        source = chunks()
        try:
            stream = lay.Decompressed(source, media_type=layer.media_type, budget=self.budget, what=what)
            for entry in lay.walk(stream, want_head=lambda p: p in wanted, what=what):
                index.add(entry)
                if entry.path in wanted or (entry.path in above and entry.kind not in ("dir", "opaque")):
                    break
            else:
                index.complete = True
                for rest in source:  # what follows the tar's end blocks (padding, the gzip trailer): hashed
                    self.budget.charge(compressed=len(rest))
                actual = f"{layer.digest.partition(':')[0]}:{hasher.hexdigest()}"
                if actual != layer.digest:
                    raise mf.DocumentError(
                        ProbeErrorKind.DIGEST_MISMATCH, f"{what}: content has digest {actual}, expected {layer.digest}"
                    )
        finally:
            resp.close()
        return index

    def _cached(self, digest: str) -> lay.LayerIndex | None:
        cache = self.client.cache
        raw = cache.get_layer_index(digest) if cache is not None else None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            if data.get("format") != INDEX_FORMAT or data.get("digest") != digest:
                return None
            index = lay.LayerIndex(complete=bool(data["complete"]))
            for path, kind, link, size, mode, head in data["entries"]:
                index.add(
                    lay.Entry(
                        path=str(path),
                        kind=str(kind),
                        link=str(link),
                        size=int(size),
                        mode=int(mode),
                        head=base64.b64decode(head) if head is not None else None,
                    )
                )
            for path in data["whiteouts"]:
                index.add(lay.Entry(path=str(path), kind="whiteout"))
            for path in data["opaque"]:
                index.add(lay.Entry(path=str(path), kind="opaque"))
            return index
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None  # a damaged entry: scan again

    def _store(self, digest: str, index: lay.LayerIndex) -> None:
        cache = self.client.cache
        if cache is None:
            return
        entries, kept = [], 0
        for e in index.entries.values():
            head = e.head
            if head is not None and kept + len(head) > STORED_HEADS:
                head = None  # the heads of files nobody looked up are not worth a large cache file
            kept += len(head or b"")
            entries.append(
                [e.path, e.kind, e.link, e.size, e.mode, base64.b64encode(head).decode() if head is not None else None]
            )
        data = {
            "format": INDEX_FORMAT,
            "digest": digest,
            "complete": index.complete,
            "entries": entries,
            "whiteouts": sorted(index.whiteouts),
            "opaque": sorted(index.opaque),
        }
        cache.put_layer_index(digest, json.dumps(data, separators=(",", ":")).encode())


def candidates(argv0: str, env: tuple[str, ...], workdir: str) -> list[str]:
    """Where the runtime looks for argv[0]: as is when absolute, under WorkingDir with a slash, else along PATH."""
    if argv0.startswith("/"):
        return [posixpath.normpath(argv0)]
    if "/" in argv0:
        return [posixpath.normpath(posixpath.join(workdir or "/", argv0))]
    path = next((e[5:] for e in reversed(env) if e.startswith("PATH=")), DEFAULT_PATH)
    dirs = [d for d in path.split(":") if d.startswith("/")]
    return [posixpath.join(d, argv0) for d in dict.fromkeys(dirs)][:MAX_CANDIDATES]


def _elf_facts(e: elfmod.Elf) -> ElfFacts:
    return ElfFacts(
        arch=e.arch,
        machine=e.machine,
        bits=e.bits,
        endian="little" if e.little_endian else "big",
        interpreter=_escape(e.interpreter),
        isa_level=e.isa_level,
    )


def _escape(text: str) -> str:
    return "".join(c if c.isprintable() or c == "\t" else f"\\x{ord(c):02x}" for c in text)


def image_file(found: lay.Found) -> ImageFile:
    """What a resolved path is: absent, not a file, an ELF (its header), a script (its #! line), or other."""
    entry = found.entry
    base = ImageFile(
        path=_escape(found.path), kind="absent", links=tuple(_escape(x) for x in found.links), layer=found.layer
    )
    if entry is None:
        return base
    if entry.kind != "file":
        return replace(base, kind="not-a-file")
    head = entry.head or b""
    extra = replace(base, kind="empty", size=entry.size, executable=bool(entry.mode & 0o111))
    if entry.size == 0:
        return extra
    if elfmod.is_elf(head):
        try:
            return replace(extra, kind="elf", elf=_elf_facts(elfmod.parse(head)))
        except elfmod.ElfError as err:
            return replace(extra, kind="bad-elf", shebang=_escape(str(err)))
    if head[:2] == b"#!":
        line = head.split(b"\n", 1)[0]
        kind = "crlf" if line.endswith(b"\r") else "script"
        return replace(extra, kind=kind, shebang=_escape(line[2:].decode("utf-8", "replace").strip()))
    return replace(extra, kind="script-no-shebang" if b"\0" not in head[:512] else "other")


def _first(view: lay.MergedView, scanner: _Scanner, paths: list[str]) -> lay.Found:
    """The first of `paths` that is a file in the image; the first one when none is.

    A command looked up along PATH: one pass scans the layers top-down for all the candidates at once and stops
    in the first layer that has one; that one is tried first (then the others in PATH order). Reading every
    layer to the end to honour PATH order across layers would cost the whole image; a name that two PATH
    directories of different layers both hold is the one case where this may differ from the runtime.
    """
    goals = tuple(lay.normalize(p) for p in paths)
    hit: list[str] = []
    if len(goals) > 1:
        for number in range(len(scanner.layers) - 1, -1, -1):
            index = scanner(number, goals, False)
            hit = [
                g
                for g in goals
                if g in index.entries
                or g in index.whiteouts
                or any(a in index.entries and index.entries[a].kind != "dir" for a in lay.ancestors(g))
            ]
            if hit:
                break
    order = ["/" + g for g in hit] + [p for p in paths if lay.normalize(p) not in hit]
    first = None
    for path in order:
        found = view.resolve(path)
        first = first or found
        if found.entry is not None and found.entry.kind == "file":
            return found
    assert first is not None
    return first


def inspect_variant(
    client: _Client,
    ref: ImageRef,
    *,
    reference: str,
    target: str,
    platform: str,
    digest: str,
    budget_bytes: int = DEFAULT_BUDGET,
) -> DeepImage:
    """The DeepImage of one image variant (a platform manifest digest); failures are its `error`."""
    from dockdoctor.probes.registry import _subject
    from dockdoctor.probes.registry._failure import RegistryFailure

    subject = f"{_subject(ref)} ({platform})"
    out = DeepImage(reference=reference, target=target, platform=platform, digest=digest)
    scanner: _Scanner | None = None
    try:
        doc = client._document(
            ref, mf.check_digest(digest, "platform manifest digest"), "manifests", mf.MAX_MANIFEST_BYTES
        )
        classified = mf.classify(doc.media_type, doc.body)
        if classified.kind != "manifest":
            raise mf.DocumentError(
                ProbeErrorKind.PROTOCOL,
                f"{digest} is a {classified.kind or 'unknown'} document, not an image manifest with layers",
            )
        manifest = mf.parse_image_manifest(classified.doc)
        layers = mf.parse_layers(classified.doc)
        config = client._document(ref, manifest.config_digest, "blobs", mf.MAX_CONFIG_BYTES)
        run = mf.parse_run_config(config.body)
        out = DeepImage(
            reference=reference,
            target=target,
            platform=platform,
            digest=digest,
            argv=run.argv,
            compressed_size=sum(layer.size for layer in layers),
            layers=len(layers),
        )
        if not run.argv:
            raise lay.LayerError(ProbeErrorKind.NO_COMMAND, "the image config names no Entrypoint or Cmd")
        budget = lay.Budget(
            compressed=budget_bytes, uncompressed=budget_bytes * UNCOMPRESSED_FACTOR, what=_subject(ref)
        )
        scanner = _Scanner(client, ref, layers, budget)
        view = lay.MergedView(len(layers), scanner)
        entry = image_file(_first(view, scanner, candidates(run.argv[0], run.env, run.workdir)))
        out = _with(out, scanner, entry=entry)
        interpreter = None
        if entry.kind in ("script", "crlf") and entry.shebang:
            word = entry.shebang.split()[0]
            if word.startswith("/"):  # followed once: the interpreter's own #! is not followed
                interpreter = image_file(view.resolve(word))
                out = _with(out, scanner, interpreter=interpreter)
        runner = entry if entry.elf is not None else interpreter
        if runner is not None and runner.elf is not None and runner.elf.interpreter.startswith("/"):
            out = _with(out, scanner, loader=image_file(view.resolve(runner.elf.interpreter)))
        return _with(out, scanner)
    except lay.LayerError as err:
        return _with(out, scanner, error=ProbeError(probe=PROBE, kind=err.kind, detail=f"{subject}: {err.detail}"))
    except mf.DocumentError as err:
        return _with(out, scanner, error=ProbeError(probe=PROBE, kind=err.kind, detail=f"{subject}: {err.reason}"))
    except RegistryFailure as failure:
        return _with(out, scanner, error=ProbeError(probe=PROBE, kind=failure.error.kind, detail=failure.error.detail))


def _with(out: DeepImage, scanner: _Scanner | None, **changes: object) -> DeepImage:
    from dataclasses import replace

    if scanner is not None:
        changes.setdefault("bytes_read", scanner.budget.read)
        changes.setdefault("layers_read", scanner.streamed)
    return replace(out, **changes)  # type: ignore[arg-type]
