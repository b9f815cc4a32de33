"""The CLI as users run it: replay, selection, listing, explain, exit codes, start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from clirun import SRC

from dockdoctor.checks import ALL_CHECKS
from dockdoctor.cli import cli, main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"
MAC = FIXTURES / "DKD205" / "bad-amd64-default-on-arm64.json"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_text_report_has_areas_findings_and_summary() -> None:
    result = run("check", "--from", str(MAC))
    lines = result.output.splitlines()
    assert result.exit_code == 0  # a warning alone is below the default threshold
    assert lines[0].startswith("dockdoctor ") and "targets: linux/arm64 (engine)" in lines[0]
    assert lines[1].startswith("replayed from ")
    assert any(line.startswith("[ok]   Host") and "Apple Silicon" in line for line in lines)
    assert any(line.startswith("[warn] Engine") and "docker-desktop" in line for line in lines)
    assert "WARNING DKD205 default-platform-forces-emulation [linux/amd64]" in result.output
    assert lines[-1].startswith("OK: 0 error(s), 1 warning(s)")
    assert "\x1b[" not in result.output


def test_strict_makes_warnings_fail() -> None:
    result = run("check", "--from", str(MAC), "--strict")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("Problems:")


def test_only_and_skip_accept_codes_and_slugs() -> None:
    only = json.loads(run("check", "--json", "--from", str(MAC), "--only", "default-platform-forces-emulation").output)
    assert only["checks_run"] == ["DKD205"]
    skipped = json.loads(run("check", "--json", "--from", str(MAC), "--skip", "DKD205,DKD101").output)
    assert "DKD205" not in skipped["checks_run"] and "DKD101" not in skipped["checks_run"]
    assert all(f["id"] != "DKD205" for f in skipped["findings"])


def test_list_checks() -> None:
    result = run("check", "--list-checks")
    assert [line.split()[0] for line in result.output.splitlines()] == [s.id for s in ALL_CHECKS]
    listed = json.loads(run("check", "--list-checks", "--json").output)
    assert listed[0] == {
        "id": ALL_CHECKS[0].id,
        "slug": ALL_CHECKS[0].slug,
        "severity": ALL_CHECKS[0].default_severity.value,
        "title": ALL_CHECKS[0].title,
    }


def test_explain() -> None:
    result = run("explain", "engine-unreachable")
    assert result.exit_code == 0 and result.output.startswith("DKD201 engine-unreachable\n")
    assert main(["explain", "DKD999"]) == 2


def test_save_facts_then_replay(tmp_path: Path) -> None:
    saved = tmp_path / "facts.json"
    first = run("check", "--json", "--from", str(MAC), "--save-facts", str(saved))
    second = run("check", "--json", "--from", str(saved))
    assert json.loads(first.output)["findings"] == json.loads(second.output)["findings"]
    assert list(tmp_path.iterdir()) == [saved]  # no temporary file left behind


def test_help_and_version_do_not_import_the_docker_sdk() -> None:
    code = (
        "import sys; from dockdoctor.cli import main; rc = main(sys.argv[1:]); "
        "assert 'docker' not in sys.modules and 'requests' not in sys.modules, 'SDK imported'; sys.exit(rc)"
    )
    for args in (["--version"], ["--help"], ["check", "--help"]):
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        )
        assert proc.returncode == 0, proc.stderr
    assert (
        "dockdoctor, version"
        in subprocess.run(
            [sys.executable, "-m", "dockdoctor", "--version"], capture_output=True, text=True, env={"PYTHONPATH": SRC}
        ).stdout
    )
