"""Use cases behind the CLI: gather or replay facts, choose targets and checks, diagnose into a Report."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass

from dockdoctor import __version__
from dockdoctor.checks import ALL_CHECKS, CheckSpec, Context, lookup
from dockdoctor.errors import ConfigError
from dockdoctor.model import Facts, Finding, Report, Severity, Target
from dockdoctor.platforms import PlatformError, format_platform, parse
from dockdoctor.redact import redact


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """What `dockdoctor check` was asked for."""

    platforms: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    timeout: float = 8.0
    redact: bool = True
    redact_registries: bool = False
    keep_raw: bool = False


def resolve_targets(facts: Facts, requested: Iterable[str]) -> tuple[Target, ...]:
    """The deploy targets: the requested platforms, else the engine's native platform, else the host's."""
    targets: list[Target] = []
    for text in requested:
        try:
            name = format_platform(parse(text))
        except PlatformError as err:
            raise ConfigError(f"--platform {text}: {err}") from None
        if all(t.platform != name for t in targets):
            targets.append(Target(platform=name, source="--platform"))
    if targets:
        return tuple(targets)
    if facts.engine.platform:
        return (Target(platform=facts.engine.platform, source="engine"),)
    return (Target(platform=f"linux/{facts.host.arch}", source="host"),)


def select_checks(only: Iterable[str], skip: Iterable[str]) -> tuple[CheckSpec, ...]:
    """The checks to run, from codes or slugs (comma-separated values allowed)."""

    def names(values: Iterable[str]) -> set[str]:
        return {lookup(n.strip()).id for v in values for n in v.split(",") if n.strip()}

    wanted, unwanted = names(only), names(skip)
    return tuple(s for s in ALL_CHECKS if (not wanted or s.id in wanted) and s.id not in unwanted)


def _crashed(spec: CheckSpec, err: Exception) -> Finding:
    where = traceback.extract_tb(err.__traceback__)[-1]
    return Finding(id=spec.id, slug=spec.slug, severity=Severity.ERROR, title=spec.title, subject="dockdoctor",
                   message=f"internal error in this check ({type(err).__name__}: {err} at "
                           f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno}); please report it")


def diagnose(facts: Facts, *, targets: tuple[Target, ...], checks: tuple[CheckSpec, ...],
             replayed_from: str | None = None) -> Report:
    """Run the checks over the facts; one crashing check becomes a finding, the others still run."""
    ctx = Context(facts=facts, targets=tuple(parse(t.platform) for t in targets))
    findings: list[Finding] = []
    for spec in checks:
        try:
            for problem in spec.func(ctx):
                findings.append(Finding(id=spec.id, slug=spec.slug, severity=spec.default_severity,
                                        title=spec.title, message=problem.message, subject=problem.subject,
                                        target=problem.target, evidence=problem.evidence, fixes=problem.fixes))
        except Exception as err:  # noqa: BLE001 - a broken check must not hide the others
            findings.append(_crashed(spec, err))
    findings.sort(key=lambda f: (-f.severity.rank, f.id))
    return Report(facts=facts, targets=targets, findings=tuple(findings), checks_run=tuple(s.id for s in checks),
                  dockdoctor_version=__version__, replayed_from=replayed_from)


def check(options: CheckOptions, *, replay: Facts | None = None, replayed_from: str | None = None) -> Report:
    """`dockdoctor check`: gather (or replay) the facts and diagnose them."""
    checks = select_checks(options.only, options.skip)
    if replay is None:
        from dockdoctor.probes import GatherOptions, gather

        facts = gather(GatherOptions(timeout=options.timeout, keep_raw=options.keep_raw))
    else:
        facts = replay
    if options.redact:
        facts = redact(facts, registries=options.redact_registries)
    return diagnose(facts, targets=resolve_targets(facts, options.platforms), checks=checks,
                    replayed_from=replayed_from)
