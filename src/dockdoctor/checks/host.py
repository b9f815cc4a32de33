"""DKD1xx: the host machine (Rosetta-translated shells, Rosetta missing, VM CPU models that lower the x86-64 level)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev
from dockdoctor.knowledge import load
from dockdoctor.model import Fix, Fixable, Need, Problem, Safety, Severity, manual, run


@check("DKD101", "shell-translated-by-rosetta", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def shell_translated_by_rosetta(ctx: Context) -> Iterator[Problem]:
    """The shell runs as x86_64 under Rosetta on an Apple Silicon Mac

    ## What it checks
    On an Apple Silicon Mac (`sysctl hw.optional.arm64` is 1), whether this process runs translated by Rosetta
    (`sysctl sysctl.proc_translated` is 1), which happens in a terminal opened "using Rosetta" or under an
    x86_64 Homebrew in `/usr/local`.

    ## Why it matters
    Tools started from that shell believe the machine is `x86_64`: scripts pick `linux/amd64` images and
    binaries, `uname -m` lies, and an x86_64 docker CLI or compose runs translated. Builds then default to the
    wrong platform and mixed arm64/amd64 caches follow (`The requested image's platform (linux/amd64) does not
    match the detected host platform (linux/arm64/v8)`).

    ## Example
    `fixtures/checks/DKD101/bad-rosetta-terminal.json` is a Mac whose shell is translated;
    `good-native-arm64.json` is the same Mac in a native terminal.

    ## Fix
    Display only: open the terminal without "Open using Rosetta" (Finder > Get Info on the terminal app), or
    start a native shell with `arch -arm64 /bin/zsh`. Check with `uname -m`, which must print `arm64`.

    ## Facts used
    `host.apple_silicon`, `host.rosetta_translated`, `host.machine`.
    """
    host = ctx.facts.host
    if host.apple_silicon and host.rosetta_translated:
        yield Problem(
            message=f"this shell runs translated by Rosetta: programs see {host.machine}, not arm64",
            subject="host",
            evidence=(ev("host.rosetta_translated", True), ev("host.machine", host.machine)),
            fixes=(
                Fix(
                    title="start a native arm64 shell",
                    safety=Safety.DISPLAY_ONLY,
                    steps=(
                        run("arch", "-arm64", "/bin/zsh", "-l"),
                        manual('turn off "Open using Rosetta" for your terminal app (Finder > Get Info)'),
                    ),
                ),
            ),
        )


def generic_cpu_model(model_name: str) -> dict[str, object] | None:
    """The knowledge entry of a generic QEMU/KVM CPU model (qemu64, kvm64) matching `model_name`, or None."""
    return next((m for m in load("cpu_models")["generic_model"] if re.search(str(m["model_name"]), model_name)), None)


@check("DKD102", "vm-cpu-model-lowers-level", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def vm_cpu_model_lowers_level(ctx: Context) -> Iterator[Problem]:
    """The virtual machine's CPU model hides the host's features and lowers the x86-64 level

    ## What it checks
    On a Linux amd64 host that is a virtual machine (cpuinfo's `hypervisor` flag, or a hypervisor's name in
    `/sys/class/dmi/id`), a CPU `model name` of one of QEMU's generic models: `QEMU Virtual CPU version ...`
    (qemu64) or `Common KVM processor` (kvm64). These stick to x86-64-v1 whatever the physical CPU is
    (`knowledge/cpu_models.toml`, with sources).

    ## Why it matters
    Images built for a newer level die at once: `Fatal glibc error: CPU does not support x86-64-v2` (RHEL 9, UBI 9,
    Rocky and Alma 9 bases), or `Illegal instruction (core dumped)`, although the server's real CPU has the
    instructions. DKD308 names the images; this check names the cause.

    ## Example
    `fixtures/checks/DKD102/bad-qemu64-guest.json` (the recorded cpuinfo of a KVM guest with
    `QEMU Virtual CPU version 1.5.3`); `good-sandy-bridge-guest.json` (a named model: the level is the model's).

    ## Fix
    Display only, on the hypervisor: give the VM the host's CPU model (libvirt `<cpu mode='host-passthrough'/>`,
    QEMU `-cpu host`, Proxmox `cpu: host`) or a named model of the level needed, then restart the VM.

    ## Facts used
    `host.os`, `host.arch`, `host.virtual_machine`, `host.cpu_model`, `host.amd64_level`, `host.hypervisor`.
    """
    host = ctx.facts.host
    if host.os != "linux" or host.arch != "amd64" or host.virtual_machine is False:
        return
    model = generic_cpu_model(host.cpu_model)
    if model is None:
        return
    raise_how = load("cpu_models")["raise"][0]
    level = host.amd64_level or model["max_level"]
    yield Problem(
        message=f"this VM's CPU model is {host.cpu_model!r} (QEMU's {model['qemu_model']}): it shows only "
        f"x86-64-v{level}, whatever the physical CPU has; images for x86-64-v2 and up fail here",
        subject="host CPU",
        evidence=(
            ev("host.cpu_model", host.cpu_model),
            ev("host.amd64_level", host.amd64_level),
            ev("host.hypervisor", host.hypervisor or "(no DMI)"),
            ev("source", model["source"]),
        ),
        fixes=(
            Fix(
                title="give the VM the host's CPU model",
                safety=Safety.DISPLAY_ONLY,
                needs=(Need.RESTART,),
                steps=(manual(str(raise_how["how"])),),
            ),
        ),
    )


@check("DKD103", "rosetta-not-installed", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def rosetta_not_installed(ctx: Context) -> Iterator[Problem]:
    """Rosetta is not installed on this Apple Silicon Mac, though the engine is set to use it

    ## What it checks
    On an Apple Silicon Mac, the Rosetta runtime (`/Library/Apple/usr/libexec/oah/libRosettaRuntime`) is
    missing while an engine's settings turn Rosetta on for amd64 containers, or linux/amd64 is emulated with
    Rosetta.

    ## Why it matters
    The engine cannot start its Rosetta share: Lima and Colima hang at `Installing rosetta...`, Docker Desktop
    falls back or fails, and amd64 containers fail or run under QEMU.

    ## Example
    `fixtures/checks/DKD103/bad-rosetta-missing.json`; `good-rosetta-installed.json`.

    ## Fix
    Unsafe (installs system software, needs sudo and network): `softwareupdate --install-rosetta
    --agree-to-license`, then restart the engine.

    ## Facts used
    `host.apple_silicon`, `host.rosetta_installed`, `emulation.rosetta`, `emulation.settings`,
    `emulation.emulated`.
    """
    facts = ctx.facts
    if not facts.host.apple_silicon or facts.host.rosetta_installed is not False:
        return
    wanted = [s.path for s in facts.emulation.rosetta if s.enabled]
    wanted += [s.source for s in facts.emulation.settings if s.rosetta]
    wanted += [e.known_by or e.via for e in facts.emulation.emulated if e.emulator == "rosetta"]
    if not wanted:
        return
    yield Problem(
        message=f"Rosetta is not installed, but {wanted[0]} turns it on for amd64 containers",
        subject="Rosetta",
        target="linux/amd64",
        evidence=(ev("host.rosetta_installed", False), ev("rosetta.wanted_by", wanted[0])),
        fixes=(
            Fix(
                title="install Rosetta",
                safety=Safety.UNSAFE,
                needs=(Need.SUDO, Need.NETWORK),
                steps=(
                    run(
                        *(() if facts.host.root else ("sudo",)),
                        "softwareupdate",
                        "--install-rosetta",
                        "--agree-to-license",
                    ),
                ),
            ),
        ),
    )
