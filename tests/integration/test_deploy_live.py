"""Deploy files give the targets: each fixture project checked by the CLI (real engine and registry, no --platform)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from integration.env import binfmt_state
from test_schema import validator

PROJECTS = Path(__file__).resolve().parents[2] / "fixtures" / "projects"

# project -> (targets as (platform, source), (check, subject, target) that must be reported)
CASES = {
    "deploy-kubernetes": (
        [("linux/arm64", "deploy/api.yaml:22 nodeSelector"), ("linux/amd64", "deploy/api.yaml:51 nodeAffinity")],
        ("DKD330", "deploy/api.yaml:29 containers[api].image", "linux/arm64"),
    ),
    "deploy-helm": (
        [("linux/arm64", "chart/values.yaml:11 nodeSelector")],
        ("DKD330", "chart/values.yaml:6 image.repository", "linux/arm64"),
    ),
    "deploy-ecs": (
        [("linux/arm64", "task-definition.json:10 runtimePlatform.cpuArchitecture")],
        ("DKD330", "task-definition.json:15 containerDefinitions[web].image", "linux/arm64"),
    ),
    "deploy-sam": (
        [("linux/arm64", "template.yaml:13 Architectures")],
        ("DKD330", "template.yaml:11 Resources.HelloFunction.ImageUri", "linux/arm64"),
    ),
    "deploy-serverless": (
        [("linux/arm64", "serverless.yml:6 architecture")],
        ("DKD330", "serverless.yml:10 functions.resize.image", "linux/arm64"),
    ),
    "deploy-cdk": (
        [
            ("linux/amd64", "lib/stack.ts:12 Platform.LINUX_AMD64"),
            ("linux/arm64", "lib/stack.ts:13 Architecture.ARM_64"),
        ],
        ("DKD611", "lib/stack.ts:13", "linux/arm64"),
    ),
    "deploy-github-actions": (
        [("linux/arm64", ".github/workflows/build.yml:10 runs-on")],
        ("DKD302", "127.0.0.1:5555/busybox:amd64", "linux/arm64"),
    ),
    "deploy-gitlab-ci": (
        [("linux/arm64", ".gitlab-ci.yml:8 docker build --platform")],
        ("DKD302", "127.0.0.1:5555/busybox:amd64", "linux/arm64"),
    ),
    "deploy-fly": (
        [("linux/amd64", "fly.toml:3 Fly Machines (run linux/amd64)")],
        ("DKD330", "fly.toml:7 build.image", "linux/amd64"),
    ),
    "deploy-cloud-run": (
        [("linux/amd64", "service.yaml:3 Cloud Run (runs linux/amd64 only)")],
        ("DKD330", "service.yaml:13 containers[0].image", "linux/amd64"),
    ),
    "deploy-compose-build": (
        [("linux/arm64", "compose.yaml:7 services.api.build.platforms")],
        ("DKD302", "127.0.0.1:5555/busybox:amd64", "linux/arm64"),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_deploy_files_name_the_targets(testenv: dict, tmp_path: Path, name: str) -> None:
    if testenv["registry"] != "127.0.0.1:5555":
        pytest.skip("the deploy fixtures name images in the registry at 127.0.0.1:5555")
    targets, (code, subject, target) = CASES[name]
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    with binfmt_state(enabled_aarch64=False):  # the exit code counts DKD503 for arm64 targets: no emulation here
        result = dockdoctor("check", "--json", "--project", str(PROJECTS / name), env=env)
    assert "Traceback" not in result.stderr, result.stderr
    report = result.json()
    validator("report").validate(report)
    assert [(t["platform"], t["source"], t["intent"]) for t in report["targets"]] == [
        (p, s, "deploy") for p, s in targets
    ]
    found = [(f["id"], f["subject"], f["target"]) for f in report["findings"]]
    assert (code, subject, target) in found, found
    assert report["summary"]["exit_code"] == 1
    text = dockdoctor("check", "--project", str(PROJECTS / name), env=env).stdout
    assert text.splitlines()[0].endswith(", ".join(f"{p} ({s})" for p, s in targets))  # the header names the sources
