"""The command line: options in, one app call, a rendered report out, and the command's ExitCode back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

import click

from dockdoctor import __version__
from dockdoctor.console import inputs, process
from dockdoctor.console import options as opt
from dockdoctor.console.terminal import ask_fix, looks, say, show, stdin_is_terminal
from dockdoctor.errors import ConfigError, ExitCode
from dockdoctor.plugin import plugin_group

if TYPE_CHECKING:  # the args classes are built when a command runs (console/args.py)
    from dockdoctor.console.args import CheckArgs, ExplainErrorArgs, FixArgs, InspectArgs, ReportArgs


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=opt.COMPLETION_HELP)
@click.version_option(__version__, "--version", prog_name="dockdoctor")
def cli() -> None:
    """A doctor for Docker platform mismatches (Apple Silicon Macs, Linux servers)."""


@cli.result_callback()
def _exit_with(code: ExitCode | None) -> None:
    """The one exit policy: every command returns its ExitCode, and the process ends with it."""
    click.get_current_context().exit(int(code or 0))


@cli.command("check")
@opt.check_options
def check_cmd(args: CheckArgs) -> ExitCode:
    """Diagnose this machine, its engine, compose, buildx and emulation."""
    from dockdoctor.probes import _prestart

    gathers = not (args.list_checks or args.from_file or args.fleet or args.no_engine or args.kube is not None)
    # the probes' fixed commands run while the app, the catalog and the probes are imported (probes/_prestart.py;
    # the entry point may have started them already); what no probe claims ends with the command
    with _prestart.head_start(_prestart.CHECK_COMMANDS if gathers else ()):
        return _check(args)


def _check(args: CheckArgs) -> ExitCode:
    from dockdoctor import app
    from dockdoctor.render import Format, RenderOptions, renderer_for

    if args.list_checks:
        from dockdoctor.render.catalog import render_rules

        show(render_rules(app.rules(app.select_checks(args.only, args.skip)), as_json=args.fmt is Format.JSON))
        return ExitCode.OK
    args.refuse_conflicts()
    replay = inputs.replay(args.from_file)
    project_dir = None if args.no_project else inputs.project_folder(args.project)
    settings = inputs.load_settings(project_dir)
    options = args.check_options(project_dir, settings)
    threshold = args.threshold(strict=settings.strict)
    rules = app.rules() if args.fmt is Format.SARIF else ()
    look = RenderOptions(
        verbose=args.verbose, threshold=threshold, path_prefix=inputs.path_prefix(project_dir), rules=rules
    )
    look = looks(args.fmt, args.color, args.quiet, look)
    if args.fleet:
        from dockdoctor.render.fleet import render as render_fleet

        result = app.check_fleet(options, names=args.contexts)
        show(render_fleet(result, args.fmt, look), quiet=args.quiet)
        return result.exit_code(threshold)
    report = app.check(options, replay=replay, replayed_from=args.from_file)
    inputs.save_facts(args.save_facts, report.facts)
    show(renderer_for(args.fmt)(report, look), quiet=args.quiet)
    return report.exit_code(threshold)


@cli.command("fix")
@opt.fix_options
def fix_cmd(args: FixArgs) -> ExitCode:
    """Apply the fixes `check` proposes: show the plan, ask, apply, check again."""
    from dockdoctor import app
    from dockdoctor.fixes.consent import Consent
    from dockdoctor.fixes.plan import plan
    from dockdoctor.model import FixResult
    from dockdoctor.redact import secrets
    from dockdoctor.render.plan import interruption, render_json, render_plan, render_result, render_undo

    project = inputs.project_folder(args.project)
    if args.undo_last:
        restored = app.undo(project)
        click.echo(render_undo(restored, project), nl=False)
        return ExitCode.OK if all(ok for _, _, ok in restored) else ExitCode.FINDINGS
    args.refuse_conflicts()
    options = app.CheckOptions(
        platforms=args.platforms,
        only=args.only,
        skip=args.skip,
        redact=False,
        project_dir=project,
        settings=inputs.load_settings(project),
    )
    before = app.check(options)
    items = plan(before)
    if not args.as_json:
        if not items:
            click.echo("nothing to fix: no finding has a fix")
            return ExitCode.OK
        click.echo(render_plan(secrets(items)), nl=False)  # paths as they are, secrets hidden
        if args.dry_run:
            return ExitCode.OK
        if not args.yes and not stdin_is_terminal():
            click.echo("dockdoctor: no terminal to ask on: run with --yes (safe fixes) or --dry-run", err=True)
            return ExitCode.USAGE
    consent = Consent(args.allow_unsafe, args.allow_privileged, ask=None if args.yes else ask_fix)
    echo = (lambda line: say(line, err=True)) if args.as_json else say  # --json: stdout is one JSON document
    if args.dry_run:
        result: FixResult = secrets(FixResult(before=before, items=items, applied=(), after=None))
    else:
        result = secrets(app.fix(options, consent=consent, echo=echo, step_timeout=args.timeout, before=before))
    click.echo(render_json(result) if args.as_json else render_result(result), nl=False)
    if not args.as_json and (line := interruption(result)) is not None:
        click.echo(line, err=True)
    return result.exit_code


@cli.command("inspect")
@opt.inspect_options
def inspect_cmd(args: InspectArgs) -> ExitCode:
    """Which platforms images offer, and how each runs on the target platforms (natively, emulated, not at all).

    A lookup that fails (registry unreachable, not found, authentication) is an error here: exit code 1; a
    reference that is not one (`''`) still gets its line, and the exit code is 2.
    """
    from dockdoctor.probes.early import begin  # the lookups start before the imports below (probes/early.py)

    begin(args.refs, offline=args.offline, refresh=args.refresh, timeout=args.timeout, deadline=args.deadline)
    from dockdoctor import app
    from dockdoctor.render import RenderOptions, renderer_for

    invalid = app.invalid_references(args.refs)  # each gets its line in the report; the exit code is 2
    options = app.CheckOptions(
        platforms=args.platforms,
        timeout=args.timeout,
        deadline=args.deadline,
        redact=not args.no_redact,
        image_refs=args.refs,
        offline=args.offline,
        refresh=args.refresh,
        only=app.IMAGE_CHECKS,
        tools=False,
        settings=app.INSPECT_SETTINGS,
        deep=args.deep,
    )
    report = app.check(options)
    inputs.save_facts(args.save_facts, report.facts)
    look = looks(args.fmt, args.color, args.quiet, RenderOptions(images_only=True))
    show(renderer_for(args.fmt)(report, look), quiet=args.quiet)
    if invalid:
        raise ConfigError(invalid[0] + (f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""))
    return report.exit_code()


@cli.command("cache")
@click.argument("action", type=click.Choice(["clear", "path"]))
def cache_cmd(action: str) -> None:
    """Show or clear the registry cache (manifests by digest, tag entries, auth challenges; never credentials)."""
    from dockdoctor import app

    path = app.cache_dir()
    say(path if action == "path" else f"removed {app.clear_cache()} cached file(s) from {path}")


@cli.command("report")
@opt.report_options
def report_cmd(args: ReportArgs) -> ExitCode:
    """Write a support bundle (one zip) to attach to a ticket; nothing is uploaded."""
    from dockdoctor import app

    project = inputs.project_folder(args.project)
    options = app.CheckOptions(
        platforms=args.platforms,
        timeout=args.timeout,
        deadline=args.deadline,
        redact=not args.no_redact,
        redact_registries=args.redact_registries,
        keep_raw=True,
        project_dir=project,
        settings=inputs.load_settings(project),
    )
    click.echo(inputs.write_bundle(app.check(options), path=args.output, now=args.now), nl=False)
    return ExitCode.OK


@cli.command("explain-error")
@opt.explain_error_options
def explain_error_cmd(args: ExplainErrorArgs) -> ExitCode:
    """Explain an error message: what happened, the causes ranked, what on this machine confirms or rules each out.

    The message comes as arguments, from standard input (TEXT `-`, or piped), or from --file. Exit code 0 when a
    known message was found, 1 when none was, 2 on bad usage.
    """
    from dockdoctor import app
    from dockdoctor.render import RenderOptions, renderer_for

    errors = inputs.error_texts(args.texts, args.files, stdin_ok=True)
    if not errors:
        raise click.UsageError("give the error text as arguments, `-` for standard input, or --file LOG")
    options = app.CheckOptions(
        timeout=args.timeout, deadline=args.deadline, redact=not args.no_redact, error_texts=errors
    )
    report, code = app.explain_error(options, probe=not args.no_probe)
    look = looks(args.fmt, args.color, args.quiet, RenderOptions(verbose=args.verbose, explain=True))
    show(renderer_for(args.fmt)(report, look), quiet=args.quiet)
    return code


@cli.command("explain")
@click.argument("code", required=False, shell_complete=opt.complete_checks)
@click.option("--all", "all_checks", is_flag=True, help="Print the whole catalog as Markdown.")
def explain_cmd(code: str | None, all_checks: bool) -> None:
    """Print a check's documentation (by code such as DKD201, or slug)."""
    from dockdoctor import docs
    from dockdoctor.checks import lookup

    if not code and not all_checks:
        raise click.UsageError("give a check code or slug, e.g. `dockdoctor explain DKD201`, or --all")
    click.echo(docs.catalog_markdown() if all_checks or not code else docs.explain(lookup(code)), nl=False)


@cli.command("schema")
@click.argument("which", type=click.Choice(["report", "facts", "fix", "fleet"]), default="report")
def schema_cmd(which: str) -> None:
    """Print the JSON Schema of the report (`check --json`), of a facts file, of `fix --json`, or of the fleet
    document (`check --all-contexts --json`)."""
    click.echo(inputs.shipped_schema(which), nl=False)


cli.add_command(plugin_group)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in this process: its exit code; errors are one line on stderr (console/process.py)."""
    return process.main(cli, argv)


def run() -> NoReturn:
    """The console script and `python -m dockdoctor`: main() in a process that ends with it."""
    process.run(main)
