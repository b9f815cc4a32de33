"""What a run is waiting for: probes name each wait, and a listener (the CLI's spinner) may show it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, bool], None]  # (what is waited for, True when the wait starts / False when it ends)

_listeners: list[Listener] = []
_lock = threading.Lock()


@contextmanager
def waiting(what: str) -> Iterator[None]:
    """Around a blocking wait: every listener hears its start and its end (also when it raises)."""
    with _lock:
        listeners = tuple(_listeners)
    for listener in listeners:
        listener(what, True)
    try:
        yield
    finally:
        for listener in listeners:
            listener(what, False)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Hear the waits that start while the block runs."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
