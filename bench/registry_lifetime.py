"""Benchmark: how long `dockdoctor inspect` and `check` live against hostile registries, beside their --timeout.

Usage: python bench/registry_lifetime.py [--timeout 3] [--runs 3] [--sigint 40]
Every registry is served on 127.0.0.1 by tests/support/servers.py; the engine is a socket that does not exist
(so only the registry costs time). Prints the median and the worst lifetime per registry and command, and with
--sigint N how many of N runs interrupted by one Ctrl-C (at random moments while a registry trickles) exit 130.
Nothing is asserted: the tests assert behaviour, this measures it.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from clirun import isolated_env  # noqa: E402
from support.servers import (  # noqa: E402
    OCI_INDEX,
    OCI_MANIFEST,
    Answer,
    documents,
    hanging_server,
    index_doc,
    manifest_doc,
    registry_server,
    sha256,
)

AMD64 = {"os": "linux", "architecture": "amd64"}


def _fan_out(children: int, entries: int, *, fetchable: bool = True) -> Callable[[str, str], Answer]:
    docs: dict[str, tuple[str, bytes]] = {}
    digests = []
    for c in range(children):
        if fetchable:
            child = index_doc([(sha256(f"{c}-{e}".encode()), OCI_MANIFEST, AMD64) for e in range(entries)])
            docs[f"manifests/{sha256(child)}"] = (OCI_INDEX, child)
            digests.append(sha256(child))
        else:  # the children are never asked for: the top index alone is over the limit
            digests.append(sha256(f"child-{c}".encode()))
    docs["manifests/1"] = (OCI_INDEX, index_doc([(d, OCI_INDEX, None) for d in digests]))
    return documents(docs)


def _token_trickle() -> Callable[[str, str], Answer]:
    holder: dict[str, str] = {}

    def route(method: str, path: str) -> Answer:
        if path.startswith("/token"):
            return Answer(200, {"Content-Type": "application/json"}, b'{"token": "t"}' * 50, trickle=2.0)
        return Answer(401, {"WWW-Authenticate": f'Bearer realm="http://{holder["host"]}/token",service="x"'}, b"")

    route.holder = holder  # type: ignore[attr-defined]
    return route


def registries(tmp: Path) -> dict[str, Callable[[], contextlib.AbstractContextManager[str]]]:
    """name -> a context manager yielding the registry's host:port."""
    victim = tmp / "victim"
    victim.write_text("precious")
    traversal = "sha256:" + "../" * 16 + str(victim).lstrip("/")
    index = index_doc([(sha256(b"a"), OCI_MANIFEST, AMD64)])

    def served(route: Callable[[str, str], Answer]) -> Callable[[], contextlib.AbstractContextManager[str]]:
        @contextlib.contextmanager
        def start() -> Iterator[str]:
            with registry_server(route) as reg:
                if hasattr(route, "holder"):
                    route.holder["host"] = reg.host  # type: ignore[attr-defined]
                yield reg.host

        return start

    @contextlib.contextmanager
    def hanging() -> Iterator[str]:
        with hanging_server() as port:
            yield f"127.0.0.1:{port}"

    return {
        "traversal index child": served(
            documents({"manifests/1": (OCI_INDEX, index_doc([(traversal, OCI_INDEX, None)]))})
        ),
        "traversal config": served(documents({"manifests/1": (OCI_MANIFEST, manifest_doc(traversal))})),
        "digest shake_128": served(
            documents({"manifests/1": (OCI_INDEX, index_doc([("shake_128:" + "a" * 64, OCI_MANIFEST, AMD64)]))})
        ),
        "100000 [": served(lambda m, p: Answer(200, {"Content-Type": OCI_MANIFEST}, b"[" * 100_000)),
        "fan-out 3000 children": served(_fan_out(3000, 3000, fetchable=False)),
        "fan-out 40 x 1": served(_fan_out(40, 1)),
        "fan-out 3 x 600": served(_fan_out(3, 600)),
        "503 Retry-After 99999": served(lambda m, p: Answer(503, {"Retry-After": "99999"}, b"")),
        "503 Retry-After 8": served(lambda m, p: Answer(503, {"Retry-After": "8"}, b"")),
        "trickle headers 1 B/2 s": served(lambda m, p: Answer(200, {"Content-Type": OCI_INDEX}, index, trickle=2.0)),
        "trickle body 1 B/2 s": served(
            lambda m, p: Answer(200, {"Content-Type": OCI_INDEX}, index, trickle=2.0, trickle_headers=False)
        ),
        "trickle token server": served(_token_trickle()),
        "accepts, never answers": hanging,
        "stuck credential helper": served(lambda m, p: Answer(401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")),
    }


def _helper_env(tmp: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment of a user whose credsStore is a helper that never answers (`sleep 60`)."""
    bin_dir, config = tmp / "helper-bin", tmp / "helper-config"
    bin_dir.mkdir(exist_ok=True)
    config.mkdir(exist_ok=True)
    helper = bin_dir / "docker-credential-stuck"
    helper.write_text("#!/bin/sh\nexec sleep 60\n")
    helper.chmod(0o755)
    (config / "config.json").write_text('{"credsStore": "stuck"}')
    return {**env, "PATH": f"{bin_dir}:{env.get('PATH', '')}", "DOCKER_CONFIG": str(config)}


def _argv(command: str, host: str, timeout: float, project: Path) -> list[str]:
    ref = f"{host}/x/y:1"
    if command == "inspect":
        return [sys.executable, "-m", "dockdoctor", "inspect", "--json", "--timeout", str(timeout), ref]
    (project / "Dockerfile").write_text(f"FROM {ref}\n")
    return [sys.executable, "-m", "dockdoctor", "check", "--json", "--timeout", str(timeout), "--project", str(project)]


def lifetimes(timeout: float, runs: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dockdoctor-bench-"))
    env = isolated_env(tmp, DOCKER_HOST=f"unix://{tmp}/no-engine.sock", DOCKDOCTOR_CACHE_DIR=str(tmp / "cache"))
    project = tmp / "project"
    project.mkdir()
    print(f"process lifetime (s) with --timeout {timeout:g}; bound {timeout + 2:g}; {runs} runs each")
    print(f"{'registry':28} {'command':8} {'median':>7} {'worst':>7}  exit")
    for name, start in registries(tmp).items():
        for command in ("inspect", "check"):
            times, codes = [], set()
            run_env = _helper_env(tmp, env) if "credential helper" in name else env
            with start() as host:
                for _ in range(runs):
                    began = time.perf_counter()
                    proc = subprocess.run(
                        _argv(command, host, timeout, project),
                        env=run_env,
                        cwd=tmp,
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        timeout=120,
                    )
                    times.append(time.perf_counter() - began)
                    codes.add(proc.returncode)
                    if b"Traceback" in proc.stderr:
                        codes.add("traceback")
            print(
                f"{name:28} {command:8} {statistics.median(times):7.2f} {max(times):7.2f}  "
                f"{','.join(map(str, sorted(codes, key=str)))}"
            )
    print("victim file intact:", (tmp / "victim").read_text() == "precious")


def sigints(count: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dockdoctor-bench-"))
    env = isolated_env(tmp, DOCKER_HOST=f"unix://{tmp}/no-engine.sock", DOCKDOCTOR_CACHE_DIR=str(tmp / "cache"))
    index = index_doc([(sha256(b"a"), OCI_MANIFEST, AMD64)])
    codes: dict[int, int] = {}
    exits: list[float] = []
    early: list[float] = []  # the delays after start of the runs that did not exit 130
    with registry_server(lambda m, p: Answer(200, {"Content-Type": OCI_INDEX}, index, trickle=2.0)) as reg:
        for i in range(count):
            proc = subprocess.Popen(
                [sys.executable, "-m", "dockdoctor", "inspect", "--timeout", "60", f"{reg.host}/x/y:{i}"],
                env=env,
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            delay = random.uniform(0.05, 1.5)  # from start-up to well inside the registry wait
            time.sleep(delay)
            sent = time.perf_counter()
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            exits.append(time.perf_counter() - sent)
            codes[code] = codes.get(code, 0) + 1
            if code != 130:
                early.append(round(delay, 3))
    print(
        f"one SIGINT at a random moment, {count} runs: exit codes {codes} "
        f"(negative: ended by the signal); SIGINT to exit: median {statistics.median(exits):.3f} s, "
        f"worst {max(exits):.3f} s; delays after start of those that did not exit 130: {early}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sigint", type=int, default=0, metavar="N")
    args = parser.parse_args()
    lifetimes(args.timeout, args.runs)
    if args.sigint:
        sigints(args.sigint)


if __name__ == "__main__":
    main()
