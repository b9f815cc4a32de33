"""The emulation probe: binfmt_misc handlers on Linux, Rosetta settings of the Mac engines."""

from __future__ import annotations

import json
import os
import re

from dockdoctor.model import BinfmtHandler, EmulatedPlatform, EmulationFacts, ProbeError, RosettaSetting
from dockdoctor.probes._run import read_text

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
    if big_endian and machine == 0x16:
        return "linux/s390x"
    if big_endian and machine == 0x15:
        return "linux/ppc64"
    return _ELF_MACHINES.get((machine, magic[4]))


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
    return BinfmtHandler(name=name, enabled=enabled, interpreter=fields.get("interpreter", ""),
                         flags=fields.get("flags", ""), platform=platform_from_magic(fields.get("magic", "")))


def _binfmt(root: str) -> tuple[bool, tuple[BinfmtHandler, ...], list[ProbeError]]:
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return False, (), []
    except OSError as err:
        return False, (), [ProbeError(probe="emulation", kind="permission" if isinstance(err, PermissionError)
                                      else "error", detail=f"{root}: {err.strerror}")]
    if "status" not in names:
        return False, (), [ProbeError(probe="emulation", kind="not-found",
                                      detail=f"{root} is not mounted (mount -t binfmt_misc binfmt_misc {root})")]
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
        return ProbeError(probe="emulation", kind="config", detail=f"{path}: invalid JSON")
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
    candidates = [
        ("docker-desktop", os.path.join(group, "settings-store.json"),
         lambda p: _json_flag(p, ("UseVirtualizationFrameworkRosetta", "useVirtualizationFrameworkRosetta"))),
        ("docker-desktop", os.path.join(group, "settings.json"),
         lambda p: _json_flag(p, ("useVirtualizationFrameworkRosetta", "UseVirtualizationFrameworkRosetta"))),
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


def probe_emulation(*, os_name: str, binfmt_root: str = BINFMT_DIR, home: str | None = None) -> EmulationFacts:
    """binfmt handlers (Linux) and Rosetta settings (macOS)."""
    errors: list[ProbeError] = []
    readable, handlers = False, ()
    if os_name == "linux":
        readable, handlers, errs = _binfmt(binfmt_root)
        errors += errs
    rosetta: list[RosettaSetting] = []
    if os_name == "darwin":
        rosetta, errs = rosetta_settings(home or os.path.expanduser("~"), dict(os.environ))
        errors += errs
    return EmulationFacts(binfmt_readable=readable, handlers=handlers, rosetta=tuple(rosetta), errors=tuple(errors))


_VM_FLAVORS = ("docker-desktop", "orbstack", "colima", "rancher-desktop", "lima")


def engine_emulation(*, host_os: str, engine_platform: str | None, engine_flavor: str, engine_remote: bool,
                     handlers: tuple[BinfmtHandler, ...], rosetta: tuple[RosettaSetting, ...],
                     builder_platforms: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[EmulatedPlatform, ...]:
    """The non-native platforms the engine can run, each with what makes it runnable (pure)."""
    native = engine_platform or ""
    found: dict[str, str] = {}
    local_kernel = host_os == "linux" and not engine_remote and engine_flavor not in _VM_FLAVORS
    if local_kernel:
        for handler in handlers:
            if handler.enabled and handler.platform and handler.platform != native:
                kind = "rosetta" if "rosetta" in handler.interpreter else "qemu"
                found.setdefault(handler.platform, f"{kind} (binfmt {handler.name})")
    if native.endswith("/arm64") and engine_flavor in _VM_FLAVORS:
        for setting in rosetta:
            if setting.enabled and setting.source == engine_flavor:
                found.setdefault("linux/amd64", f"rosetta ({setting.source} setting)")
    for name, platforms in builder_platforms:
        for platform in platforms:
            if platform != native and not platform.startswith(native + "/"):
                found.setdefault(platform, f"buildx builder {name}")
    return tuple(EmulatedPlatform(platform=p, via=v) for p, v in sorted(found.items()))
