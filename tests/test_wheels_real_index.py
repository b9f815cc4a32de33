"""Opt-in: the wheel check against the real package index (pypi.org). Set DOCKDOCTOR_REAL_INDEX=1 to run it; it
needs the internet, which the test machine has not, so it is skipped by default. It asks two projects, once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.clirun import dockdoctor, isolated_env
from tests.support.servers import closed_port

pytestmark = pytest.mark.skipif(
    not os.environ.get("DOCKDOCTOR_REAL_INDEX"), reason="set DOCKDOCTOR_REAL_INDEX=1 to ask the real pypi.org"
)


def test_psycopg2_binary_286_on_arm64_against_pypi(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "Dockerfile").write_text(
        "FROM python:3.9-slim\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    )
    (proj / "requirements.txt").write_text("psycopg2-binary==2.8.6\nsix==1.16.0\n")
    env = isolated_env(
        tmp_path,
        PIP_CONFIG_FILE=os.devnull,
        DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
        DOCKER_HOST=f"tcp://127.0.0.1:{closed_port()}",
    )
    env.pop("PIP_INDEX_URL", None)
    env.pop("PIP_EXTRA_INDEX_URL", None)
    res = dockdoctor(
        "check", "--project", str(proj), "--platform", "linux/arm64", "--platform", "linux/amd64",
        "--only", "DKD620,DKD621", "--json", "--timeout", "30", env=env,
    )  # fmt: skip
    findings = res.json()["findings"]
    # psycopg2-binary 2.8.6 has manylinux1 x86_64 wheels and none for aarch64 (psycopg/psycopg2#1125); six is pure
    assert [(f["id"], f["target"]) for f in findings] == [("DKD620", "linux/arm64")], findings
    assert "is the nearest release with one" in findings[0]["message"]
    assert "needs a compiler and the library headers" in findings[0]["message"]
