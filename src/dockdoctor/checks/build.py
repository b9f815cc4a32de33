"""DKD5xx: buildx, builders and emulation (can the engine build and run the target platforms?)."""

from __future__ import annotations

from collections.abc import Iterator

from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import emulation_for, ev, native, runs_natively
from dockdoctor.model import Facts, Fix, Fixable, Flavor, Need, Problem, Safety, Severity, manual, run
from dockdoctor.platforms import Platform, format_platform

_BINFMT_NAMES = {"amd64": "amd64", "arm64": "arm64", "arm": "arm", "386": "386", "riscv64": "riscv64",
                 "ppc64le": "ppc64le", "s390x": "s390x", "mips64le": "mips64le", "loong64": "loong64"}


def _install_emulation(facts: Facts, target: Platform) -> tuple[Fix, ...]:
    """Ways to make `target` runnable on this engine."""
    flavor, arch = facts.engine.flavor, target.architecture
    if flavor is Flavor.COLIMA and arch == "amd64":
        return (Fix(title="restart Colima with Rosetta", safety=Safety.DISPLAY_ONLY,
                    steps=(run("colima", "stop"), run("colima", "start", "--vm-type", "vz", "--vz-rosetta"))),)
    if flavor in (Flavor.DOCKER_DESKTOP, Flavor.ORBSTACK):
        return (Fix(title=f"turn emulation back on in {flavor.value}", safety=Safety.DISPLAY_ONLY,
                    steps=(manual(f"{flavor.value} ships QEMU and Rosetta; restart it, and in its settings turn on "
                                  "Rosetta for x86_64/amd64 emulation"),)),)
    fixes = []
    release = facts.host.os_release.lower()
    sudo = () if facts.host.root else ("sudo",)
    if facts.host.os == "linux" and not facts.engine.remote:
        if any(name in release for name in ("debian", "ubuntu")):
            fixes.append(Fix(title="install QEMU user emulation from your distribution", safety=Safety.UNSAFE,
                             needs=(Need.SUDO, Need.NETWORK),
                             steps=(run(*sudo, "apt-get", "install", "-y", "qemu-user-static", "binfmt-support"),)))
        elif any(name in release for name in ("fedora", "red hat", "centos", "rocky", "alma")):
            fixes.append(Fix(title="install QEMU user emulation from your distribution", safety=Safety.UNSAFE,
                             needs=(Need.SUDO, Need.NETWORK), steps=(run(*sudo, "dnf", "install", "-y",
                                                                         "qemu-user-static"),)))
    fixes.append(Fix(title="register QEMU handlers with a privileged container", safety=Safety.UNSAFE,
                     needs=(Need.PRIVILEGED, Need.NETWORK),
                     steps=(run("docker", "run", "--privileged", "--rm", "tonistiigi/binfmt", "--install",
                                _BINFMT_NAMES.get(arch, arch)),)))
    return tuple(fixes)


@check("DKD501", "buildx-missing", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def buildx_missing(ctx: Context) -> Iterator[Problem]:
    """The buildx plugin is not installed

    ## What it checks
    `docker buildx version` fails while an engine answers.

    ## Why it matters
    Without buildx there is no `docker buildx build --platform linux/amd64,linux/arm64`, no multi-platform
    builder and no `docker buildx imagetools`; `docker build --platform` still works with BuildKit
    (`DOCKER_BUILDKIT=1`) but only for one platform at a time and only into the local image store. Since Docker
    23 the classic builder prints `DEPRECATED: The legacy builder is deprecated`.

    ## Example
    `fixtures/checks/DKD501/bad-no-buildx.json`; `good-buildx-installed.json`.

    ## Fix
    Display only: install the buildx plugin (`docker-buildx-plugin` from Docker's repository, `docker-buildx`
    in newer Debian and Ubuntu releases; Docker Desktop ships it).

    ## Facts used
    `buildx.installed`, `engine.reachable`.
    """
    facts = ctx.facts
    if facts.buildx.installed or not facts.engine.reachable or facts.buildx.error is not None:
        return
    yield Problem(message="docker buildx is not installed: no multi-platform builds", subject="buildx",
                  evidence=(ev("buildx.installed", False),),
                  fixes=(Fix(title="install the buildx plugin", safety=Safety.DISPLAY_ONLY,
                             steps=(manual("install docker-buildx-plugin (Docker's repository) or docker-buildx "
                                           "(Debian/Ubuntu), then check `docker buildx version`"),)),))


@check("DKD502", "builder-cannot-multiplatform", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def builder_cannot_multiplatform(ctx: Context) -> Iterator[Problem]:
    """The current builder uses the `docker` driver and cannot build several platforms at once

    ## What it checks
    The targets include a platform other than the engine's own, or more than one platform, while the current
    buildx builder has the `docker` driver and the engine uses the classic image store (not containerd's).

    ## Why it matters
    `docker buildx build --platform linux/amd64,linux/arm64 .` then fails with `Multi-platform build is not
    supported for the docker driver. Switch to a different driver, or turn on the containerd image store` (with
    `--load` against dockerd 20.10: `docker exporter does not currently support exporting manifest lists`).

    ## Example
    `fixtures/checks/DKD502/bad-docker-driver-two-targets.json` (targets linux/amd64 and linux/arm64);
    `good-docker-container-driver.json`; `good-containerd-image-store.json` (Docker Desktop with the containerd
    image store builds several platforms with the docker driver). Gathered here with buildx 0.29:
    `bad-dockerd-20-docker-driver.json`; `good-dockerd-28-containerd-store.json`.

    ## Fix
    Safe, needs network (it pulls `moby/buildkit`): `docker buildx create --name dockdoctor --driver
    docker-container --use` then `docker buildx inspect --bootstrap`. Alternatively turn on the containerd
    image store (Docker Desktop: Settings > General).

    ## Facts used
    `buildx.builders`, `buildx.current`, `engine.containerd_snapshotter`, `engine.platform`, targets.
    """
    facts = ctx.facts
    current = next((b for b in facts.buildx.builders if b.current), None)
    if current is None or current.driver != "docker" or facts.engine.containerd_snapshotter:
        return
    foreign = [t for t in ctx.targets if not runs_natively(facts, t)]
    if len(ctx.targets) < 2 and not foreign:
        return
    wanted = ",".join(format_platform(t) for t in ctx.targets)
    yield Problem(
        message=f"builder {current.name!r} uses the docker driver: it cannot build {wanted} in one build",
        subject=f"builder {current.name}", target=wanted,
        evidence=(ev("buildx.current", current.name), ev("buildx.builders.driver", current.driver)),
        fixes=(Fix(title="create a docker-container builder", needs=(Need.NETWORK,),
                   steps=(run("docker", "buildx", "create", "--name", "dockdoctor", "--driver", "docker-container",
                              "--use"), run("docker", "buildx", "inspect", "--bootstrap"))),),
    )


@check("DKD503", "no-emulation-for-target", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def no_emulation_for_target(ctx: Context) -> Iterator[Problem]:
    """The engine cannot run a target platform: not natively and not under emulation

    ## What it checks
    For each target platform: the engine's native platform cannot run it (containerd's compatibility rules,
    e.g. arm64 runs arm/v7), and no emulator (a binfmt_misc QEMU or Rosetta handler, an engine's Rosetta
    setting, or a buildx builder's platform list) covers it.

    ## Why it matters
    Containers for that platform die at once with `exec /bin/sh: exec format error` (or `exec
    /usr/local/bin/docker-entrypoint.sh: exec format error`), and `RUN` steps of builds for it fail the same way.

    ## Example
    `fixtures/checks/DKD503/bad-arm64-target-no-qemu.json`: amd64 dockerd, target linux/arm64, no handlers.
    `good-arm64-target-with-qemu.json` has an enabled `qemu-aarch64` handler.

    ## Fix
    On Debian/Ubuntu: `sudo apt-get install -y qemu-user-static binfmt-support` (unsafe: installs packages,
    needs sudo and network). Anywhere: `docker run --privileged --rm tonistiigi/binfmt --install arm64`
    (needs its own consent: a privileged container). Colima: `colima start --vm-type vz --vz-rosetta`.

    ## Facts used
    `engine.platform`, `emulation.emulated`, `host.os_release`, `engine.flavor`, targets.
    """
    facts = ctx.facts
    if native(facts) is None:
        return
    for target in ctx.targets:
        if runs_natively(facts, target) or emulation_for(facts, target):
            continue
        name = format_platform(target)
        yield Problem(message=f"the {facts.engine.platform} engine cannot run {name}: no emulation is installed",
                      subject=facts.engine.endpoint, target=name,
                      evidence=(ev("engine.platform", facts.engine.platform),
                                ev("emulation.emulated", ",".join(e.platform for e in facts.emulation.emulated)
                                   or "none")),
                      fixes=_install_emulation(facts, target))


@check("DKD504", "binfmt-without-fix-binary", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def binfmt_without_fix_binary(ctx: Context) -> Iterator[Problem]:
    """A binfmt_misc emulator is registered without the F (fix binary) flag

    ## What it checks
    An enabled handler in `/proc/sys/fs/binfmt_misc` for a foreign ELF platform whose flags lack `F`, on a Linux
    host whose engine runs on the same kernel.

    ## Why it matters
    Without `F` the kernel opens the interpreter (`/usr/bin/qemu-aarch64-static`) lazily, by path, inside the
    container's filesystem, where it does not exist: the container fails with `exec format error` or `no such
    file or directory` although emulation "is installed" and works for binaries on the host.

    ## Example
    `fixtures/checks/DKD504/bad-qemu-without-F.json`; `good-qemu-with-F.json` (the Debian/Fedora default).

    ## Fix
    Re-register with `F`: `docker run --privileged --rm tonistiigi/binfmt --install arm64` (privileged, needs its
    own consent), or the distribution's package (`qemu-user-static` registers with `F`).

    ## Facts used
    `emulation.handlers`, `engine.remote`, `engine.flavor`, `host.os`.
    """
    facts = ctx.facts
    if facts.host.os != "linux" or facts.engine.remote or facts.engine.flavor not in (Flavor.DOCKERD, Flavor.PODMAN,
                                                                                      Flavor.UNKNOWN):
        return
    for handler in facts.emulation.handlers:
        if handler.enabled and handler.platform and "F" not in handler.flags:
            arch = handler.platform.split("/")[1]
            yield Problem(
                message=f"binfmt handler {handler.name} ({handler.platform}) lacks the F flag: containers cannot"
                        f" find {handler.interpreter}",
                subject=f"binfmt {handler.name}", target=handler.platform,
                evidence=(ev(f"emulation.handlers.{handler.name}.flags", handler.flags or "(none)"),),
                fixes=(Fix(title="re-register the handler with the F flag", safety=Safety.UNSAFE,
                           needs=(Need.PRIVILEGED, Need.NETWORK),
                           steps=(run("docker", "run", "--privileged", "--rm", "tonistiigi/binfmt", "--install",
                                      _BINFMT_NAMES.get(arch, arch)),)),))


_ROSETTA_HOW = {
    "docker-desktop": "Docker Desktop > Settings > General: turn on \"Use Rosetta for x86_64/amd64 emulation on "
                      "Apple Silicon\", then Apply & restart",
    "orbstack": "run `orb config set rosetta true` (or OrbStack > Settings > System), then restart OrbStack",
    "colima": "colima stop && colima start --vm-type vz --vz-rosetta",
}


@check("DKD505", "qemu-where-rosetta-available", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def qemu_where_rosetta_available(ctx: Context) -> Iterator[Problem]:
    """amd64 containers run under QEMU although Rosetta is available

    ## What it checks
    On an Apple Silicon Mac whose engine (Docker Desktop, OrbStack or Colima) is arm64, the engine's own settings
    file has Rosetta turned off while linux/amd64 is a target or is emulated.

    ## Why it matters
    QEMU runs amd64 containers several times slower than Rosetta and crashes on some workloads (`qemu: uncaught
    target signal 11 (Segmentation fault) - core dumped`, Node and Java JITs, `inotify` in file watchers).

    ## Example
    `fixtures/checks/DKD505/bad-desktop-rosetta-off.json`; `good-desktop-rosetta-on.json`.

    ## Fix
    Display only, per engine: Docker Desktop's "Use Rosetta for x86_64/amd64 emulation" setting,
    `orb config set rosetta true`, or `colima start --vm-type vz --vz-rosetta`.

    ## Facts used
    `host.apple_silicon`, `engine.flavor`, `engine.platform`, `emulation.rosetta`, `emulation.emulated`, targets.
    """
    facts = ctx.facts
    engine_native = native(facts)
    if not facts.host.apple_silicon or engine_native is None or engine_native.architecture != "arm64":
        return
    wants_amd64 = any(t.architecture == "amd64" for t in ctx.targets) or any(
        e.platform.startswith("linux/amd64") for e in facts.emulation.emulated)
    for setting in facts.emulation.rosetta:
        if setting.source == facts.engine.flavor.value and setting.enabled is False and wants_amd64:
            yield Problem(message=f"Rosetta is off in {setting.source}: linux/amd64 containers run under QEMU",
                          subject=setting.source, target="linux/amd64",
                          evidence=(ev("emulation.rosetta.enabled", False), ev("emulation.rosetta.path", setting.path)),
                          fixes=(Fix(title=f"turn on Rosetta in {setting.source}", safety=Safety.DISPLAY_ONLY,
                                     needs=(Need.RESTART,), steps=(manual(_ROSETTA_HOW[setting.source]),)),))


@check("DKD506", "target-runs-emulated", severity=Severity.INFO)
def target_runs_emulated(ctx: Context) -> Iterator[Problem]:
    """A target platform runs here only under emulation

    ## What it checks
    A target platform the engine cannot run natively but can run through an emulator (QEMU or Rosetta).

    ## Why it matters
    It works, slowly: builds and tests for that target take several times longer, and some programs crash only
    under QEMU (`qemu: uncaught target signal 11`). Results on this machine may differ from the real target.

    ## Example
    `fixtures/checks/DKD506/bad-arm64-target-with-qemu.json`; `good-native-target.json`.

    ## Fix
    None needed. For speed, build with cross-compilation (`FROM --platform=$BUILDPLATFORM` and
    `TARGETARCH`) or on a native builder.

    ## Facts used
    `engine.platform`, `emulation.emulated`, targets.
    """
    facts = ctx.facts
    if native(facts) is None:
        return
    for target in ctx.targets:
        via = None if runs_natively(facts, target) else emulation_for(facts, target)
        if via:
            name = format_platform(target)
            yield Problem(message=f"{name} runs on this {facts.engine.platform} engine only under emulation: {via}",
                          subject=facts.engine.endpoint, target=name, evidence=(ev("emulation.via", via),))
