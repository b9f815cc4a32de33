"""The nearest tag that offers a missing platform, for real: families of tags and a paginated repository in the
test registry, `check`, `inspect` and `fix --yes` through the CLI, then the re-check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests
from clirun import dockdoctor, isolated_env

pytestmark = pytest.mark.engine

LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
V2 = "application/vnd.docker.distribution.manifest.v2+json"
APP = "tags14/app"
MANY = "tags14/many"
MANY_TAGS = 1200  # more than one page of 1000 (distribution 2.8 ignores `n` and sends them in one answer; the
# Link pagination is tested against the loopback registries of tests/test_tag_search.py)


def _manifest(registry: str, repo: str, tag: str, accept: str) -> tuple[bytes, str]:
    resp = requests.get(f"http://{registry}/v2/{repo}/manifests/{tag}", headers={"Accept": accept}, timeout=10)
    resp.raise_for_status()
    return resp.content, resp.headers["Content-Type"].split(";")[0]


def _put(registry: str, repo: str, tag: str, body: bytes, media_type: str) -> None:
    resp = requests.put(
        f"http://{registry}/v2/{repo}/manifests/{tag}", data=body, headers={"Content-Type": media_type}, timeout=10
    )
    assert resp.status_code == 201, resp.text


def _tags(registry: str, repo: str) -> set[str]:
    tags: set[str] = set()
    url = f"http://{registry}/v2/{repo}/tags/list?n=1000"
    while url:
        resp = requests.get(url, timeout=10)
        if resp.status_code == 404:
            return set()
        tags |= set(resp.json().get("tags") or [])
        link = resp.headers.get("Link", "")
        url = f"http://{registry}{link[1 : link.index('>')]}" if link else ""
    return tags


def _seed(registry: str, repo: str) -> None:
    """The busybox multi-platform index and its two images, copied into repo (so its blobs are there)."""
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--all",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            f"docker://{registry}/busybox:multi",
            f"docker://{registry}/{repo}:seed",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tag_families(testenv: dict) -> dict[str, str]:
    """tags14/app: 1.1-alpine and 1.2.1-alpine amd64 only (single manifests), 1.2-alpine an amd64-only index
    (the mysql:5.7 shape), 1.3-alpine, 1.3-slim and 2.0-alpine multi-platform; tags14/many: 1200 tags, all
    amd64 only but 7.3.1-alpine. Idempotent: pushed once per test environment."""
    registry = testenv["registry"]
    if not {"1.2-alpine", "1.3-slim", "2.0-alpine"} <= _tags(registry, APP):
        _seed(registry, APP)
        multi, multi_type = _manifest(registry, APP, "seed", LIST)
        amd64, amd64_type = _manifest(registry, "busybox", "amd64", V2)
        digest = "sha256:" + __import__("hashlib").sha256(amd64).hexdigest()
        only = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": LIST,
                "manifests": [
                    {
                        "mediaType": V2,
                        "digest": digest,
                        "size": len(amd64),
                        "platform": {"architecture": "amd64", "os": "linux"},
                    }
                ],
            }
        ).encode()
        for tag in ("1.1-alpine", "1.2.1-alpine"):
            _put(registry, APP, tag, amd64, amd64_type)
        _put(registry, APP, "1.2-alpine", only, LIST)
        for tag in ("1.3-alpine", "1.3-slim", "2.0-alpine"):
            _put(registry, APP, tag, multi, multi_type)
    if len(_tags(registry, MANY)) < MANY_TAGS:
        _seed(registry, MANY)
        multi, multi_type = _manifest(registry, MANY, "seed", LIST)
        amd64, amd64_type = _manifest(registry, "busybox", "amd64", V2)
        session = requests.Session()
        for number in range(MANY_TAGS - 2):
            tag = f"{number // 100}.{number % 100}.0-alpine"
            resp = session.put(
                f"http://{registry}/v2/{MANY}/manifests/{tag}",
                data=amd64,
                headers={"Content-Type": amd64_type},
                timeout=10,
            )
            assert resp.status_code == 201, resp.text
        _put(registry, MANY, "7.3.1-alpine", multi, multi_type)
    return {"app": f"{registry}/{APP}", "many": f"{registry}/{MANY}"}


def _env(testenv: dict, tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))


def _project(tmp_path: Path, image: str) -> Path:
    project = tmp_path / "shop"
    project.mkdir()
    (project / "compose.yaml").write_text(
        f"# the shop\nservices:\n  db:\n    image: {image}  # our database\n    environment:\n      A: b\n"
    )
    return project


def test_check_names_the_nearest_tag_and_fix_applies_it(testenv: dict, tag_families: dict, tmp_path: Path) -> None:
    image = f"{tag_families['app']}:1.2-alpine"
    project = _project(tmp_path, image)
    env = _env(testenv, tmp_path)
    before = dockdoctor("check", "--project", str(project), "--platform", "linux/arm64", "--json", env=env)
    assert "Traceback" not in before.stderr, before.stderr
    report = before.json()
    findings = {f["id"]: f for f in report["findings"]}
    assert {"DKD301", "DKD410"} <= set(findings), findings.keys()
    for code in ("DKD301", "DKD410"):
        assert (
            f"{tag_families['app']}:1.3-alpine (linux/amd64, linux/arm64) and "
            f"{tag_families['app']}:1.3-slim (linux/amd64, linux/arm64) offer every target" in findings[code]["message"]
        ), findings[code]["message"]
        first = findings[code]["fixes"][0]
        assert first["title"].startswith(f"use {tag_families['app']}:1.3-alpine") and first["safety"] == "safe"
        assert first["steps"][0]["kind"] == "edit"
    remote = next(r for r in report["facts"]["images"]["remote"] if r["reference"] == image)
    search = remote["alternatives"]
    checked = [c["tag"] for c in search["candidates"]]
    assert checked[:3] == ["1.2.1-alpine", "1.3-alpine", "1.1-alpine"]  # ranked: nearest, same family first
    assert search["tags_listed"] >= 6 and search["complete"] and search["targets"] == ["linux/arm64"]
    assert next(c for c in search["candidates"] if c["tag"] == "1.2.1-alpine")["platforms"] == ["linux/amd64"]

    fixed = dockdoctor("fix", "--project", str(project), "--platform", "linux/arm64", "--yes", env=env)
    assert fixed.code == 0, fixed.stdout + fixed.stderr
    text = (project / "compose.yaml").read_text()
    assert text == (
        f"# the shop\nservices:\n  db:\n    image: {tag_families['app']}:1.3-alpine  # our database\n"
        "    environment:\n      A: b\n"
    )  # one line changed, its comment kept
    after = dockdoctor("check", "--project", str(project), "--platform", "linux/arm64", "--json", env=env).json()
    left = [f for f in after["findings"] if f["id"] in ("DKD301", "DKD302", "DKD410", "DKD411")]
    assert left == []
    again = dockdoctor("fix", "--project", str(project), "--platform", "linux/arm64", "--yes", env=env)
    assert (project / "compose.yaml").read_text() == text and "Traceback" not in again.stderr


def test_inspect_names_tags_from_a_paginated_list(testenv: dict, tag_families: dict, tmp_path: Path) -> None:
    image = f"{tag_families['many']}:3.5.0-alpine"
    result = dockdoctor("inspect", image, "--platform", "linux/arm64", "--json", env=_env(testenv, tmp_path))
    assert "Traceback" not in result.stderr, result.stderr
    report = result.json()
    remote = report["facts"]["images"]["remote"][0]
    search = remote["alternatives"]
    assert search["tags_listed"] >= MANY_TAGS and search["complete"]
    assert len(search["candidates"]) <= 40  # the request budget per image
    text = dockdoctor("inspect", image, "--platform", "linux/arm64", env=_env(testenv, tmp_path))
    # 40 amd64-only tags nearer than 7.3.1-alpine: the budget ends the search, and the finding says so
    assert "none of the 40 nearest tags checked offers every target" in text.stdout, text.stdout
    near = dockdoctor(
        "inspect",
        f"{tag_families['many']}:7.2.0-alpine",
        "--platform",
        "linux/arm64",
        "--json",
        env=_env(testenv, tmp_path),
    ).json()
    finding = next(f for f in near["findings"] if f["id"] == "DKD302")
    assert f"{tag_families['many']}:7.3.1-alpine (linux/amd64, linux/arm64) offers every target" in finding["message"]
    assert finding["fixes"][0]["safety"] == "display-only"  # no project line to edit: the reference, in words


def test_a_tag_that_runs_everywhere_gets_no_search(testenv: dict, tag_families: dict, tmp_path: Path) -> None:
    result = dockdoctor(
        "inspect",
        f"{tag_families['app']}:1.3-alpine",
        "--platform",
        "linux/arm64",
        "--platform",
        "linux/amd64",
        "--json",
        env=_env(testenv, tmp_path),
    ).json()
    assert result["facts"]["images"]["remote"][0]["alternatives"] is None
