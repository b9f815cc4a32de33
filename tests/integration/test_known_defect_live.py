"""DKD530 against the real engine: every release it reports is read and parsed, and none is wrongly flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env

from dockdoctor import codec
from dockdoctor.checks._versions import installed_versions, release

pytestmark = pytest.mark.engine


def test_real_engine_releases_are_read_and_not_flagged(testenv: dict, tmp_path: Path) -> None:
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    result = dockdoctor(
        "check", "--only", "DKD530", "--platform", "linux/amd64", "--platform", "linux/arm64", "--json", env=env
    )
    assert "Traceback" not in result.stderr, result.stderr
    report = result.json()
    facts = codec.facts_from_data(report["facts"], source="live")
    seen = {i.product: i for i in installed_versions(facts)}
    # Debian's dockerd and containerd report versions like 20.10.24+dfsg1 and 1.6.20~ds1: both must parse
    assert {"docker-engine", "containerd"} <= set(seen), seen
    assert all(release(i.version) is not None for i in seen.values()), seen
    assert seen["docker-engine"].version == facts.engine.server_version
    # the engine here is newer than every Docker Engine range in the knowledge base
    assert [f for f in report["findings"] if f["id"] == "DKD530"] == []
