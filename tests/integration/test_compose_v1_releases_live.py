"""Compose v1 releases on both sides of 1.27.0, for real: what DKD403 and DKD413 say against what each does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env


@pytest.mark.parametrize("release, refuses", [("1.26.2", True), ("1.27.0", False)])
def test_platform_key_with_compose_v1_releases(testenv: dict, tmp_path: Path, release: str, refuses: bool) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "docker-compose.yml").write_text(
        f'version: "3.8"\nservices:\n  app:\n'
        f"    image: {testenv['registry']}/busybox:multi\n"
        f"    platform: linux/arm64\n"
    )
    bin_dir = testenv["compose_v1_bins"][release]
    # only that docker-compose on PATH: no docker CLI, so no Compose v2 either
    env = isolated_env(
        tmp_path, DOCKER_HOST=testenv["docker_host"], PATH=bin_dir, DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache")
    )
    truth = subprocess.run(
        [f"{bin_dir}/docker-compose", "config"], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )
    assert (truth.returncode != 0) is refuses, truth.stderr
    if refuses:
        assert "Unsupported config option for services.app: 'platform'" in truth.stderr
    result = dockdoctor("check", "--project", str(project), "--only", "DKD403,DKD413", "--json", env=env)
    assert "Traceback" not in result.stderr, result.stderr
    report = result.json()
    assert report["facts"]["compose"]["v2"] is None
    assert report["facts"]["compose"]["v1"]["version"] == release
    assert sorted(f["id"] for f in report["findings"]) == (["DKD403", "DKD413"] if refuses else [])
