"""Colour and output streams: when to colour (--color, NO_COLOR, FORCE_COLOR, CLICOLOR_FORCE, TERM), one-line
messages with outside text made visible, and a standard output whose failures are one error, not a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, TextIO

import click

from dockdoctor.errors import DockdoctorError

if TYPE_CHECKING:
    from dockdoctor.fixes.consent import Answer
    from dockdoctor.model import FixItem, FixOption
    from dockdoctor.render import Format, RenderOptions


class ColorMode(str, Enum):
    """`--color`: auto (the terminal and the environment decide), always, never."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


def use_color(mode: ColorMode, *, isatty: bool, environ: Mapping[str, str]) -> bool:
    """Whether to colour a stream (pure).

    `--color always|never` wins. Then, for auto: FORCE_COLOR set and not empty forces colour, also into a pipe
    (https://force-color.org: its example checks it after NO_COLOR, so it wins over NO_COLOR); NO_COLOR set and
    not empty means none (https://no-color.org: an empty NO_COLOR is as if unset); CLICOLOR_FORCE set, not empty
    and not "0" forces colour, below NO_COLOR (https://bixense.com/clicolors); TERM=dumb means none; otherwise
    colour exactly when the stream is a terminal.
    """
    if mode is not ColorMode.AUTO:
        return mode is ColorMode.ALWAYS
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("NO_COLOR"):
        return False
    if environ.get("CLICOLOR_FORCE", "0") not in ("", "0"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    return isatty


def stream_is_tty(stream: object) -> bool:
    """Whether a stream is a terminal; a stream without isatty (a test's buffer) is not."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed stream
        return False


def stdin_is_terminal() -> bool:
    """Whether someone can be asked on standard input."""
    return stream_is_tty(sys.stdin)


def color_for(mode: ColorMode, stream: object) -> bool:
    """use_color() for a real stream and this process's environment."""
    return use_color(mode, isatty=stream_is_tty(stream), environ=os.environ)


def show(text: str, *, quiet: int = 0) -> None:
    """Print a rendered document as it is (click would strip the colour a pipe was given by --color always or
    FORCE_COLOR; renderers make every outside escape visible, so the only escapes are their own); `-q -q` prints
    nothing (the exit code tells)."""
    if quiet < 2:
        click.echo(text, nl=False, color=True)


def looks(fmt: Format, color: ColorMode, quiet: int, options: RenderOptions) -> RenderOptions:
    """A command's render options with colour and --quiet, both for the text format only."""
    import dataclasses

    from dockdoctor.render import Format

    text = fmt is Format.TEXT
    return dataclasses.replace(options, color=text and color_for(color, sys.stdout), quiet=text and quiet > 0)


def say(text: str, *, err: bool = False) -> None:
    """One line with outside text in it: control characters and line breaks made visible (render/safe.py)."""
    from dockdoctor.render.safe import visible

    click.echo(visible(text), err=err)


def error(text: str) -> None:
    """A one-line error on stderr: secrets hidden like in a report (it gets pasted into tickets), escapes visible."""
    from dockdoctor.redact import scrub

    say(scrub(text), err=True)


class OutputError(DockdoctorError):
    """Standard output failed (a full disk, /dev/full, a closed pipe): the run's result could not be printed."""

    def __init__(self, err: OSError) -> None:
        super().__init__(f"cannot write to standard output ({err.strerror or err})")
        self.errno = err.errno


class GuardedStdout:
    """sys.stdout for the length of a run: a failed write or flush raises OutputError, never a bare OSError."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as err:
            raise OutputError(err) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as err:
            raise OutputError(err) from None

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def silence_stdout(stream: TextIO) -> None:
    """Point file descriptor 1 at /dev/null, so the interpreter's last flush neither fails nor prints a warning."""
    try:
        fileno = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real descriptor (tests run in-process)
        pass


def tolerant_streams() -> None:
    """Characters the terminal's encoding lacks (an emoji file name under PYTHONIOENCODING=latin-1) become escapes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream: writing to it fails later, clearly
                pass


def ask_fix(item: FixItem, opt: FixOption) -> Answer:
    """Ask on the terminal whether to apply one fix: [y]es, [n]o (the default), [a]ll, [q]uit."""
    from dockdoctor.fixes.consent import Answer
    from dockdoctor.render.plan import prompt

    answer = click.prompt(
        prompt(item, title=opt.fix.title, own_consent=opt.needs_own_consent),
        type=click.Choice([a.value for a in Answer]),
        show_choices=False,
        default=Answer.NO.value,
    )
    return Answer(answer)
