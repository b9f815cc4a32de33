"""Contexts and their sockets, for real: unix sockets in tmp_path, symlinks, stale socket files, engine IDs."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

from clirun import dockdoctor, isolated_env
from support.recorded import engine_for

from dockdoctor.model import ContextFacts
from dockdoctor.probes._run import unix_connect
from dockdoctor.probes.contexts import probe_contexts


def listening(path: Path) -> socket.socket:
    """A unix socket that accepts connections (the caller closes it)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(8)
    return sock


def stale(path: Path) -> Path:
    """A socket file whose listener is gone, as a quit engine leaves it behind."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()
    assert path.exists()
    return path


def write_context(cfg: Path, name: str, host: str) -> None:
    meta = cfg / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(
        json.dumps(
            {
                "Name": name,
                "Metadata": {"Description": name},
                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}},
            }
        )
    )


def test_connect_tells_live_from_stale(tmp_path: Path) -> None:
    live = listening(tmp_path / "live.sock")
    try:
        os.symlink(tmp_path / "live.sock", tmp_path / "link.sock")
        assert unix_connect("t", str(tmp_path / "live.sock")) is True
        assert unix_connect("t", str(tmp_path / "link.sock")) is True
        assert unix_connect("t", str(stale(tmp_path / "stale.sock"))) is False
        assert unix_connect("t", str(tmp_path / "missing.sock")) is False
        (tmp_path / "file").write_text("not a socket")
        assert unix_connect("t", str(tmp_path / "file")) is False
    finally:
        live.close()


def test_probe_resolves_symlinks_and_marks_stale(tmp_path: Path) -> None:
    live = listening(tmp_path / "engine.sock")
    try:
        os.symlink(tmp_path / "engine.sock", tmp_path / "docker.sock")
        stale(tmp_path / "quit.sock")
        contexts = (
            ContextFacts("default", f"unix://{tmp_path}/docker.sock", socket_exists=True),
            ContextFacts("desktop-linux", f"unix://{tmp_path}/engine.sock", socket_exists=True, current=True),
            ContextFacts("orbstack", f"unix://{tmp_path}/quit.sock", socket_exists=True),
            ContextFacts("remote", "ssh://me@build-box"),
        )
        probed, errors = probe_contexts(contexts, timeout=30)  # a ceiling for a loaded machine
    finally:
        live.close()
    assert errors == ()
    real = str((tmp_path / "engine.sock").resolve())
    assert [(c.name, c.resolved, c.live) for c in probed] == [
        ("default", real, True),
        ("desktop-linux", real, True),
        ("orbstack", str((tmp_path / "quit.sock").resolve()), False),
        ("remote", "", None),
    ]
    assert all(c.engine_id == "" for c in probed)  # one live socket file: no engine needs to be told apart


def _check_contexts(tmp_path: Path, contexts: dict[str, str], docker_host: str) -> dict:
    env = isolated_env(tmp_path, DOCKER_HOST=docker_host)
    for name, host in contexts.items():
        write_context(Path(env["DOCKER_CONFIG"]), name, host)
    result = dockdoctor("check", "--json", "--no-project", env=env, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    return result.json()


def test_one_engine_behind_two_sockets_is_one_engine(tmp_path: Path) -> None:
    """Docker Desktop answers on ~/.docker/run/docker.sock and docker-cli.sock alike: the same /info ID."""
    with engine_for("docker-desktop-mac-arm64") as first, engine_for("docker-desktop-mac-arm64") as second:
        stale(tmp_path / "orbstack.sock")
        report = _check_contexts(
            tmp_path,
            {
                "desktop-linux": first.base_url,
                "desktop-cli": second.base_url,
                "orbstack": f"unix://{tmp_path}/orbstack.sock",
            },
            first.base_url,
        )
    contexts = {c["name"]: c for c in report["facts"]["engine"]["contexts"]}
    assert contexts["orbstack"]["live"] is False
    assert contexts["desktop-cli"]["engine_id"] == "2215097e-b8c5-4dd2-b688-4aaf02cdb689"
    assert report["facts"]["engine"]["engine_id"] == "2215097e-b8c5-4dd2-b688-4aaf02cdb689"
    assert "DKD203" not in [f["id"] for f in report["findings"]]


def test_two_engines_are_reported(tmp_path: Path) -> None:
    with engine_for("docker-desktop-mac-arm64") as desktop, engine_for("orbstack-mac-arm64") as orbstack:
        os.symlink(desktop.socket_path, tmp_path / "docker.sock")
        report = _check_contexts(
            tmp_path,
            {"desktop-linux": desktop.base_url, "orbstack": orbstack.base_url},
            f"unix://{tmp_path}/docker.sock",
        )
    finding = next(f for f in report["findings"] if f["id"] == "DKD203")
    assert finding["message"].startswith("2 different engines are running")
    ids = {c["name"]: c["engine_id"] for c in report["facts"]["engine"]["contexts"]}
    assert ids == {
        "default": "2215097e-b8c5-4dd2-b688-4aaf02cdb689",
        "desktop-linux": "2215097e-b8c5-4dd2-b688-4aaf02cdb689",
        "orbstack": "b380f4ab-d8cb-4005-9147-331e0083e7f7",
    }
