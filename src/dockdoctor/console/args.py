"""Each command's options as one frozen value (CheckArgs, FixArgs, ...), with the rules about how they combine.

Imported when a command runs, not at start-up: `dockdoctor --help` does not build these classes.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from dockdoctor.console.terminal import ColorMode
from dockdoctor.errors import ConfigError

if TYPE_CHECKING:
    from dockdoctor.app import CheckOptions
    from dockdoctor.config import Settings
    from dockdoctor.model import Severity
    from dockdoctor.render import Format


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """What every command's args have: when it started (the --timeout budget counts from there)."""

    started: float = field(default_factory=time.monotonic)
    timeout: float = 8.0

    @property
    def deadline(self) -> float:
        return self.started + self.timeout


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckArgs(Run):
    platforms: tuple[str, ...]
    fmt: Format
    only: tuple[str, ...]
    skip: tuple[str, ...]
    list_checks: bool
    from_file: str | None
    strict: bool
    save_facts: str | None
    no_redact: bool
    redact_registries: bool
    project: str
    no_project: bool
    compose_files: tuple[str, ...]
    verbose: bool
    error_args: tuple[str, ...]
    all_contexts: bool
    contexts: tuple[str, ...]
    deep: bool
    no_engine: bool
    offline: bool
    kube: str | None
    kube_namespace: str | None
    color: ColorMode
    quiet: int

    @property
    def fleet(self) -> bool:
        """--all-contexts or --context: a report per engine, and the fleet."""
        return self.all_contexts or bool(self.contexts)

    def threshold(self, *, strict: bool) -> Severity:
        """The severity that makes the exit code 1: warnings too with --strict or `strict` in the settings."""
        from dockdoctor.model import Severity

        return Severity.WARNING if self.strict or strict else Severity.ERROR

    def check_options(self, project_dir: str | None, settings: Settings) -> CheckOptions:
        """What `check` asks of the app: these options, the project folder and its settings."""
        from dockdoctor import app
        from dockdoctor.console import inputs

        return app.CheckOptions(
            platforms=self.platforms,
            only=self.only,
            skip=self.skip,
            timeout=self.timeout,
            deadline=self.deadline,
            redact=not self.no_redact,
            redact_registries=self.redact_registries,
            project_dir=project_dir,
            compose_files=self.compose_files,
            settings=settings,
            error_texts=tuple(e for arg in self.error_args for e in inputs.error_texts((arg,), (), stdin_ok=False)),
            deep=self.deep,
            no_engine=self.no_engine,
            offline=self.offline,
            kube=self.kube,
            kube_namespace=self.kube_namespace,
        )

    def refuse_conflicts(self) -> None:
        """Options that cannot go together: a one-line usage error naming both."""
        from dockdoctor.render import Format

        fleet_flag = "--context" if self.contexts else "--all-contexts"
        if self.no_engine and (self.fleet or self.deep):
            flag = "--deep" if self.deep else fleet_flag
            raise click.UsageError(f"--no-engine touches no engine; {flag} needs one: use one of them")
        if self.kube is not None and (self.fleet or self.deep or self.from_file):
            flag = "--from" if self.from_file else "--deep" if self.deep else fleet_flag
            raise click.UsageError(f"--kube checks a cluster, not docker engines; {flag} cannot go with it: pick one")
        if self.kube_namespace is not None and self.kube is None:
            raise click.UsageError("--kube-namespace needs --kube")
        if self.fmt in (Format.SARIF, Format.GITHUB, Format.GITLAB) and self.fleet:
            raise click.UsageError(f"--format {self.fmt.value} reports one project: drop --all-contexts/--context")
        if self.fleet and self.from_file:
            raise ConfigError(
                f"--from replays one engine's facts; {fleet_flag} gathers each context's: use one of them"
            )
        if self.fleet and self.save_facts:
            raise ConfigError(
                f"--save-facts writes one engine's facts; with {fleet_flag} use --json (it holds every engine's facts)"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class FixArgs(Run):
    platforms: tuple[str, ...]
    project: str
    only: tuple[str, ...]
    skip: tuple[str, ...]
    yes: bool
    allow_unsafe: bool
    allow_privileged: bool
    dry_run: bool
    undo_last: bool
    as_json: bool

    def refuse_conflicts(self) -> None:
        """`--json` never asks: it needs `--yes` or `--dry-run`."""
        if self.as_json and not (self.yes or self.dry_run):
            raise click.UsageError("--json needs --yes or --dry-run (it never asks)")


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectArgs(Run):
    refs: tuple[str, ...]
    platforms: tuple[str, ...]
    fmt: Format
    offline: bool
    refresh: bool
    save_facts: str | None
    no_redact: bool
    deep: bool
    color: ColorMode
    quiet: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportArgs(Run):
    now: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    )
    output: str | None
    platforms: tuple[str, ...]
    no_redact: bool
    redact_registries: bool
    project: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExplainErrorArgs(Run):
    texts: tuple[str, ...]
    files: tuple[str, ...]
    no_probe: bool
    fmt: Format
    no_redact: bool
    verbose: bool
    color: ColorMode
    quiet: int
