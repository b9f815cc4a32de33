"""`dockdoctor fix` at a real terminal: it asks fix by fix; `n` declines, `y` applies, `q` stops with 130 and
says what ran. No engine (DOCKER_HOST names no socket): the project's Dockerfile pin is the fix that runs."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from clirun import isolated_env

DOCKERFILE = "FROM --platform=linux/amd64 alpine:3.19\nRUN true\n"
PROMPT = b"[y]es/[n]o/[a]ll/[q]uit"


class Terminal:
    """The CLI with stdin, stdout and stderr on one pseudo-terminal."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.seen = b""

    def until(self, text: bytes, limit: float = 120) -> bytes:
        """Read until `text` appears (or the CLI ends); `limit` only bounds a hung run, nothing is timed."""
        while text not in self.seen:
            ready, _, _ = select.select([self.master], [], [], limit)
            if not ready:
                break
            try:
                data = os.read(self.master, 4096)
            except OSError:
                break
            if not data:
                break
            self.seen += data
        return self.seen

    def answer(self, text: str) -> None:
        os.write(self.master, text.encode() + b"\r")

    def finish(self) -> tuple[int, str]:
        self.until(b"\x00never")
        code = self.proc.wait(timeout=120)
        os.close(self.master)
        return code, self.seen.decode(errors="replace").replace("\r\n", "\n")


def _start(tmp_path: Path) -> tuple[Terminal, Path]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").write_text(DOCKERFILE)
    env = isolated_env(tmp_path, DOCKER_HOST="unix:///nonexistent.sock", DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    argv = [sys.executable, "-m", "dockdoctor", "fix", "--platform", "linux/arm64", "--project", str(project)]
    return Terminal([*argv, "--only", "DKD201,DKD602"], env, tmp_path), project / "Dockerfile"


def test_quit_at_the_prompt_stops_with_130_and_says_what_ran(tmp_path: Path) -> None:
    term, dockerfile = _start(tmp_path)
    assert b"apply fix 1 (start the Docker daemon)?" in term.until(PROMPT)
    term.answer("n")
    term.seen = b""
    assert b"apply fix 2 (drop the --platform flag on line 1)?" in term.until(PROMPT)
    term.answer("q")
    code, out = term.finish()
    assert code == 130
    assert "interrupted: fixes that ran: none; not run: [1, 2]" in out
    assert dockerfile.read_text() == DOCKERFILE  # nothing was applied


def test_yes_at_the_prompt_applies_that_fix_and_checks_again(tmp_path: Path) -> None:
    term, dockerfile = _start(tmp_path)
    term.until(PROMPT)
    term.answer("n")
    term.seen = b""
    term.until(PROMPT)
    term.answer("y")
    code, out = term.finish()
    assert dockerfile.read_text() == "FROM alpine:3.19\nRUN true\n"
    assert "2. DKD602 drop the --platform flag on line 1: fixed" in out
    assert code == 0
