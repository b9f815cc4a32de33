"""`dockdoctor check` against the real engines of the test environment: dockerd, podman, QEMU on and off."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from integration.env import binfmt_state
from test_schema import validator


def _docker(testenv: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [testenv["docker_cli"], "-H", testenv["docker_host"], *args], capture_output=True, text=True, timeout=120
    )


def _check(testenv: dict, tmp_path: Path, *args: str, host: str | None = None):
    env = isolated_env(tmp_path, DOCKER_HOST=host or testenv["docker_host"])
    result = dockdoctor("check", "--json", *args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    validator("report").validate(result.json())
    return result, result.json()


def _ids(report: dict) -> list[str]:
    return [f["id"] for f in report["findings"]]


def test_dockerd_facts(testenv: dict, tmp_path: Path) -> None:
    _, report = _check(testenv, tmp_path)
    facts = report["facts"]
    engine = facts["engine"]
    assert engine["reachable"] is True
    assert engine["flavor"] == "dockerd"
    assert engine["platform"] == "linux/amd64"
    assert engine["endpoint"] == testenv["docker_host"] and engine["endpoint_rule"] == "DOCKER_HOST"
    assert engine["server_version"] == testenv["versions"]["dockerd"]
    assert facts["host"]["arch"] == "amd64" and facts["host"]["os"] == "linux"
    assert facts["compose"]["v1"]["version"] == "1.29.2"
    assert facts["compose"]["v2"]["version"] == testenv["versions"]["compose_v2"]
    assert facts["compose"]["v2"]["command"] == ["docker", "compose"]
    assert facts["compose"]["docker_compose"]["major"] == 1
    assert "DKD402" in _ids(report)
    assert report["targets"] == [{"platform": "linux/amd64", "source": "engine", "intent": "local"}]


def test_arm64_target_without_emulation(testenv: dict, tmp_path: Path) -> None:
    with binfmt_state(enabled_aarch64=False):
        result, report = _check(testenv, tmp_path, "--platform", "linux/arm64")
        truth = _docker(
            testenv, "run", "--rm", "--network", "none", "--platform", "linux/arm64", testenv["images"]["local_arm64"]
        )
    assert "exec format error" in truth.stderr  # what the user would see
    assert result.code == 1
    finding = next(f for f in report["findings"] if f["id"] == "DKD503")
    assert finding["target"] == "linux/arm64" and finding["severity"] == "error"
    # other handlers (registered by concurrent tests: binfmt_misc is machine-global) may be listed, not arm64
    assert "linux/arm64" not in [e["platform"] for e in report["facts"]["emulation"]["emulated"]]
    argvs = [step.get("argv") for fix in finding["fixes"] for step in fix["steps"]]
    sudo = [] if os.geteuid() == 0 else ["sudo"]  # root needs none
    assert [*sudo, "apt-get", "install", "-y", "qemu-user-static", "binfmt-support"] in argvs


def test_arm64_target_with_qemu(testenv: dict, tmp_path: Path) -> None:
    with binfmt_state(enabled_aarch64=True):
        result, report = _check(testenv, tmp_path, "--platform", "linux/arm64")
        truth = _docker(
            testenv, "run", "--rm", "--network", "none", "--platform", "linux/arm64", testenv["images"]["local_arm64"]
        )
    assert truth.returncode == 0 and "hello" in truth.stdout
    emulation = report["facts"]["emulation"]
    handler = next(h for h in emulation["handlers"] if h["platform"] == "linux/arm64")
    assert handler["enabled"] and "F" in handler["flags"] and "aarch64" in handler["interpreter"]
    assert {"platform": "linux/arm64", "via": f"qemu (binfmt {handler['name']})"} in [
        {"platform": e["platform"], "via": e["via"]} for e in emulation["emulated"]
    ]
    assert "DKD503" not in _ids(report) and "DKD504" not in _ids(report)
    assert "DKD506" in _ids(report)
    assert result.code == 0


def test_podman_api_socket(testenv: dict, tmp_path: Path) -> None:
    _, report = _check(testenv, tmp_path, host=testenv["podman_host"])
    engine = report["facts"]["engine"]
    assert engine["reachable"] is True
    assert engine["flavor"] == "podman"
    assert {"field": "version.Components", "value": "Podman Engine", "suggests": "podman"} in engine["evidence"]
    assert engine["platform"] == "linux/amd64"


def test_text_report_against_the_real_engine(testenv: dict, tmp_path: Path) -> None:
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"])
    result = dockdoctor("check", env=env)
    assert "[ok]   Engine" in result.stdout and "dockerd" in result.stdout
    assert result.stdout.splitlines()[-1].split(":")[0] in ("OK", "Problems")


@pytest.mark.parametrize("rule", ["DOCKER_CONTEXT", "currentContext"])
def test_context_pointing_at_the_real_engine(testenv: dict, tmp_path: Path, rule: str) -> None:
    env = isolated_env(tmp_path)
    cfg = Path(env["DOCKER_CONFIG"])
    create = subprocess.run(
        [testenv["docker_cli"], "context", "create", "testenv", "--docker", f"host={testenv['docker_host']}"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert create.returncode == 0, create.stderr
    if rule == "DOCKER_CONTEXT":
        env["DOCKER_CONTEXT"] = "testenv"
    else:
        (cfg / "config.json").write_text('{"currentContext": "testenv"}')
    report = dockdoctor("check", "--json", env=env).json()
    engine = report["facts"]["engine"]
    assert (engine["endpoint_rule"], engine["context"], engine["reachable"]) == (rule, "testenv", True)
