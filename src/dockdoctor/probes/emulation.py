"""The emulation probe: binfmt_misc handlers on Linux, Rosetta settings of the Mac engines."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable

from dockdoctor.model import (
    BinfmtHandler,
    EmulatedPlatform,
    EmulationFacts,
    EngineSettings,
    ProbeError,
    ProbeErrorKind,
    RosettaSetting,
)
from dockdoctor.probes._run import read_text, run

BINFMT_DIR = "/proc/sys/fs/binfmt_misc"

# ELF e_machine (little-endian, bytes 18-19 of the header) and class (byte 4: 1=32-bit, 2=64-bit) -> platform.
_ELF_MACHINES: dict[tuple[int, int], str] = {
    (0x3E, 2): "linux/amd64",
    (0x03, 1): "linux/386",
    (0xB7, 2): "linux/arm64",
    (0x28, 1): "linux/arm/v7",
    (0xF3, 2): "linux/riscv64",
    (0x15, 2): "linux/ppc64le",
    (0x16, 2): "linux/s390x",
    (0x08, 2): "linux/mips64le",
    (0x102, 2): "linux/loong64",
}


def platform_from_magic(magic_hex: str) -> str | None:
    """The platform an ELF binfmt magic matches (`7f454c46 02 ...` -> linux/amd64), or None."""
    try:
        magic = bytes.fromhex(magic_hex)
    except ValueError:
        return None
    if len(magic) < 20 or magic[:4] != b"\x7fELF":
        return None
    big_endian = magic[5] == 2
    machine = int.from_bytes(magic[18:20], "big" if big_endian else "little")
    if big_endian:
        # only these big-endian machines are platforms images are published for; armeb, mips (BE), sparc are not
        return {(0x16, 2): "linux/s390x", (0x15, 2): "linux/ppc64", (0x08, 2): "linux/mips64"}.get((machine, magic[4]))
    return _ELF_MACHINES.get((machine, magic[4]))


# Who registered a handler, from its interpreter path (first match wins). The image installers register paths of
# their own container's filesystem, kept open by the F flag: the file is then not on the host.
_INSTALLERS: tuple[tuple[str, str, str], ...] = (
    # (regular expression on the interpreter path, emulator, installer)
    (r"^/usr/libexec/qemu-binfmt/[\w-]+-binfmt-P$", "qemu", "distribution"),  # Debian/Ubuntu qemu-user-static
    (r"^/mnt/lima-rosetta/rosetta$", "rosetta", "lima"),  # Lima, Colima, Rancher Desktop VMs
    (r"^/rosetta/rosetta$", "rosetta", "docker-desktop"),
    (r"(^|/)rosetta$", "rosetta", ""),
    (r"^/qus/bin/qemu-", "qemu", "aptman/qus"),
    (r"/qemu-[\w-]+$", "qemu", ""),
    (r"/box64$", "box64", ""),
    (r"/FEXInterpreter$|/FEXLoader$", "fex", ""),
)


def identify(interpreter: str, *, on_host: bool, flags: str) -> tuple[str, str]:
    """(emulator, installer) for a handler's interpreter path; `on_host` says whether the file exists here.

    `/usr/bin/qemu-aarch64` with the F flag and no such file on the host is what `docker run --privileged
    tonistiigi/binfmt --install` leaves (tonistiigi/binfmt issue #246); `/usr/bin/qemu-*-static` on the host is a
    distribution package (Debian, Ubuntu, Fedora qemu-user-static).
    """
    found = next(
        ((emulator, installer) for pattern, emulator, installer in _INSTALLERS if re.search(pattern, interpreter)), None
    )
    if found is None:
        return "", ""
    emulator, installer = found
    if installer or emulator != "qemu":
        return emulator, installer
    if on_host:
        return emulator, "distribution"
    if "F" in flags:
        return emulator, "tonistiigi/binfmt" if not interpreter.endswith("-static") else "container image"
    return emulator, ""


_QEMU_VERSION = re.compile(r"^qemu-[\w-]+ version (\S+(?: \([^)]*\))?)", re.M)


def parse_qemu_version(text: str) -> str:
    """`qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)` -> `7.2.22 (Debian ...)`; "" if absent."""
    match = _QEMU_VERSION.search(text)
    return match.group(1) if match else ""


def interpreter_version(path: str, *, timeout: float = 3.0) -> tuple[str, str] | ProbeError:
    """(version, how it was known) of a QEMU user-mode interpreter on this host, by running it with --version.

    Debian's `/usr/libexec/qemu-binfmt/aarch64-binfmt-P` refuses to run outside binfmt_misc, so the link is
    resolved first and its target (`/usr/bin/qemu-aarch64-static`) is run.
    """
    real = os.path.realpath(path)
    result = run("emulation", (real, "--version"), timeout=timeout)
    if isinstance(result, ProbeError):
        return result
    version = parse_qemu_version(result.stdout)
    if not version:
        return ProbeError(
            probe="emulation",
            kind=ProbeErrorKind.PROTOCOL,
            detail=f"{real} --version: no version in {(result.stdout or result.stderr)[:80]!r}",
        )
    return version, f"{real} --version"


def parse_binfmt_entry(name: str, text: str) -> BinfmtHandler:
    """One /proc/sys/fs/binfmt_misc/NAME file."""
    fields: dict[str, str] = {}
    enabled = False
    for line in text.splitlines():
        line = line.strip()
        if line in ("enabled", "disabled"):
            enabled = line == "enabled"
            continue
        key, _, value = line.partition(" ")
        fields[key.rstrip(":")] = value.strip()
    return BinfmtHandler(
        name=name,
        enabled=enabled,
        interpreter=fields.get("interpreter", ""),
        flags=fields.get("flags", ""),
        platform=platform_from_magic(fields.get("magic", "")),
    )


def _described(handler: BinfmtHandler, *, versions: bool, timeout: float) -> tuple[BinfmtHandler, ProbeError | None]:
    """The handler with its emulator, installer and (for a QEMU interpreter on this host) version."""
    import dataclasses

    on_host = bool(handler.interpreter) and os.path.exists(handler.interpreter)
    emulator, installer = identify(handler.interpreter, on_host=on_host, flags=handler.flags)
    handler = dataclasses.replace(handler, emulator=emulator, installer=installer)
    if not versions or emulator != "qemu" or not on_host or not handler.platform:
        if emulator == "qemu" and not on_host and handler.interpreter:
            handler = dataclasses.replace(
                handler,
                version_source=f"{handler.interpreter} is not on the host "
                "(registered from a container with the F flag): version unknown",
            )
        return handler, None
    found = interpreter_version(handler.interpreter, timeout=timeout)
    if isinstance(found, ProbeError):
        return handler, found
    return dataclasses.replace(handler, version=found[0], version_source=found[1]), None


def _binfmt(root: str) -> tuple[bool, tuple[BinfmtHandler, ...], list[ProbeError]]:
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return False, (), []
    except OSError as err:
        return (
            False,
            (),
            [
                ProbeError(
                    probe="emulation",
                    kind=ProbeErrorKind.PERMISSION if isinstance(err, PermissionError) else ProbeErrorKind.ERROR,
                    detail=f"{root}: {err.strerror}",
                )
            ],
        )
    if "status" not in names:
        return (
            False,
            (),
            [
                ProbeError(
                    probe="emulation",
                    kind=ProbeErrorKind.NOT_FOUND,
                    detail=f"{root} is not mounted (mount -t binfmt_misc binfmt_misc {root})",
                )
            ],
        )
    handlers, errors = [], []
    for name in names:
        if name in ("status", "register"):
            continue
        text = read_text("emulation", os.path.join(root, name))
        if isinstance(text, ProbeError):
            errors.append(text)
        elif text is not None:
            handlers.append(parse_binfmt_entry(name, text))
    return True, tuple(handlers), errors


def _json_flag(path: str, keys: tuple[str, ...]) -> bool | None | ProbeError:
    text = read_text("emulation", path)
    if text is None or isinstance(text, ProbeError):
        return text
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return ProbeError(probe="emulation", kind=ProbeErrorKind.CONFIG, detail=f"{path}: invalid JSON")
    for key in keys:
        if isinstance(data, dict) and isinstance(data.get(key), bool):
            return bool(data[key])
    return None


def _yaml_flag(path: str, key: str) -> bool | None | ProbeError:
    text = read_text("emulation", path)
    if text is None or isinstance(text, ProbeError):
        return text
    match = re.search(rf"(?m)^{key}:\s*(true|false)\b", text)
    return match.group(1) == "true" if match else None


def rosetta_settings(home: str, env: dict[str, str] | None = None) -> tuple[list[RosettaSetting], list[ProbeError]]:
    """Rosetta as each Mac engine's own settings file has it (files that do not exist are left out)."""
    env = env or {}
    group = os.path.join(home, "Library", "Group Containers", "group.com.docker")
    colima_home = env.get("COLIMA_HOME") or os.path.join(home, ".colima")
    candidates: list[tuple[str, str, Callable[[str], bool | None | ProbeError]]] = [
        (
            "docker-desktop",
            os.path.join(group, "settings-store.json"),
            lambda p: _json_flag(p, ("UseVirtualizationFrameworkRosetta", "useVirtualizationFrameworkRosetta")),
        ),
        (
            "docker-desktop",
            os.path.join(group, "settings.json"),
            lambda p: _json_flag(p, ("useVirtualizationFrameworkRosetta", "UseVirtualizationFrameworkRosetta")),
        ),
        ("orbstack", os.path.join(home, ".orbstack", "vmconfig.json"), lambda p: _json_flag(p, ("rosetta",))),
        ("colima", os.path.join(colima_home, "default", "colima.yaml"), lambda p: _yaml_flag(p, "rosetta")),
    ]
    found: list[RosettaSetting] = []
    errors: list[ProbeError] = []
    seen: set[str] = set()
    for source, path, read in candidates:
        if source in seen or not os.path.exists(path):
            continue
        value = read(path)
        if isinstance(value, ProbeError):
            errors.append(value)
            continue
        seen.add(source)
        found.append(RosettaSetting(source=source, enabled=value, path=path))
    return found, errors


def binfmt_status(root: str = BINFMT_DIR) -> bool | None:
    """binfmt_misc's global switch (`status` is `enabled` or `disabled`); None when it cannot be read."""
    text = read_text("emulation", os.path.join(root, "status"))
    if not isinstance(text, str):
        return None
    return {"enabled": True, "disabled": False}.get(text.strip())


def probe_emulation(
    *,
    os_name: str,
    binfmt_root: str = BINFMT_DIR,
    home: str | None = None,
    versions: bool = True,
    timeout: float = 3.0,
    host_arch: str = "",
) -> EmulationFacts:
    """binfmt handlers (Linux) with each emulator's version, and Rosetta settings (macOS)."""
    errors: list[ProbeError] = []
    readable = False
    handlers: tuple[BinfmtHandler, ...] = ()
    enabled: bool | None = None
    if os_name == "linux":
        readable, handlers, errs = _binfmt(binfmt_root)
        errors += errs
        described = [_described(h, versions=versions, timeout=timeout) for h in handlers]
        handlers = tuple(h for h, _ in described)
        errors += [e for _, e in described if e is not None]
        enabled = binfmt_status(binfmt_root) if readable else None
    rosetta: list[RosettaSetting] = []
    settings: tuple[EngineSettings, ...] = ()
    if os_name == "darwin":
        rosetta, errs = rosetta_settings(home or os.path.expanduser("~"), dict(os.environ))
        errors += errs
        from dockdoctor.probes.vms import probe_vm_settings

        settings, more = probe_vm_settings(
            home=home or os.path.expanduser("~"), env=dict(os.environ), host_arch=host_arch, timeout=timeout
        )
        errors += more
    else:  # Podman machines and minikube run on Linux and Windows too
        from dockdoctor.probes.vms import probe_other_settings

        settings, more = probe_other_settings(
            home=home or os.path.expanduser("~"), env=dict(os.environ), timeout=timeout
        )
        errors += more
    return EmulationFacts(
        binfmt_readable=readable,
        handlers=handlers,
        rosetta=tuple(rosetta),
        errors=tuple(errors),
        binfmt_enabled=enabled,
        settings=settings,
    )


_VM_FLAVORS = ("docker-desktop", "orbstack", "colima", "rancher-desktop", "lima")


def engine_emulation(
    *,
    host_os: str,
    engine_platform: str | None,
    engine_flavor: str,
    engine_remote: bool,
    handlers: tuple[BinfmtHandler, ...],
    rosetta: tuple[RosettaSetting, ...],
    builder_platforms: tuple[tuple[str, tuple[str, ...]], ...],
    binfmt_enabled: bool | None = None,
    settings: tuple[EngineSettings, ...] = (),
) -> tuple[EmulatedPlatform, ...]:
    """The non-native platforms the engine can run, each with its emulator, version and how it was known (pure)."""
    native = engine_platform or ""
    found: dict[str, EmulatedPlatform] = {}
    local_kernel = host_os == "linux" and not engine_remote and engine_flavor not in _VM_FLAVORS
    if local_kernel and binfmt_enabled is not False:
        for handler in handlers:
            if handler.enabled and handler.platform and handler.platform != native:
                kind = handler.emulator or ("rosetta" if "rosetta" in handler.interpreter else "qemu")
                how = f"binfmt_misc {handler.name} ({handler.interpreter}, flags {handler.flags or '-'}"
                how += f", registered by {handler.installer})" if handler.installer else ")"
                if handler.version_source:
                    how += f"; version from {handler.version_source}"
                found.setdefault(
                    handler.platform,
                    EmulatedPlatform(
                        platform=handler.platform,
                        via=f"{kind} (binfmt {handler.name})",
                        emulator=kind,
                        version=handler.version,
                        known_by=how,
                    ),
                )
    if native.endswith("/arm64") and engine_flavor in _VM_FLAVORS:
        on = [(s.source, s.path) for s in rosetta if s.enabled and s.source == engine_flavor]
        on += [(s.product, s.source) for s in settings if s.rosetta and s.product == engine_flavor]
        for product, path in on[:1]:
            found.setdefault(
                "linux/amd64",
                EmulatedPlatform(
                    platform="linux/amd64",
                    via=f"rosetta ({product} setting)",
                    emulator="rosetta",
                    known_by=f"{product} setting in {path}",
                ),
            )
    for name, platforms in builder_platforms:
        for platform in platforms:
            if platform != native and not platform.startswith(native + "/"):
                found.setdefault(
                    platform,
                    EmulatedPlatform(
                        platform=platform,
                        via=f"buildx builder {name}",
                        known_by=f"`docker buildx ls`: builder {name} lists {platform}",
                    ),
                )
    return tuple(found[p] for p in sorted(found))
