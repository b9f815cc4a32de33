"""Benchmark: what redaction and the output boundary cost on one real gather (in process, medians in ms).

Usage: python bench/redact_speed.py [--runs N]   (DOCKER_HOST / DOCKDOCTOR_TESTENV select the engine)
Gathers once, with raw answers (as `dockdoctor report` does), in a small project with a compose file whose
`docker compose config` answer is redacted by structure; then times redact() with and without the raw answers
and the text and Markdown renderers (which sanitize every string first).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

COMPOSE = """services:
  web:
    image: nginx:1.27
    platform: linux/amd64
    build: {context: ., args: {NPM_TOKEN: t0ken, TARGETARCH: amd64}}
    environment: {API_KEY: k3y, MODE: prod}
    labels: {com.example.team: shop}
    command: ["serve", "--password=pw", "-p", "8080"]
"""


def _median_ms(fn, runs: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    runs = parser.parse_args().runs
    testenv = os.environ.get("DOCKDOCTOR_TESTENV")
    if testenv and os.path.exists(testenv) and "DOCKER_HOST" not in os.environ:
        with open(testenv, encoding="utf-8") as fh:
            os.environ["DOCKER_HOST"] = json.load(fh)["docker_host"]
    from dockdoctor.app import diagnose, resolve_targets
    from dockdoctor.checks import ALL_CHECKS
    from dockdoctor.probes import GatherOptions, gather
    from dockdoctor.redact import redact
    from dockdoctor.render import Format, RenderOptions, renderer_for

    with tempfile.TemporaryDirectory(prefix="dockdoctor-bench-") as folder:
        (Path(folder) / "compose.yaml").write_text(COMPOSE)
        (Path(folder) / "Dockerfile").write_text("ARG NPM_TOKEN=t0ken\nFROM node:20\n")
        facts = gather(GatherOptions(timeout=8, keep_raw=True, project_dir=folder))
    lean = dataclasses.replace(facts, raw=())
    report = diagnose(redact(lean), targets=resolve_targets(lean, ()), checks=ALL_CHECKS)
    chars = sum(len(a.text) for a in facts.raw)
    print(f"{len(facts.raw)} raw answers ({chars} characters), {len(report.findings)} findings, {runs} runs each")
    print(f"redact, facts with raw answers (report): {_median_ms(lambda: redact(facts), runs):7.2f} ms")
    print(f"redact, facts without them (check):      {_median_ms(lambda: redact(lean), runs):7.2f} ms")
    for fmt in (Format.TEXT, Format.MARKDOWN, Format.JSON):
        took = _median_ms(functools.partial(renderer_for(fmt), report, RenderOptions()), runs)
        print(f"render {fmt.value:8}                         {took:7.2f} ms")


if __name__ == "__main__":
    main()
