"""Daemon worker threads for probes: a run that reaches its deadline ends without waiting for any of them."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from dockdoctor.probes._run import signals_to_the_main_thread

T = TypeVar("T")

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class Pool:
    """Up to `workers` daemon threads taking work in submission order.

    concurrent.futures.ThreadPoolExecutor joins its threads when the interpreter exits, so one probe stuck on
    a registry that trickles a byte every few seconds keeps the process alive long after its report. These
    threads are daemons and nothing joins them: shutdown() cancels what has not started and returns at once.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._workers = max(1, workers)
        self._name = name
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._started = 0
        self._idle = 0
        self._closed = False
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("pool is shut down")
            self._queue.put((future, fn, args, kwargs))
            if self._idle:
                self._idle -= 1  # an idle thread takes it
            elif self._started < self._workers:
                self._started += 1
                threading.Thread(target=self._work, name=f"{self._name}-{self._started}", daemon=True).start()
        return future

    def shutdown(self) -> None:
        """Cancel the work not yet started and let idle threads end; never waits for running work."""
        with self._lock:
            self._closed = True
            started = self._started
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in range(started):
            self._queue.put(None)

    def _work(self) -> None:
        signals_to_the_main_thread()
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as err:  # noqa: BLE001 - handed to whoever waits for the result
                    future.set_exception(err)
            with self._lock:
                self._idle += 1
