"""`check --format gitlab`: GitLab Code Quality JSON, run as a user runs it in a CI job (no engine).

The fields and values are GitLab's ("Implement a custom tool" in doc/ci/testing/code_quality.md of
gitlab-org/gitlab, read from its gitlabhq/gitlabhq mirror): an array of objects with description, check_name,
fingerprint, severity (info, minor, major, critical, blocker), location.path (relative) and location.lines.begin.
GitLab publishes no JSON Schema for it, so ISSUE_SCHEMA below writes that table as one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from clirun import dockdoctor, isolated_env

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = ROOT / "fixtures" / "projects"
ISSUE_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "pattern": "^DKD[0-9]{3}$"},
            "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "additionalProperties": False,
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "pattern": "^[^/]"},
                    "lines": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """stage-chain (a final stage built for $BUILDPLATFORM: DKD603 on Dockerfile:6) copied to be the checkout."""
    dest = tmp_path / "checkout"
    shutil.copytree(PROJECTS / "stage-chain", dest)
    return dest


def _gitlab(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, list, str]:
    result = dockdoctor("check", "--no-engine", "--offline", "--format", "gitlab", *args, env=env, cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    assert not result.stdout.startswith("\ufeff"), "GitLab's parser refuses a byte order mark"
    doc = json.loads(result.stdout)
    jsonschema.Draft7Validator(ISSUE_SCHEMA).validate(doc)
    return result.code, doc, result.stdout


def test_gitlab_format_is_code_quality_json_with_a_file_and_line_per_issue(project: Path, tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    code, issues, _ = _gitlab(env, project)
    assert code == 1  # DKD603 is an error: the exit code is the same as with any format
    (issue,) = issues
    assert issue["check_name"] == "DKD603" and issue["severity"] == "major"
    assert issue["description"].startswith("DKD603: ")
    assert issue["location"] == {"path": "Dockerfile", "lines": {"begin": 6}}

    # the fingerprint is the same in the next run, and after a line is added above the finding
    dockerfile = project / "Dockerfile"
    dockerfile.write_text("# syntax=docker/dockerfile:1\n" + dockerfile.read_text())
    _, (again,), _ = _gitlab(env, project)
    assert again["location"]["lines"]["begin"] == 7
    assert again["fingerprint"] == issue["fingerprint"]


def test_gitlab_paths_are_relative_to_the_checkout_and_findings_without_a_file_are_left_out(tmp_path: Path) -> None:
    checkout = tmp_path / "repo"
    shutil.copytree(PROJECTS / "stage-chain", checkout / "svc")
    _, issues, _ = _gitlab(isolated_env(tmp_path), checkout, "--project", "svc")
    assert [i["location"]["path"] for i in issues] == ["svc/Dockerfile"]
    bad = sorted((ROOT / "fixtures" / "checks" / "DKD201").glob("bad-*.json"))[0]
    engine = dockdoctor(
        "check", "--from", str(bad), "--format", "gitlab", "--no-project", env=isolated_env(tmp_path), cwd=checkout
    )
    assert engine.code == 1 and json.loads(engine.stdout) == []  # DKD201 is about the engine: no file


def test_findings_that_would_share_a_fingerprint_get_distinct_ones() -> None:
    """GitLab shows findings with one fingerprint as one entry: two findings of one check in one file whose
    messages differ only in numbers (masked for stability) must still be two entries."""
    from dockdoctor.model import EndpointRule, EngineFacts, Facts, Finding, HostFacts, Location, Report, Severity
    from dockdoctor.render import Format, RenderOptions, renderer_for

    facts = Facts(
        host=HostFacts(os="", arch="", machine=""),
        engine=EngineFacts(endpoint="", endpoint_rule=EndpointRule.DEFAULT, context=None),
    )
    findings = tuple(
        Finding(
            id="DKD604",
            slug="arch-specific-download",
            severity=Severity.WARNING,
            title="t",
            message=f"RUN on line {n} downloads an amd64 binary",
            subject=f"Dockerfile:{n}",
            location=Location(file="Dockerfile", line=n),
        )
        for n in (3, 9)
    )
    report = Report(facts=facts, targets=(), findings=findings, checks_run=("DKD604",), dockdoctor_version="0")
    issues = json.loads(renderer_for(Format.GITLAB)(report, RenderOptions()))
    jsonschema.Draft7Validator(ISSUE_SCHEMA).validate(issues)
    assert len({i["fingerprint"] for i in issues}) == 2
    assert [i["severity"] for i in issues] == ["minor", "minor"]
    again = json.loads(renderer_for(Format.GITLAB)(report, RenderOptions()))
    assert [i["fingerprint"] for i in again] == [i["fingerprint"] for i in issues]


def test_gitlab_format_with_contexts_is_a_one_line_error(tmp_path: Path) -> None:
    result = dockdoctor("check", "--format", "gitlab", "--all-contexts", env=isolated_env(tmp_path))
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "Error: --format gitlab reports one project" in result.stderr, result.stderr
