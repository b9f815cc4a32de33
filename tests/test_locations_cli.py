"""Locations as data, as users see them: SARIF and GitLab locations, and the facts file's origins and `.env`."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import dockdoctor, isolated_env

ROOT = Path(__file__).resolve().parents[1]

FINAL_ON_BUILD_PLATFORM = (
    "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n"
    "RUN go version\n"
    "FROM --platform=$BUILDPLATFORM alpine:3.19\n"
    "COPY --from=build /usr/local/go/VERSION /VERSION\n"
)


def test_a_finding_in_a_folder_with_a_space_has_its_file_and_line_in_sarif_and_gitlab(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    (project / "my app").mkdir(parents=True)
    (project / "my app" / "Dockerfile").write_text(FINAL_ON_BUILD_PLATFORM)
    env = isolated_env(tmp_path)
    args = ("check", "--no-engine", "--offline", "--only", "DKD603")
    sarif = dockdoctor(*args, "--format", "sarif", env=env, cwd=project)
    assert sarif.code == 1, sarif.stderr
    (result,) = json.loads(sarif.stdout)["runs"][0]["results"]
    where = result["locations"][0]["physicalLocation"]
    assert result["ruleId"] == "DKD603"
    assert where["artifactLocation"]["uri"] == "my%20app/Dockerfile"
    assert where["region"] == {"startLine": 3, "startColumn": 1}
    gitlab = dockdoctor(*args, "--format", "gitlab", env=env, cwd=project)
    (issue,) = gitlab.json()
    assert issue["location"] == {"path": "my app/Dockerfile", "lines": {"begin": 3}}
    report = dockdoctor(*args, "--format", "json", env=env, cwd=project).json()
    (finding,) = report["findings"]
    assert finding["subject"] == "my app/Dockerfile:3"  # the subject reads as before; the location is data
    assert finding["location"] == {"file": "my app/Dockerfile", "line": 3, "column": 1}


def test_compose_origins_and_dotenv_are_written_as_before_and_replay_to_the_same_report(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "compose.yaml").write_text("services:\n  web:\n    image: alpine:${TAG}\n    platform: linux/amd64\n")
    (project / ".env").write_text("TAG=3.19\nCOMPOSE_PROJECT_NAME=shop\n")
    (project / "Dockerfile").write_text(FINAL_ON_BUILD_PLATFORM)
    env = isolated_env(tmp_path)
    saved = tmp_path / "facts.json"
    args = ("check", "--no-engine", "--offline", "--no-redact")
    live = dockdoctor(*args, "--save-facts", str(saved), "--format", "sarif", env=env, cwd=project)
    assert live.code in (0, 1), live.stderr
    facts = json.loads(saved.read_text())["project"]
    assert facts["dotenv"] == [["COMPOSE_PROJECT_NAME", "shop", ".env:2"]]
    assert facts["dotenv_end"] == [2, "COMPOSE_PROJECT_NAME=shop"]
    (web,) = facts["compose"]["services"]
    assert web["origins"] == [
        {"key": "image", "source": "compose.yaml:3 via ${TAG} from .env:1", "text": "    image: alpine:${TAG}"},
        {"key": "platform", "source": "compose.yaml:4", "text": "    platform: linux/amd64"},
    ]
    replay = dockdoctor("check", "--from", str(saved), "--format", "sarif", env=env, cwd=project)
    results = json.loads(live.stdout)["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"DKD603"}
    assert json.loads(replay.stdout)["runs"][0]["results"] == results  # replayed: the same results, same places
    again = tmp_path / "again.json"
    dockdoctor("check", "--from", str(saved), "--no-redact", "--save-facts", str(again), env=env, cwd=project)
    assert json.loads(again.read_text())["project"] == facts


def test_a_deploy_target_in_a_folder_with_a_space_keeps_its_file_line(tmp_path: Path) -> None:
    """DKD611 names the deploy file line from the target's record: a file name with a space and a colon is whole
    (the finding's subject and location), and the facts file holds the same source strings after a replay."""
    data = json.loads((ROOT / "fixtures/checks/DKD611/bad-arm64-nodes-amd64-engine.json").read_text())
    odd = "my k8s/api:v2.yaml"
    deploy = data["project"]["deploy"][0]
    deploy["path"] = odd
    for item in deploy["targets"] + deploy["images"]:
        item["source"] = item["source"].replace("deploy/api.yaml", odd)
    saved = tmp_path / "facts.json"
    saved.write_text(json.dumps(data))
    env = isolated_env(tmp_path)
    report = dockdoctor("check", "--from", str(saved), "--only", "DKD611", "--format", "json", env=env).json()
    (finding,) = report["findings"]
    assert finding["subject"] == f"{odd}:22"
    assert finding["location"] == {"file": odd, "line": 22, "column": 1}
    replayed = report["facts"]["project"]["deploy"][0]
    assert [t["source"] for t in replayed["targets"]] == [f"{odd}:22 nodeSelector", f"{odd}:51 nodeAffinity"]
    assert [i["source"] for i in replayed["images"]] == [i["source"] for i in deploy["images"]]
