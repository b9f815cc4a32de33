"""Benchmark: a 20-service compose project checked in one concurrent pass, beside a sequential pass.

Usage: DOCKDOCTOR_TESTENV=... python bench/project_speed.py [--services 20] [--delay-ms 40]
The registry sits behind bench/registry_speed.py's delaying proxy (every chunk held 40 ms each way); both passes
run `dockdoctor check --project` as a user would, with a cold cache; the sequential pass allows one registry
request at a time (DOCKDOCTOR_REGISTRY_WORKERS=1).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_speed import DelayProxy, Registry, seed  # noqa: E402


def _run(project: Path, env: dict[str, str]) -> tuple[float, dict]:
    cache = tempfile.mkdtemp(prefix="dockdoctor-bench-cache-")
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dockdoctor",
            "check",
            "--json",
            "--project",
            str(project),
            "--platform",
            "linux/amd64",
            "--platform",
            "linux/arm64",
        ],
        env={**env, "DOCKDOCTOR_CACHE_DIR": cache},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return time.perf_counter() - start, json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--delay-ms", type=float, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with open(os.environ["DOCKDOCTOR_TESTENV"], encoding="utf-8") as fh:
        testenv = json.load(fh)
    refs = [r for r in seed(Registry(testenv["registry"]), args.services * 2) if r.kind != "missing"][: args.services]
    host, port = testenv["registry"].split(":")
    proxy = DelayProxy((host, int(port)), args.delay_ms / 1000)
    try:
        with tempfile.TemporaryDirectory(prefix="dockdoctor-bench-project-") as folder:
            project = Path(folder)
            services = "".join(f"  svc{i}:\n    image: {proxy.address}/{ref.path}\n" for i, ref in enumerate(refs))
            (project / "compose.yaml").write_text(f"services:\n{services}")
            env = {**os.environ, "DOCKER_HOST": testenv["docker_host"]}
            sequential_env = {**env, "DOCKDOCTOR_REGISTRY_WORKERS": "1"}
            times: dict[str, list[float]] = {"concurrent": [], "sequential": []}
            for _ in range(args.runs):
                for name, run_env in (("concurrent", env), ("sequential", sequential_env)):
                    seconds, report = _run(project, run_env)
                    looked_up = len(report["facts"]["images"]["remote"])
                    assert looked_up == len(refs), (name, looked_up)
                    times[name].append(seconds)
    finally:
        proxy.stop()
    print(
        f"{len(refs)} services, {len(refs)} image references, registry behind +{args.delay_ms:g} ms/chunk; "
        f"{args.runs} runs each, cold cache"
    )
    for name, values in times.items():
        print(
            f"  dockdoctor check, {name:10} median {statistics.median(values) * 1000:7.0f} ms "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"
        )
    ratio = statistics.median(times["sequential"]) / statistics.median(times["concurrent"])
    print(f"  sequential / concurrent = {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
