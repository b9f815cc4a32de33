"""Benchmark: `dockdoctor check` beside the commands a person would type, and start-up cost.

Usage: python bench/check_speed.py [--runs N]   (DOCKER_HOST / DOCKDOCTOR_TESTENV select the engine)
Prints medians and ranges of wall times, measured in the same run on the same engine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SHELL_SEQUENCE = "docker info; docker version; docker buildx ls; docker compose version; docker-compose version"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    testenv = env.get("DOCKDOCTOR_TESTENV")
    if testenv and os.path.exists(testenv) and "DOCKER_HOST" not in env:
        with open(testenv, encoding="utf-8") as fh:
            env["DOCKER_HOST"] = json.load(fh)["docker_host"]
    return env


def _time(argv: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Wall times, run in an empty folder (no project to scan: the shell sequence scans none either)."""
    times = []
    folder = tempfile.mkdtemp(prefix="dockdoctor-bench-")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=folder)
        times.append(time.perf_counter() - start)
    return times


def _row(name: str, times: list[float]) -> str:
    return (
        f"{name:58} median {statistics.median(times) * 1000:8.1f} ms"
        f"   min {min(times) * 1000:8.1f}   max {max(times) * 1000:8.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = _env()
    dockdoctor = [sys.executable, "-m", "dockdoctor"]
    print(f"engine: {env.get('DOCKER_HOST', 'default socket')}; runs: {args.runs}; python {sys.version.split()[0]}")
    _time([*dockdoctor, "check"], env, 1)  # warm the page cache for both sides
    _time(["bash", "-c", SHELL_SEQUENCE], env, 1)
    check = _time([*dockdoctor, "check"], env, args.runs)
    shell = _time(["bash", "-c", SHELL_SEQUENCE], env, args.runs)
    version = _time([*dockdoctor, "--version"], env, args.runs)
    bare = _time([sys.executable, "-c", "pass"], env, args.runs)
    print(_row("dockdoctor check", check))
    print(_row(f"shell: {SHELL_SEQUENCE[:50]}...", shell))
    print(f"  ratio check / shell sequence: {statistics.median(check) / statistics.median(shell):.2f}")
    print(_row("dockdoctor --version", version))
    print(_row("python -c pass", bare))
    print(
        f"  --version start-up beyond the interpreter: "
        f"{(statistics.median(version) - statistics.median(bare)) * 1000:.1f} ms"
    )
    missing = [tool for tool in ("docker", "docker-compose") if shutil.which(tool) is None]
    if missing:
        print(f"note: not installed here: {', '.join(missing)} (the shell sequence fails fast for them)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
