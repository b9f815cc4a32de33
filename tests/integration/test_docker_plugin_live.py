"""`docker --context X doctor check` through the real docker CLI against the real engine of the test environment."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env

DOCKER = shutil.which("docker") or ""


def _docker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DOCKER, *args], env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL, cwd=env["HOME"]
    )


@pytest.mark.skipif(not DOCKER, reason="no docker CLI on PATH")
def test_docker_context_doctor_check_reaches_the_engine(testenv: dict, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = isolated_env(tmp_path, HOME=str(tmp_path / "home"))
    assert dockdoctor("plugin", "install", env=env).code == 0
    created = _docker("context", "create", "testenv", "--docker", f"host={testenv['docker_host']}", env=env)
    assert created.returncode == 0, created.stderr
    proc = _docker("--context", "testenv", "doctor", "check", "--no-project", "--json", env=env)
    assert proc.stdout and "Traceback" not in proc.stderr, proc.stderr
    engine = json.loads(proc.stdout)["facts"]["engine"]
    assert (engine["context"], engine["endpoint_rule"]) == ("testenv", "DOCKER_CONTEXT")
    server = _docker("--context", "testenv", "version", "--format", "{{.Server.Version}}", env=env).stdout.strip()
    assert server and engine["server_version"] == server
