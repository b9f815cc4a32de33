"""What the benches share: a child run with its wall time and peak RSS, and the --profile timeline of one run.

Peak RSS comes from wait4(2) on the child (ru_maxrss, KiB on Linux), so it costs the measured run nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROFILE_RUNNER = BENCH / "_profile_run.py"


@dataclass
class Run:
    wall: float
    returncode: int
    stdout: bytes = b""
    stderr: bytes = b""
    max_rss_kib: int = 0
    timed_out: bool = False
    cpu: float = 0.0  # seconds of CPU (user + system) the child used: a figure the machine's load barely moves


def run(
    argv: list[str],
    env: dict[str, str] | None = None,
    *,
    capture: bool = False,
    timeout: float = 120.0,
    cwd: str | None = None,
) -> Run:
    """Run argv; wall time from just before the spawn to the child's exit, and its peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE if capture else subprocess.DEVNULL,
    )
    chunks: dict[str, bytes] = {"out": b"", "err": b""}

    def drain(name: str, stream) -> None:  # noqa: ANN001
        chunks[name] = stream.read()

    readers = []
    if capture:
        for name, stream in (("out", proc.stdout), ("err", proc.stderr)):
            reader = threading.Thread(target=drain, args=(name, stream), daemon=True)
            reader.start()
            readers.append(reader)
    killed = []
    timer = threading.Timer(timeout, lambda: (killed.append(True), proc.kill()))
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return Run(
        wall=wall,
        returncode=proc.returncode,
        stdout=chunks["out"],
        stderr=chunks["err"],
        max_rss_kib=usage.ru_maxrss,
        timed_out=bool(killed),
        cpu=usage.ru_utime + usage.ru_stime,
    )


@dataclass
class Profile:
    """One run's timeline through bench/_profile_run.py, in ms from the spawn."""

    wall: float
    events: list[dict] = field(default_factory=list)
    imported: dict[str, bool] = field(default_factory=dict)
    python_up: float = 0.0  # ms from spawn until the runner's first line ran (the interpreter's start-up)
    max_rss_kib: int = 0
    error: str = ""

    def first(self, kind: str, prefix: str) -> float | None:
        times = [e["start"] for e in self.events if e["kind"] == kind and str(e["name"]).startswith(prefix)]
        return min(times) if times else None

    def last(self, kind: str, prefix: str) -> float | None:
        times = [e["start"] for e in self.events if e["kind"] == kind and str(e["name"]).startswith(prefix)]
        return max(times) if times else None

    def import_began(self, module: str) -> float | None:
        return self.first("import", module)

    def phase(self, name: str) -> tuple[float, float] | None:
        for e in self.events:
            if e["kind"] == "phase" and e["name"] == name:
                return e["start"], e["end"] if e["end"] is not None else e["start"]
        return None

    def probes(self) -> list[tuple[str, float, float]]:
        rows = [(str(e["name"]), e["start"], e["end"]) for e in self.events if e["kind"] == "probe"]
        return sorted(rows, key=lambda r: r[1])

    def lines(self, title: str) -> list[str]:
        """The per-phase timeline: imports, probes, first request, last response, render."""
        rss = self.max_rss_kib / 1024
        out = [f"  timeline of {title} (ms from spawn; wall {self.wall:.0f} ms, peak RSS {rss:.1f} MB):"]
        out.append(f"    {0:7.0f} .. {self.python_up:7.0f}  interpreter start-up (until the first line ran)")
        rows: list[tuple[float, str]] = []
        for e in self.events:
            start, end = e["start"], e["end"]
            if e["kind"] == "import":
                rows.append((start, f"    {start:7.0f}             import {e['name']} begins"))
            elif e["kind"] in ("phase", "probe"):
                rows.append((start, f"    {start:7.0f} .. {end:7.0f}  {e['kind']} {e['name']} ({end - start:.0f} ms)"))
        for kind, where in (("request", "registry"), ("request", "engine")):
            first = self.first(kind, where)
            if first is not None:
                count = sum(1 for e in self.events if e["kind"] == kind and str(e["name"]).startswith(where))
                rows.append((first, f"    {first:7.0f}             first {where} request ({count} in all)"))
        for where in ("registry", "engine"):
            last = self.last("response", where)
            if last is not None:
                rows.append((last, f"    {last:7.0f}             last {where} response head"))
        rows.append((self.wall, f"    {self.wall:7.0f}             exit"))
        out += [text for _, text in sorted(rows, key=lambda r: r[0])]
        heavy = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in self.imported.items())
        out.append(f"    imported at all: {heavy}")
        return out


def profile(argv: list[str], env: dict[str, str], *, timeout: float = 120.0, cwd: str | None = None) -> Profile:
    """Run `dockdoctor ARGV` once through the profiling runner; its timeline relative to the spawn."""
    with tempfile.TemporaryDirectory(prefix="dockdoctor-profile-") as folder:
        out = os.path.join(folder, "profile.json")
        spawn = time.time()
        result = run([sys.executable, str(PROFILE_RUNNER), out, *argv], env, capture=True, timeout=timeout, cwd=cwd)
        try:
            with open(out, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            err = result.stderr.decode("utf-8", "replace")[-300:]
            return Profile(wall=result.wall * 1000, error=f"no profile written (exit {result.returncode}): {err}")
    events = [
        {**e, "start": (e["start"] - spawn) * 1000, "end": None if e["end"] is None else (e["end"] - spawn) * 1000}
        for e in data["events"]
    ]
    return Profile(
        wall=result.wall * 1000,
        events=events,
        imported=data["imported"],
        python_up=(data["t_start"] - spawn) * 1000,
        max_rss_kib=result.max_rss_kib,
    )


def bench_env(env: dict[str, str], pycache: str) -> dict[str, str]:
    """The environment for measured runs: byte-code cached (as an installed package has it) in a folder of the
    bench's own, whatever PYTHONDONTWRITEBYTECODE says, so no run pays for compiling the sources."""
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out["PYTHONPYCACHEPREFIX"] = pycache
    src = str(BENCH.parent / "src")
    if os.path.isdir(os.path.join(src, "dockdoctor")):  # the worktree's sources, as tests/clirun.py runs them
        out["PYTHONPATH"] = src + (os.pathsep + out["PYTHONPATH"] if out.get("PYTHONPATH") else "")
    return out
