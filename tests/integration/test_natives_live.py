"""DKD630/DKD631 on the real engine: BuildKit copies the host-built node_modules into the image exactly when
dockdoctor says so, the edit it offers (a .dockerignore line) keeps it out of the rebuilt image, and the engine's
own platform is what the bind-mount check compares with."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from test_natives_cli import node_project

pytestmark = pytest.mark.engine


def _docker(testenv: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/usr/bin/docker", "-H", testenv["docker_host"], *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DOCKER_BUILDKIT": "1", "DOCKER_CONFIG": testenv["docker_config"]},
    )


def _in_image(testenv: dict, project: Path) -> str:
    """What /app holds in the image `docker build` makes of the project (ls -R from a container of it)."""
    tag = f"natives14-{uuid.uuid4().hex[:8]}"
    built = _docker(testenv, "build", "-q", "-t", tag, str(project))
    assert built.returncode == 0, built.stderr[-2000:]
    try:
        listing = _docker(testenv, "run", "--rm", "--entrypoint", "/bin/busybox", tag, "find", "/app")
        assert listing.returncode == 0, listing.stderr
        return listing.stdout
    finally:
        _docker(testenv, "rmi", "-f", tag)


def test_buildkit_copies_what_dkd630_says_and_the_edit_keeps_it_out(testenv: dict, tmp_path: Path) -> None:
    base = testenv["image_info"]["amd64"]["auth_ref"].replace(":5556/", ":5555/")  # the open test registry
    dockerfile = f"FROM {base}\nWORKDIR /app\nCOPY . .\n"
    proj = node_project(tmp_path, dockerfile=dockerfile, compose=COMPOSE_NATIVE)
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "c"))
    assert "/app/node_modules/@esbuild/darwin-arm64/package.json" in _in_image(testenv, proj)
    res = dockdoctor("check", "--project", str(proj), "--only", "DKD630,DKD631", "--json", env=env, timeout=180)
    findings = {f["id"]: f for f in res.json()["findings"]}
    assert sorted(findings) == ["DKD630", "DKD631"], res.stdout + res.stderr
    assert findings["DKD631"]["target"] == "linux/amd64"  # the test engine's platform, from /info
    (proj / ".dockerignore").write_text("node_modules\n")  # DKD630's edit (display only here: no npm ci)
    assert "/app/node_modules" not in _in_image(testenv, proj)
    again = dockdoctor("check", "--project", str(proj), "--only", "DKD630", "--json", env=env, timeout=180)
    assert again.json()["findings"] == []


COMPOSE_NATIVE = "services:\n  web:\n    build: .\n    volumes:\n      - ./node_modules:/app/node_modules\n"
