"""Benchmark: how long the Dockerfile parser takes on the pathological inputs of tests/project/test_dockerfile.py.

Usage: PYTHONPATH=src python bench/dockerfile_speed.py [--repeat 3]
The unit test bounds the parser's work by operation counts (no clock); this prints the wall time per input
(best of --repeat), so a slow-down shows here, on a quiet machine, without a test that fails on a busy one.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from dockdoctor.project.dockerfile import parse_dockerfile

TESTS = Path(__file__).resolve().parent.parent / "tests" / "project" / "test_dockerfile.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("test_dockerfile", TESTS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cases = module.PATHOLOGICAL
    for name, text in zip(cases[::2], cases[1::2], strict=True):
        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            parse_dockerfile(text, path="Dockerfile")
            best = min(best, time.perf_counter() - started)
        print(f"{name:22} {len(text):>9} characters  {best:6.3f} s")


if __name__ == "__main__":
    main()
