"""The command line: options in, one app call, a rendered report out, an exit code; the one error handler."""

from __future__ import annotations

import errno
import gc
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

import click

from dockdoctor import __version__
from dockdoctor.errors import ConfigError, DockdoctorError, ReplayFileError

if TYPE_CHECKING:  # types only: importing them at start-up would slow --help
    from dockdoctor.checks import CheckSpec
    from dockdoctor.render import Format


MAX_FROM_BYTES = 64 << 20  # a --from file (facts, report or bundle) larger than this is not one dockdoctor wrote


def _read_facts_text(path: str) -> str:
    """The facts JSON of a `--from` file: a facts file, a JSON report or a support bundle (at most 64 MiB each)."""
    from dockdoctor import bundle

    try:
        with open(path, "rb") as fh:  # a plain open: `--from <(command)` is a FIFO the user means
            data = fh.read(MAX_FROM_BYTES + 1)
        if len(data) > MAX_FROM_BYTES:
            raise ReplayFileError(f"{path}: larger than {MAX_FROM_BYTES >> 20} MiB: not a file dockdoctor wrote")
        return bundle.facts_text(data, source=path) if bundle.is_bundle(data) else data.decode("utf-8")
    except FileNotFoundError:
        raise ReplayFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReplayFileError(f"{path}: is a directory, expected a facts or report JSON file") from None
    except UnicodeDecodeError as err:
        raise ReplayFileError(
            f"{path}: not UTF-8 text (byte {err.start}): expected a facts or report JSON file or a bundle zip"
        ) from None
    except OSError as err:
        raise ReplayFileError(f"{path}: cannot read it ({err.strerror or err})") from None


def _load_settings(project: str | None):  # -> Settings
    """The project settings: .dockdoctor.toml, else [tool.dockdoctor] in pyproject.toml, else none.

    Read like every project file (probes._files): a regular file inside the project folder, at most 1 MiB, opened
    without blocking; anything else is a one-line ConfigError naming the file and what to do.
    """
    from dockdoctor.config import Settings, parse_settings
    from dockdoctor.probes._files import Unread, read_bytes

    if project is None:
        return Settings()
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    for name, table in ((".dockdoctor.toml", ()), ("pyproject.toml", ("tool", "dockdoctor"))):
        path = os.path.join(project, name)
        if not os.path.lexists(path):
            continue
        fix = "fix or remove it, or run with --no-project"
        try:
            data = tomllib.loads(read_bytes(path, root=project).decode("utf-8"))
        except Unread as unread:
            raise ConfigError(
                f"{path}: not read ({unread.reason}); make it a regular file in the project folder, "
                f"or run with --no-project"
            ) from None
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8, or run with --no-project"
            ) from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: cannot read it as TOML ({err}); {fix}") from None
        except (RecursionError, MemoryError):
            raise ConfigError(f"{path}: nested too deeply to read as TOML; {fix}") from None
        for key in table:
            data = data.get(key, {}) if isinstance(data, dict) else {}
        if table and not isinstance(data, dict):
            raise ConfigError(
                f"{path}: `{'.'.join(table)}` must be a table ([tool.dockdoctor] with targets, "
                f"ignore, severity, strict), not {_a_kind(data)}"
            )
        if data or not table:
            return parse_settings(data, source=path)
    return Settings()


def _a_kind(value: object) -> str:
    kinds = {bool: "true or false", int: "a number", float: "a number", str: "a string", list: "a list"}
    return kinds.get(type(value), "a value")


def _project_folder(project: str) -> str:
    """The project folder as given (settings sources in reports keep the user's spelling), once it is known to be a
    folder; a one-line error for a missing folder or a deleted current folder."""
    try:
        folder = os.path.abspath(project)
    except OSError:  # os.getcwd() of a folder that was deleted under the shell
        raise ConfigError(
            "the current folder no longer exists (deleted?): cd to a folder that exists, "
            "or give --project DIR (check also takes --no-project)"
        ) from None
    if not os.path.isdir(folder):
        raise ConfigError(f"--project {project}: not a folder")
    return project


class Seconds(click.ParamType):
    """A finite number of seconds in [low, high]; anything else (nan, inf, -1, 'soon') is a one-line usage error."""

    name = "seconds"

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:  # click 8.1 and 8.2
        return "SECONDS"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            seconds = math.nan
        if not math.isfinite(seconds) or not self.low <= seconds <= self.high:
            flag = param.opts[0] if param is not None and param.opts else "--timeout"
            raise ConfigError(f"{flag} {value}: give a number of seconds from {self.low:g} to {self.high:g}")
        return seconds


RUN_TIMEOUT_HELP = "The whole run's budget in seconds: at its end the report shows what is known and the run ends."
DEEP_HELP = (
    "Also read the file each image's container would exec from the registry's layers (no pull): its ELF "
    "architecture, loader and x86-64 level against the manifest and the targets."
)


def _color(stream: object) -> bool:
    """Colour only on a terminal that can show it: not with NO_COLOR set (no-color.org), not on TERM=dumb."""
    return (
        bool(getattr(stream, "isatty", lambda: False)())
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM") != "dumb"
    )


def _say(text: str, *, err: bool = False) -> None:
    """One line with outside text in it: control characters and line breaks made visible (render/safe.py)."""
    from dockdoctor.render.safe import visible

    click.echo(visible(text), err=err)


def _error(text: str) -> None:
    """A one-line error on stderr: secrets hidden like in a report (it gets pasted into tickets), escapes visible."""
    from dockdoctor.redact import scrub

    _say(scrub(text), err=True)


class OutputError(DockdoctorError):
    """Standard output failed (a full disk, /dev/full, a closed pipe): the run's result could not be printed."""

    def __init__(self, err: OSError) -> None:
        super().__init__(f"cannot write to standard output ({err.strerror or err})")
        self.errno = err.errno


class _Stdout:
    """sys.stdout for the length of a run: a failed write or flush raises OutputError, never a bare OSError."""

    def __init__(self, stream: object) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)  # type: ignore[attr-defined]
        except OSError as err:
            raise OutputError(err) from None

    def flush(self) -> None:
        try:
            self._stream.flush()  # type: ignore[attr-defined]
        except OSError as err:
            raise OutputError(err) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _silence_stdout(stream: object) -> None:
    """Point file descriptor 1 at /dev/null, so the interpreter's last flush neither fails nor prints a warning."""
    try:
        fileno = stream.fileno()  # type: ignore[attr-defined]
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor (tests run in-process)
        pass


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dockdoctor")
def cli() -> None:
    """A doctor for Docker platform mismatches (Apple Silicon Macs, Linux servers)."""


@cli.command("check")
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS/ARCH",
    help="Deploy target platform (repeatable). Default: the engine's native platform.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "sarif", "github"]),
    default="text",
    show_default=True,
    help="sarif: SARIF 2.1.0 for code scanning; github: workflow-command annotations.",
)
@click.option("--only", multiple=True, metavar="CODE|SLUG", help="Run only these checks (repeatable, or a,b).")
@click.option("--skip", multiple=True, metavar="CODE|SLUG", help="Do not run these checks.")
@click.option("--list-checks", is_flag=True, help="List the checks and exit.")
@click.option("--from", "from_file", metavar="FILE", help="Replay a saved facts file or JSON report offline.")
@click.option("--strict", is_flag=True, help="Warnings also make the exit code 1.")
@click.option("--timeout", type=Seconds(0.1, 600), default=8.0, show_default=True, help=RUN_TIMEOUT_HELP)
@click.option("--save-facts", metavar="FILE", help="Also write the gathered facts to FILE (for --from).")
@click.option("--no-redact", is_flag=True, help="Show home paths, user and host names and environment values.")
@click.option("--redact-registries", is_flag=True, help="Also hide private registry host names.")
@click.option(
    "--project",
    "project",
    default=".",
    show_default=True,
    metavar="DIR",
    help="The project folder to scan (Dockerfiles, compose files, dev containers, settings).",
)
@click.option("--no-project", is_flag=True, help="Do not scan a project folder.")
@click.option(
    "-f", "--file", "compose_files", multiple=True, metavar="FILE", help="Compose file(s), as `docker compose -f`."
)
@click.option("-v", "--verbose", is_flag=True, help="Show evidence and environment.")
@click.option(
    "--error",
    "error_args",
    multiple=True,
    metavar="TEXT",
    help="An error message to explain in the report (repeatable; `-` reads standard input).",
)
@click.option(
    "--all-contexts",
    is_flag=True,
    help="Check every docker context that answers, concurrently: a report per engine, and the fleet.",
)
@click.option(
    "--context",
    "contexts",
    multiple=True,
    metavar="NAME",
    help="Check this docker context (repeatable): a report per engine, and the fleet.",
)
@click.option("--deep", is_flag=True, help=DEEP_HELP)
@click.option(
    "--no-engine",
    is_flag=True,
    help="CI and hooks: scan the project and ask the registries only; no host, engine, compose, buildx "
    "or emulation probe (checks that need them are listed as skipped).",
)
@click.option("--offline", is_flag=True, help="Registries and the package index: answers from the cache only.")
def check_cmd(
    platforms: tuple[str, ...],
    as_json: bool,
    fmt: str,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    list_checks: bool,
    from_file: str | None,
    strict: bool,
    timeout: float,
    save_facts: str | None,
    no_redact: bool,
    redact_registries: bool,
    project: str,
    no_project: bool,
    compose_files: tuple[str, ...],
    verbose: bool,
    error_args: tuple[str, ...],
    all_contexts: bool,
    contexts: tuple[str, ...],
    deep: bool,
    no_engine: bool,
    offline: bool,
) -> None:
    """Diagnose this machine, its engine, compose, buildx and emulation."""
    deadline = time.monotonic() + timeout
    from dockdoctor import app, codec
    from dockdoctor.model import Severity
    from dockdoctor.render import Format, RenderOptions, renderer_for

    fmt_enum = Format.JSON if as_json else Format(fmt)
    if list_checks:
        click.echo(_list_checks(app.select_checks(only, skip), fmt_enum), nl=False)
        return
    if no_engine and (all_contexts or contexts or deep):
        flag = "--deep" if deep else "--context" if contexts else "--all-contexts"
        raise click.UsageError(f"--no-engine touches no engine; {flag} needs one: use one of them")
    if fmt_enum in (Format.SARIF, Format.GITHUB) and (all_contexts or contexts):
        raise click.UsageError(f"--format {fmt_enum.value} reports one project: drop --all-contexts/--context")
    replay = codec.facts_from_json(_read_facts_text(from_file), source=from_file) if from_file else None
    project_dir = None if no_project else _project_folder(project)
    settings = _load_settings(project_dir)
    errors = tuple(e for arg in error_args for e in _error_texts((arg,), (), stdin_ok=False))
    options = app.CheckOptions(
        platforms=platforms,
        only=only,
        skip=skip,
        timeout=timeout,
        deadline=deadline,
        redact=not no_redact,
        redact_registries=redact_registries,
        project_dir=project_dir,
        compose_files=compose_files,
        settings=settings,
        error_texts=errors,
        deep=deep,
        no_engine=no_engine,
        offline=offline,
    )
    strict = strict or settings.strict
    if all_contexts or contexts:
        _check_fleet(
            options,
            contexts,
            fmt_enum,
            replayed=bool(from_file),
            save_facts=save_facts,
            threshold=Severity.WARNING if strict else Severity.ERROR,
            verbose=verbose,
        )
    report = app.check(options, replay=replay, replayed_from=from_file)
    if save_facts:
        _write_file(save_facts, codec.facts_to_json(report.facts))
    threshold = Severity.WARNING if strict else Severity.ERROR
    render = renderer_for(fmt_enum)
    click.echo(
        render(
            report,
            RenderOptions(
                color=_color(sys.stdout) and fmt_enum is Format.TEXT,
                verbose=verbose,
                threshold=threshold,
                path_prefix=_path_prefix(project_dir),
                rules=_rules() if fmt_enum is Format.SARIF else (),
            ),
        ),
        nl=False,
    )
    sys.exit(int(report.exit_code(threshold)))


def _check_fleet(
    options,
    names: tuple[str, ...],
    fmt: Format,
    *,
    replayed: bool,
    save_facts: str | None,  # noqa: ANN001
    threshold,
    verbose: bool,
) -> NoReturn:  # noqa: ANN001
    """`check --all-contexts` / `--context NAME`: the fleet document, and its exit code."""
    from dockdoctor import app
    from dockdoctor.render import Format, RenderOptions
    from dockdoctor.render.fleet import render

    flag = "--context" if names else "--all-contexts"
    if replayed:
        raise ConfigError(f"--from replays one engine's facts; {flag} gathers each context's: use one of them")
    if save_facts:
        raise ConfigError(
            f"--save-facts writes one engine's facts; with {flag} use --json (it holds every engine's facts)"
        )
    fleet = app.check_fleet(options, names=names)
    click.echo(
        render(
            fleet,
            fmt,
            RenderOptions(color=_color(sys.stdout) and fmt is Format.TEXT, verbose=verbose, threshold=threshold),
        ),
        nl=False,
    )
    sys.exit(int(fleet.exit_code(threshold)))


def _rules() -> tuple:  # -> tuple[Rule, ...]
    """The check catalog as SARIF rules."""
    from dockdoctor.checks import ALL_CHECKS
    from dockdoctor.model import Rule

    return tuple(Rule(id=s.id, slug=s.slug, title=s.title, help=s.doc, severity=s.default_severity) for s in ALL_CHECKS)


def _path_prefix(project_dir: str | None) -> str:
    """The project folder relative to the current folder (the checkout in CI), for file paths in SARIF and
    annotations; "" when it is the current folder or outside it."""
    if project_dir is None:
        return ""
    try:
        rel = os.path.relpath(os.path.abspath(project_dir))
    except (OSError, ValueError):
        return ""
    return "" if rel == "." or rel.startswith("..") else rel.replace(os.sep, "/")


def _list_checks(specs: Sequence[CheckSpec], fmt: Format) -> str:
    import json

    from dockdoctor.render import Format

    rows = [(s.id, s.slug, s.default_severity.value, s.title) for s in specs]
    if fmt is Format.JSON:
        return json.dumps([dict(zip(("id", "slug", "severity", "title"), r)) for r in rows], indent=2) + "\n"
    return "".join(f"{i}  {slug:34} {sev:8} {title}\n" for i, slug, sev, title in rows)


def _write_file(path: str, content: str | bytes) -> None:
    """--save-facts and report -o: the shared in-place writer (symlinks, owner, mode and hard links kept)."""
    from dockdoctor.files import write_file

    write_file(path, content.encode("utf-8") if isinstance(content, str) else content)


def _plan_lines(items) -> list[str]:  # items: tuple[fixes.plan.Item, ...]
    import shlex

    lines = []
    for item in items:
        finding = item.finding
        lines.append(
            f"{item.number}. {finding.severity.value.upper()} {finding.id} {finding.slug}"
            + (f" [{finding.target}]" if finding.target else "")
        )
        lines.append(f"   {finding.message}")
        for opt in item.options:
            notes = [opt.fix.safety.value, *(f"needs {n.value}" for n in opt.fix.needs)]
            if opt.needs_own_consent:
                notes.append("needs its own consent")
            lines.append(f"   fix: {opt.fix.title} ({', '.join(notes)})")
            for step in opt.fix.steps:
                if step.kind == "run":
                    lines.append(f"     $ {shlex.join(step.argv)}")
                elif step.kind == "edit":
                    lines.append(f"     edit {step.path}:")
                    lines += [f"       {line}" for line in step.diff.splitlines()]
                else:
                    lines.append(f"     - {step.text}")
    return lines


def _allowed(opt, *, allow_unsafe: bool, allow_privileged: bool) -> bool:  # noqa: ANN001
    """What --yes accepts: safe fixes; unsafe and privileged ones only with their own flags."""
    privileged = any(n.value == "privileged" for n in opt.fix.needs)
    return (allow_privileged or not privileged) and (allow_unsafe or opt.fix.safety.value != "unsafe")


def _fix_json(
    app,
    options,
    before,
    items,
    *,
    dry_run: bool,
    allow_unsafe: bool,
    allow_privileged: bool,  # noqa: ANN001
    timeout: float,
) -> None:
    """`fix --json`: apply (unless --dry-run) and print one JSON document; command output goes to stderr."""
    import json

    from dockdoctor import codec
    from dockdoctor.model import FixResult
    from dockdoctor.redact import secrets

    if dry_run:
        result = FixResult(before=before, items=items, applied=(), after=None)
    else:
        result = app.fix(
            options,
            before=before,
            step_timeout=timeout,
            echo=lambda line: _say(line, err=True),
            decide=lambda item, opt: _allowed(opt, allow_unsafe=allow_unsafe, allow_privileged=allow_privileged),
        )
    code = 130 if result.interrupted else (0 if result.ok else 1)
    click.echo(json.dumps(codec.fix_result_to_data(secrets(result), exit_code=code), indent=2))
    sys.exit(code)


@cli.command("fix")
@click.option("--platform", "platforms", multiple=True, metavar="OS/ARCH", help="Deploy target platform (repeatable).")
@click.option("--project", default=".", show_default=True, metavar="DIR", help="The project folder.")
@click.option("--only", multiple=True, metavar="CODE|SLUG", help="Fix only these checks' findings.")
@click.option("--skip", multiple=True, metavar="CODE|SLUG", help="Leave these checks' findings alone.")
@click.option("--yes", is_flag=True, help="Apply every safe fix without asking.")
@click.option("--allow-unsafe", is_flag=True, help="With --yes: also apply unsafe fixes (sudo, package installs).")
@click.option("--allow-privileged", is_flag=True, help="With --yes: also run privileged containers.")
@click.option("--dry-run", is_flag=True, help="Print the plan; execute nothing.")
@click.option("--undo", "undo_last", is_flag=True, help="Restore the files the last fix in --project edited.")
@click.option(
    "--timeout", type=Seconds(1, 7200), default=900.0, show_default=True, help="Seconds each command may run."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (with --yes or --dry-run).")
def fix_cmd(
    platforms: tuple[str, ...],
    project: str,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    yes: bool,
    allow_unsafe: bool,
    allow_privileged: bool,
    dry_run: bool,
    undo_last: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Apply the fixes `check` proposes: show the plan, ask, apply, check again."""
    from dockdoctor import app
    from dockdoctor.fixes.plan import plan

    project = _project_folder(project)
    if undo_last:
        restored = app.undo(project)
        for path, what, _ in restored:
            _say(f"{path}: {what}")
        if not restored:
            click.echo(f"nothing to undo in {project}")
        sys.exit(0 if all(ok for _, _, ok in restored) else 1)
    settings = _load_settings(project)
    options = app.CheckOptions(
        platforms=platforms, only=only, skip=skip, redact=False, project_dir=project, settings=settings
    )
    before = app.check(options)
    items = plan(before)
    if as_json and not (yes or dry_run):
        raise click.UsageError("--json needs --yes or --dry-run (it never asks)")
    if as_json:
        _fix_json(
            app,
            options,
            before,
            items,
            dry_run=dry_run,
            allow_unsafe=allow_unsafe,
            allow_privileged=allow_privileged,
            timeout=timeout,
        )
    if not items:
        click.echo("nothing to fix: no finding has a fix")
        sys.exit(0)
    from dockdoctor.redact import secrets
    from dockdoctor.render.safe import clean

    click.echo("\n".join(_plan_lines(clean(secrets(items)))))  # paths as they are, secrets hidden
    if dry_run:
        sys.exit(0)
    interactive = sys.stdin.isatty() and not yes
    if not yes and not interactive:
        click.echo("dockdoctor: no terminal to ask on: run with --yes (safe fixes) or --dry-run", err=True)
        sys.exit(2)
    accept_all = [False]

    def decide(item, opt) -> bool:  # noqa: ANN001
        if not interactive:
            return _allowed(opt, allow_unsafe=allow_unsafe, allow_privileged=allow_privileged)
        if accept_all[0] and not opt.needs_own_consent:
            return True
        from dockdoctor.render.safe import visible

        answer = click.prompt(
            f"apply fix {item.number} ({visible(opt.fix.title)})? [y]es/[n]o/[a]ll/[q]uit"
            + (" — it needs its own consent" if opt.needs_own_consent else ""),
            type=click.Choice(["y", "n", "a", "q"]),
            show_choices=False,
            default="n",
        )
        if answer == "q":
            raise KeyboardInterrupt
        accept_all[0] = accept_all[0] or answer == "a"
        return answer in ("y", "a")

    result = secrets(app.fix(options, decide=decide, echo=_say, step_timeout=timeout, before=before))
    click.echo("")
    for done in result.applied:
        _say(f"{done.item}. {done.finding.id} {done.fix_title}: {result.status(done.finding)}")
        for outcome in done.outcomes:
            if outcome.status != "applied":
                _say(f"   {outcome.status}: {outcome.detail}")
    if result.interrupted:
        ran = [a.item for a in result.applied]
        not_run = [i.number for i in result.items if i.number not in ran and i.number != result.interrupted_item]
        during = f" during fix {result.interrupted_item} (stopped)" if result.interrupted_item else ""
        click.echo(f"interrupted{during}: fixes that ran: {ran or 'none'}; not run: {not_run or 'none'}", err=True)
        sys.exit(130)
    if not result.applied:
        click.echo("no fix applied")
        sys.exit(0)
    for finding in result.new_findings:
        _say(f"new: {finding.id} {finding.message}")
    sys.exit(0 if result.ok else 1)


@cli.command("inspect")
@click.argument("refs", nargs=-1, required=True, metavar="IMAGE...")
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS/ARCH",
    help="Target platform (repeatable). Default: the engine's native platform.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--offline", is_flag=True, help="Answer from the cache only.")
@click.option("--refresh", is_flag=True, help="Ask the registries again even within the cache's tag TTL.")
@click.option("--timeout", type=Seconds(0.1, 600), default=20.0, show_default=True, help=RUN_TIMEOUT_HELP)
@click.option("--save-facts", metavar="FILE", help="Also write the facts (with the images) for `check --from`.")
@click.option("--no-redact", is_flag=True, help="Show home paths, user and host names and environment values.")
@click.option("--deep", is_flag=True, help=DEEP_HELP)
def inspect_cmd(
    refs: tuple[str, ...],
    platforms: tuple[str, ...],
    as_json: bool,
    fmt: str,
    offline: bool,
    refresh: bool,
    timeout: float,
    save_facts: str | None,
    no_redact: bool,
    deep: bool,
) -> None:
    """Which platforms images offer, and how each runs on the target platforms (natively, emulated, not at all).

    A lookup that fails (registry unreachable, not found, authentication) is an error here: exit code 1; a
    reference that is not one (`''`) still gets its line, and the exit code is 2.
    """
    deadline = time.monotonic() + timeout
    from dockdoctor.probes.early import begin  # the lookups start before the imports below (probes/early.py)

    begin(refs, offline=offline, refresh=refresh, timeout=timeout, deadline=deadline)
    from dockdoctor import app, codec
    from dockdoctor.render import Format, RenderOptions, renderer_for

    fmt_enum = Format.JSON if as_json else Format(fmt)
    invalid = app.invalid_references(refs)  # each gets its line in the report; the exit code is 2
    options = app.CheckOptions(
        platforms=platforms,
        timeout=timeout,
        deadline=deadline,
        redact=not no_redact,
        image_refs=refs,
        offline=offline,
        refresh=refresh,
        only=app.IMAGE_CHECKS,
        tools=False,
        settings=app.INSPECT_SETTINGS,
        deep=deep,
    )
    report = app.check(options)
    if save_facts:
        _write_file(save_facts, codec.facts_to_json(report.facts))
    render = renderer_for(fmt_enum)
    click.echo(
        render(report, RenderOptions(color=_color(sys.stdout) and fmt_enum is Format.TEXT, images_only=True)), nl=False
    )
    if invalid:
        raise ConfigError(invalid[0] + (f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""))
    sys.exit(int(report.exit_code()))


@cli.command("cache")
@click.argument("action", type=click.Choice(["clear", "path"]))
def cache_cmd(action: str) -> None:
    """Show or clear the registry cache (manifests by digest, tag entries, auth challenges; never credentials)."""
    from dockdoctor import app

    path = app.cache_dir()
    if action == "path":
        click.echo(str(path))
        return
    _say(f"removed {app.clear_cache()} cached file(s) from {path}")


@cli.command("report")
@click.option("-o", "--output", metavar="FILE", help="Where to write the bundle (default: dockdoctor-report-TIME.zip).")
@click.option("--platform", "platforms", multiple=True, metavar="OS/ARCH", help="Deploy target platform (repeatable).")
@click.option("--timeout", type=Seconds(0.1, 600), default=8.0, show_default=True, help=RUN_TIMEOUT_HELP)
@click.option("--no-redact", is_flag=True, help="Keep home paths, user and host names and environment values.")
@click.option("--redact-registries", is_flag=True, help="Also hide private registry host names.")
@click.option("--project", default=".", show_default=True, metavar="DIR", help="The project folder to include.")
def report_cmd(
    output: str | None,
    platforms: tuple[str, ...],
    timeout: float,
    no_redact: bool,
    redact_registries: bool,
    project: str,
) -> None:
    """Write a support bundle (one zip) to attach to a ticket; nothing is uploaded."""
    deadline = time.monotonic() + timeout
    import datetime
    import platform as stdlib_platform

    from dockdoctor import app, bundle
    from dockdoctor.render import RenderOptions

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    path = output or f"dockdoctor-report-{now.strftime('%Y%m%d-%H%M%S')}.zip"
    project = _project_folder(project)
    options = app.CheckOptions(
        platforms=platforms,
        timeout=timeout,
        deadline=deadline,
        redact=not no_redact,
        redact_registries=redact_registries,
        keep_raw=True,
        project_dir=project,
        settings=_load_settings(project),
    )
    report = app.check(options)
    data, manifest = bundle.build(
        report, python_version=stdlib_platform.python_version(), created_at=now.isoformat(), options=RenderOptions()
    )
    _write_file(path, data)
    _say(
        f"wrote {path} ({len(data) // 1024 + 1} KiB, {len(manifest['files']) + 1} files, "
        f"{'redacted' if manifest['redacted'] else 'NOT redacted'}); nothing was uploaded"
    )
    click.echo(f"  {bundle.MANIFEST}  what is inside, with sizes and SHA-256")
    for item in manifest["files"]:
        _say(f"  {item['name']}  {item['what']}")


def _error_texts(texts: tuple[str, ...], files: tuple[str, ...], *, stdin_ok: bool) -> tuple:  # -> tuple[ErrorText]
    """The error texts of `explain-error`: arguments (one message), `-` or a piped stdin, and --file logs."""
    from dockdoctor.model import ErrorText

    found = []
    if texts and texts != ("-",):
        found.append(ErrorText(source="argument", text=" ".join(texts)))
    if texts == ("-",) or (stdin_ok and not texts and not files and not sys.stdin.isatty()):
        found.append(ErrorText(source="stdin", text=sys.stdin.read(MAX_ERROR_TEXT)))
    for path in files:
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - MAX_ERROR_TEXT))
                data = fh.read(MAX_ERROR_TEXT)
        except FileNotFoundError:
            raise ConfigError(f"--file {path}: no such file") from None
        except IsADirectoryError:
            raise ConfigError(f"--file {path}: is a directory, expected a log file") from None
        except OSError as err:
            raise ConfigError(f"--file {path}: cannot read it ({err.strerror or err})") from None
        found.append(ErrorText(source=f"file {path}", text=data.decode("utf-8", "replace")))
    return tuple(found)


MAX_ERROR_TEXT = 4 * 1024 * 1024  # characters of a paste or the end of a log: more is not one error


@cli.command("explain-error")
@click.argument("texts", nargs=-1, metavar="[TEXT ...]")
@click.option("--file", "files", multiple=True, metavar="LOG", help="A build or container log to read (repeatable).")
@click.option("--no-probe", is_flag=True, help="Explain from the text alone (support staff reading a ticket).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--timeout", type=Seconds(0.1, 600), default=8.0, show_default=True, help=RUN_TIMEOUT_HELP)
@click.option("--no-redact", is_flag=True, help="Show home paths, user and host names and environment values.")
@click.option("-v", "--verbose", is_flag=True, help="Show every fact each cause was judged by.")
def explain_error_cmd(
    texts: tuple[str, ...],
    files: tuple[str, ...],
    no_probe: bool,
    as_json: bool,
    fmt: str,
    timeout: float,
    no_redact: bool,
    verbose: bool,
) -> None:
    """Explain an error message: what happened, the causes ranked, what on this machine confirms or rules each out.

    The message comes as arguments, from standard input (TEXT `-`, or piped), or from --file. Exit code 0 when a
    known message was found, 1 when none was, 2 on bad usage.
    """
    from dockdoctor import app
    from dockdoctor.render import Format, RenderOptions, renderer_for

    errors = _error_texts(texts, files, stdin_ok=True)
    if not errors:
        raise click.UsageError("give the error text as arguments, `-` for standard input, or --file LOG")
    fmt_enum = Format.JSON if as_json else Format(fmt)
    options = app.CheckOptions(
        timeout=timeout, deadline=time.monotonic() + timeout, redact=not no_redact, error_texts=errors
    )
    report, code = app.explain_error(options, probe=not no_probe)
    render = renderer_for(fmt_enum)
    click.echo(
        render(
            report, RenderOptions(color=_color(sys.stdout) and fmt_enum is Format.TEXT, verbose=verbose, explain=True)
        ),
        nl=False,
    )
    sys.exit(code)


@cli.command("explain")
@click.argument("code", required=False)
@click.option("--all", "all_checks", is_flag=True, help="Print the whole catalog as Markdown.")
def explain_cmd(code: str | None, all_checks: bool) -> None:
    """Print a check's documentation (by code such as DKD201, or slug)."""
    from dockdoctor import docs
    from dockdoctor.checks import lookup

    if all_checks:
        click.echo(docs.catalog_markdown(), nl=False)
        return
    if not code:
        raise click.UsageError("give a check code or slug, e.g. `dockdoctor explain DKD201`, or --all")
    click.echo(docs.explain(lookup(code)), nl=False)


@cli.command("schema")
@click.argument("which", type=click.Choice(["report", "facts", "fix", "fleet"]), default="report")
def schema_cmd(which: str) -> None:
    """Print the JSON Schema of the report (`check --json`), of a facts file, of `fix --json`, or of the fleet
    document (`check --all-contexts --json`)."""
    from importlib.resources import files

    from dockdoctor.codec import FIX_VERSION
    from dockdoctor.model import REPORT_VERSION, SCHEMA_VERSION
    from dockdoctor.model.fleet import FLEET_VERSION

    version = {"report": REPORT_VERSION, "facts": SCHEMA_VERSION, "fix": FIX_VERSION, "fleet": FLEET_VERSION}[which]
    click.echo(files("dockdoctor").joinpath("schemas", f"{which}-v{version}.schema.json").read_text("utf-8"), nl=False)


def _tolerant_streams() -> None:
    """Characters the terminal's encoding lacks (an emoji file name under PYTHONIOENCODING=latin-1) become escapes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream: writing to it fails later, clearly
                pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: runs the CLI; DockdoctorError becomes one line on stderr and its exit code.

    Standard output that is closed (`>&-`) or fails (`> /dev/full`) is a one-line error and exit 2; a reader that
    went away (`| head -1`) ends the run quietly with 141, as a program stopped by SIGPIPE does.
    """
    if sys.stdout is None:
        click.echo(
            "dockdoctor: standard output is closed: nothing could be printed (redirect it to a file or "
            "/dev/null instead)",
            err=True,
        )
        return 2
    _tolerant_streams()
    real = sys.stdout
    sys.stdout = _Stdout(real)  # type: ignore[assignment]
    try:
        try:
            code = _main(argv)
            sys.stdout.flush()
        except OutputError as err:
            _silence_stdout(real)
            if err.errno == errno.EPIPE:
                return 141
            click.echo(f"dockdoctor: {err}", err=True)
            return err.exit_code
    finally:
        sys.stdout = real
    return code


def _main(argv: Sequence[str] | None) -> int:
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="dockdoctor", standalone_mode=False)
    except OutputError:
        raise
    except DockdoctorError as err:
        _error(f"dockdoctor: {err}")
        return err.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as err:
        from dockdoctor.redact import scrub
        from dockdoctor.render.safe import visible

        err.message = visible(scrub(err.message))  # it may quote what the user typed
        err.show()
        return err.exit_code
    except click.exceptions.Abort as err:  # click turns Ctrl-C into Abort
        ctrl_c = isinstance(err.__cause__, KeyboardInterrupt)
        click.echo(f"dockdoctor: {'interrupted' if ctrl_c else 'aborted'}", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("dockdoctor: interrupted", err=True)
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except (OSError, UnicodeError, RecursionError, MemoryError, ValueError) as err:
        # the last net: input that slipped past the checks at its door still gets one line, not a traceback
        if os.environ.get("DOCKDOCTOR_DEBUG"):
            raise
        _error(f"dockdoctor: {type(err).__name__}: {err} (DOCKDOCTOR_DEBUG=1 shows where)")
        return 2
    return 0


_signals = {"interrupted": False, "done": False}


def _on_sigint(signum: int, frame: object) -> None:
    """The first Ctrl-C stops the run (KeyboardInterrupt: main() reports it, exit 130); a second one, or one
    after main() returned, ends the process at once with 130."""
    if _signals["interrupted"] or _signals["done"]:
        try:
            os.write(2, b"dockdoctor: interrupted\n")
        finally:
            os._exit(130)
    _signals["interrupted"] = True
    raise KeyboardInterrupt


def _exit(code: int) -> NoReturn:
    """End the process with code, without waiting for any thread still working.

    Probe threads are daemons and are never joined; should some library have left a thread that is not, the
    output is flushed and the process ends anyway (os._exit), so a run never outlives its report.

    An interrupted run ends with os._exit too: CPython 3.11 marks a KeyboardInterrupt that passes through any
    exec() of a string (dataclasses and namedtuple build their methods that way, on import) as unhandled, and
    then kills the process with SIGINT at exit however the exception was handled (1 Ctrl-C in 10 under load).
    """
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if others or _signals["interrupted"]:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


def run() -> NoReturn:
    """The console script and `python -m dockdoctor`: main() in a process that ends with it.

    The cyclic garbage collector stays off and its objects are frozen before exit: a run makes little cyclic
    garbage, while the collector's passes over the many objects the imports create cost about 10 ms at start
    and 25 ms at exit (measured with bench/check_speed.py). Kept out of main(), which tests call in-process.
    Ctrl-C ends the run with 130 wherever it lands, also while main() is handling another error.
    """
    signal.signal(signal.SIGINT, _on_sigint)
    gc.disable()
    try:
        code = main()
        _signals["done"] = True  # from here on Ctrl-C ends the process (130) without unwinding anything
    except KeyboardInterrupt:  # it came while main() was handling another error
        _signals["done"] = True
        click.echo("dockdoctor: interrupted", err=True)
        code = 130
    gc.freeze()
    _exit(code)
