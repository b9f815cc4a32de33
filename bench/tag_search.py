"""Benchmark: what the tag search costs per image lacking a target: requests by kind and wall time, cold and warm.

Usage: PYTHONPATH=src python bench/tag_search.py [--runs N] [REF ...]   (default: the live test's repositories
in the test registry, tests/integration/test_tags_live.py pushes them; target linux/arm64)
Cold: an empty cache; warm: the same cache again within the tag TTL.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from dockdoctor.probes.registry import RegistryOptions, inspect_remote

DEFAULT = (
    "127.0.0.1:5555/tags14/app:1.2-alpine",
    "127.0.0.1:5555/tags14/many:3.5.0-alpine",
    "127.0.0.1:5555/tags14/many:7.2.0-alpine",
)


def _kind(url: str) -> str:
    path = url.split("/v2/", 1)[-1]
    return (
        "tags/list"
        if "/tags/list" in path
        else "manifests"
        if "/manifests/" in path
        else "blobs"
        if "/blobs/" in path
        else "other"
    )


def measure(ref: str, cache: Path, targets: tuple[str, ...]) -> tuple[float, Counter[str], int]:
    seen: Counter[str] = Counter()
    options = RegistryOptions(
        cache_dir=cache, observer=lambda method, url, status: seen.update([_kind(url)]), deadline=time.monotonic() + 30
    )
    start = time.perf_counter()
    (image,) = inspect_remote([ref], options=options, targets=targets)
    seconds = time.perf_counter() - start
    return seconds, seen, len(image.alternatives.candidates) if image.alternatives else 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--platform", default="linux/arm64")
    parser.add_argument("refs", nargs="*", default=list(DEFAULT))
    args = parser.parse_args()
    for ref in args.refs:
        for phase in ("cold", "warm"):
            times, counts = [], Counter()
            for _ in range(args.runs):
                with tempfile.TemporaryDirectory() as tmp:
                    if phase == "warm":
                        measure(ref, Path(tmp), (args.platform,))
                    seconds, seen, checked = measure(ref, Path(tmp), (args.platform,))
                times.append(seconds)
                counts = seen
            requests = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
            print(
                f"{ref} {phase}: median {statistics.median(times) * 1000:.0f} ms "
                f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); candidates {checked}; "
                f"requests: {requests}"
            )


if __name__ == "__main__":
    main()
