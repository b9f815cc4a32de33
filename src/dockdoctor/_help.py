"""`dockdoctor --help` and `dockdoctor COMMAND --help` without importing click: the texts click renders, kept.

click renders help at min(terminal columns, 80) - 2 characters, so at 80 columns or more the text is always
the same; src/dockdoctor/_help_text.py holds it for every command, generated from the CLI itself
(`python -m dockdoctor._help > src/dockdoctor/_help_text.py`), and tests/test_help_fast.py fails when it no longer
matches what click renders. Anything else (a narrower terminal, another option beside --help, shell completion)
goes to click as before.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: typing, or collections.abc, would import collections (~5 ms, _entry.py)
if TYPE_CHECKING:
    from collections.abc import Sequence

HELP_OPTIONS = ("--help", "-h")
MIN_COLUMNS = 80  # click's max_content_width: at this width or more its text does not depend on the terminal


def _columns() -> int:
    """The terminal's columns as shutil.get_terminal_size() (which click asks) finds them, without importing it."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80  # shutil's fallback: not a terminal


def text_for(argv: Sequence[str]) -> str | None:
    """The help text a plain `--help` request gets, or None when click must answer it."""
    if len(argv) not in (1, 2) or argv[-1] not in HELP_OPTIONS or "_DOCKDOCTOR_COMPLETE" in os.environ:
        return None
    from dockdoctor._help_text import TEXTS

    text = TEXTS.get(argv[0] if len(argv) == 2 else "")
    if text is None or _columns() < MIN_COLUMNS:
        return None
    return text


def answer(argv: Sequence[str]) -> bool:
    """Print the help for argv if it is a plain help request this module knows; whether it did."""
    text = text_for(argv)
    if text is None:
        return False
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `dockdoctor --help | head -1`: quiet, 141 as after SIGPIPE (cli.main does the same)
        os._exit(141)
    except OSError as err:
        sys.stderr.write(f"dockdoctor: cannot write to standard output ({err.strerror or err})\n")
        os._exit(2)
    return True


def render_all() -> dict[str, str]:
    """What click prints for `--help` and each `COMMAND --help` at 80 columns (imports the whole CLI)."""
    import contextlib
    import io

    import click

    from dockdoctor.cli import cli

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(MIN_COLUMNS)
    try:
        out: dict[str, str] = {}
        for name in ["", *sorted(cli.commands)]:
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                try:
                    cli.main(args=[*([name] if name else []), "--help"], prog_name="dockdoctor", standalone_mode=False)
                except click.exceptions.Exit:
                    pass
            out[name] = buffer.getvalue()
        return out
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


def option_tables() -> tuple[
    dict[str, dict[str, tuple[str, int]]], dict[str, dict[str, tuple[str, ...]]], dict[str, tuple[float, float, float]]
]:
    """Each command's options as click reads them (imports the whole CLI), for dockdoctor._argv: option string ->
    (parameter name, values it takes: 0 for a flag or a count, -1 for a value that may be left out); the choices
    of each Choice option; and the default, lowest and highest --timeout."""
    import click

    from dockdoctor.cli import cli
    from dockdoctor.console.options import Seconds

    options: dict[str, dict[str, tuple[str, int]]] = {}
    choices: dict[str, dict[str, tuple[str, ...]]] = {}
    seconds: dict[str, tuple[float, float, float]] = {}
    for name, command in sorted(cli.commands.items()):
        if isinstance(command, click.Group):
            continue
        parent = click.Context(cli, info_name="dockdoctor", **cli.context_settings)  # -h beside --help
        ctx = click.Context(command, info_name=name, parent=parent, **command.context_settings)
        table = options[name] = {}
        help_option = command.get_help_option(ctx)
        for param in command.get_params(ctx):
            if not isinstance(param, click.Option) or param.name is None:
                continue
            takes = 0 if param.is_flag or param.count else param.nargs
            if takes == 1 and getattr(param, "_flag_needs_value", False):  # `--kube [CONTEXT]`
                takes = -1
            for opt in (*param.opts, *param.secondary_opts):
                table[opt] = ("help" if param is help_option else param.name, takes)
            if isinstance(param.type, click.Choice):
                choices.setdefault(name, {})[param.name] = tuple(str(c) for c in param.type.choices)
            if isinstance(param.type, Seconds) and isinstance(param.default, float):
                seconds[name] = (param.default, param.type.low, param.type.high)
    return options, choices, seconds


def module_text() -> str:
    """The source of src/dockdoctor/_help_text.py."""
    lines = [
        '"""Generated by `python -m dockdoctor._help > src/dockdoctor/_help_text.py`: the CLI\'s help texts, and each',
        'command\'s options as dockdoctor._argv reads them before click is imported."""',
        "",
        "TEXTS = {",
    ]
    for name, text in render_all().items():
        lines.append(f"    {name!r}: (")
        lines += [f"        {line!r}" for line in text.splitlines(keepends=True)]
        lines.append("    ),")
    lines += ["}", ""]
    options, choices, seconds = option_tables()
    lines += [
        "# option string -> (parameter name, values it takes: 0 for a flag or a count, -1 for one that may be omitted)",
        "OPTIONS: dict[str, dict[str, tuple[str, int]]] = {",
    ]
    for name, table in options.items():
        lines.append(f"    {name!r}: {{")
        lines += [f"        {opt!r}: {entry!r}," for opt, entry in table.items()]
        lines.append("    },")
    lines += ["}", "CHOICES: dict[str, dict[str, tuple[str, ...]]] = {"]
    lines += [f"    {name!r}: {table!r}," for name, table in choices.items()]
    lines += [
        "}",
        "# --timeout: (default, lowest, highest) seconds",
        f"SECONDS: dict[str, tuple[float, float, float]] = {seconds!r}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(module_text())
