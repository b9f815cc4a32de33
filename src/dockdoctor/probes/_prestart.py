"""A head start for the few fixed commands `check` runs: spawned before the imports, claimed by the probes.

`dockdoctor check` always runs `docker compose version`, `docker buildx version` and `docker buildx ls --format
json`; each is a process start or two (the docker CLI, then its plugin) that takes longer than the answer it
prints. The CLI calls start() first thing, so those processes run while the interpreter imports the check catalog
and the probes; the subprocess door (probes/_run.py) then claims the process started for exactly its argv (same
environment, nothing on stdin) instead of starting its own, and reads its output as it would have. What no probe
claims is killed and reaped when the command ends (discard()), so nothing outlives it. The entry point starts
them from the raw command line (for_argv()) before click and the model are imported; `check` itself starts
whatever is not started yet once its options are parsed.

Standard library only, and nothing of the model: it runs before the model is imported.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # subprocess where a process is spawned: `inspect` runs none
    import subprocess

from dockdoctor._argv import read

# What `check` runs whenever it gathers with its tools (probes/compose.py, probes/buildx.py), argv exactly as they
# pass it to probes._run.run; tests/probes/test_prestart.py checks that a live check claims every one of them.
CHECK_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("docker", "compose", "version"),
    ("docker", "buildx", "version"),
    ("docker", "buildx", "ls", "--format", "json"),
)

# `check` options that gather nothing (replay, list) or gather otherwise (no engine, a cluster, the fleet)
_NOT_GATHERING = ("from_file", "list_checks", "no_engine", "kube", "all_contexts", "contexts")

_lock = threading.Lock()
_started: dict[tuple[str, ...], subprocess.Popen[str] | OSError] = {}


def for_argv(argv: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """What to start for this command line before click parses it: CHECK_COMMANDS for a `check` that gathers with
    its tools, else nothing. The words as click will read them (dockdoctor._argv); the CLI's own check of the
    parsed options then decides, and discards what it does not claim."""
    words = read(argv)
    if words is None or words.command != "check" or any(words.given(name) for name in _NOT_GATHERING):
        return ()
    return CHECK_COMMANDS


def start(commands: Iterable[tuple[str, ...]]) -> None:
    """Spawn each command now (stdout and stderr piped, stdin empty, this process's environment); a command that
    cannot start keeps its OSError, which the claim raises as subprocess.run would have."""
    import subprocess

    for argv in commands:
        with _lock:
            if argv in _started:
                continue
        try:
            started: subprocess.Popen[str] | OSError = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
            )
        except OSError as err:
            started = err
        with _lock:
            _started[argv] = started


def claim(argv: tuple[str, ...]) -> subprocess.Popen[str] | None:
    """The process started for exactly this argv (taken: each is claimed once), or None; raises the OSError its
    spawn raised."""
    with _lock:
        started = _started.pop(tuple(argv), None)
    if isinstance(started, OSError):
        raise started
    return started


def discard() -> None:
    """Kill and reap every process no probe claimed."""
    import subprocess

    with _lock:
        left = list(_started.values())
        _started.clear()
    for started in left:
        if isinstance(started, subprocess.Popen):
            if started.poll() is None:
                started.kill()
            started.communicate()


def unclaimed() -> tuple[tuple[str, ...], ...]:
    """The argv of every started process not claimed yet (for tests)."""
    with _lock:
        return tuple(_started)


@contextmanager
def head_start(commands: Iterable[tuple[str, ...]]) -> Iterator[None]:
    """start() the commands for the block; whatever is unclaimed at its end is discarded."""
    try:
        start(commands)
        yield
    finally:
        discard()
