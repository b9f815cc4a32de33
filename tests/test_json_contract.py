"""The JSON report is the support-ticket contract: its keys are pinned here."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dockdoctor.cli import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"
TOP_KEYS = {
    "dockdoctor_report_version",
    "schema_version",
    "dockdoctor_version",
    "gathered_by",
    "replayed_from",
    "targets",
    "facts",
    "findings",
    "images",
    "checks_run",
    "checks_skipped",
    "suppressed",
    "settings_files",
    "summary",
}
FINDING_KEYS = {"id", "slug", "severity", "title", "message", "subject", "target", "evidence", "fixes", "location"}
FIX_KEYS = {"title", "safety", "needs", "steps", "serves"}
STEP_KEYS = {"run": {"kind", "argv"}, "edit": {"kind", "path", "diff"}, "manual": {"kind", "text"}}


def _report(path: Path, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["check", "--json", "--from", str(path), *args])
    return result.exit_code, json.loads(result.output)


def test_top_level_and_finding_keys() -> None:
    code, report = _report(FIXTURES / "DKD503" / "bad-arm64-target-no-qemu.json", "--platform", "linux/arm64")
    assert code == 1
    assert set(report) == TOP_KEYS
    assert report["dockdoctor_report_version"] == 2 and report["schema_version"] == 2
    assert report["targets"] == [{"platform": "linux/arm64", "source": "--platform", "intent": "deploy"}]
    assert report["summary"]["exit_code"] == 1
    assert set(report["summary"]) == {"errors", "warnings", "infos", "checks_run", "fixable", "exit_code"}
    assert report["findings"]
    for finding in report["findings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["severity"] in ("error", "warning", "info")
        for fix in finding["fixes"]:
            assert set(fix) == FIX_KEYS
            assert fix["safety"] in ("safe", "unsafe", "display-only")
            for step in fix["steps"]:
                assert set(step) == STEP_KEYS[step["kind"]]


def test_pinned_fact_paths() -> None:
    _, report = _report(FIXTURES / "DKD201" / "good-dockerd-running.json")
    facts = report["facts"]
    assert {"os", "arch", "rosetta_translated"} <= set(facts["host"])
    assert {
        "reachable",
        "endpoint",
        "endpoint_rule",
        "context",
        "flavor",
        "evidence",
        "platform",
        "server_version",
    } <= set(facts["engine"])
    assert set(facts["compose"]) >= {"v1", "v2"}
    assert facts["compose"]["v1"] is None or "version" in facts["compose"]["v1"]
    assert "version" in facts["compose"]["v2"]
    assert {"installed", "builders"} <= set(facts["buildx"])
    assert {"handlers", "emulated"} <= set(facts["emulation"])
    assert facts["engine"]["flavor"] == "dockerd" and facts["engine"]["platform"] == "linux/amd64"


def test_a_report_replays_to_the_same_findings(tmp_path: Path) -> None:
    _, first = _report(FIXTURES / "DKD205" / "bad-amd64-default-on-arm64.json")
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(first))
    _, second = _report(saved)
    assert second["findings"] == first["findings"]
    assert second["replayed_from"] == str(saved)
    assert second["facts"] == first["facts"]
