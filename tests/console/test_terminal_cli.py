"""--color, the colour variables and --quiet as users see them: the real report of a replayed facts file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockdoctor.cli import cli

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "checks"
MAC = FIXTURES / "DKD205" / "bad-amd64-default-on-arm64.json"
CLEAN = {"NO_COLOR": "", "FORCE_COLOR": "", "CLICOLOR_FORCE": "", "TERM": "xterm"}  # the runner's output is a pipe


def run(*args: str, **env: str):
    return CliRunner().invoke(cli, list(args), env={**CLEAN, **env})


def test_a_pipe_gets_no_colour_unless_asked() -> None:
    assert "\x1b[" not in run("check", "--from", str(MAC)).output
    assert "\x1b[33mWARNING\x1b[0m DKD205" in run("check", "--from", str(MAC), "--color", "always").output
    assert "\x1b[" not in run("check", "--from", str(MAC), "--color", "never", FORCE_COLOR="1").output


@pytest.mark.parametrize(
    ("env", "colored"),
    [
        ({"FORCE_COLOR": "1"}, True),
        ({"CLICOLOR_FORCE": "1"}, True),
        ({"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True),
    ],
)
def test_colour_variables_force_colour_into_a_pipe(env: dict[str, str], colored: bool) -> None:
    assert ("\x1b[" in run("check", "--from", str(MAC), **env).output) is colored


def test_colour_never_reaches_json_or_markdown() -> None:
    out = run("check", "--from", str(MAC), "--json", "--color", "always").output
    assert "\x1b" not in out and json.loads(out)["findings"]
    assert "\x1b" not in run("check", "--from", str(MAC), "--format", "markdown", "--color", "always").output


def test_quiet_prints_the_findings_only_and_qq_nothing() -> None:
    full = run("check", "--from", str(MAC), "--strict")
    quiet = run("check", "--from", str(MAC), "--strict", "-q")
    silent = run("check", "--from", str(MAC), "--strict", "-qq")
    assert quiet.output.startswith("WARNING DKD205 default-platform-forces-emulation [linux/amd64]\n")
    assert "Problems:" not in quiet.output and "[ok]" not in quiet.output and "dockdoctor " not in quiet.output
    assert all(line in full.output for line in quiet.output.splitlines())
    assert silent.output == ""
    assert full.exit_code == quiet.exit_code == silent.exit_code == 1  # the exit code is the same
    assert run("check", "--from", str(MAC), "-q", "--only", "DKD101").output == ""  # no finding: nothing


def test_quiet_leaves_machine_formats_whole_but_qq_silences_them() -> None:
    assert json.loads(run("check", "--from", str(MAC), "--json", "-q").output)["findings"]
    assert run("check", "--from", str(MAC), "--json", "-q", "-q").output == ""


def test_a_bad_color_value_is_a_usage_error() -> None:
    result = run("check", "--from", str(MAC), "--color", "sometimes")
    assert result.exit_code == 2 and "sometimes" in result.output
