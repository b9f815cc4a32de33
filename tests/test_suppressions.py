"""Inline suppressions (`# dockdoctor: ignore=CODE reason`) and the user-level settings file, through the real CLI.

Both are reported in the JSON: `suppressed` (the finding, the comment's file and line, its reason) and
`settings_files` (every settings file read, the user's first)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from clirun import dockdoctor, isolated_env

from dockdoctor.model import REPORT_VERSION
from dockdoctor.project.suppressions import parse_suppressions

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = ROOT / "fixtures" / "projects"
REPORT_SCHEMA = json.loads(
    (ROOT / "src" / "dockdoctor" / "schemas" / f"report-v{REPORT_VERSION}.schema.json").read_text()
)


def _run(tmp_path: Path, project: Path, *args: str, env: dict | None = None):
    result = dockdoctor(
        "check", "--no-engine", "--offline", "--project", str(project), *args, env=env or isolated_env(tmp_path)
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _report(tmp_path: Path, project: Path, *args: str, env: dict | None = None) -> tuple[int, dict]:
    result = _run(tmp_path, project, "--json", *args, env=env)
    report = result.json()
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    return result.code, report


def _ids(report: dict) -> list[str]:
    return [f["id"] for f in report["findings"]]


def test_a_suppression_with_a_reason_takes_the_finding_out_and_says_why(tmp_path: Path) -> None:
    code, report = _report(tmp_path, PROJECTS / "suppress-with-reason")
    assert code == 0 and _ids(report) == []  # DKD603 was the only error
    (gone,) = report["suppressed"]
    assert gone["finding"]["id"] == "DKD603" and gone["finding"]["location"]["line"] == 7
    assert (gone["file"], gone["line"]) == ("Dockerfile", 6)
    assert gone["reason"].startswith("busybox:multi holds every platform")
    text = _run(tmp_path, PROJECTS / "suppress-with-reason").stdout
    assert "suppressed DKD603 Dockerfile:7 by Dockerfile:6: busybox:multi" in text


def test_a_suppression_without_a_reason_suppresses_nothing_and_is_reported(tmp_path: Path) -> None:
    code, report = _report(tmp_path, PROJECTS / "suppress-no-reason")
    assert code == 1 and sorted(_ids(report)) == ["DKD603", "DKD719"]
    info = next(f for f in report["findings"] if f["id"] == "DKD719")
    assert info["severity"] == "info" and info["location"] == {"file": "Dockerfile", "line": 6, "column": 1}
    assert "gives no reason" in info["message"] and report["suppressed"] == []


def test_several_codes_slugs_and_misspelt_codes(tmp_path: Path) -> None:
    """In a Dockerfile the comment goes on the line above: a `#` after an instruction is part of it."""
    project = tmp_path / "app"
    shutil.copytree(PROJECTS / "stage-chain", project)
    dockerfile = project / "Dockerfile"
    lines = dockerfile.read_text().splitlines()
    lines.insert(5, "# dockdoctor: ignore=DKD602, buildplatform-on-final-stage -- copied only")
    dockerfile.write_text("\n".join(lines) + "\n")
    _, report = _report(tmp_path, project)
    assert _ids(report) == [] and report["suppressed"][0]["reason"] == "copied only"
    lines[5] = "# dockdoctor: ignore=DKD6O3 typo in the code"
    dockerfile.write_text("\n".join(lines) + "\n")
    _, report = _report(tmp_path, project)
    assert sorted(_ids(report)) == ["DKD603", "DKD719"]
    assert "names no check: DKD6O3" in next(f["message"] for f in report["findings"] if f["id"] == "DKD719")


def test_a_comment_two_lines_above_does_not_count() -> None:
    (item,) = parse_suppressions("# dockdoctor: ignore=DKD603 why\n\nFROM x\n", path="Dockerfile")
    from dockdoctor.project.suppressions import covers

    assert covers(item, "Dockerfile", 1) and covers(item, "Dockerfile", 2) and not covers(item, "Dockerfile", 3)
    assert not covers(item, "other/Dockerfile", 2)


def test_a_workflow_line_can_be_suppressed_above_or_at_its_end(tmp_path: Path) -> None:
    project = tmp_path / "ci"
    shutil.copytree(PROJECTS / "ci-release-manifest", project)
    path = project / ".github/workflows/release.yaml"
    original = path.read_text().splitlines()
    assert "docker manifest create" in original[98]
    above = [*original[:98], "          # dockdoctor: ignore=DKD704 imagetools joins them later", *original[98:]]
    path.write_text("\n".join(above) + "\n")
    _, report = _report(tmp_path, project)
    assert "DKD704" not in _ids(report)
    assert [(s["finding"]["id"], s["line"]) for s in report["suppressed"]] == [("DKD704", 99)]
    at_end = [
        *original[:98],
        original[98] + "  # dockdoctor: ignore=manifest-create-on-attested-image why",
        *original[99:],
    ]
    path.write_text("\n".join(at_end) + "\n")
    _, report = _report(tmp_path, project)
    assert [(s["finding"]["id"], s["line"], s["reason"]) for s in report["suppressed"]] == [("DKD704", 99, "why")]


def test_a_compose_service_finding_is_suppressed_by_a_comment_on_its_keys(tmp_path: Path) -> None:
    """A service finding has no location of its own: a comment above (or on) one of the service's keys covers it.
    Replayed from DKD411's example (compose.yaml:3 `image:`, :4 `platform:`) with the comment's facts added."""
    data = json.loads((ROOT / "fixtures/checks/DKD411/bad-pinned-arm64-image-lacks.json").read_text())
    targets = [a for t in data.get("_targets", []) for a in ("--platform", t)]
    comment = {"file": "compose.yaml", "line": 3, "names": ["DKD411"], "reason": "db runs on the amd64 hosts only"}
    for reason, gone in (("", False), (comment["reason"], True)):
        data["project"]["suppressions"] = [{**comment, "reason": reason}]
        replay = tmp_path / "facts.json"
        replay.write_text(json.dumps(data))
        result = dockdoctor(
            "check", "--from", str(replay), "--json", "--no-project", *targets, env=isolated_env(tmp_path)
        )
        report = result.json()
        assert ("DKD411" not in _ids(report)) is gone, _ids(report)
        assert [s["finding"]["subject"] for s in report["suppressed"]] == (["service db"] if gone else [])


# --- the user-level settings file ------------------------------------------------------------------------------


def _user_file(env: dict[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "dockdoctor" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_user_settings_file_is_read_and_reported(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    project = tmp_path / "app"
    shutil.copytree(PROJECTS / "stage-chain", project)
    user = _user_file(env, 'ignore = ["buildplatform-on-final-stage"]\ntargets = ["linux/arm64"]\n')
    code, report = _report(tmp_path, project, env=env)
    assert code == 0 and "DKD603" not in report["checks_run"]
    assert report["settings_files"] == [str(user)]
    assert report["targets"] == [{"platform": "linux/arm64", "source": str(user), "intent": "deploy"}]


def test_the_project_settings_win_key_by_key(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    project = tmp_path / "app"
    shutil.copytree(PROJECTS / "stage-chain", project)
    user = _user_file(
        env, 'ignore = ["DKD603"]\ntargets = ["linux/arm64"]\n[severity]\nDKD603 = "info"\nDKD301 = "info"\n'
    )
    (project / ".dockdoctor.toml").write_text('ignore = []\n[severity]\nDKD603 = "warning"\n')
    code, report = _report(tmp_path, project, env=env)
    assert report["settings_files"] == [str(user), f"{project}/.dockdoctor.toml"]
    assert "DKD603" in report["checks_run"]  # the project's `ignore = []` replaces the user's list
    assert [t["platform"] for t in report["targets"]] == ["linux/arm64"]  # the project sets no targets
    finding = next(f for f in report["findings"] if f["id"] == "DKD603")
    assert finding["severity"] == "warning" and code == 0  # the project's entry wins over the user's


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("targets = [\n", "cannot read it as TOML"),
        ('targets = ["linux/notanarch/x/y"]\n', "targets:"),
        ("colour = true\n", "unknown setting 'colour'"),
        ('ignore = ["DKD999"]\n', "ignore:"),
    ],
)
def test_a_bad_user_settings_file_is_a_one_line_error_naming_it(tmp_path: Path, text: str, says: str) -> None:
    env = isolated_env(tmp_path)
    user = _user_file(env, text)
    result = dockdoctor("check", "--no-engine", "--offline", env=env)
    assert result.code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(user) in lines[0] and says in lines[0], lines


def test_a_user_settings_file_that_is_a_folder_is_an_error_not_a_hang(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    folder = Path(env["XDG_CONFIG_HOME"]) / "dockdoctor" / "config.toml"
    folder.mkdir(parents=True)
    result = dockdoctor("check", "--no-engine", "--offline", env=env)
    assert result.code == 2 and "config.toml: not read (a folder, not a regular file)" in result.stderr
