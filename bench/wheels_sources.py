"""Benchmark: what the pin sources and the host-built folder scan cost.

Usage: PYTHONPATH=src:. python bench/wheels_sources.py [--runs N] [--packages N]
- each real lock file in tests/data/locks (parse time, pins found; median of N);
- probe_host_built on a synthetic node_modules of N packages (one in 20 a platform package named after its
  platform with `os`/`cpu`, one in 20 with a binding.gyp), cold file cache not controlled (median of N);
- `dockdoctor check --only DKD620,DKD621` on a project whose Dockerfile runs `poetry install` from a poetry.lock,
  against the tests' loopback PEP 691 index: cold (empty cache) and warm, with the index requests counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from dockdoctor.project.locks import pipfile_lock, poetry_lock, uv_lock

LOCKS = Path(__file__).resolve().parents[1] / "tests" / "data" / "locks"


def _median(fn, runs: int) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def locks(runs: int) -> None:
    cases = [
        ("boruvkas.uv.lock", lambda t: uv_lock(t, python="3.14")),
        ("txtar.poetry.lock", lambda t: poetry_lock(t, python="3.8")),
        ("polylith-gcp.poetry.lock", lambda t: poetry_lock(t, python="3.12")),
        ("pipfile-example.Pipfile.lock", lambda t: pipfile_lock(t, python="3.6")),
    ]
    for name, parse in cases:
        text = (LOCKS / name).read_text()
        took, pins = _median(lambda: parse(text), runs)  # noqa: B023
        print(f"{name}: {len(text) // 1024} KiB, {len(pins)} pins, {took * 1000:.2f} ms")  # type: ignore[arg-type]


def host_built(runs: int, packages: int) -> None:
    import dockdoctor.probes.project as project_probe
    from dockdoctor.probes.natives import probe_host_built

    project_probe.shutil.which = lambda name: None  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "Dockerfile").write_text("FROM node:20\nWORKDIR /app\nCOPY . .\n")
        for i in range(packages):
            name = f"p{i}-darwin-arm64" if i % 20 == 0 else f"p{i}"
            pkg = root / "node_modules" / (f"@s{i % 50}/{name}" if i % 3 == 0 else name)
            pkg.mkdir(parents=True)
            meta = {"name": f"p{i}", "version": "1.0.0"}
            if i % 20 == 0:
                meta |= {"os": ["darwin"], "cpu": ["arm64"]}
            (pkg / "package.json").write_text(json.dumps(meta))
            if i % 20 == 10:
                (pkg / "binding.gyp").write_text("{}")
        project = project_probe.probe_project(str(root), env={})
        took, found = _median(lambda: probe_host_built(project), runs)
        print(f"host-built scan, node_modules of {packages} packages: {took * 1000:.1f} ms, {found[0].natives[:1]}")  # type: ignore[index]


def check(runs: int) -> None:
    from tests.clirun import dockdoctor, isolated_env
    from tests.support.pep691 import pep691_index
    from tests.support.servers import closed_port
    from tests.test_wheels_cli import POETRY_LOCK

    with tempfile.TemporaryDirectory() as tmp, pep691_index() as (url, seen):
        proj = Path(tmp) / "proj"
        proj.mkdir()
        (proj / "Dockerfile").write_text(
            "FROM python:3.9-slim\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\nRUN poetry install --only main\n"
        )
        (proj / "pyproject.toml").write_text('[project]\nname = "app"\n')
        (proj / "poetry.lock").write_text(POETRY_LOCK.replace("INDEX", url.rstrip("/")))
        for label in ("cold", "warm"):
            walls, asked = [], []
            for i in range(runs):
                cache = Path(tmp) / (f"cold{i}" if label == "cold" else "warm")
                env = isolated_env(
                    Path(tmp), PIP_CONFIG_FILE=os.devnull, DOCKDOCTOR_CACHE_DIR=str(cache),
                    DOCKER_HOST=f"tcp://127.0.0.1:{closed_port()}",
                )  # fmt: skip
                if label == "warm" and i == 0:
                    dockdoctor(
                        "check", "--project", str(proj), "--platform", "linux/arm64", "--only", "DKD620", env=env
                    )
                before = len(seen)
                res = dockdoctor(
                    "check", "--project", str(proj), "--platform", "linux/arm64", "--only", "DKD620,DKD621", env=env
                )
                walls.append(res.seconds)
                asked.append(len(seen) - before)
            print(f"check, poetry.lock project, {label}: {statistics.median(walls):.2f} s, index requests {asked}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--packages", type=int, default=3000)
    args = parser.parse_args()
    locks(args.runs)
    host_built(args.runs, args.packages)
    check(args.runs)


if __name__ == "__main__":
    main()
