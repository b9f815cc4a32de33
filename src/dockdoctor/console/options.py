"""The options several commands share, as decorators, with their shell completers; each command's options arrive
as one frozen args value (console/args.py: CheckArgs, FixArgs, ...) instead of two dozen parameters."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dockdoctor.console.terminal import ColorMode
from dockdoctor.errors import ConfigError

if TYPE_CHECKING:  # click.shell_completion where a completion is asked: click itself never imports it to run
    from click.shell_completion import CompletionItem

    from dockdoctor.errors import ExitCode
    from dockdoctor.render import Format

F = TypeVar("F", bound=Callable[..., Any])
A = TypeVar("A")
Decorator = Callable[[F], F]

RUN_TIMEOUT_HELP = "The whole run's budget in seconds: at its end the report shows what is known and the run ends."
DEEP_HELP = (
    "Also read the file each image's container would exec from the registry's layers (no pull): its ELF "
    "architecture, loader and x86-64 level against the manifest and the targets."
)
COMPLETION_HELP = """Shell completion (commands, options, check codes and slugs, platforms), in a start-up file:

\b
  bash (~/.bashrc):   eval "$(_DOCKDOCTOR_COMPLETE=bash_source dockdoctor)"
  zsh (~/.zshrc):     eval "$(_DOCKDOCTOR_COMPLETE=zsh_source dockdoctor)"
  fish (~/.config/fish/config.fish):  _DOCKDOCTOR_COMPLETE=fish_source dockdoctor | source
"""
REDACT_HELP = "Show home paths, user and host names and environment values."
# what `docker buildx ls` and binfmt list on the machines dockdoctor meets; any other os/arch can still be typed
PLATFORMS = (
    "linux/amd64",
    "linux/amd64/v2",
    "linux/amd64/v3",
    "linux/arm64",
    "linux/arm/v7",
    "linux/arm/v6",
    "linux/386",
    "linux/ppc64le",
    "linux/s390x",
    "linux/riscv64",
    "windows/amd64",
)


if TYPE_CHECKING:
    _ParamType = click.ParamType[float]  # generic from click 8.2 on; 8.1 (allowed) cannot subscript it at run time
else:
    _ParamType = click.ParamType


class Seconds(_ParamType):
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


# --------------------------------------------------------------------------- completers


def complete_checks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Check codes and slugs (DKD301, image-lacks-target-platform); after a comma, the next one of a list."""
    from click.shell_completion import CompletionItem

    from dockdoctor.checks import ALL_CHECKS

    head, _, last = incomplete.rpartition(",")
    prefix = head + "," if head else ""
    items = [CompletionItem(prefix + s.id, help=s.title) for s in ALL_CHECKS if s.id.lower().startswith(last.lower())]
    items += [CompletionItem(prefix + s.slug, help=s.id) for s in ALL_CHECKS if s.slug.startswith(last.lower())]
    return items


def complete_platforms(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The common target platforms."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(p) for p in PLATFORMS if p.startswith(incomplete.lower())]


# --------------------------------------------------------------------------- shared options


def platform_option(help: str) -> Decorator[F]:
    return click.option(
        "--platform", "platforms", multiple=True, metavar="OS/ARCH", help=help, shell_complete=complete_platforms
    )


def _remember_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta["dockdoctor.json"] = value
    return value


def _to_format(ctx: click.Context, param: click.Parameter, value: str) -> Format:
    from dockdoctor.render import Format

    return Format.JSON if ctx.meta.get("dockdoctor.json") else Format(value)


def format_options(*choices: str, help: str | None = None) -> Decorator[F]:
    """`--json` and `--format`, arriving as one `fmt: Format` (`--json` is `--format json`)."""

    def decorate(f: F) -> F:
        f = click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default="text",
            show_default=True,
            callback=_to_format,
            help=help,
        )(f)
        return click.option(
            "--json",
            is_flag=True,
            is_eager=True,
            expose_value=False,
            callback=_remember_json,
            help="Same as --format json.",
        )(f)

    return decorate


def only_skip_options(only: str, skip: str) -> Decorator[F]:
    def decorate(f: F) -> F:
        f = click.option("--skip", multiple=True, metavar="CODE|SLUG", help=skip, shell_complete=complete_checks)(f)
        return click.option("--only", multiple=True, metavar="CODE|SLUG", help=only, shell_complete=complete_checks)(f)

    return decorate


def timeout_option(default: float, low: float = 0.1, high: float = 600, help: str = RUN_TIMEOUT_HELP) -> Decorator[F]:
    return click.option("--timeout", type=Seconds(low, high), default=default, show_default=True, help=help)


def redact_options(*, registries: bool, help: str = REDACT_HELP) -> Decorator[F]:
    def decorate(f: F) -> F:
        if registries:
            f = click.option("--redact-registries", is_flag=True, help="Also hide private registry host names.")(f)
        return click.option("--no-redact", is_flag=True, help=help)(f)

    return decorate


def project_option(help: str) -> Decorator[F]:
    return click.option("--project", default=".", show_default=True, metavar="DIR", help=help)


def save_facts_option(help: str) -> Decorator[F]:
    return click.option("--save-facts", metavar="FILE", help=help)


def output_options(f: F) -> F:
    """`--color WHEN` and `-q`/`--quiet` (once: the findings only; twice: nothing, the exit code says it all)."""
    f = click.option(
        "-q",
        "--quiet",
        count=True,
        help="Print the findings only; -qq prints nothing (the exit code tells).",
    )(f)
    return click.option(
        "--color",
        type=click.Choice([m.value for m in ColorMode]),
        default=ColorMode.AUTO.value,
        show_default=True,
        callback=lambda ctx, param, value: ColorMode(value),
        help="Colour the text report: auto (a terminal; NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE, TERM=dumb count).",
    )(f)


deep_option = click.option("--deep", is_flag=True, help=DEEP_HELP)
verbose_option = click.option("-v", "--verbose", is_flag=True, help="Show evidence and environment.")


def args_command(name: str, *options: Decorator[Any]) -> Callable[[Callable[[A], ExitCode]], Callable[..., ExitCode]]:
    """A command body taking one args value: the options (listed top to bottom as --help shows them) are applied,
    and their values become `console.args.<name>(**values)`, a class imported only when the command runs; the body
    runs with a spinner naming long waits (console/spinner.py)."""

    def decorate(body: Callable[[A], ExitCode]) -> Callable[..., ExitCode]:
        @functools.wraps(body)
        def command(**values: Any) -> ExitCode:
            started = time.monotonic()  # the --timeout budget counts from here, imports included
            from dockdoctor.console import args
            from dockdoctor.console.spinner import spinning

            made: A = getattr(args, name)(started=started, **values)
            with spinning(quiet=values.get("quiet", 0)):
                return body(made)

        for option in reversed(options):
            command = option(command)
        return command

    return decorate


# --------------------------------------------------------------------------- the commands


check_options = args_command(
    "CheckArgs",
    platform_option("Deploy target platform (repeatable). Default: the engine's native platform."),
    format_options(
        "text",
        "json",
        "markdown",
        "sarif",
        "github",
        "gitlab",
        help="sarif: SARIF 2.1.0 for code scanning; github: workflow-command annotations; gitlab: Code Quality JSON.",
    ),
    only_skip_options("Run only these checks (repeatable, or a,b).", "Do not run these checks."),
    click.option("--list-checks", is_flag=True, help="List the checks and exit."),
    click.option("--from", "from_file", metavar="FILE", help="Replay a saved facts file or JSON report offline."),
    click.option("--strict", is_flag=True, help="Warnings also make the exit code 1."),
    timeout_option(8.0),
    save_facts_option("Also write the gathered facts to FILE (for --from)."),
    redact_options(registries=True),
    project_option("The project folder to scan (Dockerfiles, compose files, dev containers, settings)."),
    click.option("--no-project", is_flag=True, help="Do not scan a project folder."),
    click.option(
        "-f", "--file", "compose_files", multiple=True, metavar="FILE", help="Compose file(s), as `docker compose -f`."
    ),
    verbose_option,
    click.option(
        "--error",
        "error_args",
        multiple=True,
        metavar="TEXT",
        help="An error message to explain in the report (repeatable; `-` reads standard input).",
    ),
    click.option(
        "--all-contexts",
        is_flag=True,
        help="Check every docker context that answers, concurrently: a report per engine, and the fleet.",
    ),
    click.option(
        "--context",
        "contexts",
        multiple=True,
        metavar="NAME",
        help="Check this docker context (repeatable): a report per engine, and the fleet.",
    ),
    deep_option,
    click.option(
        "--no-engine",
        is_flag=True,
        help="CI and hooks: scan the project and ask the registries only; no host, engine, compose, buildx "
        "or emulation probe (checks that need them are listed as skipped).",
    ),
    click.option("--offline", is_flag=True, help="Registries and the package index: answers from the cache only."),
    click.option(
        "--kube",
        "kube",
        is_flag=False,
        flag_value="",
        default=None,
        metavar="[CONTEXT]",
        help="Check the Kubernetes cluster of this kubeconfig context (default: kubectl's current one), read-only "
        "through kubectl: node architectures, workloads, their images, crash-looping pods. No docker engine is asked.",
    ),
    click.option("--kube-namespace", metavar="NS", help="With --kube: read this namespace only (default: every one)."),
    output_options,
)


fix_options = args_command(
    "FixArgs",
    platform_option("Deploy target platform (repeatable)."),
    project_option("The project folder."),
    only_skip_options("Fix only these checks' findings.", "Leave these checks' findings alone."),
    click.option("--yes", is_flag=True, help="Apply every safe fix without asking."),
    click.option("--allow-unsafe", is_flag=True, help="With --yes: also apply unsafe fixes (sudo, package installs)."),
    click.option("--allow-privileged", is_flag=True, help="With --yes: also run privileged containers."),
    click.option("--dry-run", is_flag=True, help="Print the plan; execute nothing."),
    click.option("--undo", "undo_last", is_flag=True, help="Restore the files the last fix in --project edited."),
    timeout_option(900.0, 1, 7200, help="Seconds each command may run."),
    click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (with --yes or --dry-run)."),
)


inspect_options = args_command(
    "InspectArgs",
    click.argument("refs", nargs=-1, required=True, metavar="IMAGE..."),
    platform_option("Target platform (repeatable). Default: the engine's native platform."),
    format_options("text", "json", "markdown"),
    click.option("--offline", is_flag=True, help="Answer from the cache only."),
    click.option("--refresh", is_flag=True, help="Ask the registries again even within the cache's tag TTL."),
    timeout_option(20.0),
    save_facts_option("Also write the facts (with the images) for `check --from`."),
    redact_options(registries=False),
    deep_option,
    output_options,
)


report_options = args_command(
    "ReportArgs",
    click.option(
        "-o", "--output", metavar="FILE", help="Where to write the bundle (default: dockdoctor-report-TIME.zip)."
    ),
    platform_option("Deploy target platform (repeatable)."),
    timeout_option(8.0),
    redact_options(registries=True, help="Keep home paths, user and host names and environment values."),
    project_option("The project folder to include."),
)


explain_error_options = args_command(
    "ExplainErrorArgs",
    click.argument("texts", nargs=-1, metavar="[TEXT ...]"),
    click.option(
        "--file", "files", multiple=True, metavar="LOG", help="A build or container log to read (repeatable)."
    ),
    click.option("--no-probe", is_flag=True, help="Explain from the text alone (support staff reading a ticket)."),
    format_options("text", "json", "markdown"),
    timeout_option(8.0),
    redact_options(registries=False),
    click.option("-v", "--verbose", is_flag=True, help="Show every fact each cause was judged by."),
    output_options,
)
