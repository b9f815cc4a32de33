"""DKD4xx: compose v1 versus v2, and compose releases with platform bugs."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from packaging.version import InvalidVersion, Version

from dockdoctor.checks import _tags
from dockdoctor.checks._compose_fixes import (
    _build_platforms_edit,
    _default_platform,
    _default_platform_in_dotenv,
    _offers,
    _origin,
    _platform_edit,
    _publish_for,
    _remote,
    _runs_here,
    _services,
    _unpin,
    _with_emulation,
)
from dockdoctor.checks._emulator import install_emulation
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev, native, platform_or_none, runs_natively, short_source
from dockdoctor.checks._verdicts import held_platforms, local_copy
from dockdoctor.checks._versions import affects, known_defects
from dockdoctor.model import (
    ComposeTool,
    Fix,
    Fixable,
    Need,
    Problem,
    Safety,
    Severity,
    manual,
    run,
)
from dockdoctor.platforms import can_run, format_platform

UPGRADE = Fix(
    title="use Compose v2 (the docker CLI plugin)",
    safety=Safety.DISPLAY_ONLY,
    steps=(
        manual(
            "install the Compose v2 plugin (Docker Desktop ships it; on Linux the "
            "docker-compose-plugin package), then run `docker compose` instead of `docker-compose`"
        ),
    ),
)


def known_bugs() -> tuple[dict[str, Any], ...]:
    """Compose releases with platform bugs: the `compose` entries of knowledge/defects.toml."""
    return known_defects("compose")


def _version(tool: ComposeTool) -> Version | None:
    try:
        return Version(tool.version)
    except InvalidVersion:
        return None


@check("DKD401", "compose-v1-only", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def compose_v1_only(ctx: Context) -> Iterator[Problem]:
    """Only Compose v1 (docker-compose, Python) is installed

    ## What it checks
    `docker-compose` is Compose v1 and there is no `docker compose` (v2) plugin.

    ## Why it matters
    Compose v1 reached end of life in June 2023 and gets no fixes. It knows `platform:` only from 1.27.0 on
    (before that only in file format 2.4: `Unsupported config option for services.db: 'platform'`), never
    builds with BuildKit's `build.platforms`, and its behaviour differs from v2 (container names with `_`
    instead of `-`, no profiles before 1.28).

    ## Example
    `fixtures/checks/DKD401/bad-compose-v1-only.json` (1.29.2 alone); `good-compose-v2.json`.

    ## Fix
    Display only: install the Compose v2 plugin and use `docker compose`.

    ## Facts used
    `compose.v1`, `compose.v2`.
    """
    compose = ctx.facts.compose
    if compose.v1 is None or compose.v2 is not None:
        return
    yield Problem(
        message=f"only Compose v1 {compose.v1.version} is installed (end of life)",
        subject="docker-compose",
        evidence=(ev("compose.v1.version", compose.v1.version),),
        fixes=(UPGRADE,),
    )


@check("DKD402", "docker-compose-is-v1", severity=Severity.INFO, fixable=Fixable.ALWAYS)
def docker_compose_is_v1(ctx: Context) -> Iterator[Problem]:
    """`docker-compose` runs Compose v1 although Compose v2 is installed

    ## What it checks
    Both exist, and the `docker-compose` command (with a hyphen) is v1, so scripts and Makefiles that call it
    get v1's behaviour.

    ## Why it matters
    The same project behaves differently under `docker-compose` and `docker compose`: `platform:` handling,
    BuildKit builds, container names. Docker Desktop's "Use Docker Compose V2" setting (or
    `docker-compose disable-v2`) switches what `docker-compose` runs.

    ## Example
    `fixtures/checks/DKD402/bad-hyphen-runs-v1.json`; `good-hyphen-runs-v2.json`.

    ## Fix
    Display only: call `docker compose` (space) in scripts, or make `docker-compose` run v2 (Docker Desktop:
    `docker-compose enable-v2`; Linux: remove the v1 package and link the plugin as `docker-compose`).

    ## Facts used
    `compose.docker_compose`, `compose.v2`.
    """
    compose = ctx.facts.compose
    hyphen = compose.docker_compose
    if hyphen is None or hyphen.major != 1 or compose.v2 is None:
        return
    yield Problem(
        message=f"`docker-compose` is v1 {hyphen.version} while `docker compose` is v2 {compose.v2.version}",
        subject="docker-compose",
        evidence=(ev("compose.docker_compose.version", hyphen.version), ev("compose.v2.version", compose.v2.version)),
        fixes=(
            Fix(
                title="use `docker compose` (v2)",
                safety=Safety.DISPLAY_ONLY,
                steps=(manual("replace `docker-compose` with `docker compose` in scripts"),),
            ),
        ),
    )


@check("DKD403", "compose-platform-bug", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def compose_platform_bug(ctx: Context) -> Iterator[Problem]:
    """The installed compose release has a known platform bug

    ## What it checks
    Each installed compose version against the `compose` entries of `knowledge/defects.toml` (releases with
    platform bugs, each with its source, compared with `packaging` version specifiers):

    - v1 before 1.27.0: `platform:` only in file format 2.4 (docker/compose#5953, docker/cli#1050).
    - v2.0.0 up to 2.2.0: `docker compose build` ignores `DOCKER_DEFAULT_PLATFORM` (docker/compose#8840,
      fixed by docker/compose#8848).
    - v2.10.0 up to 2.12.0: `platform:` plus `DOCKER_DEFAULT_PLATFORM`, or `platform:` without
      `build.platforms`, fails the build (docker/compose#9853, fixed by docker/compose#9847 and #9866).

    ## Why it matters
    The project is right and the tool is wrong: builds come out for the host's architecture, or fail with
    `service.platform should be part of the service.build.platforms`, and users chase their compose files.

    ## Example
    `fixtures/checks/DKD403/bad-compose-2-11.json` (v2.11.0); `good-compose-2-40.json`.

    ## Fix
    Display only: upgrade compose.

    ## Facts used
    `compose.v1.version`, `compose.v2.version`.
    """
    compose = ctx.facts.compose
    for tool in (compose.v1, compose.v2):
        version = _version(tool) if tool else None
        if tool is None or version is None:
            continue
        for bug in known_bugs():
            if affects(bug["affected"], tool.version):
                yield Problem(
                    message=f"compose {tool.version}: {bug['title']} ({short_source(bug['source'])})",
                    subject=" ".join(tool.command),
                    evidence=(ev(f"compose.v{tool.major}.version", tool.version),),
                    fixes=(UPGRADE,)
                    if tool.major == 1
                    else (
                        Fix(
                            title="upgrade Compose v2",
                            safety=Safety.DISPLAY_ONLY,
                            steps=(manual("upgrade the Compose v2 plugin to the current release"),),
                        ),
                    ),
                )


@check("DKD404", "compose-missing", severity=Severity.INFO, fixable=Fixable.ALWAYS)
def compose_missing(ctx: Context) -> Iterator[Problem]:
    """No compose is installed

    ## What it checks
    Neither `docker compose` nor `docker-compose` answers `version`.

    ## Why it matters
    Projects with a `compose.yaml` cannot be started (`docker: 'compose' is not a docker command.`), and
    dockdoctor cannot resolve compose files the way compose does.

    ## Example
    `fixtures/checks/DKD404/bad-no-compose.json`; `good-compose-v2.json`.

    ## Fix
    Display only: install the Compose v2 plugin.

    ## Facts used
    `compose.v1`, `compose.v2`, `compose.docker_compose`.
    """
    compose = ctx.facts.compose
    if compose.v1 is None and compose.v2 is None and compose.docker_compose is None and not compose.errors:
        yield Problem(
            message="neither `docker compose` nor `docker-compose` is installed", subject="compose", fixes=(UPGRADE,)
        )


@check("DKD410", "service-image-lacks-target", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def service_image_lacks_target(ctx: Context) -> Iterator[Problem]:
    """A compose service's image has no variant for a target platform

    ## What it checks
    For each service with an `image:` (and no `build:`), whether the image offers a platform that runs natively
    on each target, as `docker compose pull` would choose it.

    ## Why it matters
    `docker compose up` stops with `no matching manifest for linux/arm64/v8 in the manifest list entries`, or
    the service dies with `exec format error`.

    ## Example
    `fixtures/checks/DKD410/bad-amd64-only-db-on-arm64.json` (targets linux/arm64); `good-multi-platform-db.json`;
    `bad-amd64-only-db-nearer-tag-offers-arm64.json`: the tag search found `app:1.3-alpine` for `app:1.2-alpine`.

    ## Fix
    First, the nearest tag of the same repository that runs natively on every target (see DKD301): a one-line
    edit of `image:` (and of any Dockerfile `FROM` naming the same reference; safe, test the new version). Then by
    intent. When the target is the engine's own (no `--platform`, settings or deploy file names one) and the
    engine emulates an offered platform: add `platform: linux/amd64` to the service (safe, a one-line edit that
    serves the local run: the service runs under emulation); without emulation, the same edit together with what
    installs it (unsafe or privileged: its own consent). For a deploy target the image lacks, a pin cannot help
    (the service would still not run there): choose an image or tag published for it, or publish one (display
    only, serves the deploy target).

    ## Facts used
    `project.compose.services[]`, `images.remote`, `images.remote[].alternatives`, `emulation.emulated`, targets.
    """
    default = _default_platform(ctx)  # compose v2 pulls every unpinned service for it (DKD414 tells the caveats)
    for service in _services(ctx):
        remote = _remote(ctx, service.image) if service.image and service.build is None else None
        if remote is None or remote.error is not None or service.platform or default:
            continue
        for target in ctx.targets:
            result = ctx.verdict(remote, target)
            if result.verdict not in ("emulated", "unavailable"):
                continue
            pin = result.platform or (result.offered[0] if result.offered else None)
            fixes: list[Fix] = []
            if ctx.local(target) and pin:  # a pin serves the local run, never a deploy target the image lacks
                edit = _platform_edit(ctx, service, pin)
                if edit is not None and result.verdict == "emulated":
                    fixes.append(
                        Fix(title=f"{edit.title} (it runs under {result.via})", steps=edit.steps, serves="local")
                    )
                elif edit is not None and (wanted := platform_or_none(pin)) is not None:
                    fixes += _with_emulation(ctx, wanted, edit)
                dotenv = _default_platform_in_dotenv(ctx, pin) if fixes and result.verdict == "emulated" else None
                fixes += [dotenv] if dotenv else []
            fixes.append(_publish_for(str(service.image), result.target))
            origin = _origin(service, "image")
            emulation = (
                f"; {pin} would run under {result.via}"
                if result.via
                else (f"; no emulation for {pin} here (DKD503)" if pin else "")
            )
            yield Problem(
                message=f"service {service.name}: {service.image} offers {', '.join(result.offered) or 'nothing'},"
                f" no variant for {result.target}"
                + (f" ({origin.source})" if origin else "")
                + emulation
                + _tags.note(ctx, remote),
                subject=f"service {service.name}",
                target=result.target,
                evidence=(
                    ev("project.compose.services.image", service.image),
                    ev("images.remote.platforms", ",".join(result.offered)),
                ),
                fixes=(*_tags.fixes(ctx, remote), *fixes),
            )


@check("DKD411", "service-platform-mismatch", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def service_platform_mismatch(ctx: Context) -> Iterator[Problem]:
    """A service's `platform:` is not offered by its image, or differs from the targets

    ## What it checks
    A service with `platform:` whose image does not offer that platform (an error: the pull fails), or whose
    platform runs only under emulation on this engine or is not among the deploy targets (a warning in the
    message).

    ## Why it matters
    `platform: linux/amd64` copied from a Mac workaround makes amd64 servers fine and Apple Silicon slow; a
    platform the image lacks fails with `no matching manifest for linux/arm64/v8`.

    ## Example
    `fixtures/checks/DKD411/bad-pinned-arm64-image-lacks.json`; `good-platform-offered.json`.

    ## Fix
    When the image offers a target platform this engine can run: set `platform:` to it (a one-line edit).
    Otherwise remove the pin or choose another image.

    ## Facts used
    `project.compose.services[].platform`, `images.remote`, targets.
    """
    for service in _services(ctx):
        wanted = platform_or_none(service.platform)
        remote = _remote(ctx, service.image) if service.image else None
        if wanted is None or remote is None or remote.error is not None or service.build is not None:
            continue
        offered = [p for p in (platform_or_none(x.platform) for x in remote.platforms) if p is not None]
        if any(can_run(wanted, p) for p in offered):
            continue
        # re-pin only to a target the image offers and this engine can run (else the pin cannot run here: DKD420)
        target = next((t for t in ctx.targets if any(can_run(t, p) for p in offered) and _runs_here(ctx, t)), None)
        fix = _platform_edit(ctx, service, format_platform(target)) if target else None
        if fix is not None:
            fix = Fix(title=fix.title, steps=fix.steps, serves="local" if target and ctx.local(target) else "deploy")
        origin = _origin(service, "platform")
        yield Problem(
            message=f"service {service.name}: platform {service.platform}"
            + (f" ({origin.source})" if origin else "")
            + f" is not offered by {service.image} ({', '.join(p.platform for p in remote.platforms)}"
            + ("; its local copy, no registry knows it)" if remote.kind == "local" else ")"),
            subject=f"service {service.name}",
            target=service.platform,
            evidence=(ev("project.compose.services.platform", service.platform),),
            fixes=(fix,) if fix else (),
        )


@check("DKD412", "build-service-host-only", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def build_service_host_only(ctx: Context) -> Iterator[Problem]:
    """A `build:` service is built only for the machine it is built on

    ## What it checks
    A service with `build:` but no `build.platforms` (and no `platform:`), while the targets include a platform
    other than the engine's own.

    ## Why it matters
    `docker compose build` makes an image for the builder's architecture: built on a Mac and pushed, it fails on
    amd64 servers with `exec format error`.

    ## Example
    `fixtures/checks/DKD412/bad-build-no-platforms.json` (targets amd64 and arm64); `good-build-platforms.json`.

    ## Fix
    Safe, an edit: `platforms: [linux/amd64, linux/arm64]` under the service's `build:` (the short form
    `build: .` becomes `build:` with `context: .`). Compose v2 then builds every platform with buildx; a
    docker-container builder or the containerd image store is needed for that (DKD502).

    ## Facts used
    `project.compose.services[].build`, `engine.platform`, targets.
    """
    foreign = [t for t in ctx.targets if not runs_natively(ctx.facts, t)]
    if not foreign or native(ctx.facts) is None:
        return
    wanted = ", ".join(format_platform(t) for t in ctx.targets)
    for service in _services(ctx):
        if service.build is None or service.build.platforms or service.platform:
            continue
        origin = _origin(service, "build")
        edit = _build_platforms_edit(ctx, service, [format_platform(t) for t in ctx.targets])
        yield Problem(
            message=f"service {service.name} is built only for {ctx.facts.engine.platform}, "
            f"targets are {wanted}" + (f" ({origin.source})" if origin else ""),
            subject=f"service {service.name}",
            target=wanted,
            evidence=(ev("project.compose.services.build.platforms", "(none)"),),
            fixes=(edit,)
            if edit
            else (
                Fix(
                    title="build for every target",
                    safety=Safety.DISPLAY_ONLY,
                    needs=(Need.REBUILD,),
                    steps=(manual(f"under services.{service.name}.build add: platforms: [{wanted}]"),),
                ),
            ),
        )


@check("DKD413", "platform-key-unsupported", severity=Severity.ERROR, fixable=Fixable.ALWAYS)
def platform_key_unsupported(ctx: Context) -> Iterator[Problem]:
    """`platform:` is used with a Compose v1 that does not accept it

    ## What it checks
    A compose file with a service `platform:` (or `build.platforms`) while the only compose is v1, and v1 is
    older than 1.27.0 (it accepts `platform:` only in file format 2.4), or `build.platforms` (which v1 never
    accepts).

    ## Why it matters
    `docker-compose up` refuses the file: `Unsupported config option for services.db: 'platform'`, or
    `services.api.build contains unsupported option: 'platforms'`.

    ## Example
    `fixtures/checks/DKD413/bad-compose-1-26-platform.json`; `good-compose-v2-platform.json`.

    ## Fix
    Display only: use Compose v2 (`docker compose`).

    ## Facts used
    `project.compose.services[]`, `project.compose.version_key`, `compose.v1`, `compose.v2`.
    """
    compose = ctx.facts.compose
    if compose.v2 is not None or compose.v1 is None:
        return
    version = _version(compose.v1)
    for service in _services(ctx):
        reasons = []
        file_format = ctx.facts.project.compose.version_key if ctx.facts.project and ctx.facts.project.compose else None
        if service.platform and version is not None and version < Version("1.27.0") and file_format != "2.4":
            reasons.append(f"`platform:` needs file format 2.4 with compose {compose.v1.version}")
        if service.build is not None and service.build.platforms:
            reasons.append("Compose v1 never accepts `build.platforms`")
        for reason in reasons:
            yield Problem(
                message=f"service {service.name}: {reason}",
                subject=f"service {service.name}",
                evidence=(ev("compose.v1.version", compose.v1.version),),
                fixes=(UPGRADE,),
            )


@check("DKD414", "default-platform-ignored", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def default_platform_ignored(ctx: Context) -> Iterator[Problem]:
    """DOCKER_DEFAULT_PLATFORM is set where a tool will not honour it

    ## What it checks
    `DOCKER_DEFAULT_PLATFORM` in the project's `.env` or the environment, and who reads it: the docker CLI reads
    only the environment (never `.env`); Compose v2 reads both, but 2.0 to 2.1 ignored it for builds
    (docker/compose#8840) and 2.10 to 2.11 failed when `platform:` was also set (docker/compose#9853); Compose v1
    does not read it at all.

    ## Why it matters
    The setting seems to work for `docker compose` and silently does nothing for `docker build` and `docker run`
    (or the other way round), so images end up with mixed platforms.

    ## Example
    `fixtures/checks/DKD414/bad-default-platform-in-dotenv.json`; `good-no-default-platform.json`.

    ## Fix
    Display only: prefer `platform:` per service in the compose file; export the variable in the shell when the
    docker CLI must honour it too.

    ## Facts used
    `project.dotenv`, `environment`, `compose.v1`, `compose.v2`.
    """
    facts = ctx.facts
    in_dotenv = next(
        (e for e in (facts.project.dotenv if facts.project else ()) if e.name == "DOCKER_DEFAULT_PLATFORM"),
        None,
    )
    in_env = facts.env("DOCKER_DEFAULT_PLATFORM")
    notes = []
    if in_dotenv and not in_env:
        notes.append(
            f"set in {in_dotenv.source}: `docker build` and `docker run` do not read .env, only `docker compose` does"
        )
    tool = facts.compose.v2
    v2 = _version(tool) if tool else None
    if (in_dotenv or in_env) and tool is not None and v2 is not None:
        notes += [
            f"compose {tool.version}: {bug['title']} ({short_source(bug['source'])})"
            for bug in known_bugs()
            if "DOCKER_DEFAULT_PLATFORM" in bug.get("tags", ()) and affects(bug["affected"], tool.version)
        ]
    if (in_dotenv or in_env) and facts.compose.v2 is None and facts.compose.v1 is not None:
        notes.append("Compose v1 does not read DOCKER_DEFAULT_PLATFORM")
    value = in_env or (in_dotenv.value if in_dotenv else "")
    for note in notes:
        yield Problem(
            message=f"DOCKER_DEFAULT_PLATFORM={value}: {note}",
            subject="DOCKER_DEFAULT_PLATFORM",
            target=value or None,
            evidence=(ev("DOCKER_DEFAULT_PLATFORM", value),),
            fixes=(
                Fix(
                    title="pin platforms per service instead",
                    safety=Safety.DISPLAY_ONLY,
                    steps=(
                        manual(
                            "set `platform:` on the services that need it, and remove DOCKER_DEFAULT_PLATFORM from .env"
                        ),
                    ),
                ),
            ),
        )


@check("DKD415", "built-image-wrong-platform", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def built_image_wrong_platform(ctx: Context) -> Iterator[Problem]:
    """The local build of a compose service is for another platform than the targets

    ## What it checks
    A service with `build:` and `image:` whose image exists locally for a platform none of the targets is (built
    on this machine for its own architecture, while the deploy target is another). With the containerd image
    store, every platform the local image holds counts.

    ## Why it matters
    `docker compose up` uses that local image as it is; pushed, it fails on the target with `exec format error`.

    ## Example
    `fixtures/checks/DKD415/bad-amd64-build-for-arm64-target.json`; `good-build-matches-target.json`.

    ## Fix
    Rebuild for the target: `docker build --platform linux/arm64 -t IMAGE -f DOCKERFILE CONTEXT` (safe, a rebuild;
    it runs under emulation when the target is foreign: see DKD503). The check after the fix reads the new
    image's platform.

    ## Facts used
    `project.compose.services[].build`, `images.local[].platform`, `images.local[].manifests`, targets.
    """
    for service in _services(ctx):
        if service.build is None or not service.image:
            continue
        local = local_copy(ctx.facts, service.image)
        if local is None:
            continue
        built = held_platforms(local)  # with the containerd image store, every platform a multi-platform build made
        if not built or any(can_run(t, b) and b.architecture == t.architecture for t in ctx.targets for b in built):
            continue
        target = format_platform(ctx.targets[0])
        dockerfile = posixpath.join(service.build.context, service.build.dockerfile)
        yield Problem(
            message=f"service {service.name}: the local {service.image} is {local.platform}, the targets are "
            f"{', '.join(format_platform(t) for t in ctx.targets)}",
            subject=f"service {service.name}",
            target=target,
            evidence=(ev("images.local.platform", local.platform),),
            fixes=(
                Fix(
                    title=f"rebuild {service.image} for {target}",
                    needs=(Need.REBUILD,),
                    steps=(
                        run(
                            "docker",
                            "build",
                            "--platform",
                            target,
                            "-t",
                            service.image,
                            "-f",
                            dockerfile,
                            service.build.context,
                        ),
                    ),
                ),
            ),
        )


@check("DKD416", "service-pinned-off-target", severity=Severity.INFO, fixable=Fixable.SOMETIMES)
def service_pinned_off_target(ctx: Context) -> Iterator[Problem]:
    """A service is pinned to a platform other than a target

    ## What it checks
    A service's `platform:` that a target cannot run natively: on that target the service runs under
    emulation, or not at all without it. A pin this engine cannot run at all is DKD420.

    ## Why it matters
    Often deliberate (an amd64-only database pinned on Apple Silicon, see DKD410), but it is easy to forget when
    the same compose file goes to arm64 servers: every request then pays for QEMU, or the container fails with
    `exec format error`.

    ## Example
    `fixtures/checks/DKD416/bad-arm64-pin-amd64-target.json` (a linux/arm64 pin, target linux/amd64);
    `good-pin-matches-target.json`.

    ## Fix
    When the image offers the target: remove the pin when the target is the engine's own (compose then pulls
    the native variant; serves the local run), or re-pin to a deploy target this engine can run (serves the
    deploy target). Safe, one-line edits. Otherwise none: when the image gains the target, remove the pin.

    ## Facts used
    `project.compose.services[].platform`, `images.remote`, `engine.platform`, `emulation.emulated`, targets.
    """
    for service in _services(ctx):
        wanted = platform_or_none(service.platform)
        if wanted is None or not _runs_here(ctx, wanted):
            continue
        remote = _remote(ctx, service.image) if service.image else None
        for target in ctx.targets:
            if can_run(target, wanted):
                continue
            fix = None
            if remote is not None and remote.error is None and _offers(remote, target) is not None:
                if ctx.local(target):
                    fix = _unpin(ctx, service)
                elif _runs_here(ctx, target) and (edit := _platform_edit(ctx, service, format_platform(target))):
                    fix = Fix(title=edit.title, steps=edit.steps, serves="deploy")
            origin = _origin(service, "platform")
            yield Problem(
                message=f"service {service.name} is pinned to {service.platform}"
                + (f" ({origin.source})" if origin else "")
                + f": on {format_platform(target)} it needs emulation",
                subject=f"service {service.name}",
                target=format_platform(target),
                evidence=(ev("project.compose.services.platform", service.platform),),
                fixes=(fix,) if fix else (),
            )


@check("DKD420", "service-pin-cannot-run", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def service_pin_cannot_run(ctx: Context) -> Iterator[Problem]:
    """A service is pinned to a platform this engine cannot run at all

    ## What it checks
    A service's `platform:` that the engine runs neither natively nor under emulation (no QEMU or Rosetta for
    it).

    ## Why it matters
    `docker compose up` pulls the pinned variant and the container dies at once with `exec /bin/sh: exec
    format error` (or `exec /usr/local/bin/docker-entrypoint.sh: exec format error`).

    ## Example
    `fixtures/checks/DKD420/bad-arm64-pin-no-qemu.json` (linux/arm64 pinned on an amd64 engine without
    emulation); `good-arm64-pin-with-qemu.json`.

    ## Fix
    When the image offers the engine's platform: remove the pin when the targets are the engine's own, or
    re-pin to a target this engine runs (safe, one-line edits, serve the local run). Or install emulation for
    the pinned platform (unsafe or privileged: its own consent; see DKD503).

    ## Facts used
    `project.compose.services[].platform`, `images.remote`, `engine.platform`, `emulation.emulated`, targets.
    """

    engine = native(ctx.facts)
    if engine is None:
        return
    for service in _services(ctx):
        wanted = platform_or_none(service.platform)
        if wanted is None or _runs_here(ctx, wanted):
            continue
        remote = _remote(ctx, service.image) if service.image else None
        fixes: list[Fix] = []
        if remote is not None and remote.error is None and _offers(remote, engine) is not None:
            runnable = [t for t in ctx.targets if _offers(remote, t) is not None and _runs_here(ctx, t)]
            if all(ctx.local(t) for t in ctx.targets):
                fixes += [f for f in [_unpin(ctx, service)] if f]
            elif runnable and (edit := _platform_edit(ctx, service, format_platform(runnable[0]))):
                fixes.append(Fix(title=edit.title, steps=edit.steps, serves="local"))
        fixes += [
            Fix(title=f.title, steps=f.steps, safety=f.safety, needs=f.needs, serves="local")
            for f in install_emulation(ctx.facts, wanted)
        ]
        origin = _origin(service, "platform")
        yield Problem(
            message=f"service {service.name} is pinned to {service.platform}"
            + (f" ({origin.source})" if origin else "")
            + f": this {ctx.facts.engine.platform} engine cannot run it (no emulation)",
            subject=f"service {service.name}",
            target=format_platform(wanted),
            evidence=(
                ev("project.compose.services.platform", service.platform),
                ev("engine.platform", ctx.facts.engine.platform),
            ),
            fixes=tuple(fixes),
        )
