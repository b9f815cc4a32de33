"""The host probe: OS, architecture, Apple Silicon and Rosetta translation, WSL, x86-64 level."""

from __future__ import annotations

import os
import platform as _stdlib_platform
import sys
from typing import Any

from dockdoctor.model import HostFacts, ProbeError
from dockdoctor.platforms import amd64_level, from_machine
from dockdoctor.probes._run import Completed, read_text, run


def parse_os_release(text: str) -> str:
    """PRETTY_NAME from /etc/os-release text."""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return ""


def parse_cpu_flags(cpuinfo: str) -> tuple[str, ...]:
    """The first `flags` line of /proc/cpuinfo as a tuple of flag names."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return tuple(value.split())
    return ()


def parse_cpu_model(cpuinfo: str) -> str:
    """The first `model name` of /proc/cpuinfo ("QEMU Virtual CPU version 1.5.3"), or ""."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return ""


def parse_sw_vers(text: str) -> str:
    """ProductVersion from `sw_vers` output ("ProductVersion:\t\t14.5") or from `sw_vers -productVersion`."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "ProductVersion":
            return value.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if len(lines) == 1 and lines[0][:1].isdigit() else ""


# DMI vendors and products that name a hypervisor (sys_vendor "QEMU": boot2docker/boot2docker#449; "Red Hat" with
# product "KVM" and VirtualBox's "innotek GmbH": systemd/systemd#5318; Nutanix "AHV": uyuni-project/uyuni#2112).
_HYPERVISOR_DMI = (
    "QEMU",
    "KVM",
    "innotek GmbH",
    "VirtualBox",
    "VMware",
    "Xen",
    "Microsoft Corporation",
    "Nutanix",
    "Amazon EC2",
    "Google",
    "Parallels",
    "Bochs",
    "OpenStack",
)
ROSETTA_RUNTIME = "/Library/Apple/usr/libexec/oah/libRosettaRuntime"


def parse_dmi(vendor: str, product: str) -> tuple[bool, str]:
    """(whether the DMI strings name a hypervisor, "vendor product" as read)."""
    both = " ".join(part.strip() for part in (vendor, product) if part.strip())
    return any(name.lower() in both.lower() for name in _HYPERVISOR_DMI), both


def parse_sysctl_flag(result: Completed | ProbeError) -> bool | None:
    """`sysctl -n NAME` printing 1 or 0; None when the name does not exist (e.g. an Intel Mac)."""
    if isinstance(result, ProbeError) or result.code != 0:
        return None
    value = result.stdout.strip()
    return {"1": True, "0": False}.get(value)


def _os_name() -> str:
    if sys.platform.startswith("linux"):
        return "linux"
    if sys.platform == "darwin":
        return "darwin"
    if sys.platform in ("win32", "cygwin"):
        return "windows"
    return sys.platform


def _identity() -> dict[str, Any]:
    """Host name, user and home directory: never shown as they are unless redaction is turned off."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return {"hostname": socket.gethostname(), "user": user, "home": os.path.expanduser("~"), "root": root}


def probe_host(*, timeout: float = 5.0) -> HostFacts:
    """What machine this is; on a Mac, whether this process runs translated by Rosetta."""
    os_name = _os_name()
    identity = _identity()
    machine = _stdlib_platform.machine()
    errors: list[ProbeError] = []
    arch = from_machine(machine, os=os_name).architecture
    kernel = _stdlib_platform.release()
    if os_name == "darwin":
        apple_silicon = parse_sysctl_flag(run("host", ("sysctl", "-n", "hw.optional.arm64"), timeout=timeout))
        translated = parse_sysctl_flag(run("host", ("sysctl", "-n", "sysctl.proc_translated"), timeout=timeout))
        sw_vers = run("host", ("sw_vers",), timeout=timeout)
        version = parse_sw_vers(sw_vers.stdout) if isinstance(sw_vers, Completed) and sw_vers.code == 0 else ""
        if isinstance(sw_vers, ProbeError):
            errors.append(sw_vers)
        version = version or _stdlib_platform.mac_ver()[0]
        installed = os.path.exists(ROSETTA_RUNTIME) if apple_silicon else None
        return HostFacts(
            os=os_name,
            arch=arch,
            machine=machine,
            os_release=f"macOS {version}".strip(),
            kernel=kernel,
            apple_silicon=bool(apple_silicon),
            rosetta_translated=bool(translated) if apple_silicon else False,
            macos_version=version,
            rosetta_installed=installed,
            errors=tuple(errors),
            **identity,
        )
    release = read_text("host", "/etc/os-release")
    version_text = read_text("host", "/proc/version")
    cpuinfo = read_text("host", "/proc/cpuinfo", limit=4 << 20) if arch in ("amd64", "386") else None
    errors.extend(item for item in (release, version_text, cpuinfo) if isinstance(item, ProbeError))
    flags = parse_cpu_flags(cpuinfo) if isinstance(cpuinfo, str) else ()
    level = amd64_level(flags) if isinstance(cpuinfo, str) and arch == "amd64" else None
    if cpuinfo is None and arch not in ("amd64", "386"):
        cpuinfo = read_text("host", "/proc/cpuinfo", limit=4 << 20)
        flags = parse_cpu_flags(cpuinfo) if isinstance(cpuinfo, str) else ()
    dmi = [read_text("host", f"/sys/class/dmi/id/{name}") for name in ("sys_vendor", "product_name")]
    dmi_vm, hypervisor = parse_dmi(*(d if isinstance(d, str) else "" for d in dmi))
    vm = ("hypervisor" in flags or dmi_vm) if isinstance(cpuinfo, str) or any(isinstance(d, str) for d in dmi) else None
    wsl = "microsoft" in (version_text or "").lower() if isinstance(version_text, str) else False
    wsl = wsl or bool(os.environ.get("WSL_DISTRO_NAME"))
    return HostFacts(
        os=os_name,
        arch=arch,
        machine=machine,
        os_release=parse_os_release(release) if isinstance(release, str) else "",
        kernel=kernel,
        wsl=wsl,
        amd64_level=level,
        errors=tuple(errors),
        cpu_model=parse_cpu_model(cpuinfo) if isinstance(cpuinfo, str) else "",
        virtual_machine=vm,
        hypervisor=hypervisor,
        **identity,
    )
