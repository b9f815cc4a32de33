"""Run `dockdoctor ARGS...` in this process with timing hooks, and write its per-phase timeline as JSON.

Usage (by the benches' --profile): python bench/_profile_run.py OUT.json ARGS...
Every time is `time.time()` (the bench subtracts the moment it spawned the process, so the interpreter's own
start-up is the first phase). The hooks live here, in bench/, not in the product: they wrap
probes._pool.Pool.submit (each probe's wall time), probes._run.run and probes._prestart.start (each command from
its spawn to its answer), probes.early.begin, http.client's request/getresponse (the
first registry request, the last registry response, the engine calls), render.renderer_for (render) and the
import of the heavy modules (an audit hook: when each one's import began, and whether it was imported at all).
"""

from __future__ import annotations

import functools
import gc
import json
import os
import sys
import threading
import time

T_START = time.time()
EVENTS: list[dict[str, object]] = []
HEAVY = (
    "click",
    "dockdoctor.cli",
    "dockdoctor.app",
    "dockdoctor.checks",
    "dockdoctor.render",
    "requests",
    "urllib3",
    "docker",
)
_lock = threading.Lock()
_imported: dict[str, float] = {}
SPAWNED: dict[tuple[str, ...], float] = {}  # argv -> when probes/_prestart.py spawned it


def event(kind: str, name: str, start: float, end: float | None = None, **extra: object) -> None:
    with _lock:
        EVENTS.append({"kind": kind, "name": name, "start": start, "end": end, **extra})


def _audit(name: str, args: tuple[object, ...]) -> None:
    if name == "import" and args and isinstance(args[0], str) and args[0] in HEAVY and args[0] not in _imported:
        _imported[args[0]] = time.time()


def _hook_http(http_client: object) -> None:
    http = type("http", (), {"client": http_client})

    original_request = http.client.HTTPConnection.request
    original_response = http.client.HTTPConnection.getresponse

    def where(conn: http.client.HTTPConnection) -> str:
        return "engine" if type(conn).__name__ == "_UnixConnection" else "registry"

    def request(self, method, url, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        event("request", f"{where(self)} {method} {url[:120]}", time.time(), thread=threading.current_thread().name)
        return original_request(self, method, url, *args, **kwargs)

    def getresponse(self):  # noqa: ANN001, ANN202
        resp = original_response(self)
        event("response", f"{where(self)} {resp.status}", time.time(), thread=threading.current_thread().name)
        return resp

    http.client.HTTPConnection.request = request  # type: ignore[method-assign]
    http.client.HTTPConnection.getresponse = getresponse  # type: ignore[method-assign]


def _hook_pool(_pool: object) -> None:
    original_submit = _pool.Pool.submit

    def submit(self, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        name = getattr(fn, "__name__", repr(fn))
        if name in ("inspect", "search"):  # one registry lookup or tag search per reference: too many rows
            return original_submit(self, fn, *args, **kwargs)
        if name == "run" and len(args) > 1:  # the subprocess door submitted as it is: name the command
            name = f"run {' '.join(args[1])}"
        elif name == "_tool" and args:  # probes/compose.py: one compose tool
            name = f"_tool {' '.join(args[0])}"

        @functools.wraps(fn)
        def timed(*a, **k):  # noqa: ANN002, ANN003, ANN202
            start = time.time()
            try:
                return fn(*a, **k)
            finally:
                event("probe", name, start, time.time())

        return original_submit(self, timed, *args, **kwargs)

    _pool.Pool.submit = submit  # type: ignore[attr-defined]


def _hook_prestart(prestart: object) -> None:
    original_start = prestart.start  # type: ignore[attr-defined]

    def start(commands):  # noqa: ANN001, ANN202
        for argv in commands:
            t = time.time()
            original_start([argv])
            SPAWNED.setdefault(tuple(argv), t)

    prestart.start = start  # type: ignore[attr-defined]


def _hook_run(_run: object) -> None:
    """Each command through the subprocess door: from its spawn (a head start's, else the call's) to its answer."""
    original_run = _run.run  # type: ignore[attr-defined]

    def run(probe, argv, **kwargs):  # noqa: ANN001, ANN003, ANN202
        start = time.time()
        spawned = SPAWNED.pop(tuple(argv), None)
        try:
            return original_run(probe, argv, **kwargs)
        finally:
            ahead = spawned is not None and kwargs.get("env") is None and kwargs.get("input") is None
            name = f"{' '.join(argv)[:80]}{' (started ahead)' if ahead else ''}"
            event("command", name, spawned if ahead else start, time.time(), claimed=start)

    _run.run = run  # type: ignore[attr-defined]


def _hook_early(early: object) -> None:
    original_begin = early.begin  # type: ignore[attr-defined]
    seen: set[int] = set()

    def begin(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        start = time.time()
        head = original_begin(*args, **kwargs)
        if head is not None and id(head) in seen:  # the command's begin() finding the entry point's lookups
            return head
        event("phase", "early registry start (inspect)", start, time.time(), started=head is not None)
        if head is not None:
            seen.add(id(head))
            head.result.add_done_callback(lambda _f: event("probe", "registry (early)", start, time.time()))
        return head

    early.begin = begin  # type: ignore[attr-defined]


def _hook_render(render: object) -> None:
    original = render.renderer_for  # type: ignore[attr-defined]

    def renderer_for(fmt):  # noqa: ANN001, ANN202
        inner = original(fmt)

        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            start = time.time()
            try:
                return inner(*args, **kwargs)
            finally:
                event("phase", "render", start, time.time())

        return timed

    render.renderer_for = renderer_for  # type: ignore[attr-defined]


PATCHES = {
    "http.client": _hook_http,
    "dockdoctor.probes._prestart": _hook_prestart,
    "dockdoctor.probes._run": _hook_run,
    "dockdoctor.probes._pool": _hook_pool,
    "dockdoctor.probes.early": _hook_early,
    "dockdoctor.render": _hook_render,
}


class _AfterImport:
    """Patches a module right after it is first imported, so the hooks do not change what is imported when."""

    def find_spec(self, name, path, target=None):  # noqa: ANN001, ANN201
        if name not in PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                break
        else:
            return None
        original = spec.loader.exec_module
        patch = PATCHES.pop(name)

        def exec_module(module):  # noqa: ANN001, ANN202
            original(module)
            patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    sys.argv = ["dockdoctor", *argv]
    sys.addaudithook(_audit)
    gc.disable()  # as cli.run() does
    sys.meta_path.insert(0, _AfterImport())
    t = time.time()
    from dockdoctor import knowledge
    from dockdoctor._codecache import install, kept_table

    install()  # as dockdoctor._entry does before it imports the CLI
    knowledge.keeper = kept_table
    if argv[:1] == ["inspect"]:  # as dockdoctor._entry does: the lookups start before click is imported
        from dockdoctor.probes.early import begin_for_argv

        begin_for_argv(argv)
        event("phase", "entry point: lookups started", t, time.time())
        t = time.time()
    from dockdoctor import cli

    event("phase", "import dockdoctor.cli (click)", t, time.time())
    if argv[:1] == ["check"]:  # as dockdoctor._entry does once the CLI is imported: its commands start ahead
        from dockdoctor.probes._prestart import for_argv, start

        start(for_argv(argv))
    t = time.time()
    code = cli.main()
    event("phase", "cli.main", t, time.time())
    gc.freeze()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    for name, when in _imported.items():
        event("import", name, when)
    heavy = {name: name in sys.modules for name in HEAVY}
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"t_start": T_START, "t_end": time.time(), "events": EVENTS, "imported": heavy}, fh)
    os._exit(code)


if __name__ == "__main__":
    main()
