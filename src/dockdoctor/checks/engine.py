"""DKD2xx: the endpoint and the engine (unreachable, which engine, its architecture, default platform)."""

from __future__ import annotations

from collections.abc import Iterator

from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import current_profile, ev, native, platform_or_none, runs_natively
from dockdoctor.model import (
    ContextFacts,
    EndpointRule,
    EngineSettings,
    Facts,
    Fix,
    Fixable,
    Flavor,
    Need,
    Problem,
    Safety,
    Severity,
    Step,
    manual,
    run,
)


def _start_fixes(facts: Facts) -> tuple[Fix, ...]:
    """How to bring up the engine the endpoint belongs to."""
    engine, on_mac = facts.engine, facts.host.os == "darwin"
    kind = engine.error.kind if engine.error else ""
    if engine.endpoint_rule is EndpointRule.DOCKER_HOST and kind in ("not-found", "refused", "timeout"):
        unset = Fix(
            title="stop overriding the endpoint",
            safety=Safety.DISPLAY_ONLY,
            steps=(
                manual(f"DOCKER_HOST={engine.endpoint} points nowhere: `unset DOCKER_HOST` to use the current context"),
            ),
        )
    else:
        unset = None
    starts: dict[Flavor, Fix] = {
        Flavor.DOCKER_DESKTOP: Fix(
            title="start Docker Desktop",
            safety=Safety.SAFE,
            steps=(run("open", "-a", "Docker"),) if on_mac else (manual("start Docker Desktop"),),
        ),
        Flavor.ORBSTACK: Fix(title="start OrbStack", steps=(run("orb", "start"),)),
        Flavor.COLIMA: Fix(title="start Colima", steps=(run("colima", "start"),)),
        Flavor.RANCHER_DESKTOP: Fix(title="start Rancher Desktop", steps=(run("rdctl", "start"),)),
        Flavor.PODMAN: Fix(title="start the Podman machine", steps=(run("podman", "machine", "start"),))
        if on_mac
        else Fix(
            title="start Podman's Docker API socket", steps=(run("systemctl", "--user", "start", "podman.socket"),)
        ),
        Flavor.LIMA: Fix(title="start the Lima instance", steps=(run("limactl", "start"),)),
    }
    fixes = [fix for fix in (unset, starts.get(engine.flavor)) if fix is not None]
    if engine.flavor in (Flavor.DOCKERD, Flavor.UNKNOWN) and not on_mac:
        if kind == "permission":
            fixes.append(
                Fix(
                    title="let your user use the docker socket",
                    safety=Safety.UNSAFE,
                    needs=(Need.SUDO,),
                    steps=(
                        manual('sudo usermod -aG docker "$USER", then log out and back in (or run `newgrp docker`)'),
                    ),
                )
            )
        elif kind in ("not-found", "refused") and not engine.remote:
            sudo = () if facts.host.root else ("sudo",)
            fixes.append(
                Fix(
                    title="start the Docker daemon",
                    needs=(Need.SUDO,),
                    steps=(run(*sudo, "systemctl", "start", "docker"),),
                )
            )
    if engine.error and engine.error.probe == "endpoint":
        fixes.append(
            Fix(
                title="switch to an existing context",
                safety=Safety.DISPLAY_ONLY,
                steps=(run("docker", "context", "ls"), run("docker", "context", "use", "default")),
            )
        )
    return tuple(fixes)


@check("DKD201", "engine-unreachable", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def engine_unreachable(ctx: Context) -> Iterator[Problem]:
    """The Docker engine does not answer at the endpoint the CLI uses

    ## What it checks
    dockdoctor resolves the endpoint the way the docker CLI does (`DOCKER_HOST`, then `DOCKER_CONTEXT`, then
    `currentContext` in the CLI config, then `/var/run/docker.sock`) and asks it for `/version` and `/info`.
    This check fires when there is no answer: no socket, permission denied, connection refused, a timeout,
    TLS or ssh errors, or a context that does not exist.

    ## Why it matters
    Every docker command fails with `Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is
    the docker daemon running?` or `permission denied while trying to connect to the Docker daemon socket`,
    and nothing about images or platforms can be checked.

    ## Example
    `fixtures/checks/DKD201/bad-orbstack-stopped.json`: the `orbstack` context's socket is missing, so the fix
    is `orb start`. `good-dockerd-running.json` answers.

    ## Fix
    Depends on the flavour the endpoint belongs to: `open -a Docker`, `orb start`, `colima start`,
    `rdctl start`, `podman machine start`, `sudo systemctl start docker`; for a permission error
    `sudo usermod -aG docker $USER` (unsafe: it grants root-equivalent access; needs sudo); for a bogus
    `DOCKER_HOST`, unset it. Starting an engine is safe; the others are shown, not run.

    ## Facts used
    `engine.reachable`, `engine.error`, `engine.endpoint`, `engine.endpoint_rule`, `engine.flavor`, `host.os`.
    """
    engine = ctx.facts.engine
    if engine.reachable:
        return
    reason = engine.error.detail if engine.error else "no answer"
    where = engine.endpoint or "(no endpoint)"
    yield Problem(
        message=f"no Docker engine answers at {where} (chosen by {engine.endpoint_rule.value}): {reason}",
        subject=where,
        evidence=(
            ev("engine.endpoint", where),
            ev("engine.endpoint_rule", engine.endpoint_rule.value),
            ev("engine.error.kind", engine.error.kind if engine.error else "none"),
            ev("engine.flavor", engine.flavor.value),
        ),
        fixes=_start_fixes(ctx.facts),
    )


@check("DKD202", "docker-host-overrides-context", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def docker_host_overrides_context(ctx: Context) -> Iterator[Problem]:
    """DOCKER_HOST overrides the context you selected

    ## What it checks
    `DOCKER_HOST` is set while `DOCKER_CONTEXT` or the CLI config's `currentContext` names another context.

    ## Why it matters
    The docker CLI silently prefers `DOCKER_HOST` (it prints `Warning: DOCKER_HOST environment variable
    overrides the active context`), so `docker context use orbstack` seems to do nothing and images land in an
    engine you did not mean: a different VM, a different architecture, a different image cache.

    ## Example
    `fixtures/checks/DKD202/bad-docker-host-and-context.json`: `DOCKER_HOST` points at Colima while the current
    context is `orbstack`. `good-context-only.json` has no `DOCKER_HOST`.

    ## Fix
    Display only: `unset DOCKER_HOST` (and remove it from your shell profile), or drop the context with
    `docker context use default` if `DOCKER_HOST` is what you want.

    ## Facts used
    `environment`, `engine.selected_context`, `engine.endpoint_rule`.
    """
    facts = ctx.facts
    if facts.engine.endpoint_rule is not EndpointRule.DOCKER_HOST:
        return
    chosen = facts.engine.selected_context
    if not chosen or chosen == "default":
        return
    yield Problem(
        message=f"DOCKER_HOST={facts.env('DOCKER_HOST')} overrides the selected context {chosen!r}",
        subject="DOCKER_HOST",
        evidence=(ev("environment.DOCKER_HOST", facts.env("DOCKER_HOST")), ev("context", chosen)),
        fixes=(
            Fix(
                title="use the selected context",
                safety=Safety.DISPLAY_ONLY,
                steps=(manual("unset DOCKER_HOST (and remove it from your shell profile)"),),
            ),
        ),
    )


def _engines(facts: Facts) -> list[list[ContextFacts]]:
    """The live contexts grouped by the engine behind them: one group per engine (pure).

    Two contexts are one engine when their sockets resolve to the same file or the engines answer with the same
    `/info` ID. A context is live when a connect() succeeded; facts from before that probe only say the file
    exists, and on a Mac `/var/run/docker.sock` is then taken for the symlink it always is (Docker Desktop,
    OrbStack, Colima and Rancher Desktop all create it to their own socket), not for another engine.
    """
    engine = facts.engine
    live = []
    for c in engine.contexts:
        if c.live is not None:
            alive = c.live
        else:
            alive = bool(c.socket_exists) and not (
                facts.host.os == "darwin" and not c.resolved and c.host == "unix:///var/run/docker.sock"
            )
        if alive:
            live.append(c)
    groups: list[list[ContextFacts]] = []
    for ctx in live:
        keys = {k for k in (ctx.resolved or ctx.host.removeprefix("unix://"), ctx.engine_id) if k}
        if ctx.current and engine.engine_id:
            keys.add(engine.engine_id)
        joined = [g for g in groups if keys & _keys(g, facts)]
        merged = [ctx] + [c for g in joined for c in g]
        groups = [g for g in groups if g not in joined] + [merged]
    return groups


def _keys(group: list[ContextFacts], facts: Facts) -> set[str]:
    keys = {k for c in group for k in (c.resolved or c.host.removeprefix("unix://"), c.engine_id) if k}
    if any(c.current for c in group) and facts.engine.engine_id:
        keys.add(facts.engine.engine_id)
    return keys


@check("DKD203", "several-engines", severity=Severity.INFO)
def several_engines(ctx: Context) -> Iterator[Problem]:
    """Several engines are installed and running; each has its own images

    ## What it checks
    More than one docker CLI context leads to a live engine (a connect() to its socket succeeds), and they are
    different engines: their sockets resolve to different files (symlinks followed) and the engines answer
    with different `/info` IDs. For example Docker Desktop's `~/.docker/run/docker.sock` and OrbStack's
    `~/.orbstack/run/docker.sock`. The `default` context's `/var/run/docker.sock`, a symlink to the running
    engine's own socket on every Mac, and a stale socket file of an engine that quit do not count.

    ## Why it matters
    Each engine keeps its own image cache, builders and emulation settings. An image built or pulled for
    `linux/amd64` in one is missing, or present for another platform, in the other, and the CLI talks to only
    one of them: the one named in this report.

    ## Example
    `fixtures/checks/DKD203/bad-desktop-and-orbstack-live.json` has both engines live (different IDs), as does
    the older-format `bad-desktop-and-orbstack.json`; `good-single-engine.json` has one;
    `good-desktop-symlinked-default.json` is a stock Docker Desktop Mac whose `/var/run/docker.sock` links to
    `~/.docker/run/docker.sock`; `good-stale-orbstack-socket.json` has OrbStack's socket file left behind by a
    quit OrbStack; `good-desktop-symlink-older-facts.json` is the stock Mac in facts from before the connect probe.

    ## Fix
    Display only: pick one with `docker context use NAME`, and quit the engines you do not use.

    ## Facts used
    `engine.contexts` (`live`, `resolved`, `engine_id`; `socket_exists` in older facts), `engine.engine_id`,
    `engine.context`, `engine.endpoint`, `host.os`.
    """
    engine = ctx.facts.engine
    groups = _engines(ctx.facts)
    if len(groups) < 2:
        return
    names = ", ".join(sorted(" = ".join(sorted(f"{c.name} ({c.host})" for c in g)) for g in groups))
    yield Problem(
        message=f"{len(groups)} different engines are running: {names}; the CLI uses {engine.context or 'default'}"
        f" at {engine.endpoint}",
        subject="contexts",
        evidence=tuple(
            ev(f"engine.contexts.{c.name}", f"{c.resolved or c.host} id={c.engine_id or '?'}")
            for g in groups
            for c in sorted(g, key=lambda c: c.name)
        ),
        fixes=(
            Fix(
                title="choose one engine",
                safety=Safety.DISPLAY_ONLY,
                steps=(run("docker", "context", "ls"), manual("docker context use NAME, and quit the others")),
            ),
        ),
    )


@check("DKD204", "engine-arch-differs-from-host", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def engine_arch_differs_from_host(ctx: Context) -> Iterator[Problem]:
    """The engine runs on another CPU architecture than this machine

    ## What it checks
    The engine's native platform (from `/version`) has another architecture than the host, while the engine is
    local (not a `tcp://` or `ssh://` endpoint on another machine).

    ## Why it matters
    On an Apple Silicon Mac this is Colima or Lima started with `--arch x86_64`: the whole VM runs under QEMU, so
    every container is emulated and 5 to 20 times slower, and arm64 images do not run at all
    (`exec format error`). A translated x86_64 Docker Desktop shows the same symptom.

    ## Example
    `fixtures/checks/DKD204/bad-colima-x86-on-m1.json`: host `arm64`, engine `linux/amd64`.
    `good-colima-aarch64.json`: both `arm64`.

    ## Fix
    For Colima: `colima delete` then `colima start --arch aarch64 --vm-type vz --vz-rosetta` (Rosetta runs the
    amd64 images you still need). Display only: deleting the VM loses its images and volumes.

    ## Facts used
    `host.arch`, `engine.platform`, `engine.remote`, `engine.flavor`.
    """
    facts = ctx.facts
    engine_platform = native(facts)
    if engine_platform is None or facts.engine.remote or facts.host.os not in ("darwin", "linux", "windows"):
        return
    if engine_platform.architecture == facts.host.arch:
        return
    steps = (
        (run("colima", "delete"), run("colima", "start", "--arch", "aarch64", "--vm-type", "vz", "--vz-rosetta"))
        if facts.engine.flavor is Flavor.COLIMA and facts.host.arch == "arm64"
        else (manual(f"recreate the {facts.engine.flavor.value} VM for {facts.host.arch}"),)
    )
    yield Problem(
        message=f"the engine is {facts.engine.platform} but this machine is {facts.host.arch}:"
        " every container runs emulated",
        subject=facts.engine.endpoint,
        evidence=(ev("host.arch", facts.host.arch), ev("engine.platform", facts.engine.platform)),
        fixes=(Fix(title=f"run the engine natively on {facts.host.arch}", steps=steps, safety=Safety.DISPLAY_ONLY),),
    )


@check("DKD205", "default-platform-forces-emulation", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def default_platform_forces_emulation(ctx: Context) -> Iterator[Problem]:
    """DOCKER_DEFAULT_PLATFORM makes every build, pull and run use a non-native platform

    ## What it checks
    `DOCKER_DEFAULT_PLATFORM` is set to a platform the engine cannot run natively.

    ## Why it matters
    Set once to work around `no matching manifest for linux/arm64/v8 in the manifest list entries`, it then
    applies to everything: every image is pulled for that platform and runs under QEMU or Rosetta (slow,
    sometimes `qemu: uncaught target signal 11 (Segmentation fault)`), and local caches fill with images for
    the wrong platform. Per-image `--platform` or `platform:` in compose is the narrow tool.

    ## Example
    `fixtures/checks/DKD205/bad-amd64-default-on-arm64.json`; `good-no-default-platform.json`.

    ## Fix
    Display only: `unset DOCKER_DEFAULT_PLATFORM` (and remove it from your shell profile or `.env`), then pin
    the one image that needs it with `platform: linux/amd64` in compose or `docker run --platform linux/amd64`.

    ## Facts used
    `environment.DOCKER_DEFAULT_PLATFORM`, `engine.platform`.
    """
    facts = ctx.facts
    value = facts.env("DOCKER_DEFAULT_PLATFORM")
    wanted = platform_or_none(value)
    if wanted is None or native(facts) is None or runs_natively(facts, wanted):
        return
    yield Problem(
        message=f"DOCKER_DEFAULT_PLATFORM={value} on a {facts.engine.platform} engine: everything runs emulated",
        subject="DOCKER_DEFAULT_PLATFORM",
        target=str(value),
        evidence=(ev("environment.DOCKER_DEFAULT_PLATFORM", value), ev("engine.platform", facts.engine.platform)),
        fixes=(
            Fix(
                title="pin the platform per image instead",
                safety=Safety.DISPLAY_ONLY,
                steps=(
                    manual("unset DOCKER_DEFAULT_PLATFORM (shell profile, .env)"),
                    manual(f"set `platform: {value}` only on the compose services that need it"),
                ),
            ),
        ),
    )


@check("DKD206", "unknown-context", severity=Severity.ERROR, fixable=Fixable.ALWAYS)
def unknown_context(ctx: Context) -> Iterator[Problem]:
    """The selected docker context does not exist

    ## What it checks
    `DOCKER_CONTEXT` or `currentContext` in the CLI config names a context that has no metadata under
    `~/.docker/contexts/meta` (or `$DOCKER_CONFIG/contexts/meta`).

    ## Why it matters
    Every docker command fails with `context "colima": context not found`, typically after uninstalling an
    engine (Colima, OrbStack, Rancher Desktop) that had made itself the current context.

    ## Example
    `fixtures/checks/DKD206/bad-colima-context-gone.json`; `good-default-context.json`.

    ## Fix
    Safe: `docker context use default` (or one listed by `docker context ls`); when the name comes from
    `DOCKER_CONTEXT`, unset it.

    ## Facts used
    `engine.error` (probe `endpoint`), `engine.context`, `engine.endpoint_rule`.
    """
    engine = ctx.facts.engine
    if engine.error is None or engine.error.probe != "endpoint":
        return
    steps = (
        (manual("unset DOCKER_CONTEXT"),)
        if engine.endpoint_rule is EndpointRule.DOCKER_CONTEXT
        else (run("docker", "context", "use", "default"),)
    )
    yield Problem(
        message=engine.error.detail,
        subject=f"context {engine.context}",
        evidence=(ev("engine.context", engine.context), ev("engine.endpoint_rule", engine.endpoint_rule.value)),
        fixes=(Fix(title="select an existing context", steps=steps),),
    )


@check("DKD207", "docker-config-unreadable", severity=Severity.WARNING)
def docker_config_unreadable(ctx: Context) -> Iterator[Problem]:
    """The docker CLI configuration file cannot be read

    ## What it checks
    `config.json` in `$DOCKER_CONFIG` (default `~/.docker`) exists but is not valid JSON or cannot be read.

    ## Why it matters
    The docker CLI prints `WARNING: Error loading config file` and goes on without it: no `currentContext`
    (so it talks to the default socket, maybe another engine), no registry credentials (`unauthorized`,
    `pull access denied`), no `credsStore`.

    ## Example
    `fixtures/checks/DKD207/bad-truncated-config.json`; `good-valid-config.json`.

    ## Fix
    None to apply: the message names the file and the position of the error; correct it by hand or move it
    aside (`mv ~/.docker/config.json ~/.docker/config.json.broken`) and log in again.

    ## Facts used
    `engine.config_error`.
    """
    error = ctx.facts.engine.config_error
    if error is not None:
        yield Problem(
            message=f"docker CLI config unreadable: {error.detail}",
            subject="config.json",
            evidence=(ev("engine.config_error", error.detail),),
        )


def _recreate_arm64(product: str, profile: str) -> tuple[Step, ...]:
    if product == "colima":
        flag = () if profile == "default" else ("--profile", profile)
        return (
            run("colima", "delete", *flag),
            run("colima", "start", *flag, "--arch", "aarch64", "--vm-type", "vz", "--vz-rosetta"),
        )
    return (
        run("limactl", "delete", profile),
        manual(
            f"create {profile} again for aarch64 with Rosetta: `limactl start --name {profile} --vm-type=vz "
            "--rosetta template://default` (arch is the host's by default)"
        ),
    )


@check("DKD208", "x86-vm-on-apple-silicon", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def x86_vm_on_apple_silicon(ctx: Context) -> Iterator[Problem]:
    """A Colima or Lima VM on this Apple Silicon Mac is a whole x86_64 machine under QEMU

    ## What it checks
    On an Apple Silicon Mac, every Colima profile (`colima list --json` and its `colima.yaml`) and every Lima
    instance (`limactl list --json`) whose architecture is x86_64. The profile the docker CLI uses now is DKD204's
    (engine architecture differs from the host); this check lists the others as well, so that switching to
    one of them does not bring the problem back.

    ## Why it matters
    The whole VM, kernel included, runs under QEMU system emulation: every container is emulated, 5 to 20 times
    slower, and arm64 images do not run in it at all (`exec format error`). It is usually a leftover of
    `colima start --arch x86_64` from before Rosetta (colima issue #1304 shows one, on an M4).

    ## Example
    `fixtures/checks/DKD208/bad-colima-x86_64-profile.json` (the recorded `colima ls -j` of an M4 whose default
    profile is x86_64, while the CLI uses OrbStack); `good-colima-aarch64-profile.json`.

    ## Fix
    Display only (deleting the VM loses its images and volumes): `colima delete [--profile P]`, then
    `colima start [--profile P] --arch aarch64 --vm-type vz --vz-rosetta` (Rosetta runs the amd64 images you
    still need); for Lima, `limactl delete NAME` and create it again with `--vm-type=vz --rosetta`.

    ## Facts used
    `host.apple_silicon`, `emulation.settings` (product, profile, arch, status), `engine.flavor`, `engine.name`.
    """
    facts = ctx.facts
    if not facts.host.apple_silicon:
        return
    for item in facts.emulation.settings:
        if item.product not in ("colima", "lima") or item.arch != "amd64":
            continue
        if current_profile(facts, item.product) == item.profile and facts.engine.platform == "linux/amd64":
            continue  # DKD204 reports the engine in use
        label = f"{item.product} {'profile' if item.product == 'colima' else 'instance'} {item.profile}"
        yield Problem(
            message=f"{label} is an x86_64 VM on this Apple Silicon Mac ({item.status or 'status unknown'}): all of it "
            "runs under QEMU",
            subject=label,
            evidence=(
                ev("emulation.settings.arch", item.arch),
                ev("emulation.settings.source", item.source),
                ev("emulation.settings.status", item.status),
            ),
            fixes=(
                Fix(
                    title=f"recreate {label} as an arm64 VM with Rosetta",
                    safety=Safety.DISPLAY_ONLY,
                    steps=_recreate_arm64(item.product, item.profile),
                ),
            ),
        )


def _podman_recreate_with_rosetta(name: str) -> tuple[Step, ...]:
    """containers.conf's `[machine] rosetta = true`, then the machine created again on the Apple Hypervisor."""
    arg = () if name in ("", "podman-machine-default") else (name,)
    return (
        manual(
            "add `rosetta = true` under `[machine]` in ~/.config/containers/containers.conf (Podman 5.1 and "
            "later read it when a machine is created; restarting is not enough)"
        ),
        run("podman", "machine", "stop", *arg),
        run("podman", "machine", "rm", *arg),
        run("podman", "machine", "init", "--provider", "applehv", *arg),
        run("podman", "machine", "start", *arg),
    )


@check("DKD209", "podman-machine-amd64-under-qemu", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def podman_machine_amd64_under_qemu(ctx: Context) -> Iterator[Problem]:
    """A Podman machine on this Apple Silicon Mac runs amd64 containers under QEMU: its Rosetta is off

    ## What it checks
    On an Apple Silicon Mac, while linux/amd64 is a target: every Podman machine whose `podman machine inspect`
    says `"Rosetta": false` (the field exists from Podman 5.1). Its provider (VM type) comes from the inspect's
    `ConfigDir` (`.../containers/podman/machine/applehv`).

    ## Why it matters
    With Rosetta off, a Podman machine runs amd64 binaries with qemu-user-static (podman-desktop#7367: "to disable
    this Rosetta and instead enable the traditional qemu-user-static-x86_64, add rosetta=false to containers.conf"),
    which is slower than Rosetta and crashes on some amd64 images (podman-desktop#16168: a segfault of an amd64
    container on an arm64 MacBook, with Rosetta not in use). Turning it on in Podman Desktop's settings does not
    change an existing machine (podman-desktop#19100, #7367: the machine must be recreated). Podman 6 turns Rosetta
    off by default, because it is broken on some older macOS versions (containers/container-libs#798): when that is
    why it is off here, keep QEMU.

    ## Example
    `fixtures/checks/DKD209/bad-podman-applehv-rosetta-off.json` (the recorded `podman machine inspect` of
    podman-desktop#19100: applehv, rootful, Rosetta false); `good-podman-applehv-rosetta-on.json`.

    ## Fix
    Display only (removing the machine loses its images and volumes): add `rosetta = true` under `[machine]` in
    `~/.config/containers/containers.conf` (containers/podman#24648 shows the key; `podman machine init` has no
    `--rosetta` flag), then `podman machine stop`, `podman machine rm`, `podman machine init --provider applehv`,
    `podman machine start` (with the machine's name unless it is `podman-machine-default`).

    ## Facts used
    `host.apple_silicon`, `emulation.settings` (product, profile, rosetta, vm_type), targets.
    """
    facts = ctx.facts
    if not facts.host.apple_silicon or not any(t.architecture == "amd64" for t in ctx.targets):
        return
    for item in facts.emulation.settings:
        if item.product != "podman" or item.rosetta is not False or _podman_lacks_amd64(item):
            continue  # a machine that emulates no amd64 at all is DKD210's
        label = f"podman machine {item.profile or 'podman-machine-default'}"
        yield Problem(
            message=f"{label} ({item.vm_type or 'provider unknown'}) has Rosetta off: linux/amd64 containers run "
            "under QEMU (qemu-user-static) in it",
            subject=label,
            target="linux/amd64",
            evidence=(
                ev("emulation.settings.rosetta", False),
                ev("emulation.settings.vm_type", item.vm_type),
                ev("emulation.settings.source", item.source),
            ),
            fixes=(
                Fix(
                    title=f"recreate {label} with Rosetta on",
                    safety=Safety.DISPLAY_ONLY,
                    needs=(Need.RESTART,),
                    steps=_podman_recreate_with_rosetta(item.profile),
                ),
            ),
        )


def _podman_lacks_amd64(item: EngineSettings) -> bool:
    """`podman info` of an arm64 machine lists its emulated platforms, and linux/amd64 is not among them."""
    return (
        item.product == "podman"
        and item.emulated_platforms is not None
        and item.arch in ("arm64", "")
        and not any(p.startswith("linux/amd64") for p in item.emulated_platforms)
    )


@check("DKD210", "podman-machine-cannot-run-amd64", severity=Severity.ERROR, fixable=Fixable.ALWAYS)
def podman_machine_cannot_run_amd64(ctx: Context) -> Iterator[Problem]:
    """A Podman machine on this Apple Silicon Mac cannot run amd64 containers: no qemu-user-static, no Rosetta

    ## What it checks
    On an Apple Silicon Mac, while linux/amd64 is a target: every Podman machine whose `podman info`
    (`host.emulatedArchitectures`, the platforms of the machine's binfmt_misc handlers) does not list linux/amd64,
    and whose `podman machine inspect` does not say `"Rosetta": true`.

    ## Why it matters
    The machine image decides what it can emulate: without qemu-user-static's x86 package and without Rosetta,
    every amd64 binary in it fails with
    `{"msg":"exec container process `/bin/sh`: Exec format error","level":"error"}` (containers/podman#14694 on an
    M1; #22708: amd64 images stopped running after the machine was recreated with a new image). Podman's answer
    (#22708, maintainer tnk4on) is Rosetta, from Podman 5.1 (containers/podman#21670). Changing the running image by
    hand is not supported: `sudo rpm-ostree install qemu-user-static` breaks rpm-ostreed on the bootc-based machine
    OS (#29688, with the maintainer's answer).

    ## Example
    `fixtures/checks/DKD210/bad-podman-machine-no-amd64.json` (a Podman 5.0 applehv machine as #22708 describes it:
    no Rosetta field, nothing emulated); `good-podman-machine-emulates-amd64.json` (the `podman info` of #27364:
    linux/386, linux/amd64, linux/arm64be).

    ## Fix
    Display only (removing the machine loses its images and volumes): with Podman 5.1 or later (upgrade first when
    `podman --version` is older), add `rosetta = true` under `[machine]` in `~/.config/containers/containers.conf`,
    then `podman machine stop`, `podman machine rm`, `podman machine init --provider applehv`,
    `podman machine start` (with the machine's name unless it is `podman-machine-default`).

    ## Facts used
    `host.apple_silicon`, `emulation.settings` (product, profile, arch, version, image, emulated_platforms,
    rosetta), targets.
    """
    facts = ctx.facts
    if not facts.host.apple_silicon or not any(t.architecture == "amd64" for t in ctx.targets):
        return
    for item in facts.emulation.settings:
        if not _podman_lacks_amd64(item) or item.rosetta is True:
            continue
        label = f"podman machine {item.profile or 'podman-machine-default'}"
        listed = ", ".join(item.emulated_platforms or ())
        what = f"emulates only {listed}" if listed else "emulates no other platform"
        steps: tuple[Step, ...] = _podman_recreate_with_rosetta(item.profile)
        if item.version and _older_than(item.version, (5, 1)):
            steps = (manual(f"upgrade Podman {item.version} to 5.1 or later (Rosetta for machines)"), *steps)
        yield Problem(
            message=f"{label}{f' ({item.image})' if item.image else ''} {what} (no linux/amd64) and its Rosetta is "
            "not on: linux/amd64 containers fail there with exec format error",
            subject=label,
            target="linux/amd64",
            evidence=(
                ev("emulation.settings.emulated_platforms", listed or "none"),
                ev("emulation.settings.rosetta", item.rosetta),
                ev("emulation.settings.version", item.version),
                ev("emulation.settings.source", item.source),
            ),
            fixes=(
                Fix(
                    title=f"recreate {label} with Rosetta on",
                    safety=Safety.DISPLAY_ONLY,
                    needs=(Need.RESTART,),
                    steps=steps,
                ),
            ),
        )


def _older_than(version: str, least: tuple[int, int]) -> bool:
    """`5.0.2` older than (5, 1); a version that does not parse is not called older."""
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0) < least
    except ValueError:
        return False


@check("DKD211", "wsl-default-distro-is-wsl1", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def wsl_default_distro_is_wsl1(ctx: Context) -> Iterator[Problem]:
    """The default WSL distribution runs as WSL 1, where Docker Desktop's WSL integration does not work

    ## What it checks
    `wsl.exe -l -v` (asked on Windows and inside WSL): Docker Desktop's own `docker-desktop` distribution is
    there, and the default distribution (`*`) has VERSION 1.

    ## Why it matters
    Docker Desktop enables its WSL integration on the default distribution, and the integration needs WSL 2
    (Docker's WSL 2 backend docs: "Ensure the distribution runs in WSL 2 mode"). In a WSL 1 distribution the
    `docker` CLI finds no engine (`Cannot connect to the Docker daemon at unix:///var/run/docker.sock`), and
    Docker Desktop reading the wrong WSL version skipped the integration in docker/for-win#14686.

    ## Example
    `fixtures/checks/DKD211/bad-default-distro-wsl1.json`; `good-default-distro-wsl2.json` (the `wsl --list
    --verbose` of docker/for-win#14686: the default Ubuntu is WSL 2, two other distributions WSL 1).

    ## Fix
    Display only (converting a distribution takes a while): `wsl.exe --set-version <distro> 2`, or make a WSL 2
    distribution the default with `wsl.exe --set-default <distro>` (both from Docker's WSL 2 backend docs).

    ## Facts used
    `emulation.settings` (product wsl: profile, vm_type, default).
    """
    distros = [s for s in ctx.facts.emulation.settings if s.product == "wsl"]
    if not any(s.profile == "docker-desktop" for s in distros):
        return
    for item in distros:
        if not item.default or item.vm_type != "wsl1":
            continue
        others = [s.profile for s in distros if s.vm_type == "wsl2" and not s.profile.startswith("docker-desktop")]
        fixes = [
            Fix(
                title=f"convert {item.profile} to WSL 2",
                safety=Safety.DISPLAY_ONLY,
                steps=(run("wsl.exe", "--set-version", item.profile, "2"),),
            )
        ]
        if others:
            fixes.append(
                Fix(
                    title=f"make {others[0]} (WSL 2) the default distribution",
                    safety=Safety.DISPLAY_ONLY,
                    steps=(run("wsl.exe", "--set-default", others[0]),),
                )
            )
        yield Problem(
            message=f"the default WSL distribution {item.profile} runs as WSL 1: Docker Desktop's WSL integration "
            "(enabled on the default distribution) needs WSL 2",
            subject=f"WSL distribution {item.profile}",
            evidence=(ev("emulation.settings.vm_type", item.vm_type), ev("emulation.settings.source", item.source)),
            fixes=tuple(fixes),
        )
