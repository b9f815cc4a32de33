"""`--help` without click: the kept texts are what click renders, and a user sees the same either way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from clirun import SRC, dockdoctor, isolated_env

from dockdoctor import _help, _help_text


def test_kept_help_texts_are_what_click_renders() -> None:
    assert _help_text.TEXTS == _help.render_all(), (
        "the CLI's help changed: regenerate with `PYTHONPATH=src python -m dockdoctor._help > "
        "src/dockdoctor/_help_text.py` (then ruff format it)"
    )


def test_kept_option_tables_are_the_clis() -> None:
    assert (_help_text.OPTIONS, _help_text.CHOICES, _help_text.SECONDS) == _help.option_tables(), (
        "the CLI's options changed: regenerate with `PYTHONPATH=src python -m dockdoctor._help > "
        "src/dockdoctor/_help_text.py` (then ruff format it)"
    )


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["check", "--help"], ["inspect", "-h"], ["explain", "--help"]])
def test_help_is_the_same_from_the_kept_text_and_from_click(tmp_path: Path, args: list[str]) -> None:
    wide = dockdoctor(*args, env=isolated_env(tmp_path, COLUMNS="120"))
    at_80 = dockdoctor(*args, env=isolated_env(tmp_path, COLUMNS="80"))
    assert wide.code == at_80.code == 0, wide.stderr + at_80.stderr
    assert wide.stdout == at_80.stdout == _help_text.TEXTS[args[0] if len(args) == 2 else ""]
    assert wide.stderr == ""


def test_a_narrow_terminal_gets_clicks_own_wrapping(tmp_path: Path) -> None:
    narrow = dockdoctor("check", "--help", env=isolated_env(tmp_path, COLUMNS="60"))
    assert narrow.code == 0, narrow.stderr
    assert narrow.stdout != _help_text.TEXTS["check"]
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 58
    assert "Usage: dockdoctor check [OPTIONS]" in narrow.stdout


@pytest.mark.parametrize("args", [["--help"], ["inspect", "--help"]])
def test_help_imports_no_click(tmp_path: Path, args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dockdoctor", *args],
        capture_output=True,
        text=True,
        env={**isolated_env(tmp_path), "PYTHONPATH": SRC},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "dockdoctor._help" in imported
    assert not imported & {"click", "dockdoctor.cli", "docker", "requests"}


@pytest.mark.parametrize(
    "args",
    [["--help", "--version"], ["check", "--help", "--json"], ["no-such-command", "--help"], ["check", "--list-checks"]],
)
def test_anything_else_is_clicks(tmp_path: Path, args: list[str]) -> None:
    assert _help.text_for(args) is None
    result = dockdoctor(*args, env=isolated_env(tmp_path, COLUMNS="120"))
    assert "Traceback" not in result.stderr


def test_a_closed_pipe_ends_help_quietly(tmp_path: Path) -> None:
    proc = subprocess.run(
        f"'{sys.executable}' -m dockdoctor --help | head -c 1",
        shell=True,
        capture_output=True,
        text=True,
        env={**isolated_env(tmp_path), "PYTHONPATH": SRC},
        timeout=60,
        check=False,
    )
    assert proc.stdout == "U" and "Traceback" not in proc.stderr


ENTRY = "import sys; from dockdoctor._entry import main; sys.exit(main())"  # what a console script and the launcher run
OWN_MODULES = {"__future__", "dockdoctor", "dockdoctor._entry", "dockdoctor._help", "dockdoctor._help_text"}


def _imported(tmp_path: Path, *args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        env={**isolated_env(tmp_path), "PYTHONPATH": SRC, "COLUMNS": "100"},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize(
    "args",
    [["--version"], ["--help"], ["check", "--help"], ["inspect", "--help"], ["docker-cli-plugin-metadata"]],
)
def test_the_start_up_answers_import_nothing_beyond_the_interpreter_and_their_own_modules(
    tmp_path: Path, args: list[str]
) -> None:
    """Issue 17's start-up budget, without a clock: beyond what `python -c pass` imports, only these few small
    modules (no collections, typing, re, click: each costs milliseconds at start-up)."""
    extra = _imported(tmp_path, "-c", ENTRY, *args) - _imported(tmp_path, "-c", "pass")
    assert extra <= OWN_MODULES, f"imported beyond the interpreter: {sorted(extra - OWN_MODULES)}"
