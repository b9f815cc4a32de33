"""When the report is coloured: --color, then FORCE_COLOR, NO_COLOR, CLICOLOR_FORCE, TERM=dumb, then the terminal."""

from __future__ import annotations

import pytest

from dockdoctor.console.terminal import ColorMode, use_color

AUTO = ColorMode.AUTO


@pytest.mark.parametrize(
    ("environ", "isatty", "expected"),
    [
        ({}, True, True),  # a terminal
        ({}, False, False),  # a pipe or a file
        ({"NO_COLOR": "1"}, True, False),  # no-color.org: set and not empty
        ({"NO_COLOR": "0"}, True, False),  # "regardless of its value"
        ({"NO_COLOR": ""}, True, True),  # empty is as if unset
        ({"FORCE_COLOR": "1"}, False, True),  # force-color.org: also into a pipe
        ({"FORCE_COLOR": "0"}, False, True),  # any value that is not empty forces it
        ({"FORCE_COLOR": ""}, False, False),  # empty is as if unset
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, True),  # force-color.org's example checks it last
        ({"CLICOLOR_FORCE": "1"}, False, True),  # bixense.com/clicolors
        ({"CLICOLOR_FORCE": "0"}, False, False),
        ({"CLICOLOR_FORCE": ""}, False, False),
        ({"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, False, False),  # NO_COLOR wins over CLICOLOR_FORCE
        ({"TERM": "dumb"}, True, False),  # a terminal that shows escapes as text
        ({"TERM": "dumb", "FORCE_COLOR": "1"}, True, True),  # forcing is explicit
        ({"TERM": "xterm-256color"}, True, True),
    ],
)
def test_auto_follows_the_environment_conventions(environ: dict[str, str], isatty: bool, expected: bool) -> None:
    assert use_color(AUTO, isatty=isatty, environ=environ) is expected


@pytest.mark.parametrize("environ", [{}, {"NO_COLOR": "1"}, {"TERM": "dumb"}, {"FORCE_COLOR": "1"}])
@pytest.mark.parametrize("isatty", [True, False])
def test_always_and_never_win_over_everything(environ: dict[str, str], isatty: bool) -> None:
    assert use_color(ColorMode.ALWAYS, isatty=isatty, environ=environ) is True
    assert use_color(ColorMode.NEVER, isatty=isatty, environ=environ) is False
