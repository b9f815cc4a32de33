"""The spinner with the real CLI: on a terminal's stderr it names the engine it waits for; in a pipe it is silent.

The engine is a socket that accepts and never answers, so the engine probe waits until the run's budget ends (6 s:
wide enough that start-up on a loaded machine leaves more than the spinner's 0.5 s for the wait).
"""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import isolated_env


@pytest.fixture
def silent_engine() -> Iterator[str]:
    """tcp://127.0.0.1:PORT of a listener that takes connections and says nothing."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _run(env: dict[str, str], cwd: Path, *, stderr_tty: bool) -> tuple[int, str, str]:
    argv = [sys.executable, "-m", "dockdoctor", "check", "--no-project", "--timeout", "6"]
    if not stderr_tty:
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    stdout = proc.stdout.read() if proc.stdout else b""
    code = proc.wait(timeout=60)
    os.close(master)
    return code, stdout.decode(), b"".join(chunks).decode(errors="replace")


def test_a_terminal_sees_what_the_run_waits_for(tmp_path: Path, silent_engine: str) -> None:
    env = isolated_env(tmp_path, DOCKER_HOST=silent_engine, TERM="xterm")
    code, stdout, stderr = _run(env, tmp_path, stderr_tty=True)
    assert "waiting for the Docker engine" in stderr
    assert stderr.rstrip("\n").endswith("\r\x1b[K")  # the line is left empty for what follows
    assert "waiting for" not in stdout and "\r" not in stdout and "DKD201" in stdout


def test_a_pipe_or_a_dumb_terminal_gets_no_spinner(tmp_path: Path, silent_engine: str) -> None:
    env = isolated_env(tmp_path, DOCKER_HOST=silent_engine, TERM="xterm")
    _, stdout, stderr = _run(env, tmp_path, stderr_tty=False)
    assert "waiting for" not in stderr and "DKD201" in stdout
    _, _, stderr = _run({**env, "TERM": "dumb"}, tmp_path, stderr_tty=True)
    assert "waiting for" not in stderr
