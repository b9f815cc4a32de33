"""Benchmark: the docker CLI's plugin metadata question and --version against `python -c pass`.

Usage: python bench/startup.py [--runs N]
The docker CLI runs `docker-doctor docker-cli-plugin-metadata` for every `docker --help` and every completion, so
that answer must cost about what starting Python costs (the goal: within 2x of `python -c pass`). Prints the
median and range of wall times of each command, measured in the same run, and the ratios to `python -c pass`;
with a docker CLI on PATH also `docker --help` without and with the plugin installed (HOME and DOCKER_CONFIG in a
temporary folder).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
METADATA = "docker-cli-plugin-metadata"


def _times(cases: list[tuple[str, list[str], dict[str, str]]], runs: int) -> list[list[float]]:
    """Wall times per case, the cases taken in turn in every round (a busy machine slows them all alike)."""
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(runs):
        for i, (_label, argv, env) in enumerate(cases):
            start = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[i].append(time.perf_counter() - start)
    return times


def _line(label: str, times: list[float], base: float | None) -> str:
    median = statistics.median(times)
    ratio = f"  {median / base:4.2f}x" if base else ""
    return f"{label:<48} {median * 1000:7.1f} ms  ({min(times) * 1000:.1f}-{max(times) * 1000:.1f}){ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    home = tempfile.mkdtemp(prefix="dockdoctor-bench-")
    # an installed dockdoctor has its bytecode compiled (pip does it): so has this one, after the first round
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKDOCTOR_", "PYTHONDONTWRITE"))}
    env.update(PYTHONPATH=SRC, HOME=home, DOCKER_CONFIG=os.path.join(home, "docker"))
    bare = dict(env, DOCKER_CONFIG=os.path.join(home, "docker-without-plugin"))
    py = sys.executable
    subprocess.run([py, "-m", "dockdoctor", "plugin", "install"], env=env, check=True, stdout=subprocess.DEVNULL)
    launcher = os.path.join(env["DOCKER_CONFIG"], "cli-plugins", "docker-doctor")
    cases = [
        ("python -c pass", [py, "-c", "pass"], env),
        ("docker-doctor docker-cli-plugin-metadata", [launcher, METADATA], env),
        ("python -m dockdoctor docker-cli-plugin-metadata", [py, "-m", "dockdoctor", METADATA], env),
        ("python -m dockdoctor --version", [py, "-m", "dockdoctor", "--version"], env),
        ("python -m dockdoctor --help (click)", [py, "-m", "dockdoctor", "--help"], env),
    ]
    docker = shutil.which("docker")
    if docker:
        cases += [
            ("docker --help, no docker-doctor", [docker, "--help"], bare),
            ("docker --help, with docker-doctor", [docker, "--help"], env),
        ]
    _times(cases, 1)  # the first round writes the bytecode (and warms the file cache); it is not counted
    times = _times(cases, runs)
    base = statistics.median(times[0])
    print(f"{runs} runs each, in turn; Python {sys.version.split()[0]} ({py})")
    for (label, argv, _env), case_times in zip(cases, times, strict=True):
        print(_line(label, case_times, None if argv[0] == docker else base))
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
