"""DKD4xx: compose v1 versus v2, and compose releases with platform bugs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev
from dockdoctor.model import ComposeTool, Fix, Fixable, Problem, Safety, Severity, manual

UPGRADE = Fix(title="use Compose v2 (the docker CLI plugin)", safety=Safety.DISPLAY_ONLY,
              steps=(manual("install the Compose v2 plugin (Docker Desktop ships it; on Linux the "
                            "docker-compose-plugin package), then run `docker compose` instead of `docker-compose`"),))


@dataclass(frozen=True, slots=True)
class KnownBug:
    """A compose release range with a platform bug, and the upstream reference."""

    major: int
    versions: str  # a packaging specifier
    summary: str
    reference: str


KNOWN_BUGS: tuple[KnownBug, ...] = (
    KnownBug(1, "<1.27.0", "`platform:` is only accepted in file format 2.4, not in 3.x or the Compose "
             "Specification (`Unsupported config option for services.x: 'platform'`)", "docker/compose#5953"),
    KnownBug(2, ">=2.0.0,<2.2.0", "`docker compose build` ignores DOCKER_DEFAULT_PLATFORM", "docker/compose#8840"),
    KnownBug(2, ">=2.10.0,<2.12.0", "a service with `platform:` fails to build when DOCKER_DEFAULT_PLATFORM is "
             "also set, or when `build.platforms` is not set", "docker/compose#9853"),
)


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
    yield Problem(message=f"only Compose v1 {compose.v1.version} is installed (end of life)",
                  subject="docker-compose", evidence=(ev("compose.v1.version", compose.v1.version),),
                  fixes=(UPGRADE,))


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
        fixes=(Fix(title="use `docker compose` (v2)", safety=Safety.DISPLAY_ONLY,
                   steps=(manual("replace `docker-compose` with `docker compose` in scripts"),)),),
    )


@check("DKD403", "compose-platform-bug", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def compose_platform_bug(ctx: Context) -> Iterator[Problem]:
    """The installed compose release has a known platform bug

    ## What it checks
    Each installed compose version against a table of releases with platform bugs (compared with
    `packaging` version specifiers):

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
        for bug in KNOWN_BUGS:
            if bug.major == tool.major and version in SpecifierSet(bug.versions):
                yield Problem(message=f"compose {tool.version}: {bug.summary} ({bug.reference})",
                              subject=" ".join(tool.command),
                              evidence=(ev(f"compose.v{tool.major}.version", tool.version),),
                              fixes=(UPGRADE,) if tool.major == 1 else (
                                  Fix(title="upgrade Compose v2", safety=Safety.DISPLAY_ONLY,
                                      steps=(manual("upgrade the Compose v2 plugin to the current release"),)),))


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
        yield Problem(message="neither `docker compose` nor `docker-compose` is installed", subject="compose",
                      fixes=(UPGRADE,))

