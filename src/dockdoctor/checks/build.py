"""DKD5xx: buildx, builders and emulation (can the engine build and run the target platforms?)."""

from __future__ import annotations

from collections.abc import Iterator

from dockdoctor.checks._emulator import binfmt, install_emulation, qemu_version
from dockdoctor.checks._levels import required_level
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import (
    emulation_for,
    engine_settings,
    ev,
    native,
    platform_or_none,
    rosetta_blockers,
    runs_natively,
)
from dockdoctor.checks._versions import release
from dockdoctor.knowledge import load
from dockdoctor.model import (
    BinfmtHandler,
    Facts,
    Fix,
    Fixable,
    Flavor,
    Need,
    Problem,
    Safety,
    Severity,
    manual,
    run,
)
from dockdoctor.platforms import Platform, can_run, format_platform, parse


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
    yield Problem(
        message="docker buildx is not installed: no multi-platform builds",
        subject="buildx",
        evidence=(ev("buildx.installed", False),),
        fixes=(
            Fix(
                title="install the buildx plugin",
                safety=Safety.DISPLAY_ONLY,
                steps=(
                    manual(
                        "install docker-buildx-plugin (Docker's repository) or docker-buildx "
                        "(Debian/Ubuntu), then check `docker buildx version`"
                    ),
                ),
            ),
        ),
    )


@check("DKD502", "builder-cannot-multiplatform", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def builder_cannot_multiplatform(ctx: Context) -> Iterator[Problem]:
    """The current builder uses the `docker` driver and cannot build several platforms at once

    ## What it checks
    The targets are more than one platform, while the current buildx builder has the `docker` driver and the
    engine uses the classic image store (not containerd's). A build for one platform, even an emulated one
    (`docker buildx build --platform linux/amd64 .` on an arm64 engine with QEMU or Rosetta), works with the
    `docker` driver and is not reported.

    ## Why it matters
    `docker buildx build --platform linux/amd64,linux/arm64 .` then fails with `Multi-platform build is not
    supported for the docker driver. Switch to a different driver, or turn on the containerd image store` (with
    `--load` against dockerd 20.10: `docker exporter does not currently support exporting manifest lists`).

    ## Example
    `fixtures/checks/DKD502/bad-docker-driver-two-targets.json` (targets linux/amd64 and linux/arm64);
    `good-docker-container-driver.json`; `good-single-emulated-target.json` (one linux/amd64 target on an arm64
    Docker Desktop with the classic store and the docker driver); `good-containerd-image-store.json` (Docker
    Desktop with the containerd image store builds several platforms with the docker driver). Gathered here with
    buildx 0.29:
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
    if len(ctx.targets) < 2:
        return  # one platform, even an emulated one, builds with the docker driver (DKD503 covers no emulator)
    wanted = ",".join(format_platform(t) for t in ctx.targets)
    yield Problem(
        message=f"builder {current.name!r} uses the docker driver: it cannot build {wanted} in one build",
        subject=f"builder {current.name}",
        target=wanted,
        evidence=(ev("buildx.current", current.name), ev("buildx.builders.driver", current.driver)),
        fixes=(
            Fix(
                title="create a docker-container builder",
                needs=(Need.NETWORK,),
                steps=(
                    run("docker", "buildx", "create", "--name", "dockdoctor", "--driver", "docker-container", "--use"),
                    run("docker", "buildx", "inspect", "--bootstrap"),
                ),
            ),
        ),
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

    When a handler for the target is registered but switched off (itself, or binfmt_misc as a whole), the
    first fix switches it on: reinstalling the package leaves an existing entry as it is.

    ## Example
    `fixtures/checks/DKD503/bad-arm64-target-no-qemu.json`: amd64 dockerd, target linux/arm64, no handlers;
    `bad-arm64-handler-disabled.json`: a `qemu-aarch64` handler registered but disabled.
    `good-arm64-target-with-qemu.json` has an enabled `qemu-aarch64` handler. `bad-colima-qemu-vm-amd64-target.json`:
    an aarch64 Colima VM of type qemu, whose fix recreates it with `--vm-type vz --vz-rosetta`.

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
        # a handler registered but off (itself, or binfmt_misc as a whole): switching it on is the fix, and
        # reinstalling the package would not do it (update-binfmts leaves an existing entry as it is)
        handlers = _handlers_for(facts, target) if facts.host.os == "linux" and not facts.engine.remote else []
        cause: str = "no emulation is installed"
        enable: tuple[Fix, ...] = ()
        if handlers and (facts.emulation.binfmt_enabled is False or not any(h.enabled for h in handlers)):
            cause, enable = _emulator_causes(facts, next((h for h in handlers if h.enabled), handlers[0]))
        yield Problem(
            message=f"the {facts.engine.platform} engine cannot run {name}: {cause}",
            subject=facts.engine.endpoint,
            target=name,
            evidence=(
                ev("engine.platform", facts.engine.platform),
                ev("emulation.emulated", ",".join(e.platform for e in facts.emulation.emulated) or "none"),
            ),
            fixes=enable + install_emulation(facts, target),
        )


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
    if (
        facts.host.os != "linux"
        or facts.engine.remote
        or facts.engine.flavor not in (Flavor.DOCKERD, Flavor.PODMAN, Flavor.UNKNOWN)
    ):
        return
    for handler in facts.emulation.handlers:
        if handler.enabled and handler.platform and "F" not in handler.flags:
            arch = handler.platform.split("/")[1]
            yield Problem(
                message=f"binfmt handler {handler.name} ({handler.platform}) lacks the F flag: containers cannot"
                f" find {handler.interpreter}",
                subject=f"binfmt {handler.name}",
                target=handler.platform,
                evidence=(ev(f"emulation.handlers.{handler.name}.flags", handler.flags or "(none)"),),
                fixes=(
                    Fix(
                        title="re-register the handler with the F flag",
                        safety=Safety.UNSAFE,
                        needs=(Need.PRIVILEGED, Need.NETWORK),
                        steps=(binfmt("--install", arch),),
                    ),
                ),
            )


_ROSETTA_HOW = {
    "docker-desktop": 'Docker Desktop > Settings > General: turn on "Use Rosetta for x86_64/amd64 emulation on '
    'Apple Silicon", then Apply & restart',
    "orbstack": "run `orb config set rosetta true` (or OrbStack > Settings > System), then restart OrbStack",
    "colima": "colima stop && colima start --vm-type vz --vz-rosetta",
}


_VZ_HOW = {
    "docker-desktop": 'Docker Desktop > Settings > General > Virtual Machine Manager: choose "Apple Virtualization '
    'framework", then Apply & restart',
    "colima": "colima delete && colima start --vm-type vz --vz-rosetta (the VM type is fixed when the VM is created: "
    "this deletes its images and volumes)",
}


@check("DKD505", "qemu-where-rosetta-available", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def qemu_where_rosetta_available(ctx: Context) -> Iterator[Problem]:
    """amd64 containers run under QEMU although Rosetta is available

    ## What it checks
    On an Apple Silicon Mac whose engine (Docker Desktop, OrbStack or Colima) is arm64, the engine's own settings
    file has Rosetta turned off while linux/amd64 is a target or is emulated, and Rosetta can be turned on here:
    the Mac runs macOS 13 or later (Rosetta for Linux VMs came with macOS 13 Ventura) and the engine can use
    Apple's Virtualization framework (`knowledge/rosetta.toml`, with sources). When the VM type is another one
    (Docker Desktop's QEMU or Docker VMM, Colima's `qemu`), the fix switches it first. On macOS 12 it stays
    silent: Docker Desktop cannot use Rosetta there.

    ## Why it matters
    QEMU runs amd64 containers several times slower than Rosetta and crashes on some workloads (`qemu: uncaught
    target signal 11 (Segmentation fault) - core dumped`, Node and Java JITs, `inotify` in file watchers).

    ## Example
    `fixtures/checks/DKD505/bad-desktop-rosetta-off.json`; `bad-desktop-qemu-vmm.json` (Docker Desktop on the
    QEMU VMM: switch to the Virtualization framework, then Rosetta); `good-desktop-rosetta-on.json`;
    `good-desktop-macos12.json` (macOS 12.7, where Docker Desktop offers no Rosetta).

    ## Fix
    Display only, per engine: Docker Desktop's "Use Rosetta for x86_64/amd64 emulation" setting (with the
    "Apple Virtualization framework" VMM), `orb config set rosetta true`, or
    `colima start --vm-type vz --vz-rosetta`.

    ## Facts used
    `host.apple_silicon`, `host.macos_version` (`host.os_release` in older facts), `engine.flavor`,
    `engine.platform`, `emulation.rosetta`, `emulation.settings`, `emulation.emulated`, targets.
    """
    facts = ctx.facts
    engine_native = native(facts)
    if not facts.host.apple_silicon or engine_native is None or engine_native.architecture != "arm64":
        return
    wants_amd64 = any(t.architecture == "amd64" for t in ctx.targets) or any(
        e.platform.startswith("linux/amd64") for e in facts.emulation.emulated
    )
    product = facts.engine.flavor.value
    settings = engine_settings(facts, product)
    off = [(s.path, s.enabled) for s in facts.emulation.rosetta if s.source == product]
    if settings is not None and settings.rosetta is not None:
        off = [(settings.source, settings.rosetta)]
    if not wants_amd64 or not off or off[0][1] is not False or product not in _ROSETTA_HOW:
        return
    hard, switch = rosetta_blockers(facts, product, settings.vm_type if settings else "")
    if hard:
        return  # only a macOS upgrade would allow it: not a setting to turn on
    steps = [manual(_VZ_HOW[product])] if switch and product in _VZ_HOW else []
    steps.append(manual(_ROSETTA_HOW[product]))
    yield Problem(
        message=f"Rosetta is off in {product}: linux/amd64 containers run under QEMU"
        + (f"; {switch[0]}" if switch else ""),
        subject=product,
        target="linux/amd64",
        evidence=(
            ev("emulation.rosetta.enabled", False),
            ev("emulation.rosetta.path", off[0][0]),
            ev("host.macos_version", facts.host.macos_version or facts.host.os_release),
        ),
        fixes=(
            Fix(
                title=f"turn on Rosetta in {product}",
                safety=Safety.DISPLAY_ONLY,
                needs=(Need.RESTART,),
                steps=tuple(steps),
            ),
        ),
    )


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
            yield Problem(
                message=f"{name} runs on this {facts.engine.platform} engine only under emulation: {via}",
                subject=facts.engine.endpoint,
                target=name,
                evidence=(ev("emulation.via", via),),
            )


def _handlers_for(facts: Facts, platform: Platform) -> list[BinfmtHandler]:

    found = []
    for handler in facts.emulation.handlers:
        offered = platform_or_none(handler.platform)
        if offered is not None and (offered == platform or can_run(offered, platform)):
            found.append(handler)
    return found


def _emulator_causes(
    facts: Facts, handler: BinfmtHandler | None, container: str = "NAME"
) -> tuple[str, tuple[Fix, ...]]:
    """Why a registered emulator did not run the binary, from the facts, and what to do about it."""
    sudo = () if facts.host.root else ("sudo",)
    if handler is None:
        return (
            "the engine's own emulation (in its VM) failed: restart the engine; if it persists, its emulator "
            "release may have a known defect (DKD530)"
        ), (
            Fix(
                title="restart the engine",
                safety=Safety.DISPLAY_ONLY,
                needs=(Need.RESTART,),
                steps=(manual(f"restart {facts.engine.flavor.value}, then run the container again"),),
            ),
        )
    root = "/proc/sys/fs/binfmt_misc"
    if facts.emulation.binfmt_enabled is False:
        return (
            f"binfmt_misc is switched off for every handler ({root}/status says disabled), so "
            f"{handler.name} is registered but never used"
        ), (
            Fix(
                title="switch binfmt_misc back on",
                needs=(Need.SUDO,),
                safety=Safety.UNSAFE,
                steps=(run(*sudo, "sh", "-c", f"echo 1 > {root}/status"),),
            ),
        )
    if not handler.enabled:
        return f"the handler {handler.name} is registered but disabled", (
            Fix(
                title=f"enable the {handler.name} handler",
                needs=(Need.SUDO,),
                safety=Safety.UNSAFE,
                steps=(run(*sudo, "sh", "-c", f"echo 1 > {root}/{handler.name}"),),
            ),
        )
    arch = (handler.platform or "/").split("/")[1]
    reinstall = Fix(
        title="re-register the QEMU handlers with the F flag",
        safety=Safety.UNSAFE,
        needs=(Need.PRIVILEGED, Need.NETWORK),
        steps=(
            binfmt("--uninstall", f"qemu-{arch}" if arch != "arm64" else "qemu-aarch64"),
            binfmt("--install", arch),
        ),
    )
    if "F" not in handler.flags:
        return (
            f"{handler.name} lacks the F flag: the kernel looks for {handler.interpreter} inside the container, "
            "where it does not exist"
        ), (reinstall,)
    version = f" {handler.emulator or 'emulator'} {handler.version}" if handler.version else ""
    again = Fix(
        title="run the container again (it may have failed before the emulator was registered)",
        safety=Safety.DISPLAY_ONLY,
        steps=(
            manual(f"`docker start -a {container}` (or recreate it); if it fails again, the emulator itself fails it"),
        ),
    )
    return (
        f"{handler.name} ({handler.interpreter}, flags {handler.flags}){version} is registered and enabled now: "
        "either the container ran before it was registered (then it only needs to run again), or the emulator "
        "itself failed (a known defect of its release, DKD530, or a binary it cannot run)"
    ), (again, reinstall)


@check("DKD507", "exec-format-error-with-emulator", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def exec_format_error_with_emulator(ctx: Context) -> Iterator[Problem]:
    """A container failed with `exec format error` although an emulator for its platform is registered

    ## What it checks
    An exited container whose log says `exec format error`, whose platform the engine cannot run natively,
    while a binfmt_misc handler for that platform is registered (or the engine's builder lists the platform).
    The image is then not the problem: the emulator did not run. The facts say why: binfmt_misc switched off as
    a whole (`/proc/sys/fs/binfmt_misc/status`), the handler disabled, the handler without the F flag (its
    interpreter is looked up inside the container), or an enabled handler that still failed (its release, see
    DKD530 for known defects).

    ## Why it matters
    `exec /bin/sh: exec format error` reads like a wrong image, and pulling another platform (which the image
    may not even have) or reinstalling it changes nothing; the emulator has to be repaired.

    ## Example
    `fixtures/checks/DKD507/bad-binfmt-switched-off.json` (gathered here: `qemu-aarch64` enabled, binfmt_misc
    disabled, an arm64 busybox exited with exec format error); `good-emulator-ran.json` (the same container
    ran under QEMU).

    ## Fix
    Per cause: `echo 1 > /proc/sys/fs/binfmt_misc/status` or `echo 1 > /proc/sys/fs/binfmt_misc/NAME` (unsafe:
    needs sudo); re-register with the F flag (`docker run --privileged --rm tonistiigi/binfmt --install arm64`,
    privileged: its own consent); on a Mac engine, restart it.

    ## Facts used
    `images.containers[].exec_format_error`, `images.containers[].platform`, `emulation.handlers`,
    `emulation.binfmt_enabled`, `emulation.emulated`, `engine.platform`, `engine.flavor`.
    """
    facts = ctx.facts
    engine = native(facts)
    if engine is None:
        return

    for container in facts.images.containers:
        platform = platform_or_none(container.platform)
        if not container.exec_format_error or platform is None or runs_natively(facts, platform):
            continue
        handlers = _handlers_for(facts, platform)
        if not handlers and not emulation_for(facts, platform):
            continue  # nothing registered: DKD305
        handler = next((h for h in handlers if h.enabled), handlers[0] if handlers else None)
        cause, fixes = _emulator_causes(facts, handler, container.name)
        yield Problem(
            message=f"container {container.name} ({container.image}, {container.platform}) failed with exec format "
            f"error although an emulator for {container.platform} is registered: {cause}",
            subject=f"container {container.name}",
            target=container.platform,
            evidence=(
                ev("images.containers.platform", container.platform),
                ev(
                    "emulation.handlers",
                    ",".join(f"{h.name}:{'on' if h.enabled else 'off'}:{h.flags}" for h in handlers) or "none",
                ),
                ev("emulation.binfmt_enabled", facts.emulation.binfmt_enabled),
            ),
            fixes=fixes,
        )


def _amd64_under_qemu(facts: Facts) -> str | None:
    """How the engine runs linux/amd64 when that is QEMU user emulation (not Rosetta, not native), else None."""

    engine = native(facts)
    if engine is None or engine.architecture == "amd64":
        return None
    amd64 = parse("linux/amd64")
    item = next((e for e in facts.emulation.emulated if e.platform == "linux/amd64"), None)
    if item is None or item.emulator == "rosetta" or "rosetta" in item.via:
        return None
    if item.emulator == "qemu":
        return item.via
    flavor = facts.engine.flavor.value
    rosetta_off = any(s.source == flavor and s.enabled is False for s in facts.emulation.rosetta) or any(
        s.product == flavor and s.rosetta is False for s in facts.emulation.settings
    )
    return f"{item.via} (QEMU: Rosetta is off)" if rosetta_off and emulation_for(facts, amd64) else None


@check("DKD508", "emulated-cpu-below-image-level", severity=Severity.ERROR, fixable=Fixable.ALWAYS)
def emulated_cpu_below_image_level(ctx: Context) -> Iterator[Problem]:
    """An amd64 image needs a newer x86-64 level than QEMU emulates by default

    ## What it checks
    On an arm64 engine that runs linux/amd64 with QEMU user emulation (a `qemu-x86_64` binfmt handler, or a
    Mac engine with Rosetta off), images whose amd64 entries all need x86-64-v2 or more (an `amd64/v2` variant);
    project base images of a family built for a newer level are DKD541's (`knowledge/emulation.toml`). Before
    QEMU 7.2 qemu-user emulates a basic x86-64 CPU (`qemu64`, x86-64-v1) unless `QEMU_CPU` says otherwise; from 7.2
    its default is `max` and nothing is reported. When the facts do not show QEMU's version, the finding says so.

    ## Why it matters
    `docker run --platform linux/amd64 registry.access.redhat.com/ubi9` dies at once with `Fatal glibc error:
    CPU does not support x86-64-v2`, although QEMU could emulate that CPU.

    ## Example
    `fixtures/checks/DKD508/bad-amd64-v2-image-under-qemu.json` (Linux arm64 with qemu-x86_64, an image whose
    only amd64 entry is `linux/amd64/v2`); `good-rocky9-under-rosetta.json` (Rosetta runs it).

    ## Fix
    Safe: run the container with `-e QEMU_CPU=max` (compose: `environment: [QEMU_CPU=max]`), which makes QEMU
    emulate every feature it can; on a Mac, turning on Rosetta (DKD505) works too.

    ## Facts used
    `engine.platform`, `emulation.emulated`, `emulation.rosetta`, `emulation.settings`, `images.remote[].platforms`,
    `project` base images.
    """

    facts = ctx.facts
    via = _amd64_under_qemu(facts)
    if via is None:
        return
    qemu = load("cpu_models")["qemu_user"]
    default = next(e for e in load("emulation")["qemu_fact"] if e["id"] == "qemu-x86-64-default-cpu-max")
    version = qemu_version(facts)
    parsed = release(version) if version else None
    since = release(default["since"])
    if parsed is not None and since is not None and parsed >= since:
        return  # from QEMU 7.2 the default CPU is `max`: no level below the image's is claimed
    level = 1  # `qemu64`, QEMU's default before 7.2
    how = (
        f"QEMU {version} emulates its default `{default['before']}` CPU (x86-64-v1)"
        if parsed is not None
        else f"QEMU's version is unknown here; before {default['since']} its default CPU is `{default['before']}` "
        "(x86-64-v1)"
    )
    needs = [
        (i.reference, n)
        for i in facts.images.remote
        if i.error is None
        for n in [required_level(i)]
        if n is not None and n > level
    ]
    # project base images: DKD541's (base-image-level-above-cpu), from the same knowledge base table DKD308 reads
    for subject, needed in needs:
        yield Problem(
            message=f"{subject} needs x86-64-v{needed}; linux/amd64 runs here under {via}: {how} unless QEMU_CPU "
            f"says otherwise (Fatal glibc error: CPU does not support x86-64-v{needed})",
            subject=subject,
            target=f"linux/amd64/v{needed}",
            evidence=(
                ev("emulation.via", via),
                ev("qemu.version", version or "unknown"),
                ev("needed_level", needed),
                ev("source", qemu["source"]),
                ev("source", default["source"]),
            ),
            fixes=(
                Fix(
                    title="let QEMU emulate the newer CPU",
                    safety=Safety.SAFE,
                    steps=(
                        manual(f"run it with `-e {qemu['workaround']}` (compose: environment: [{qemu['workaround']}])"),
                    ),
                ),
                Fix(
                    title=f"use QEMU {default['since']} or later (its default CPU is `max`)",
                    safety=Safety.DISPLAY_ONLY,
                    steps=(
                        manual(
                            f"upgrade the qemu-user-static package (or the tonistiigi/binfmt image) to "
                            f"QEMU {default['since']} or later"
                        ),
                    ),
                ),
            ),
        )
