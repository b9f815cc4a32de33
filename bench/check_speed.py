"""Benchmark: `dockdoctor check` beside the commands a person would type, each probe's wall time, start-up cost
of the answers that need no command (--version, --help, the plugin metadata) and peak memory.

Usage: python bench/check_speed.py [--runs N] [--startup-runs 30] [--profile] [--services 20]
       (DOCKER_HOST, else DOCKDOCTOR_TESTENV's docker_host, selects the engine; DOCKDOCTOR_TESTENV's registry
       serves the 20-service project's images)
Every ratio is of medians measured in this one run, on the same engine; each target prints PASS or MISS.
  check / the shell sequence of the five docker commands      <= 0.4
  --version, --help, check --help, inspect --help and docker-cli-plugin-metadata, each beyond the interpreter
  as its caller starts it (bench/startup.py, whose measure() this bench runs)     <= 15 ms
  peak RSS of `check --project` on a 20-service compose project <= 80 MB
Each probe's wall time and each command's (from its spawn to its answer) come from one profiled `check`; the
model's import cost (`python -c 'import dockdoctor.model'` beyond `python -c pass`, by turns) gives the estimate
of check once that import is cheap. --profile adds that run's per-phase timeline (imports, probes, commands, first
engine request, last response, render). Byte code is cached in a folder of the bench's own (as an installed
package has it): no run compiles.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import Run, bench_env, profile, run  # noqa: E402
from startup import measure as measure_startup  # noqa: E402

COMMANDS = ("docker info", "docker version", "docker buildx ls", "docker compose version", "docker-compose version")
SHELL_SEQUENCE = "; ".join(COMMANDS)
CHECK_RATIO = 0.4
RSS_BUDGET_MB = 80.0


def _testenv() -> dict:
    path = os.environ.get("DOCKDOCTOR_TESTENV", "")
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    return {}


def _times(argv: list[str], env: dict[str, str], runs: int, cwd: str) -> list[Run]:
    return [run(argv, env, cwd=cwd) for _ in range(runs)]


def _ms(runs: list[Run]) -> float:
    return statistics.median(r.wall for r in runs) * 1000


def _row(name: str, runs: list[Run]) -> str:
    walls = [r.wall * 1000 for r in runs]
    return f"  {name:58} median {statistics.median(walls):8.1f} ms   min {min(walls):8.1f}   max {max(walls):8.1f}"


def _project(folder: Path, testenv: dict, services: int) -> tuple[Path, int]:
    """A compose project of `services` services, each naming an image of the test registry (seeded as
    bench/registry_speed.py seeds them); the number of image references."""
    from registry_speed import Registry, seed

    refs = [r for r in seed(Registry(testenv["registry"]), services * 2) if r.kind != "missing"][:services]
    body = "".join(f"  svc{i}:\n    image: {testenv['registry']}/{ref.path}\n" for i, ref in enumerate(refs))
    (folder / "compose.yaml").write_text(f"services:\n{body}", encoding="utf-8")
    return folder, len(refs)


def _model_share(py: str, env: dict[str, str], runs: int, cwd: str, check_ms: float, shell_ms: float) -> list[str]:
    """What importing the model costs (it all goes before the first probe) and check's ratio without it: `python -c
    'import dockdoctor.model'` and `python -c pass` by turns."""
    bare: list[Run] = []
    model: list[Run] = []
    for _ in range(runs):
        bare.append(run([py, "-c", "pass"], env, cwd=cwd))
        model.append(run([py, "-c", "import dockdoctor.model"], env, cwd=cwd))
    cost = _ms(model) - _ms(bare)
    cheap = check_ms - cost
    return [
        _row("python -c 'import dockdoctor.model' (beside python -c pass)", model) + f"   +{cost:.1f} ms",
        f"  once that import is cheap: check ~ {check_ms:.0f} - {cost:.0f} = {cheap:.0f} ms = {cheap / shell_ms:.2f} "
        "of the shell sequence (an estimate)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print the per-phase timeline of one check")
    parser.add_argument("--services", type=int, default=20, help="services in the memory figure's project")
    parser.add_argument("--startup-runs", type=int, default=30, help="rounds of the start-up cases")
    args = parser.parse_args()
    if not 1 <= args.runs <= 50:
        parser.error("--runs 1..50")
    if not 1 <= args.startup_runs <= 500:
        parser.error("--startup-runs 1..500")
    testenv = _testenv()
    work = tempfile.mkdtemp(prefix="dockdoctor-bench-")
    env = bench_env(dict(os.environ), os.path.join(work, "pycache"))
    if "DOCKER_HOST" not in env and testenv.get("docker_host"):
        env["DOCKER_HOST"] = testenv["docker_host"]
    env["DOCKDOCTOR_CACHE_DIR"] = os.path.join(work, "cache")
    empty = tempfile.mkdtemp(prefix="empty-", dir=work)  # no project to scan: the shell sequence scans none either
    py = sys.executable
    dd = [py, "-m", "dockdoctor"]
    results: list[bool] = []

    def line(ok: bool, text: str) -> None:
        results.append(ok)
        print(f"{'PASS' if ok else 'MISS'}  {text}")

    try:
        print(f"engine: {env.get('DOCKER_HOST', 'default socket')}; runs: {args.runs}; python {sys.version.split()[0]}")
        for argv in ([*dd, "check"], ["bash", "-c", SHELL_SEQUENCE]):
            run(argv, env, cwd=empty)  # compile the byte code, warm the page cache, for both sides
        check = _times([*dd, "check"], env, args.runs, empty)
        shell = _times(["bash", "-c", SHELL_SEQUENCE], env, args.runs, empty)
        each = {c: _times(["bash", "-c", c], env, args.runs, empty) for c in COMMANDS}
        startup = measure_startup(args.startup_runs, env)
        timeline = profile(["check"], env, cwd=empty)

        print()
        print(_row("dockdoctor check", check))
        print(_row(f"shell: {SHELL_SEQUENCE[:50]}...", shell))
        for command, runs in each.items():
            print(_row(f"  {command}", runs))
        ratio = _ms(check) / _ms(shell)
        print()
        print(f"each probe's wall time (one profiled `check`, ms; the slowest bounds the run): {timeline.error}")
        probes = timeline.probes()
        for name, start, end in sorted(probes, key=lambda r: r[1] - r[2]):
            print(f"  {name:28} {end - start:7.1f} ms   (from {start:6.0f} to {end:6.0f} ms after the spawn)")
        if probes:
            first = min(p[1] for p in probes)
            last = max(p[2] for p in probes)
            slowest = max(probes, key=lambda p: p[2] - p[1])
            print(
                f"  probes span {last - first:.0f} ms; the slowest, {slowest[0]}, {slowest[2] - slowest[1]:.0f} ms; "
                f"before the first probe {first:.0f} ms, after the last {timeline.wall - last:.0f} ms"
            )
        commands = timeline.commands()
        if commands:
            print("each command a probe ran (spawn to answer read; `started ahead`: spawned by probes/_prestart.py):")
            for name, start, end in commands:
                print(f"  {name:58} {end - start:7.1f} ms   (from {start:6.0f} to {end:6.0f} ms after the spawn)")
        print("\n".join(_model_share(py, env, args.runs, empty, _ms(check), _ms(shell))))
        print()
        print("\n".join(startup.lines()))
        if shutil.which("docker-compose") is None or shutil.which("docker") is None:
            missing = [t for t in ("docker", "docker-compose") if shutil.which(t) is None]
            print(f"note: not installed here: {', '.join(missing)} (the shell sequence fails fast for them)")

        rss_check = max(r.max_rss_kib for r in check) / 1024
        project_rss = None
        if testenv.get("registry"):
            folder = Path(tempfile.mkdtemp(prefix="project-", dir=work))
            project, n = _project(folder, testenv, args.services)
            proj_runs = [
                run([*dd, "check", "--json", "--project", str(project)], env, capture=True, timeout=300)
                for _ in range(max(1, min(args.runs, 3)))
            ]
            project_rss = max(r.max_rss_kib for r in proj_runs) / 1024
            looked = len(json.loads(proj_runs[0].stdout or b"{}").get("facts", {}).get("images", {}).get("remote", []))
            print()
            print(
                f"check --project (compose, {args.services} services, {n} image references, {looked} looked up): "
                f"median {_ms(proj_runs):.0f} ms, peak RSS {project_rss:.1f} MB"
            )
        print(f"check (no project): peak RSS {rss_check:.1f} MB")

        print()
        line(
            ratio <= CHECK_RATIO,
            f"check / shell sequence = {ratio:.2f} (<= {CHECK_RATIO}): {_ms(check):.0f} ms vs {_ms(shell):.0f} ms",
        )
        for ok, text, _ in startup.verdicts():
            line(ok, text)
        if project_rss is not None:
            line(
                project_rss <= RSS_BUDGET_MB,
                f"peak RSS of check on the {args.services}-service project {project_rss:.1f} MB (<= {RSS_BUDGET_MB:g})",
            )
        else:
            print("note: no DOCKDOCTOR_TESTENV registry: the project memory figure is not measured")
        if args.profile:
            print()
            print("\n".join(timeline.lines("dockdoctor check (profiled)")))
        return 0 if all(results) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
