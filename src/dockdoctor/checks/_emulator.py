"""Which emulator runs a platform on this engine: one small pure helper every emulation check asks.

`runner_for(facts, platform)` answers native | qemu | rosetta | unknown | none, with the fact that told it.
It reads only what the facts hold today (`emulation.emulated[].via`, `emulation.rosetta`, `buildx.builders`,
`host`); extend it here when the facts learn more (the emulator's version, the engine's VM type), and every
check that asks follows. `install_emulation(facts, platform)` is the other side: the fixes that make a platform
runnable on this engine (Colima or Lima with Rosetta, Docker Desktop's settings, QEMU from the distribution, the
tonistiigi/binfmt handlers), offered by the image, compose and build checks alike.
"""

from __future__ import annotations

from typing import NamedTuple

from dockdoctor.checks._util import current_profile, engine_settings, native, platform_or_none, runs_natively
from dockdoctor.checks._versions import installed_versions
from dockdoctor.model import EmulatedPlatform, Facts, Fix, Flavor, Need, RunCommand, Safety, manual, run
from dockdoctor.platforms import Platform, can_run

# builder drivers whose platforms are those of this engine's own kernel (its binfmt handlers)
_LOCAL_DRIVERS = ("docker", "docker-container")


class Runner(NamedTuple):
    """What runs a platform here: `kind` and the fact path and value that told it."""

    kind: str  # native | qemu | rosetta | unknown (emulated, by what the facts do not say) | none (cannot run)
    how: str

    @property
    def emulated(self) -> bool:
        return self.kind in ("qemu", "rosetta", "unknown")


def engine_rosetta(facts: Facts) -> bool | None:
    """The engine's own Rosetta setting, None when not recorded: its settings file (Docker Desktop, OrbStack,
    Colima's colima.yaml), else its VM's settings (`colima list`, Lima, Podman machine; a running one first)."""
    flavor = facts.engine.flavor.value
    setting = next((r for r in facts.emulation.rosetta if r.source == flavor and r.enabled is not None), None)
    if setting is not None:
        return setting.enabled
    vms = sorted(
        (s for s in facts.emulation.settings if s.product == flavor and s.rosetta is not None),
        key=lambda s: s.status.lower() != "running",
    )
    return vms[0].rosetta if vms else None


# Mac engines whose VM runs amd64 under QEMU when their own Rosetta setting is off (DKD530's defects and the
# emulation checks read the setting the same way): Docker Desktop's VM registers QEMU's binfmt handlers, and
# OrbStack falls back to its QEMU emulation (orbstack/orbstack#792 compares the two).
_QEMU_WITHOUT_ROSETTA = ("docker-desktop", "orbstack")


def _entry(facts: Facts, platform: Platform) -> EmulatedPlatform | None:
    for item in facts.emulation.emulated:
        offered = platform_or_none(item.platform)
        if offered is not None and (offered == platform or can_run(offered, platform)):
            return item
    return None


def runner_for(facts: Facts, platform: Platform) -> Runner:
    """Which emulator will run `platform` on this engine (pure; never guesses an emulator the facts do not show).

    In order: the engine's own platform (native); the emulated entry's `emulator` (facts schema 2) or the first
    word of its `via`; for a builder's platform list, the builder's driver and the engine's Rosetta setting; with
    no entry, an amd64 target on an arm64 Docker Desktop or OrbStack whose Rosetta setting is recorded.
    """
    engine = native(facts)
    if engine is None:
        return Runner("unknown", "engine.platform missing")
    if runs_natively(facts, platform):
        return Runner("native", f"engine.platform={facts.engine.platform}")
    entry = _entry(facts, platform)
    if entry is None:
        rosetta = engine_rosetta(facts)
        amd64_on_arm64 = platform.architecture == "amd64" and engine.architecture == "arm64"
        if amd64_on_arm64 and rosetta is not None and facts.engine.flavor.value in _QEMU_WITHOUT_ROSETTA:
            kind = "rosetta" if rosetta else "qemu"
            return Runner(
                kind, f"emulation.rosetta {'enabled' if rosetta else 'disabled'} ({facts.engine.flavor.value})"
            )
        return Runner("none", "emulation.emulated has no entry for it")
    via = entry.via
    how = f"emulation.emulated.via={via}"
    if entry.emulator in ("qemu", "rosetta"):
        return Runner(entry.emulator, how)
    lowered = via.lower()
    for kind in ("rosetta", "qemu"):
        if lowered.startswith(kind):
            return Runner(kind, how)
    builder = next((b for b in facts.buildx.builders if lowered == f"buildx builder {b.name}".lower()), None)
    if builder is None or builder.driver not in _LOCAL_DRIVERS:
        return Runner("unknown", how)  # a remote or cloud builder may run it natively on another node
    if platform.architecture != "amd64" or engine.architecture != "arm64":
        return Runner("qemu", how)  # Rosetta translates x86_64 on arm64 only; BuildKit emulates with QEMU
    rosetta = engine_rosetta(facts)
    if rosetta is True:
        return Runner("rosetta", how + "; emulation.rosetta enabled")
    if rosetta is False:
        return Runner("qemu", how + "; emulation.rosetta disabled")
    if facts.host.os == "linux" and not facts.engine.remote:
        return Runner("qemu", how + "; a local Linux kernel (Rosetta runs only in macOS VMs)")
    return Runner("unknown", how + "; the engine's Rosetta setting is not recorded")


def qemu_version(facts: Facts) -> str | None:
    """The QEMU release that emulates here, when the facts show it (`qemu` or `tonistiigi-binfmt` releases)."""
    for item in installed_versions(facts):
        if item.product in ("qemu", "tonistiigi-binfmt"):
            return item.version
    return None


def binfmt(*args: str) -> RunCommand:
    """`docker run --privileged --rm tonistiigi/binfmt ARGS`: the QEMU handlers registered (or removed) by the image."""
    return run("docker", "run", "--privileged", "--rm", "tonistiigi/binfmt", *args)


def install_emulation(facts: Facts, target: Platform) -> tuple[Fix, ...]:
    """Ways to make `target` runnable on this engine."""
    flavor, arch = facts.engine.flavor, target.architecture
    if flavor is Flavor.COLIMA and arch == "amd64":
        profile = current_profile(facts, "colima") or "default"
        flag = () if profile == "default" else ("--profile", profile)
        settings = engine_settings(facts, "colima")
        if settings is not None and settings.vm_type == "qemu":  # the VM type is fixed when the VM is created
            return (
                Fix(
                    title="recreate Colima with the vz VM type and Rosetta",
                    safety=Safety.DISPLAY_ONLY,
                    steps=(
                        run("colima", "delete", *flag),
                        run("colima", "start", *flag, "--vm-type", "vz", "--vz-rosetta"),
                    ),
                ),
            )
        return (
            Fix(
                title="restart Colima with Rosetta",
                safety=Safety.DISPLAY_ONLY,
                steps=(run("colima", "stop", *flag), run("colima", "start", *flag, "--vm-type", "vz", "--vz-rosetta")),
            ),
        )
    if flavor is Flavor.LIMA and arch == "amd64":
        name = current_profile(facts, "lima") or "default"
        return (
            Fix(
                title="turn on Rosetta in the Lima instance",
                safety=Safety.DISPLAY_ONLY,
                steps=(
                    run("limactl", "stop", name),
                    manual(
                        f"in ~/.lima/{name}/lima.yaml set `vmType: vz` and `rosetta: {{enabled: true, "
                        "binfmt: true}` (a vz VM needs macOS 13; the VM type is fixed at creation: "
                        "if it is qemu, `limactl delete` and create it again with `--vm-type=vz --rosetta`)"
                    ),
                    run("limactl", "start", name),
                ),
            ),
        )
    if flavor in (Flavor.DOCKER_DESKTOP, Flavor.ORBSTACK):
        return (
            Fix(
                title=f"turn emulation back on in {flavor.value}",
                safety=Safety.DISPLAY_ONLY,
                steps=(
                    manual(
                        f"{flavor.value} ships QEMU and Rosetta; restart it, and in its settings turn on "
                        "Rosetta for x86_64/amd64 emulation"
                    ),
                ),
            ),
        )
    fixes = []
    release = facts.host.os_release.lower()
    sudo = () if facts.host.root else ("sudo",)
    if facts.host.os == "linux" and not facts.engine.remote:
        if any(name in release for name in ("debian", "ubuntu")):
            fixes.append(
                Fix(
                    title="install QEMU user emulation from your distribution",
                    safety=Safety.UNSAFE,
                    needs=(Need.SUDO, Need.NETWORK),
                    steps=(run(*sudo, "apt-get", "install", "-y", "qemu-user-static", "binfmt-support"),),
                )
            )
        elif any(name in release for name in ("fedora", "red hat", "centos", "rocky", "alma")):
            fixes.append(
                Fix(
                    title="install QEMU user emulation from your distribution",
                    safety=Safety.UNSAFE,
                    needs=(Need.SUDO, Need.NETWORK),
                    steps=(run(*sudo, "dnf", "install", "-y", "qemu-user-static"),),
                )
            )
    fixes.append(
        Fix(
            title="register QEMU handlers with a privileged container",
            safety=Safety.UNSAFE,
            needs=(Need.PRIVILEGED, Need.NETWORK),
            steps=(binfmt("--install", arch),),
        )
    )
    return tuple(fixes)
