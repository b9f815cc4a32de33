"""The fleet document: one Report per docker context, the contexts that did not answer, and the fleet's findings."""

from __future__ import annotations

from dataclasses import dataclass

from dockdoctor.model.facts import FleetEngine, ProbeError
from dockdoctor.model.findings import ExitCode, Finding, Report, Severity

FLEET_VERSION = 2  # 2: carries report version 2


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A context `--all-contexts` found but whose engine did not answer (listed, not judged)."""

    context: str
    endpoint: str
    error: ProbeError


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One line of the summary table: an engine and what its report says."""

    context: str
    endpoint: str
    answered: bool
    current: bool = False
    platform: str | None = None
    flavor: str = ""
    server_version: str | None = None
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    problem: str = ""  # why it did not answer


@dataclass(frozen=True, slots=True)
class FleetReport:
    """`check --all-contexts` / `--context NAME`: a report per engine, plus what only the fleet shows."""

    reports: tuple[Report, ...]
    findings: tuple[Finding, ...] = ()  # the fleet checks' findings (DKD23x)
    unanswered: tuple[Unanswered, ...] = ()
    dockdoctor_version: str = ""
    current: str | None = None  # the context the docker CLI uses now
    engines: tuple[FleetEngine, ...] = ()  # what the fleet checks read (Facts.fleet of their run)

    @property
    def rows(self) -> tuple[FleetRow, ...]:
        """The summary table: every engine that answered (or was named), then the contexts that did not answer."""
        rows = []
        for report in self.reports:
            engine, summary = report.facts.engine, report.summary
            problem = engine.error.detail if engine.error is not None and not engine.reachable else ""
            rows.append(
                FleetRow(
                    context=engine.context or "default",
                    endpoint=engine.endpoint,
                    answered=engine.reachable,
                    current=(engine.context or "default") == self.current,
                    platform=engine.platform,
                    flavor=engine.flavor.value,
                    server_version=engine.server_version,
                    errors=summary.errors,
                    warnings=summary.warnings,
                    infos=summary.infos,
                    problem=problem,
                )
            )
        for gone in self.unanswered:
            detail = gone.error.detail.removeprefix(f"{gone.endpoint}: ")  # the table shows the endpoint
            rows.append(
                FleetRow(
                    context=gone.context,
                    endpoint=gone.endpoint,
                    answered=False,
                    current=gone.context == self.current,
                    problem=detail if detail.startswith(f"{gone.error.kind}: ") else f"{gone.error.kind}: {detail}",
                )
            )
        return tuple(rows)

    def exit_code(self, threshold: Severity = Severity.ERROR) -> ExitCode:
        """1 when any engine's report or any fleet finding is at or above `threshold`, else 0."""
        if any(r.exit_code(threshold) is ExitCode.FINDINGS for r in self.reports):
            return ExitCode.FINDINGS
        if any(f.severity.rank >= threshold.rank for f in self.findings):
            return ExitCode.FINDINGS
        return ExitCode.OK
