"""Benchmark: the CPU time of a warm `dockdoctor inspect` (within the TTL, no network), this tree against another.

Usage: python bench/inspect_cpu.py [--against /work/main/src] [--runs 9] [--refs 45]
       (DOCKDOCTOR_TESTENV names the test environment's env.json; its loopback registry must hold the
       references bench/registry_speed.py seeds: run that once first)

CPU (user + system, from wait4) rather than wall: on a loaded machine a run's wall time is mostly its wait for
a core, its CPU time barely moves. The runs of the two trees alternate, each with its own byte-code folder
(compiled by a first, unmeasured run) and one shared registry cache filled by that first run, so both answer
the same references from the same cache. Prints the median and minimum per tree, and per tree its ratio to
`python -c pass`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run  # noqa: E402

HERE = Path(__file__).resolve().parents[1] / "src"
KINDS = ("amd64", "arm64", "multi", "oci", "attest", "digest", "multi", "oci", "arm64", "missing")  # registry_speed's
DIGEST = "sha256:ad8a227dc41311c7a7539df316bb51f9a94cd9ca34b2a84c442655eaea5593a7"  # its digest refs (busybox amd64)


def references(registry: str, count: int) -> list[str]:
    """The existing references bench/registry_speed.py seeds, in its order (reference i: KINDS[i % 10] in
    bench/app-{i // 5}), its missing ones left out (404s are not cached: each would be asked on every run)."""
    out: list[str] = []
    i = 0
    while len(out) < count:
        kind, repo = KINDS[i % len(KINDS)], f"bench/app-{i // 5}"
        i += 1
        if kind != "missing":
            out.append(f"{registry}/{repo}@{DIGEST}" if kind == "digest" else f"{registry}/{repo}:{kind}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="/work/main/src", help="the other tree's src folder")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--refs", type=int, default=45)
    args = parser.parse_args()
    testenv = json.loads(Path(os.environ.get("DOCKDOCTOR_TESTENV", "/run/dockdoctor-testenv/env.json")).read_text())
    refs = references(testenv["registry"], args.refs)
    work = tempfile.mkdtemp(prefix="dockdoctor-inspect-cpu-")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKDOCTOR_", "PYTHON"))}
    base.update(DOCKER_HOST=testenv["docker_host"], DOCKER_CONFIG=work, DOCKDOCTOR_CACHE_DIR=work)
    trees = {"this tree": str(HERE), "against": args.against}
    envs = {
        name: {**base, "PYTHONPATH": src, "PYTHONPYCACHEPREFIX": os.path.join(work, f"pycache-{i}")}
        for i, (name, src) in enumerate(trees.items())
    }
    argv = [sys.executable, "-m", "dockdoctor", "inspect", *refs, "--json"]
    for env in envs.values():  # byte code compiled, the registry cache filled: no measured run pays for either
        first = run(argv, env, capture=True)
        if first.returncode not in (0, 1) or not first.stdout:  # 1: findings (arm64-only images on amd64)
            print(f"inspect failed (exit {first.returncode}): {first.stderr.decode()[-300:]}")
            return 2
    cpus: dict[str, list[float]] = {name: [] for name in envs}
    floor = []
    for _ in range(args.runs):
        floor.append(run([sys.executable, "-c", "pass"], base).cpu)
        for name, env in envs.items():
            cpus[name].append(run(argv, env).cpu)
    py = statistics.median(floor)
    print(f"python -c pass: CPU {py * 1000:.0f} ms (median of {args.runs})")
    for name, values in cpus.items():
        med = statistics.median(values)
        print(
            f"inspect warm, {len(refs)} refs, {name} ({trees[name]}): CPU {med * 1000:.0f} ms median, "
            f"{min(values) * 1000:.0f} ms min = {med / py:.1f}x python -c pass"
        )
    mine, other = (statistics.median(v) for v in cpus.values())
    print(f"this tree / against = {mine / other:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
