"""Issue 17's targets in one go: one table of target, figure, PASS/MISS, and the command that measured each.

Usage: DOCKDOCTOR_TESTENV=/run/dockdoctor-testenv/env.json python bench/targets.py [--runs N] [--startup-runs N]
       [--quiet]

Runs, one after the other on the test environment, bench/registry_speed.py (inspect: cold, warm, memory, the
skopeo / docker manifest / buildx imagetools loops) and bench/check_speed.py (check against the five docker
commands, memory, and the start-up answers through bench/startup.py's measure()), echoing their output (unless
--quiet), then reads the PASS/MISS lines they print and puts issue 17's targets in one table, the other PASS/MISS
lines below it, and the peers' figures beside dockdoctor's. Each bench measures its figures in its own single
run, so each ratio is of numbers taken in that run. --runs N goes to both benches (default: their own, 3 and 7).
Exits 0 when every issue-17 target is met, 1 when one is missed or was not measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VERDICT = re.compile(r"^(PASS|MISS)  (.*)$")


@dataclass(frozen=True)
class Target:
    name: str  # as issue 17 states it
    bench: str  # "registry" or "check"
    line: str  # a regular expression that finds the bench's PASS/MISS line for it
    figure: str  # a regular expression whose groups, joined, are the figure shown


TARGETS = (
    Target("inspect, 50 refs cold <= 1.5x the floor", "registry", r"^cold wall .* of the floor", r"\(is ([\d.]+x)\)"),
    Target(  # the run that needs no network: 404s are never cached, so a run with missing refs asks again
        "inspect warm within TTL, no network needed, <= 3x python -c pass + cache read",
        "registry",
        r"^warm within TTL, the \d+ existing refs only",
        r": (\d+ ms) .*\(is ([\d.]+x)",
    ),
    Target(
        "first registry request before checks/SDK/requests are imported",
        "registry",
        r"^profiled cold run",
        r"first registry request at (\d+ ms)",
    ),
    Target(
        "warm run within TTL imports neither requests nor the SDK",
        "registry",
        r"^profiled warm run",
        r"\((.*?);",
    ),
    Target("peak RSS of inspect, 50 refs < 80 MB", "registry", r"^peak RSS of inspect", r"([\d.]+ MB)"),
    Target("check <= 0.4x the five docker commands", "check", r"^check / shell sequence", r"= ([\d.]+)"),
    Target("peak RSS of check, 20-service project <= 80 MB", "check", r"^peak RSS of check", r"([\d.]+ MB)"),
    *(
        Target(
            f"{name} <= 15 ms beyond the interpreter",
            "check",
            rf"^{re.escape(name)}: ",
            r": (-?[\d.]+ ms) beyond.*?(CPU [+-][\d.]+ ms)",
        )
        for name in (
            "dockdoctor --version",
            "dockdoctor --help",
            "dockdoctor check --help",
            "dockdoctor inspect --help",
            "docker-doctor docker-cli-plugin-metadata",
        )
    ),
)
# The peers' lines the benches print: (label, bench, regular expression with the wall in ms as its group)
PEERS = (
    ("dockdoctor inspect, 50 refs, cold", "registry", r"^dockdoctor inspect cold\s+(\d+) ms"),
    ("skopeo inspect --raw, a loop of 50", "registry", r"^skopeo inspect --raw loop\s+(\d+) ms"),
    ("docker manifest inspect, a loop of 50", "registry", r"^docker manifest inspect loop\s+(\d+) ms"),
    (
        "docker buildx imagetools inspect, a loop of 50",
        "registry",
        r"^docker buildx imagetools inspect loop\s+(\d+) ms",
    ),
    ("dockdoctor check", "check", r"^\s+dockdoctor check\s+median\s+([\d.]+) ms"),
    ("the five docker commands, in one shell", "check", r"^\s+shell: .*median\s+([\d.]+) ms"),
)


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({model or 'model unknown'}), "
        f"Python {platform.python_version()}; load average at the start {load}"
    )


def run_bench(argv: list[str], quiet: bool) -> tuple[int, list[str], float]:
    """Run one bench, echoing its output as it comes; its exit code, its lines, its wall time."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=BENCH.parent)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if not quiet:
            sys.stdout.write(line)
            sys.stdout.flush()
    return proc.wait(), lines, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, help="runs of each measured phase, for both benches")
    parser.add_argument("--startup-runs", type=int, default=30, help="rounds of the start-up cases")
    parser.add_argument("--quiet", action="store_true", help="print only the tables, not the benches' output")
    args = parser.parse_args()
    if args.runs is not None and not 1 <= args.runs <= 20:
        parser.error("--runs 1..20 (registry_speed.py's limit)")
    envfile = os.environ.get("DOCKDOCTOR_TESTENV", "")
    if not envfile or not os.path.exists(envfile):
        parser.error("DOCKDOCTOR_TESTENV must name the test environment's env.json")
    runs = ["--runs", str(args.runs)] if args.runs is not None else []
    commands = {
        "registry": [sys.executable, "bench/registry_speed.py", *runs],
        "check": [sys.executable, "bench/check_speed.py", *runs, "--startup-runs", str(args.startup_runs)],
    }
    print(f"machine: {machine()}")
    outputs: dict[str, list[str]] = {}
    for name, argv in commands.items():
        shown = f"DOCKDOCTOR_TESTENV={envfile} {shlex.join(['python', *argv[1:]])}"
        print(f"\n=== {shown}", flush=True)
        code, lines, wall = run_bench(argv, args.quiet)
        outputs[name] = lines
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"=== exit {code} after {wall:.0f} s; load average now {load}", flush=True)
    return report(commands, outputs, envfile)


def report(commands: dict[str, list[str]], outputs: dict[str, list[str]], envfile: str) -> int:
    verdicts = {
        name: [(m.group(1), m.group(2)) for m in map(VERDICT.match, lines) if m] for name, lines in outputs.items()
    }
    used: set[tuple[str, str]] = set()
    rows = []
    for target in TARGETS:
        found = next(((v, t) for v, t in verdicts[target.bench] if re.search(target.line, t)), None)
        if found is None:
            rows.append((target.name, "not measured", "MISS", target.bench))
            continue
        used.add((target.bench, found[1]))
        shown = re.search(target.figure, found[1])
        rows.append((target.name, " / ".join(shown.groups()) if shown else found[1], found[0], target.bench))
    print()
    print(f"issue 17's targets (one run of each bench; DOCKDOCTOR_TESTENV={envfile}):")
    wide = max(len(name) for name, *_ in rows)
    across = max(len(figure) for _, figure, *_ in rows)
    print(f"  {'target':{wide}}  {'figure':{across}}  verdict  bench")
    for name, figure, verdict, bench in rows:
        print(f"  {name:{wide}}  {figure:{across}}  {verdict:7}  {bench}")
    floors = [line[len("info  ") :] for line in outputs["registry"] if line.startswith("info  import floor")]
    if floors:
        print()
        print("what a warm run cannot import less than (same registry bench run):")
        for line in floors:
            print(f"  {line}")
    other = [(b, v, t) for b, vs in verdicts.items() for v, t in vs if (b, t) not in used]
    if other:
        print()
        print("the benches' other PASS/MISS lines:")
        for bench, verdict, text in other:
            print(f"  {verdict}  [{bench}] {text}")
    print()
    print("beside the peers (wall, ms, from the same runs):")
    walls: dict[str, float] = {}
    for label, bench, pattern in PEERS:
        wall = next((float(m.group(1)) for m in (re.search(pattern, x) for x in outputs[bench]) if m), None)
        if wall is None:
            print(f"  {label:50} not measured (not installed?)")
            continue
        walls[label] = wall
        mine = "dockdoctor inspect, 50 refs, cold" if bench == "registry" else "dockdoctor check"
        ratio = f"{wall / walls[mine]:6.2f}x dockdoctor's" if mine in walls and label != mine else ""
        print(f"  {label:50} {wall:8.0f} ms  {ratio}")
    print()
    print("commands (from the repository root):")
    for argv in commands.values():
        print(f"  DOCKDOCTOR_TESTENV={envfile} {shlex.join(['python', *argv[1:]])}")
    return 0 if all(verdict == "PASS" for _, _, verdict, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
