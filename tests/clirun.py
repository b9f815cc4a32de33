"""Run the dockdoctor CLI the way a user does: a real subprocess, with a controlled environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SRC = str(Path(__file__).resolve().parents[1] / "src")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.stdout)


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """A user environment without the caller's DOCKER_* settings, with its own empty docker config dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_", "DOCKDOCTOR_"))}
    cfg = tmp / "docker-config"
    cfg.mkdir(exist_ok=True)
    env.update(DOCKER_CONFIG=str(cfg), PYTHONPATH=SRC, NO_COLOR="1")
    env.update(XDG_CONFIG_HOME=str(tmp / "user-config"))  # the user's own settings file is not the caller's
    env.update(extra)
    return env


def dockdoctor(
    *args: str, env: dict[str, str], timeout: float = 120, prefix: tuple[str, ...] = (), cwd: str | Path | None = None
) -> Result:
    """Run the CLI; by default in the folder that holds the isolated docker config (an empty project)."""
    argv = [*prefix, sys.executable, "-m", "dockdoctor", *args]
    start = time.monotonic()
    proc = subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=cwd or Path(env["DOCKER_CONFIG"]).parent,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
