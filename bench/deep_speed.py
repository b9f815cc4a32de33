"""Benchmark: `dockdoctor inspect --deep` (layers streamed until the entrypoint is found) beside the pull baseline.

Usage: DOCKDOCTOR_TESTENV=... python bench/deep_speed.py [--delay-ms 40] [--runs 3]
Images: the test env's busybox (one 1 MB layer), and two built here FROM scratch with a 32 MiB incompressible
file: `fat-base-top-entry` (the entry script in the top layer, its interpreter at the start of the big base
layer) and `fat-base-late-entry` (the binary after the 32 MiB file in the same layer: the worst case). All go
through bench/registry_speed.py's delaying proxy (every chunk held 40 ms each way). For each image it prints the
compressed bytes --deep read (cold cache, then warm), its ratio to the image's compressed size (what a pull
downloads), and the wall time beside `docker pull` + `docker create` + `docker cp` of the entrypoint + `docker rm`
(the pull-and-look baseline; `file` itself cannot run in FROM-scratch images).
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
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from registry_speed import DelayProxy  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _docker(testenv: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/usr/bin/docker", "-H", testenv["docker_host"], *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=600,
        check=True,
        env={**os.environ, "DOCKER_BUILDKIT": "1", "DOCKER_CONFIG": testenv["docker_config"]},
    )


def _build(testenv: dict, root: Path, name: str, dockerfile: str, files: dict[str, Path | bytes]) -> str:
    ctx = root / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for rel, src in files.items():
        dest = ctx / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, Path):
            shutil.copy(src, dest)
        else:
            dest.write_bytes(src)
        dest.chmod(0o755)
    ref = f"{testenv['registry']}/deep14-bench/{name}:{uuid.uuid4().hex[:8]}"
    _docker(testenv, "build", "-q", "--platform", "linux/amd64", "-t", ref, str(ctx))
    _docker(testenv, "push", "-q", ref)
    _docker(testenv, "rmi", ref)
    return ref


def _deep(ref: str, cache: str, testenv: dict) -> tuple[float, dict]:
    env = {**os.environ, "PYTHONPATH": SRC, "DOCKDOCTOR_CACHE_DIR": cache, "DOCKER_HOST": testenv["docker_host"]}
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dockdoctor",
            "inspect",
            "--deep",
            "--json",
            "--timeout",
            "120",
            "--platform",
            "linux/amd64",
            ref,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.perf_counter() - start
    (deep,) = json.loads(proc.stdout)["facts"]["images"]["deep"]
    assert deep["error"] is None and deep["entry"], deep
    return seconds, deep


def _pull_and_look(ref: str, path: str, testenv: dict) -> float:
    start = time.perf_counter()
    _docker(testenv, "pull", "-q", ref)
    cid = _docker(testenv, "create", ref).stdout.strip()
    _docker(testenv, "cp", f"{cid}:{path}", "-")
    _docker(testenv, "rm", cid)
    seconds = time.perf_counter() - start
    _docker(testenv, "rmi", ref)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay-ms", type=float, default=40)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with open(os.environ["DOCKDOCTOR_TESTENV"], encoding="utf-8") as fh:
        testenv = json.load(fh)
    busybox = Path(testenv["busybox_amd64"])
    noise = os.urandom(32 << 20)
    with tempfile.TemporaryDirectory(prefix="dockdoctor-bench-deep-") as folder:
        root = Path(folder)
        refs = {
            "busybox": f"{testenv['registry']}/busybox:amd64",
            "fat-base-top-entry": _build(
                testenv,
                root,
                "top",
                'FROM scratch\nCOPY base/ /\nCOPY entry.sh /entry.sh\nENTRYPOINT ["/entry.sh"]\n',
                {"base/bin/busybox": busybox, "base/zz-data": noise, "entry.sh": b"#!/bin/busybox sh\necho hi\n"},
            ),
            "fat-base-late-entry": _build(
                testenv,
                root,
                "late",
                'FROM scratch\nCOPY base/ /\nENTRYPOINT ["/zz/busybox"]\n',
                {"base/aa-data": noise, "base/zz/busybox": busybox},
            ),
        }
        host, port = testenv["registry"].split(":")
        proxy = DelayProxy((host, int(port)), args.delay_ms / 1000)
        try:
            print(f"registry behind +{args.delay_ms:g} ms/chunk each way; {args.runs} runs each; medians")
            print(
                f"{'image':22} {'layers':>6} {'compressed':>11} {'deep read':>10} {'ratio':>7} {'warm read':>9} "
                f"{'deep cold':>9} {'deep warm':>9} {'pull+cp':>8}"
            )
            for name, ref in refs.items():
                via = ref.replace(testenv["registry"], proxy.address, 1)
                cold, warm, pulls, deep, again = [], [], [], {}, {}
                for _ in range(args.runs):
                    cache = tempfile.mkdtemp(prefix="dockdoctor-bench-cache-")
                    seconds, deep = _deep(via, cache, testenv)
                    cold.append(seconds)
                    seconds, again = _deep(via, cache, testenv)
                    warm.append(seconds)
                    shutil.rmtree(cache, ignore_errors=True)
                    pulls.append(_pull_and_look(via, deep["entry"]["path"], testenv))
                ratio = deep["bytes_read"] / deep["compressed_size"]
                print(
                    f"{name:22} {deep['layers']:>6} {deep['compressed_size']:>11,} {deep['bytes_read']:>10,} "
                    f"{ratio:>7.2%} {again['bytes_read']:>9,} {statistics.median(cold):>8.2f}s "
                    f"{statistics.median(warm):>8.2f}s {statistics.median(pulls):>7.2f}s"
                )
        finally:
            proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
