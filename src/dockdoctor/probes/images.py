"""The local images probe: images in the engine's store and containers, with platforms and exec format errors."""

from __future__ import annotations

import dataclasses
import io
import posixpath
import re
import struct
from collections.abc import Iterable, Sequence
from typing import Any

from dockdoctor.model import (
    ContainerFacts,
    EmulatedPlatform,
    FileHead,
    ImageFacts,
    ImagePlatform,
    LocalImage,
    ProbeError,
)
from dockdoctor.platforms import Platform, PlatformError, can_run, checked, parse
from dockdoctor.probes._sdk import with_client
from dockdoctor.probes.emulation import platform_from_magic
from dockdoctor.probes.endpoint import TLSFiles

LOG_LINES = 50
EXEC_FORMAT = "exec format error"
MAX_CONTAINERS = 200
MAX_FAILED_INSPECTED = 20  # failed containers whose logs and entrypoint file are read
HEAD_BYTES = 4096
# errors after which the entrypoint file itself tells the cause (no #!, CRLF, empty, LFS pointer, another OS)
_FILE_ERRORS = r"(?i)exec format error|no such file or directory|permission denied"  # compiled when used
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_controls(text: str) -> str:
    """Control characters (but tab) as visible escapes: `\\x1b`, `\\r`."""
    return _CONTROL.sub(lambda m: "\\r" if m.group() == "\r" else f"\\x{ord(m.group()):02x}", text)


def _elf_interpreter(data: bytes) -> str:
    """The PT_INTERP path of an ELF header (little or big endian, 32 or 64 bit), if it lies in `data`."""
    try:
        is64, order = data[4] == 2, "<" if data[5] == 1 else ">"
        if is64:
            (phoff,) = struct.unpack_from(order + "Q", data, 0x20)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
        else:
            (phoff,) = struct.unpack_from(order + "I", data, 0x1C)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
        for i in range(min(phnum, 64)):
            at = phoff + i * phentsize
            (ptype,) = struct.unpack_from(order + "I", data, at)
            if ptype == 3:  # PT_INTERP
                offset, size = (
                    struct.unpack_from(order + "QxxxxxxxxxxxxxxxxQ", data, at + 8)
                    if is64
                    else struct.unpack_from(order + "IxxxxxxxxI", data, at + 4)
                )
                return data[offset : offset + size].split(b"\0", 1)[0].decode("utf-8", "replace")
    except (struct.error, IndexError):
        pass
    return ""


def classify_head(path: str, data: bytes, *, size: int, mode: int | None) -> FileHead:
    """What a file is from its first bytes: ELF (with platform and loader), script, CRLF script, empty, ..."""
    executable = None if mode is None else bool(mode & 0o111)
    head = FileHead(path=path, kind="empty", size=size, executable=executable)
    if size == 0 or not data:
        return head
    if data[:4] == b"\x7fELF":
        return dataclasses.replace(
            head, kind="elf", elf_platform=platform_from_magic(data[:20].hex()), interpreter=_elf_interpreter(data)
        )
    if data[:4] in (
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ):
        return dataclasses.replace(head, kind="macho")
    if data[:2] == b"MZ":
        return dataclasses.replace(head, kind="pe")
    if data.startswith(b"version https://git-lfs.github.com/spec/"):
        return dataclasses.replace(head, kind="lfs-pointer")
    if data[:2] == b"#!":
        line = data.split(b"\n", 1)[0]
        kind = "crlf" if line.endswith(b"\r") else "script"
        return dataclasses.replace(
            head, kind=kind, interpreter=escape_controls(line[2:].decode("utf-8", "replace").strip(" "))
        )
    return dataclasses.replace(head, kind="script-no-shebang" if b"\0" not in data[:512] else "text")


def _read_head(client: Any, container: str, path: str) -> tuple[bytes, int, int | None] | None:
    """The first bytes, size and mode of a file in a (stopped) container, following one symlink; None if absent."""
    import tarfile  # here: only a failed container's entrypoint is read (an inspect without one never needs it)

    from dockdoctor.probes._engine_api import not_found

    absent, api_error = not_found(client)
    for _ in range(3):
        try:
            stream, stat = client.get_archive(container, path)
        except absent:
            return None
        except api_error:
            return None
        target = (stat or {}).get("linkTarget") or ""
        if target and target != path:
            path = target if target.startswith("/") else posixpath.join(posixpath.dirname(path), target)
            for _chunk in stream:  # drain
                pass
            continue
        raw = b"".join(stream)
        try:
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                member = tar.next()
                if member is None or not member.isfile():
                    return None
                fh = tar.extractfile(member)
                data = fh.read(HEAD_BYTES) if fh else b""
                return data, member.size, member.mode
        except tarfile.TarError:
            return None
    return None


def _resolve(argv0: str, env: Sequence[str], workdir: str) -> list[str]:
    if argv0.startswith("/"):
        return [argv0]
    if "/" in argv0:
        return [posixpath.normpath(posixpath.join(workdir or "/", argv0))]
    path = next(
        (e[5:] for e in env if e.startswith("PATH=")), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    )
    return [posixpath.join(d, argv0) for d in path.split(":") if d.startswith("/")]


def entry_file(client: Any, container: str, details: dict[str, Any]) -> FileHead | None:
    """The entrypoint (argv[0]) of a container as the file it is, and whether its loader or interpreter exists."""
    argv0 = str(details.get("Path") or "")
    if not argv0:
        return None
    config = details.get("Config") or {}
    candidates = _resolve(argv0, config.get("Env") or (), str(config.get("WorkingDir") or ""))
    for path in candidates[:8]:
        found = _read_head(client, container, path)
        if found is None:
            continue
        head = classify_head(path, *found[:1], size=found[1], mode=found[2])
        interpreter = head.interpreter.split()[0] if head.interpreter else ""
        if interpreter and head.kind in ("elf", "script"):
            head = dataclasses.replace(head, interpreter_present=_read_head(client, container, interpreter) is not None)
        return head
    return FileHead(path=candidates[0] if candidates else argv0, kind="absent")


def _failed_details(client: Any, cid: str, details: dict[str, Any]) -> dict[str, Any]:
    """The fields ContainerFacts keeps for a failed container: its log tail, error, argv and entrypoint file."""
    raw = client.logs(cid, stdout=True, stderr=True, tail=LOG_LINES)
    lines = tuple(escape_controls(line) for line in raw.decode("utf-8", "replace").splitlines()[-LOG_LINES:])
    error = escape_controls(str((details.get("State") or {}).get("Error") or ""))
    argv = tuple(str(a) for a in (details.get("Path") or "", *(details.get("Args") or ())) if a != "")
    head = entry_file(client, cid, details) if re.search(_FILE_ERRORS, "\n".join((*lines, error))) else None
    return {
        "log_tail": lines,
        "error": error,
        "entrypoint": argv,
        "entry_file": head,
        "exec_format_error": EXEC_FORMAT in "\n".join((*lines, error)).lower(),
    }


def with_emulators(images: ImageFacts, engine_platform: str | None, emulated: Iterable[EmulatedPlatform]) -> ImageFacts:
    """Containers the engine cannot run natively, with the emulator (a binfmt handler, Rosetta) that ran them."""
    try:
        engine = parse(engine_platform) if engine_platform else None
    except PlatformError:
        engine = None
    runners = [(e.platform, e.via) for e in emulated if not e.via.startswith("buildx")]
    if engine is None or not images.containers:
        return images
    out = []
    for c in images.containers:
        try:
            platform = parse(c.platform)
        except PlatformError:
            out.append(c)
            continue
        if can_run(engine, platform):
            out.append(c)
            continue
        via = next((v for p, v in runners if can_run(parse(p), platform)), None)
        out.append(dataclasses.replace(c, emulator=via))
    return dataclasses.replace(images, containers=tuple(out))


def _oci_platform(platform: object) -> str | None:
    """os/arch[/variant] of an OCI platform object ({"os", "architecture", "variant"}), normalized."""
    if not isinstance(platform, dict) or not platform.get("os") or not platform.get("architecture"):
        return None
    try:
        return checked(
            Platform(
                os=str(platform["os"]),
                architecture=str(platform["architecture"]),
                variant=str(platform.get("variant") or ""),
            )
        )
    except PlatformError:
        return None


def image_platform(inspect: dict[str, Any]) -> str:
    """os/arch[/variant] of an image inspect answer, normalized ("unknown" when it says nothing)."""
    return (
        _oci_platform(
            {
                "os": inspect.get("Os") or "linux",
                "architecture": inspect.get("Architecture"),
                "variant": inspect.get("Variant"),
            }
        )
        or "unknown"
    )


def store_manifests(summary: dict[str, Any]) -> tuple[tuple[ImagePlatform, ...], tuple[ImagePlatform, ...]]:
    """(held, absent) image manifests of an /images/json?manifests=1 entry (containerd image store, API 1.47+).

    Attestation and unknown entries are not platforms and are left out.
    """
    held: list[ImagePlatform] = []
    absent: list[ImagePlatform] = []
    for entry in summary.get("Manifests") or ():
        if not isinstance(entry, dict) or entry.get("Kind") != "image":
            continue
        data = entry.get("ImageData") or {}
        name = _oci_platform(data.get("Platform"))
        if name is None:
            continue
        descriptor = entry.get("Descriptor") or {}
        found = ImagePlatform(
            platform=name,
            digest=str(entry.get("ID") or descriptor.get("digest") or ""),
            media_type=str(descriptor.get("mediaType") or ""),
            os_version=str((data.get("Platform") or {}).get("os.version") or ""),
        )
        (held if entry.get("Available") else absent).append(found)
    return tuple(held), tuple(absent)


def _local(inspect: dict[str, Any], summary: dict[str, Any] | None = None) -> LocalImage:
    held, absent = store_manifests(summary) if summary else ((), ())
    return LocalImage(
        id=str(inspect.get("Id", "")),
        platform=image_platform(inspect),
        repo_tags=tuple(inspect.get("RepoTags") or ()),
        repo_digests=tuple(inspect.get("RepoDigests") or ()),
        manifests=held,
        absent=absent,
    )


def _canonical(ref: str) -> str | None:
    from dockdoctor.reference import ReferenceError, parse

    try:
        return parse(ref).canonical
    except ReferenceError:
        return None


def _lists_manifests(api_version: str) -> bool:
    """Whether an engine of this API version lists each image's manifests (Engine API 1.47, Docker 27.3)."""
    try:
        return tuple(int(x) for x in api_version.split(".")[:2]) >= (1, 47)
    except ValueError:
        return False


def _gather(client: Any, refs: Sequence[str], with_containers: bool, api_version: str) -> ImageFacts:
    from dockdoctor.probes._engine_api import not_found

    api_error = not_found(client)[1]
    images: dict[str, LocalImage] = {}
    errors: list[ProbeError] = []

    def inspect(ref: str, summary: dict[str, Any] | None = None) -> LocalImage | None:
        try:
            found = _local(client.inspect_image(ref), summary)
        except api_error:  # not found, or a reference the engine rejects (the registry check says why)
            return None
        return images.setdefault(found.id, found)

    # One listing finds which references have local copies; only those are inspected (for the platform a plain
    # `docker run` uses). From API 1.47 it also lists each image's manifests (the containerd image store's).
    wanted = {_canonical(r) for r in refs} - {None}
    if wanted:
        if _lists_manifests(api_version):
            listing = client._result(client._get(client._url("/images/json"), params={"manifests": "1"}), True)
        else:
            listing = client.images()
        for summary in listing:
            if any(_canonical(tag) in wanted for tag in summary.get("RepoTags") or ()):
                inspect(str(summary["Id"]), summary)
    containers: list[ContainerFacts] = []
    inspected = 0
    if with_containers:
        for summary in client.containers(all=True)[:MAX_CONTAINERS]:
            image = inspect(summary.get("ImageID") or summary.get("Image", ""))
            # with the containerd image store the image is an index: the container names the manifest it runs
            platform = _oci_platform((summary.get("ImageManifestDescriptor") or {}).get("platform"))
            state = str(summary.get("State", ""))
            extra: dict[str, Any] = {}
            exit_code = None
            if state in ("exited", "restarting", "dead"):
                details = client.inspect_container(summary["Id"])
                status = details.get("State") or {}
                exit_code = int(status.get("ExitCode", 0))
                restarting = bool(status.get("Restarting")) or state == "restarting"
                extra = {"restarting": restarting, "restart_count": int(details.get("RestartCount") or 0)}
                if (exit_code != 0 or restarting) and inspected < MAX_FAILED_INSPECTED:
                    inspected += 1
                    extra.update(_failed_details(client, str(summary["Id"]), details))
            names = summary.get("Names") or [""]
            containers.append(
                ContainerFacts(
                    id=str(summary["Id"])[:12],
                    name=str(names[0]).lstrip("/"),
                    image=str(summary.get("Image", "")),
                    image_id=image.id if image else "",
                    platform=platform or (image.platform if image else "unknown"),
                    state=state,
                    exit_code=exit_code,
                    **extra,
                )
            )
    return ImageFacts(local=tuple(images.values()), containers=tuple(containers), errors=tuple(errors))


def probe_local_images(
    endpoint: str,
    *,
    tls: TLSFiles | None,
    timeout: float,
    api_version: str,
    refs: Iterable[str] = (),
    with_containers: bool = True,
) -> ImageFacts:
    """Local copies of `refs` and every container (with its image) on the engine."""
    result = with_client(
        endpoint,
        tls=tls,
        timeout=timeout,
        api_version=api_version,
        call=lambda client: _gather(client, tuple(refs), with_containers, api_version),
    )
    if isinstance(result, ProbeError):
        return ImageFacts(errors=(ProbeError(probe="images", kind=result.kind, detail=result.detail),))
    return result
