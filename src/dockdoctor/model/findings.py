"""Findings and the Report: what the checks concluded, with severities and the exit code."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from dockdoctor.errors import ExitCode as ExitCode  # re-exported: model.ExitCode
from dockdoctor.model.facts import Evidence, Facts
from dockdoctor.model.fixes import Fix, OutcomeStatus, StepOutcome
from dockdoctor.model.location import Location

REPORT_VERSION = 2  # 2: carries facts schema 2


class Severity(str, Enum):
    """How bad a finding is; ordered error > warning > info."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Fixable(str, Enum):
    """Whether a check's findings come with fixes dockdoctor can apply."""

    ALWAYS = "always"
    SOMETIMES = "sometimes"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class Problem:
    """What a check yields: the facts-specific part of a finding."""

    message: str
    subject: str
    target: str | None = None
    evidence: tuple[Evidence, ...] = ()
    fixes: tuple[Fix, ...] = ()
    location: Location | None = None  # the project file line the subject names (None: computed from the subject)


@dataclass(frozen=True, slots=True)
class Rule:
    """A check as a rule of the SARIF document: its code, slug, title, help text and default severity."""

    id: str
    slug: str
    title: str
    help: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class Skipped:
    """A check that did not run, and why (`check --no-engine`: it reads engine facts)."""

    id: str
    slug: str
    reason: str


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem with the identity and effective severity of the check that found it."""

    id: str
    slug: str
    severity: Severity
    title: str
    message: str
    subject: str
    target: str | None = None
    evidence: tuple[Evidence, ...] = ()
    fixes: tuple[Fix, ...] = ()
    location: Location | None = None  # the project file and line, when the subject is one (SARIF, annotations)


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A finding an inline `# dockdoctor: ignore=...` comment took out of the report: where the comment is, and why."""

    finding: Finding
    file: str  # the comment's file, relative to the project folder
    line: int  # the comment's line
    reason: str


@dataclass(frozen=True, slots=True)
class Target:
    """A target platform, where it came from (option, setting, deploy file, engine) and whom it stands for."""

    platform: str
    source: str
    intent: str = "deploy"  # deploy: where the project runs (servers, CI); local: the engine's own platform


class Verdict(str, Enum):
    """How an image fares on a target: platforms.MatchKind's answers, or unknown (the registry did not answer)."""

    EXACT = "exact"
    COMPATIBLE = "compatible"  # e.g. an arm/v6 image on arm/v7
    EMULATED = "emulated"
    UNAVAILABLE = "unavailable"
    UNKNOWN = "unknown"

    def __str__(self) -> str:  # as the string it replaced: f"{kind}" and str() give the value (like StrEnum)
        return str(self.value)


@dataclass(frozen=True, slots=True)
class ImageVerdict:
    """How one image reference fares on one target platform, and how its local copy compares."""

    reference: str
    target: str
    verdict: Verdict
    platform: str | None = None  # the image platform that would run
    via: str | None = None  # the emulator, for `emulated`
    offered: tuple[str, ...] = ()
    local_platform: str | None = None  # the local copy's platform that serves the target (or that `docker run` uses)
    local_platforms: tuple[str, ...] = ()  # containerd image store: every platform the local copy holds
    local_absent: tuple[str, ...] = ()  # containerd image store: platforms its index lists but it does not hold
    local_digest_matches: bool | None = None  # None: no local copy, or no registry digest to compare
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts over the findings of a report."""

    errors: int
    warnings: int
    infos: int
    checks_run: int
    fixable: int


@dataclass(frozen=True, slots=True)
class Report:
    """The finished diagnosis: the facts, the targets, the findings (sorted) and which checks ran."""

    facts: Facts
    targets: tuple[Target, ...]
    findings: tuple[Finding, ...]
    checks_run: tuple[str, ...]
    dockdoctor_version: str
    replayed_from: str | None = None  # the file a replayed report was read from
    images: tuple[ImageVerdict, ...] = ()  # per image reference and target
    checks_skipped: tuple[Skipped, ...] = ()  # checks not run, with the reason (`check --no-engine`)
    suppressed: tuple[Suppressed, ...] = ()  # findings inline comments suppressed, with the comment and its reason
    settings_files: tuple[str, ...] = ()  # the settings files read (user first, then the project's)

    @property
    def summary(self) -> Summary:
        by = [f.severity for f in self.findings]
        return Summary(
            errors=by.count(Severity.ERROR),
            warnings=by.count(Severity.WARNING),
            infos=by.count(Severity.INFO),
            checks_run=len(self.checks_run),
            fixable=sum(1 for f in self.findings if f.fixes),
        )

    def worst(self, prefix: str) -> Severity | None:
        """The worst severity among findings whose id starts with `prefix` (an area such as "DKD2")."""
        found = [f.severity for f in self.findings if f.id.startswith(prefix)]
        return max(found, key=lambda s: s.rank) if found else None

    def exit_code(self, threshold: Severity = Severity.ERROR) -> ExitCode:
        """1 when any finding is at or above `threshold`, else 0."""
        if any(f.severity.rank >= threshold.rank for f in self.findings):
            return ExitCode.FINDINGS
        return ExitCode.OK


def key(finding: Finding) -> tuple[str, str, str | None]:
    """What identifies a finding across two runs: its check, subject and target."""
    return finding.id, finding.subject, finding.target


@dataclass(frozen=True, slots=True)
class FixOption:
    """One fix offered for a finding, with the consent it needs."""

    fix: Fix
    runnable: bool  # it has steps dockdoctor can execute (not display-only)
    needs_own_consent: bool  # unsafe or privileged: `--yes` alone does not accept it


@dataclass(frozen=True, slots=True)
class FixItem:
    """A finding and the fixes offered for it, the first acceptable one to be applied."""

    number: int
    finding: Finding
    options: tuple[FixOption, ...]


@dataclass(frozen=True, slots=True)
class Applied:
    """A fix that was run, with each step's outcome."""

    item: int
    finding: Finding
    fix_title: str
    outcomes: tuple[StepOutcome, ...]


@dataclass(frozen=True, slots=True)
class FixResult:
    """What `dockdoctor fix` did and what the check after it found."""

    before: Report
    items: tuple[FixItem, ...]
    applied: tuple[Applied, ...]
    after: Report | None
    interrupted: bool = False
    interrupted_item: int | None = None  # the fix that was running when Ctrl-C came

    def status(self, finding: Finding) -> str:
        """fixed | still present, for a finding of the first check, judged by the check after the fixes."""
        if self.after is None:
            return "not checked again"
        return "still present" if any(key(f) == key(finding) for f in self.after.findings) else "fixed"

    @property
    def new_findings(self) -> tuple[Finding, ...]:
        before = {key(f) for f in self.before.findings}
        return tuple(f for f in self.after.findings if key(f) not in before) if self.after else ()

    @property
    def ok(self) -> bool:
        """Every accepted fix ran and its finding is gone."""
        return not self.interrupted and all(
            all(o.status in (OutcomeStatus.APPLIED, OutcomeStatus.SKIPPED) for o in a.outcomes)
            and self.status(a.finding) == "fixed"
            for a in self.applied
        )

    @property
    def exit_code(self) -> ExitCode:
        """130 when interrupted, 0 when every accepted fix worked, else 1 (`fix` and `fix --json`)."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        return ExitCode.OK if self.ok else ExitCode.FINDINGS
