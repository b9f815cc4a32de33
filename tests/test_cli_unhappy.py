"""Broken setups give a finding and a clean exit, never a traceback or a hang (real subprocesses)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from support.servers import hanging_server


def _finding(result, code: str) -> dict:
    report = result.json()
    found = [f for f in report["findings"] if f["id"] == code]
    assert found, f"no {code} in {[f['id'] for f in report['findings']]}"
    return found[0]


def _assert_clean(result) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    # a hang fails the run itself: clirun's subprocess timeout (120 s); no wall-clock bound on a busy machine


def test_missing_socket(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, DOCKER_HOST=f"unix://{tmp_path}/nothing.sock")
    result = dockdoctor("check", "--json", env=env)
    _assert_clean(result)
    assert result.code == 1
    finding = _finding(result, "DKD201")
    assert "no socket at" in finding["message"]
    assert any("unset DOCKER_HOST" in s.get("text", "") for fix in finding["fixes"] for s in fix["steps"])
    assert result.json()["facts"]["engine"]["reachable"] is False


def test_socket_nobody_listens_on(tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the file stays, nobody listens: connection refused
    result = dockdoctor("check", "--json", env=isolated_env(tmp_path, DOCKER_HOST=f"unix://{path}"))
    _assert_clean(result)
    assert result.json()["facts"]["engine"]["error"]["kind"] == "refused"
    argvs = [s.get("argv") for fix in _finding(result, "DKD201")["fixes"] for s in fix["steps"]]
    assert [*([] if os.geteuid() == 0 else ["sudo"]), "systemctl", "start", "docker"] in argvs


# Root bypasses file permissions; without CAP_DAC_OVERRIDE it meets them like any user.
NO_DAC = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the CLI without root's file-permission override")
def test_socket_without_permission(tmp_path: Path) -> None:
    path = tmp_path / "private.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    os.chown(path, 65534, 65534)  # another user's socket, mode 0600: like docker.sock outside the docker group
    path.chmod(0o600)
    try:
        env = isolated_env(tmp_path, DOCKER_HOST=f"unix://{path}")
        result = dockdoctor("check", "--json", env=env, prefix=NO_DAC)
    finally:
        server.close()
    _assert_clean(result)
    finding = _finding(result, "DKD201")
    assert result.json()["facts"]["engine"]["error"]["kind"] == "permission"
    assert any("usermod -aG docker" in s.get("text", "") for fix in finding["fixes"] for s in fix["steps"])


def test_bogus_tcp_docker_host(tmp_path: Path) -> None:
    result = dockdoctor("check", "--json", env=isolated_env(tmp_path, DOCKER_HOST="tcp://127.0.0.1:1"))
    _assert_clean(result)
    assert result.code == 1
    assert result.json()["facts"]["engine"]["error"]["kind"] == "refused"


def test_malformed_docker_host(tmp_path: Path) -> None:
    result = dockdoctor("check", "--json", env=isolated_env(tmp_path, DOCKER_HOST="carrier-pigeon://x"))
    _assert_clean(result)
    assert result.code == 1
    _finding(result, "DKD201")


def test_engine_that_accepts_but_never_answers(tmp_path: Path) -> None:
    with hanging_server() as port:
        result = dockdoctor(
            "check", "--json", "--timeout", "2", env=isolated_env(tmp_path, DOCKER_HOST=f"tcp://127.0.0.1:{port}")
        )
    _assert_clean(result)
    assert result.json()["facts"]["engine"]["error"]["kind"] == "timeout"


def test_unknown_context(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, DOCKER_CONTEXT="colima")
    result = dockdoctor("check", "--json", env=env)
    _assert_clean(result)
    finding = _finding(result, "DKD206")
    assert "'colima'" in finding["message"]
    assert finding["fixes"][0]["steps"] == [{"kind": "manual", "text": "unset DOCKER_CONTEXT"}]


def test_corrupt_docker_config(tmp_path: Path) -> None:
    env = isolated_env(tmp_path, DOCKER_HOST=f"unix://{tmp_path}/none.sock")
    Path(env["DOCKER_CONFIG"], "config.json").write_text('{"currentContext": "orb')
    result = dockdoctor("check", "--json", env=env)
    _assert_clean(result)
    assert "invalid JSON" in _finding(result, "DKD207")["message"]


def test_unknown_check_name_is_a_usage_error(tmp_path: Path) -> None:
    result = dockdoctor("check", "--only", "DKD999", env=isolated_env(tmp_path))
    assert result.code == 2
    assert result.stderr.strip() == "dockdoctor: no check named 'DKD999'; `dockdoctor check --list-checks` lists them"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("not json", "not valid JSON"),
        ('{"schema_version": 99, "host": {}}', "newer than this dockdoctor understands"),
        ('{"schema_version": 1, "host": {"os": 3}}', "invalid facts file"),
        ("[1, 2]", "not a dockdoctor facts file"),
    ],
)
def test_bad_replay_file(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "facts.json"
    if content is not None:
        path.write_text(content)
    result = dockdoctor("check", "--from", str(path), env=isolated_env(tmp_path))
    assert result.code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"dockdoctor: {path}: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_bad_platform_option(tmp_path: Path) -> None:
    result = dockdoctor("check", "--platform", "linux/arm64/v8/extra", "--from", "x", env=isolated_env(tmp_path))
    assert result.code == 2 and "Traceback" not in result.stderr
