"""`dockdoctor check` on a small project whose Dockerfile pip-installs a pin without an aarch64 wheel, with
PIP_INDEX_URL pointing at the loopback PEP 691 index (tests/support/pep691.py)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.clirun import dockdoctor, isolated_env
from tests.support.pep691 import pep691_index
from tests.support.servers import closed_port

DOCKERFILE = """FROM python:3.9-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["python", "app.py"]
"""


def _project(tmp: Path) -> Path:
    proj = tmp / "proj"
    proj.mkdir()
    (proj / "Dockerfile").write_text(DOCKERFILE)
    (proj / "requirements.txt").write_text("-r requirements-base.txt\nsix==1.16.0\n")
    (proj / "requirements-base.txt").write_text("psycopg2-binary==2.8.6\n")
    return proj


def test_check_names_the_pin_and_the_nearest_release(tmp_path: Path) -> None:
    proj = _project(tmp_path)
    with pep691_index() as (url, seen):
        env = isolated_env(
            tmp_path,
            PIP_INDEX_URL=url,
            PIP_CONFIG_FILE=os.devnull,  # this machine's own pip.conf stays out of it
            DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
            DOCKER_HOST=f"tcp://127.0.0.1:{closed_port()}",
        )
        res = dockdoctor(
            "check", "--project", str(proj), "--platform", "linux/arm64", "--only", "DKD620,DKD621", "--json", env=env
        )
        assert res.code == 0, res.stderr
        findings = res.json()["findings"]
        assert [f["id"] for f in findings] == ["DKD620"]
        assert findings[0]["subject"] == "requirements-base.txt:1"
        assert "2.9.5 is the nearest release" in findings[0]["message"]
        text = dockdoctor("check", "--project", str(proj), "--platform", "linux/amd64", "--only", "DKD620", env=env)
        assert "DKD620" not in text.stdout
        assert len(seen) == 2  # one request per project; the second run answered from the cache
    offline = dockdoctor(
        "check",
        "--project",
        str(proj),
        "--platform",
        "linux/arm64",
        "--only",
        "DKD620,DKD621",
        "--json",
        "--offline",
        env=dict(env, DOCKDOCTOR_CACHE_DIR=str(tmp_path / "empty")),
    )
    assert [f["id"] for f in offline.json()["findings"]] == ["DKD621"]


def test_check_with_the_index_down_says_so(tmp_path: Path) -> None:
    proj = _project(tmp_path)
    env = isolated_env(
        tmp_path,
        PIP_INDEX_URL=f"http://127.0.0.1:{closed_port()}/simple/",
        PIP_CONFIG_FILE=os.devnull,
        DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
        DOCKER_HOST=f"tcp://127.0.0.1:{closed_port()}",
    )
    res = dockdoctor("check", "--project", str(proj), "--platform", "linux/arm64", "--only", "DKD620,DKD621", env=env)
    assert "Traceback" not in res.stderr
    assert "DKD621" in res.stdout and "did not answer" in res.stdout
