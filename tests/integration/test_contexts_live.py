"""Contexts against the real engines of the test environment: a symlink to dockerd's socket, a stale socket,
and a second real engine (the containerd-store dockerd) with its own /info ID."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from clirun import dockdoctor, isolated_env
from probes.test_contexts import stale, write_context


def _report(testenv: dict, tmp_path: Path, contexts: dict[str, str]) -> dict:
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"])
    for name, host in contexts.items():
        write_context(Path(env["DOCKER_CONFIG"]), name, host)
    result = dockdoctor("check", "--json", "--no-project", env=env, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result.json()


def test_symlink_and_stale_socket_are_not_engines(testenv: dict, tmp_path: Path) -> None:
    real = testenv["docker_host"].removeprefix("unix://")
    os.symlink(real, tmp_path / "docker.sock")
    stale(tmp_path / "quit.sock")
    report = _report(
        testenv, tmp_path, {"linked": f"unix://{tmp_path}/docker.sock", "quit": f"unix://{tmp_path}/quit.sock"}
    )
    contexts = {c["name"]: c for c in report["facts"]["engine"]["contexts"]}
    assert contexts["linked"]["resolved"] == os.path.realpath(real) == contexts["default"]["resolved"]
    assert contexts["linked"]["live"] is True and contexts["quit"]["live"] is False
    assert contexts["quit"]["socket_exists"] is True  # the file is there; only connecting tells it is dead
    assert "DKD203" not in [f["id"] for f in report["findings"]]


def test_second_real_engine_is_reported(testenv: dict, tmp_path: Path) -> None:
    other = testenv["docker_host_c8d"]
    assert socket.socket(socket.AF_UNIX).connect_ex(other.removeprefix("unix://")) == 0
    os.symlink(testenv["docker_host"].removeprefix("unix://"), tmp_path / "docker.sock")
    report = _report(testenv, tmp_path, {"linked": f"unix://{tmp_path}/docker.sock", "c8d": other})
    finding = next(f for f in report["findings"] if f["id"] == "DKD203")
    assert finding["message"].startswith("2 different engines are running")
    contexts = {c["name"]: c for c in report["facts"]["engine"]["contexts"]}
    assert contexts["c8d"]["engine_id"] and contexts["linked"]["engine_id"] == report["facts"]["engine"]["engine_id"]
    assert contexts["c8d"]["engine_id"] != contexts["linked"]["engine_id"]
