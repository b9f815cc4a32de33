"""A spinner on standard error naming what the run waits for: only on a terminal, only once a wait passes 0.5 s.

The decisions (whether to spin at all, what line to show at a moment) are pure functions; `Spinner` only keeps
the current waits, ticks in a daemon thread and writes what `line()` says.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TextIO

from dockdoctor.console.terminal import stream_is_tty

DELAY = 0.5  # seconds a wait lasts before the spinner shows it: a quick run never shows one
TICK = 0.1  # seconds between frames
FRAMES = "|/-\\"
WHAT = {
    "host": "this machine's facts",
    "engine": "the Docker engine",
    "project": "the project scan",
    "images": "the engine's images",
    "registry": "the registries",
    "deep": "the image layers (--deep)",
    "compose": "docker compose",
    "buildx": "docker buildx",
    "contexts": "the docker contexts",
    "emulation": "the emulation probe",
}


def spins(*, stderr_tty: bool, environ: Mapping[str, str], quiet: int = 0) -> bool:
    """Whether a run shows a spinner: standard error is a terminal that can redraw a line (not TERM=dumb), and
    the run was not asked to print nothing but its exit code (`-q -q`)."""
    return stderr_tty and environ.get("TERM") != "dumb" and quiet < 2


def describe(what: str) -> str:
    """A wait's name in words: `engine` is the Docker engine; any other name (a docker context's) made visible."""
    from dockdoctor.render.safe import visible

    return WHAT.get(what) or visible(what)


def line(waits: Sequence[tuple[str, float]], now: float, *, frame: int = 0) -> str | None:
    """What to show at `now` for the waits under way, (name, since) oldest first; None: show nothing (none is
    under way, or none has lasted DELAY seconds yet)."""
    if not waits:
        return None
    since = min(start for _, start in waits)
    if now - since < DELAY:
        return None
    names = ", ".join(dict.fromkeys(describe(what) for what, _ in waits))
    return f"{FRAMES[frame % len(FRAMES)]} waiting for {names} ({now - since:.0f} s)"


class Spinner:
    """The current waits, and a daemon thread that redraws the spinner line on `stream` every TICK seconds."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._waits: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._shown = False
        self._frame = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hear(self, what: str, started: bool) -> None:
        """A progress listener (dockdoctor.progress): a wait started or ended."""
        with self._lock:
            if started:
                self._waits.append((what, self._clock()))
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="spinner", daemon=True)
                    self._thread.start()
                return
            for i, (name, _) in enumerate(self._waits):
                if name == what:
                    del self._waits[i]
                    break
            if not self._waits:
                self._draw(None)

    def draw(self) -> None:
        """Show the line for now (called by the thread each tick)."""
        with self._lock:
            self._frame += 1
            self._draw(line(self._waits, self._clock(), frame=self._frame))

    def close(self) -> None:
        """Stop ticking and leave the terminal line empty."""
        self._stop.set()
        with self._lock:
            self._waits.clear()
            self._draw(None)

    def _draw(self, text: str | None) -> None:
        if text is None and not self._shown:
            return
        try:
            self._stream.write("\r" + (text or "") + "\x1b[K")
            self._stream.flush()
        except (OSError, ValueError):  # the terminal went away: the run goes on without its spinner
            self._stop.set()
        self._shown = text is not None

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            self.draw()


@contextmanager
def spinning(*, quiet: int = 0) -> Iterator[None]:
    """Show a spinner on standard error while the block runs, when spins() says so."""
    from dockdoctor.progress import listening

    if not spins(stderr_tty=stream_is_tty(sys.stderr), environ=os.environ, quiet=quiet):
        yield
        return
    spinner = Spinner(sys.stderr)
    try:
        with listening(spinner.hear):
            yield
    finally:
        spinner.close()
