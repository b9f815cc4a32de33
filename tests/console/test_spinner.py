"""The spinner's decisions (pure) and its drawing, on a fake clock and a string buffer: no terminal, no sleeping."""

from __future__ import annotations

import io

from dockdoctor.console.spinner import DELAY, Spinner, describe, line, spins
from dockdoctor.progress import listening, waiting


def test_it_spins_only_on_a_terminal_that_can_redraw_and_not_at_qq() -> None:
    assert spins(stderr_tty=True, environ={}) is True
    assert spins(stderr_tty=False, environ={}) is False  # a pipe, a CI log
    assert spins(stderr_tty=True, environ={"TERM": "dumb"}) is False
    assert spins(stderr_tty=True, environ={}, quiet=1) is True  # -q: findings only on stdout
    assert spins(stderr_tty=True, environ={}, quiet=2) is False  # -q -q: nothing but the exit code


def test_a_wait_shows_only_after_half_a_second_and_names_what_it_waits_for() -> None:
    assert line([], 100.0) is None
    assert line([("engine", 100.0)], 100.0 + DELAY - 0.01) is None
    shown = line([("engine", 100.0)], 100.0 + DELAY, frame=1)
    assert shown == "/ waiting for the Docker engine (0 s)"
    assert line([("registry", 100.0)], 103.2) == "| waiting for the registries (3 s)"


def test_several_waits_are_named_once_each_oldest_first() -> None:
    waits = [("engine", 10.0), ("engine", 10.5), ("context ci", 11.0)]
    assert line(waits, 12.0) == "| waiting for the Docker engine, context ci (2 s)"
    assert describe("unheard-of") == "unheard-of"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_spinner_draws_after_the_delay_and_leaves_the_line_empty() -> None:
    out, clock = io.StringIO(), Clock()
    spinner = Spinner(out, clock=clock)
    spinner.hear("engine", True)
    spinner.draw()
    assert out.getvalue() == ""  # not yet half a second
    clock.now = 0.7
    spinner.draw()
    assert "waiting for the Docker engine" in out.getvalue() and out.getvalue().startswith("\r")
    spinner.hear("engine", False)
    assert out.getvalue().endswith("\r\x1b[K")  # the line erased once nothing is waited for
    spinner.close()


def test_a_quick_wait_never_writes_anything() -> None:
    out = io.StringIO()
    spinner = Spinner(out, clock=Clock())
    spinner.hear("host", True)
    spinner.draw()
    spinner.hear("host", False)
    spinner.close()
    assert out.getvalue() == ""


def test_probes_waits_reach_the_listener() -> None:
    heard: list[tuple[str, bool]] = []
    with listening(lambda what, started: heard.append((what, started))):
        with waiting("engine"):
            pass
        try:
            with waiting("registry"):
                raise TimeoutError
        except TimeoutError:
            pass
    with waiting("after"):  # nobody listens any more
        pass
    assert heard == [("engine", True), ("engine", False), ("registry", True), ("registry", False)]


def test_a_context_name_with_escapes_is_shown_visibly() -> None:
    assert describe("context \x1b]0;pwn\x07") == "context \\x1b]0;pwn\\x07"
