"""`dockdoctor check --project` on real projects, against the real engine, registry and compose binaries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from integration.test_images_live import amd64_only  # noqa: F401  (pushes busybox:amd64-only-index)
from test_schema import validator

PROJECTS = Path(__file__).resolve().parents[2] / "fixtures" / "projects"


def _check(testenv: dict, project: Path, tmp_path: Path, *args: str) -> dict:
    env = isolated_env(
        tmp_path,
        DOCKER_HOST=testenv["docker_host"],
        REGISTRY=testenv["registry"],
        DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
    )
    result = dockdoctor("check", "--json", "--project", str(project), *args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    report = result.json()
    validator("report").validate(report)
    return report


def _project_findings(report: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for finding in report["findings"]:
        if finding["id"][3] in "46" and finding["id"] not in ("DKD402",):
            found.setdefault(finding["id"], []).append(finding)
    return found


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target)
    return target


def _apply(finding: dict) -> None:
    """Apply a finding's first edit by hand, as a user would: patch(1) with its unified diff."""
    (edit,) = [s for fix in finding["fixes"] for s in fix["steps"] if s["kind"] == "edit"][:1]
    folder = Path(edit["path"]).parent
    subprocess.run(["patch", "-p1", "--forward", "--quiet"], input=edit["diff"], text=True, cwd=folder, check=True)


@pytest.mark.usefixtures("amd64_only")
def test_compose_app_on_arm64_and_the_fix(testenv: dict, tmp_path: Path) -> None:
    from integration.env import binfmt_state

    project = _copy("compose-app", tmp_path)
    with binfmt_state(enabled_aarch64=True):  # the local target: the arm64 app runs under QEMU once pinned
        report = _check(testenv, project, tmp_path)
        found = _project_findings(report)
        (app,) = found["DKD410"]
        assert app["subject"] == "service app" and "compose.yaml:8" in app["message"]
        assert report["facts"]["project"]["compose"]["resolved_by"] == "docker compose config"
        _apply(app)
        assert "    platform: linux/arm64\n" in (project / "compose.yaml").read_text()
        assert "# like mysql:5.7" in (project / "compose.yaml").read_text()  # comments survive the edit
        for cmd in (["docker", "compose"], ["docker-compose"]):  # both compose versions accept the edited file
            proc = subprocess.run(
                [*cmd, "config"],
                cwd=project,
                capture_output=True,
                text=True,
                env={**os.environ, "REGISTRY": testenv["registry"]},
            )
            assert proc.returncode == 0 and "platform: linux/arm64" in proc.stdout, proc.stderr
        after = _check(testenv, project, tmp_path)
    assert "DKD410" not in _project_findings(after)


@pytest.mark.usefixtures("amd64_only")
def test_compose_app_on_amd64_flags_the_mac_built_app(testenv: dict, tmp_path: Path) -> None:
    found = _project_findings(_check(testenv, PROJECTS / "compose-app", tmp_path, "--platform", "linux/amd64"))
    assert [f["subject"] for f in found["DKD410"]] == ["service app"]


def test_go_service_is_clean(testenv: dict, tmp_path: Path) -> None:
    report = _check(
        testenv, PROJECTS / "go-service", tmp_path, "--platform", "linux/amd64", "--platform", "linux/arm64"
    )
    assert _project_findings(report) == {}
    (dockerfile,) = report["facts"]["project"]["dockerfiles"]
    assert [s["platform"] for s in dockerfile["stages"]] == ["$BUILDPLATFORM", None]


def test_node_x64_tarball(testenv: dict, tmp_path: Path) -> None:
    found = _project_findings(
        _check(testenv, PROJECTS / "node-x64", tmp_path, "--platform", "linux/amd64", "--platform", "linux/arm64")
    )
    (download,) = found["DKD605"]
    assert download["subject"] == "Dockerfile:3" and "linux-x64.tar.xz" in download["message"]
    assert set(found) == {"DKD605"}


def test_devcontainer_pinned_to_arm64(testenv: dict, tmp_path: Path) -> None:
    from integration.env import binfmt_state

    with binfmt_state(enabled_aarch64=False):  # "cannot run here": no emulation on this machine for the check
        found = _project_findings(_check(testenv, PROJECTS / "devcontainer", tmp_path))
    (dev,) = found["DKD607"]
    assert dev["target"] == "linux/arm64" and "cannot run here" in dev["message"]


def test_compose_v1_file_pinned_from_and_the_fix(testenv: dict, tmp_path: Path) -> None:
    project = _copy("compose-v1", tmp_path)
    report = _check(testenv, project, tmp_path)
    assert report["facts"]["project"]["compose"]["version_key"] == "3.7"
    (pinned,) = _project_findings(report)["DKD602"]
    _apply(pinned)
    assert (project / "Dockerfile").read_text().splitlines()[0] == "FROM 127.0.0.1:5555/busybox:multi"
    proc = subprocess.run(["docker-compose", "config"], cwd=project, capture_output=True, text=True)
    assert proc.returncode == 0 and "platform: linux/amd64" in proc.stdout, proc.stderr
    assert "DKD602" not in _project_findings(_check(testenv, project, tmp_path))


def test_settings_file_gives_targets_ignores_and_severities(testenv: dict, tmp_path: Path) -> None:
    project = _copy("node-x64", tmp_path)
    (project / "pyproject.toml").write_text(
        '[tool.dockdoctor]\ntargets = ["linux/amd64", "linux/arm64"]\nignore = ["compose-v1-only"]\n'
        'severity = { arch-specific-download = "error" }\n'
    )
    report = _check(testenv, project, tmp_path)
    assert report["targets"] == [
        {"platform": "linux/amd64", "source": str(project / "pyproject.toml"), "intent": "deploy"},
        {"platform": "linux/arm64", "source": str(project / "pyproject.toml"), "intent": "deploy"},
    ]
    (download,) = _project_findings(report)["DKD605"]
    assert download["severity"] == "error" and report["summary"]["exit_code"] == 1
    assert "DKD401" not in report["checks_run"]


@pytest.mark.parametrize(
    ("files", "code", "words"),
    [
        ({"compose.yaml": "services:\n  db:\n    image: x\n   bad: [\n"}, "DKD609", "compose.yaml:4"),
        ({"compose.yaml": "services:\n  db:\n    image: postgres:${DB_TAG:?}\n"}, "DKD609", "DB_TAG"),
        ({"Dockerfile": "FROM alpine:3.19\nRUN <<EOF\necho never closed\n"}, "DKD601", "Dockerfile:2: unterminated"),
    ],
)
def test_broken_files_are_named_and_the_rest_still_appears(
    testenv: dict, tmp_path: Path, files: dict[str, str], code: str, words: str
) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    for name, text in files.items():
        (project / name).write_text(text)
    (project / "api.Dockerfile").write_text("FROM --platform=linux/amd64 alpine:3.19\n")
    report = _check(testenv, project, tmp_path)
    found = _project_findings(report)
    assert any(words in f["message"] for f in found[code]), found
    assert "DKD602" in found  # the other file is still checked
    assert report["facts"]["engine"]["reachable"]


def test_huge_file_and_symlink_loops(testenv: dict, tmp_path: Path) -> None:
    project = tmp_path / "odd"
    (project / "deep").mkdir(parents=True)
    with open(project / "Dockerfile.huge", "wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # 50 MB
    os.symlink("Dockerfile.self", project / "Dockerfile.self")
    os.symlink("..", project / "deep" / "up")
    (project / "Dockerfile").write_text("FROM alpine:3.19\nARG TARGETARCH=amd64\n")
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"])
    result = dockdoctor("check", "--json", "--project", str(project), env=env)
    assert "Traceback" not in result.stderr and result.seconds < 60
    messages = [f["message"] for f in result.json()["findings"] if f["id"] == "DKD609"]
    assert any("Dockerfile.huge: not read (50 MiB" in m for m in messages), messages
    assert any("Dockerfile.self: not read (symlink loop)" in m for m in messages), messages
    assert any("deep/up: not read (symlink loop" in m for m in messages), messages
    assert "DKD604" in {f["id"] for f in result.json()["findings"]}


def test_compose_project_through_dockdoctor_parser_without_compose_v2(testenv: dict, tmp_path: Path) -> None:
    """With no `docker compose` on PATH our own parser resolves the project, with the same answer."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = isolated_env(
        tmp_path, DOCKER_HOST=testenv["docker_host"], REGISTRY=testenv["registry"], PATH=str(bin_dir)
    )  # no docker CLI at all: no compose v2
    result = dockdoctor("check", "--json", "--no-project", "--project", str(PROJECTS / "compose-app"), env=env)
    assert result.code in (0, 1)
    report = dockdoctor("check", "--json", "--project", str(PROJECTS / "compose-app"), env=env).json()
    compose = report["facts"]["project"]["compose"]
    assert compose["resolved_by"] == "dockdoctor"
    assert {s["name"]: s["image"] for s in compose["services"]} == {
        "app": f"{testenv['registry']}/busybox:arm64",
        "db": f"{testenv['registry']}/busybox:amd64-only-index",
    }
    assert json.dumps(compose["services"][0]["origins"])  # origins name file and line


def test_build_platforms_edit_is_accepted_by_compose_v2(testenv: dict, tmp_path: Path) -> None:
    project = tmp_path / "api"
    project.mkdir()
    (project / "compose.yaml").write_text("services:\n  api:\n    build: .  # the API\n    image: shop/api\n")
    (project / "Dockerfile").write_text(f"FROM {testenv['registry']}/busybox:multi\n")
    targets = ("--platform", "linux/amd64", "--platform", "linux/arm64")
    (finding,) = _project_findings(_check(testenv, project, tmp_path, *targets))["DKD412"]
    _apply(finding)
    assert (project / "compose.yaml").read_text() == (
        "services:\n  api:\n    build:  # the API\n      context: .\n      platforms: [linux/amd64, linux/arm64]\n"
        "    image: shop/api\n"
    )
    proc = subprocess.run(
        ["docker", "compose", "config", "--format", "json"], cwd=project, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["services"]["api"]["build"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert "DKD412" not in _project_findings(_check(testenv, project, tmp_path, *targets))


def test_compose_based_devcontainer(testenv: dict, tmp_path: Path) -> None:
    project = tmp_path / "dev"
    (project / ".devcontainer").mkdir(parents=True)
    (project / ".devcontainer" / "docker-compose.yml").write_text(
        f"services:\n  dev:\n    image: {testenv['registry']}/busybox:arm64\n"
    )
    (project / ".devcontainer" / "devcontainer.json").write_text(
        '{\n  // compose-based\n  "dockerComposeFile": "docker-compose.yml",\n  "service": "dev",\n}\n'
    )
    report = _check(testenv, project, tmp_path)
    (dev,) = report["facts"]["project"]["devcontainers"]
    assert dev["compose"]["files"] == [".devcontainer/docker-compose.yml"]
    (finding,) = _project_findings(report)["DKD607"]
    assert "service dev's image" in finding["message"] and "linux/arm64" in finding["message"]


def test_fixes_applied_by_hand_make_the_findings_go_away(testenv: dict, tmp_path: Path) -> None:
    """The fixes given in words, done as a user would: the next check no longer reports them."""
    node = _copy("node-x64", tmp_path)
    both = ("--platform", "linux/amd64", "--platform", "linux/arm64")
    assert "DKD605" in _project_findings(_check(testenv, node, tmp_path, *both))
    dockerfile = node / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text()
        .replace("ARG NODE_VERSION=20.11.0\n", "ARG NODE_VERSION=20.11.0\nARG TARGETARCH\n")
        .replace("linux-x64.tar.xz", 'linux-$([ "$TARGETARCH" = amd64 ] && echo x64 || echo "$TARGETARCH").tar.xz')
    )
    assert "DKD605" not in _project_findings(_check(testenv, node, tmp_path, *both))

    dev = _copy("devcontainer", tmp_path)
    assert "DKD607" in _project_findings(_check(testenv, dev, tmp_path))
    definition = dev / ".devcontainer" / "devcontainer.json"
    definition.write_text(definition.read_text().replace('"--platform=linux/arm64", ', ""))
    assert "DKD607" not in _project_findings(_check(testenv, dev, tmp_path))
