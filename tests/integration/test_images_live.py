"""`dockdoctor inspect` and the image checks against the real registry, engine, containers and QEMU."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from clirun import dockdoctor, isolated_env
from integration.env import binfmt_state
from support.servers import hanging_server
from test_schema import validator

V2 = "application/vnd.docker.distribution.manifest.v2+json"
LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


@pytest.fixture(scope="module")
def amd64_only(testenv: dict) -> str:
    """A manifest list with only linux/amd64 in it (the mysql:5.7 shape), pushed through the registry API."""
    base = f"http://{testenv['registry']}/v2/busybox/manifests"
    head = requests.head(f"{base}/amd64", headers={"Accept": V2}, timeout=10)
    index = {
        "schemaVersion": 2,
        "mediaType": LIST,
        "manifests": [
            {
                "mediaType": V2,
                "digest": head.headers["Docker-Content-Digest"],
                "size": int(head.headers["Content-Length"]),
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    put = requests.put(f"{base}/amd64-only-index", data=json.dumps(index), headers={"Content-Type": LIST}, timeout=10)
    assert put.status_code == 201, put.text
    return f"{testenv['registry']}/busybox:amd64-only-index"


def _docker(testenv: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [testenv["docker_cli"], "-H", testenv["docker_host"], *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 or not check, proc.stderr
    return proc


def _run(testenv: dict, tmp_path: Path, *args: str):
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    result = dockdoctor(*args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    if "--json" in args:
        validator("report").validate(result.json())
    return result


def _ids(report: dict) -> set[str]:
    return {f["id"] for f in report["findings"]}


def test_inspect_every_kind(testenv: dict, tmp_path: Path, amd64_only: str) -> None:
    reg = testenv["registry"]
    refs = [f"{reg}/busybox:multi", f"{reg}/busybox:multi-oci", f"{reg}/busybox:arm64", amd64_only]
    with binfmt_state(enabled_aarch64=False):  # "unavailable" for arm64 needs a machine without emulation
        report = _run(
            testenv, tmp_path, "inspect", *refs, "--platform", "linux/amd64", "--platform", "linux/arm64", "--json"
        ).json()
    verdicts = {(v["reference"], v["target"]): v for v in report["images"]}
    assert verdicts[(refs[0], "linux/arm64")]["verdict"] == "exact"
    assert verdicts[(refs[1], "linux/amd64")]["offered"] == ["linux/amd64", "linux/arm64"]
    assert verdicts[(refs[2], "linux/amd64")]["verdict"] == "unavailable"
    assert verdicts[(amd64_only, "linux/arm64")]["verdict"] == "unavailable"
    remote = {r["reference"]: r for r in report["facts"]["images"]["remote"]}
    assert remote[refs[0]]["digest"] == testenv["image_info"]["multi"]["digest"]
    assert (remote[refs[0]]["kind"], remote[refs[2]]["kind"]) == ("index", "manifest")
    assert {("DKD301", amd64_only), ("DKD302", refs[2])} <= {(f["id"], f["subject"]) for f in report["findings"]}


def test_platforms_agree_with_skopeo(testenv: dict, tmp_path: Path) -> None:
    ref = f"{testenv['registry']}/busybox:multi-oci"
    raw = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    expected = [(f"{m['platform']['os']}/{m['platform']['architecture']}", m["digest"]) for m in raw["manifests"]]
    report = _run(testenv, tmp_path, "inspect", ref, "--json").json()
    (image,) = report["facts"]["images"]["remote"]
    assert [(p["platform"], p["digest"]) for p in image["platforms"]] == expected


def test_exec_format_error_container_and_its_fix(testenv: dict, tmp_path: Path) -> None:
    with binfmt_state(enabled_aarch64=False):
        died = _docker(
            testenv,
            "run",
            "--name",
            "dd-test-execfmt",
            "--network",
            "none",
            "--platform",
            "linux/arm64",
            testenv["images"]["local_arm64"],
            check=False,
        )
    try:
        assert "exec format error" in died.stderr + died.stdout
        report = _run(testenv, tmp_path, "check", "--no-project", "--json").json()
    finally:
        _docker(testenv, "rm", "-f", "dd-test-execfmt", check=False)
    # DKD305 when no aarch64 handler is registered at check time, DKD507 (the emulator failed) when one is
    finding = next(f for f in report["findings"] if f["id"] in ("DKD305", "DKD507"))
    assert finding["subject"] == "container dd-test-execfmt" and finding["severity"] == "error"
    assert "DKD304" in _ids(report)


def test_running_container_under_qemu(testenv: dict, tmp_path: Path) -> None:
    with binfmt_state(enabled_aarch64=True):
        _docker(
            testenv,
            "run",
            "-d",
            "--name",
            "dd-test-qemu",
            "--network",
            "none",
            "--platform",
            "linux/arm64",
            "--entrypoint",
            "/bin/busybox",
            testenv["images"]["local_arm64"],
            "sleep",
            "60",
        )
        try:
            report = _run(testenv, tmp_path, "check", "--no-project", "--json").json()
            state = _docker(testenv, "inspect", "-f", "{{.State.Status}}", "dd-test-qemu").stdout.strip()
        finally:
            _docker(testenv, "rm", "-f", "dd-test-qemu", check=False)
    assert state == "running"
    (container,) = [c for c in report["facts"]["images"]["containers"] if c["name"] == "dd-test-qemu"]
    assert (container["platform"], container["state"]) == ("linux/arm64", "running")
    messages = [f["message"] for f in report["findings"] if f["id"] == "DKD304"]
    assert any("runs only under qemu (binfmt qemu-aarch64)" in m for m in messages), messages
    assert "DKD305" not in _ids(report)


def test_stale_local_copy_is_found_and_its_fix_works(testenv: dict, tmp_path: Path) -> None:
    ref = f"{testenv['registry']}/busybox:multi"
    _docker(testenv, "tag", testenv["images"]["local_arm64"], ref)
    try:
        before = _run(testenv, tmp_path, "inspect", ref, "--json").json()
        finding = next(f for f in before["findings"] if f["id"] == "DKD303")
        (argv,) = [s["argv"] for fix in finding["fixes"] for s in fix["steps"] if s["kind"] == "run"]
        assert argv == ["docker", "pull", "--platform", "linux/amd64", ref]
        _docker(testenv, *argv[1:])  # the fix, as a user would run it
        after = _run(testenv, tmp_path, "inspect", ref, "--json").json()
    finally:
        _docker(testenv, "rmi", ref, check=False)
    assert "DKD303" not in _ids(after)
    (verdict,) = after["images"]
    assert (verdict["local_platform"], verdict["local_digest_matches"]) == ("linux/amd64", True)


@pytest.fixture()
def hanging_registry() -> Iterator[str]:
    with hanging_server() as port:
        yield f"127.0.0.1:{port}"


def test_broken_references_each_get_one_line_and_the_others_answer(
    testenv: dict, tmp_path: Path, hanging_registry: str
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    good = f"{testenv['registry']}/busybox:multi"
    refs = [
        good,
        f"{testenv['registry']}/nope:1",
        "Invalid/Ref",
        f"127.0.0.1:{port}/down:1",
        f"{testenv['registry_auth']}/busybox:multi",
        f"{hanging_registry}/slow:1",
    ]
    result = _run(testenv, tmp_path, "inspect", *refs, "--timeout", "3")
    assert result.code == 2 and "invalid image reference 'Invalid/Ref'" in result.stderr  # and the others answer
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{good}  index  sha256:") for line in lines)
    for ref, words in [
        (refs[1], "not found"),
        (refs[2], "invalid image reference"),
        (refs[3], "cannot connect"),
        (refs[4], "authentication required"),
        (refs[5], "did not finish answering within"),
    ]:
        matching = [line for line in lines if (ref.lower() in line.lower() or "Invalid/Ref" in line) and words in line]
        assert matching, f"no line about {ref} saying {words!r}:\n{result.stdout}"
    assert result.seconds < 30
