"""Benchmark: issue 17's start-up answers, each against the interpreter, in one run.

Usage: python bench/startup.py [--runs N]

N rounds, after one that is not counted (it writes the byte code into a folder of the bench's own, as `pip install`
compiles it); in every round each case runs just after its baseline, and its figure is the median of those N paired
differences of wall time (a busy moment slows both runs of a pair), with the same for CPU time (user + system of
the child, from wait4) beside it: on a loaded machine the wall medians of a 15 ms process swing by tens of ms, the
CPU figures do not. Medians of wall, minimum and CPU of every case are printed too, in ms.

Targets, each <= 15 ms beyond the interpreter:
  dockdoctor --version, --help, check --help, inspect --help: run as a user runs them, through the console script
      `pip install` writes (pip's template, which imports re: pypa/pip#13165, pypa/distlib#239), against the same
      script calling a main() that does nothing: the interpreter plus pip's wrapper, which every pip-installed
      command pays and dockdoctor cannot change.
  docker-doctor docker-cli-plugin-metadata: run as the docker CLI runs it (for every `docker --help` and every
      completion), through the launcher `dockdoctor plugin install` writes, against `python -c pass`: that
      launcher (a /bin/sh line that execs python -c) is ours, so all of it counts.
Also printed, without a target: every case against `python -c pass`; `python -m dockdoctor ...` against `python
-m` of an empty package (runpy, importlib.util and contextlib: ~7-8 ms of CPU here that -m costs any package
and that neither the console script nor the launcher pays); `docker --help` without and with the plugin installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import Run, bench_env, run  # noqa: E402

METADATA = "docker-cli-plugin-metadata"
BUDGET_MS = 15.0
COMMANDS = (("--version",), ("--help",), ("check", "--help"), ("inspect", "--help"))
# pip 23.2's console script, as pip/_vendor/distlib/scripts.py SCRIPT_TEMPLATE writes it
PIP_SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from {module} import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""
NOOP = "dockdoctor_bench_noop"  # an empty package: __init__ with a main() returning 0, __main__ calling it


@dataclass
class Case:
    label: str
    argv: list[str]
    base: str = ""  # the label of the case it is measured against, run just before it in every round
    target: bool = False
    env: dict[str, str] | None = None  # else the bench's
    runs: list[Run] = field(default_factory=list)
    over: list[float] = field(default_factory=list)  # ms beyond its base, round by round
    over_cpu: list[float] = field(default_factory=list)  # the same in CPU time (user + system)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs) * 1000

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs) * 1000

    @property
    def extra(self) -> float:
        """The median of the paired differences: each run against its base's run just before it, so a busy
        moment of the machine slows both sides of a pair."""
        return statistics.median(self.over)

    @property
    def extra_cpu(self) -> float:
        """The same in CPU time: what waiting for a busy machine's CPUs leaves out."""
        return statistics.median(self.over_cpu)


@dataclass
class Startup:
    runs: int
    python: str
    cases: list[Case]

    def case(self, label: str) -> Case:
        return next(c for c in self.cases if c.label == label)

    def beyond_bare(self, c: Case) -> float:
        """ms beyond `python -c pass`: the paired differences added up along the chain of baselines."""
        return c.extra + self.beyond_bare(self.case(c.base)) if c.base else 0.0

    def verdicts(self) -> list[tuple[bool, str, float]]:
        """(met, the PASS/MISS line's text, ms beyond its baseline) for each target."""
        out = []
        for c in self.cases:
            if c.target:
                text = f"{c.label}: {c.extra:.1f} ms beyond {c.base} (<= {BUDGET_MS:g}; CPU {c.extra_cpu:+.1f} ms)"
                if self.case(c.base).base:
                    text += f"; {self.beyond_bare(c):.1f} ms beyond python -c pass"
                out.append((c.extra <= BUDGET_MS, text, c.extra))
        return out

    def lines(self) -> list[str]:
        """The table: every case's median wall and CPU, and what it costs beyond its baseline and `python -c pass`."""
        bare = self.case("python -c pass")
        out = [  # "vs -c pass": the paired differences added up along the chain of baselines
            f"start-up: {self.runs} rounds, every case run just after its baseline; medians, ms; "
            f"python {sys.version.split()[0]} ({self.python})",
            f"  {'case':50} {'wall':>6} {'min':>6} {'CPU':>6} {'vs -c pass':>10}  "
            "beyond its baseline (paired: wall, CPU)",
        ]
        for c in self.cases:
            walls = [r.wall * 1000 for r in c.runs]
            over = f"{self.beyond_bare(c):+10.1f}" if c is not bare and not c.label.startswith("docker ") else ""
            base = f"{c.extra:+6.1f} {c.extra_cpu:+6.1f} over {c.base}" if c.base else ""
            out.append(f"  {c.label:50} {c.wall:6.1f} {min(walls):6.1f} {c.cpu:6.1f} {over:>10}  {base}")
        return out


def measure(runs: int, base_env: dict[str, str] | None = None) -> Startup:
    """Time every case `runs` times in turn, in a temporary HOME with the plugin launcher installed."""
    work = tempfile.mkdtemp(prefix="dockdoctor-startup-")
    try:
        return _measure(runs, dict(os.environ if base_env is None else base_env), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure(runs: int, base_env: dict[str, str], work: str) -> Startup:
    py = sys.executable
    env = {k: v for k, v in base_env.items() if not k.startswith(("DOCKER_", "DOCKDOCTOR_"))}
    env = bench_env(env, os.path.join(work, "pycache"))
    env.update(HOME=work, DOCKER_CONFIG=os.path.join(work, "docker"), COLUMNS="100")
    env.pop("_DOCKDOCTOR_COMPLETE", None)
    bare_docker = dict(env, DOCKER_CONFIG=os.path.join(work, "docker-without-plugin"))
    installed = run([py, "-m", "dockdoctor", "plugin", "install"], env, capture=True, cwd=work)
    if installed.returncode:
        raise SystemExit(f"`dockdoctor plugin install` failed: {installed.stderr.decode(errors='replace')}")
    launcher = os.path.join(env["DOCKER_CONFIG"], "cli-plugins", "docker-doctor")
    os.makedirs(os.path.join(work, NOOP))
    Path(work, NOOP, "__init__.py").write_text("def main() -> int:\n    return 0\n", encoding="utf-8")
    Path(work, NOOP, "__main__.py").write_text(f"import sys\nfrom {NOOP} import main\nsys.exit(main())\n", "utf-8")
    scripts = {}
    for name, module in (("dockdoctor", "dockdoctor._entry"), ("noop", NOOP)):
        scripts[name] = os.path.join(work, name)  # the script's folder is sys.path[0]: the no-op package is found
        Path(scripts[name]).write_text(PIP_SCRIPT.format(python=py, module=module), encoding="utf-8")
        os.chmod(scripts[name], 0o755)

    pip_base = "pip's script, no-op main()"
    m_base = f"python -m {NOOP}"
    bare = "python -c pass"
    cases = [
        Case(bare, [py, "-c", "pass"]),
        Case(pip_base, [scripts["noop"]], bare),
        Case(m_base, [py, "-m", NOOP], bare),
        *(Case(f"dockdoctor {' '.join(a)}", [scripts["dockdoctor"], *a], pip_base, target=True) for a in COMMANDS),
        Case(f"docker-doctor {METADATA}", [launcher, METADATA], bare, target=True),
        *(Case(f"python -m dockdoctor {' '.join(a)}", [py, "-m", "dockdoctor", *a], m_base) for a in COMMANDS),
        Case(f"python -m dockdoctor {METADATA}", [py, "-m", "dockdoctor", METADATA], m_base),
    ]
    docker = shutil.which("docker")
    if docker:
        cases.append(Case("docker --help, no docker-doctor", [docker, "--help"], env=bare_docker))
        cases.append(Case("docker --help, with docker-doctor", [docker, "--help"], "docker --help, no docker-doctor"))
    by_label = {c.label: c for c in cases}
    for c in cases:  # the uncounted round: byte code written, files in the page cache
        result = run(c.argv, c.env or env, capture=True, cwd=work)
        if result.returncode:
            raise SystemExit(f"{c.label} failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
    for _ in range(runs):
        for c in cases:
            if not c.base:
                continue
            base = by_label[c.base]
            before = run(base.argv, base.env or env, cwd=work)
            after = run(c.argv, c.env or env, cwd=work)
            base.runs.append(before)
            c.runs.append(after)
            c.over.append((after.wall - before.wall) * 1000)
            c.over_cpu.append((after.cpu - before.cpu) * 1000)
    return Startup(runs, py, cases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if not 1 <= args.runs <= 500:
        parser.error("--runs 1..500")
    result = measure(args.runs)
    print("\n".join(result.lines()))
    print()
    for ok, text, _ in result.verdicts():
        print(f"{'PASS' if ok else 'MISS'}  {text}")
    return 0 if all(ok for ok, _, _ in result.verdicts()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
