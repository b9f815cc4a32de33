"""`inspect`'s head start: its registry lookups begin before the CLI imports the checks, the renderers or the SDK.

The entry point calls begin_for_argv() before click is imported and the CLI calls begin() first thing (which finds
them started); gather() later claims the lookups it would have started itself (same references, same cache
options), so they overlap the imports and the engine probe instead of following them. Only references that
need nothing from the engine (loopback or public registries: no insecure-registries list to read) start early;
anything else, or a claim that does not match, runs as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the lookups' first requests leave before the model is imported (in the main thread, meanwhile)
    from dockdoctor.model import RemoteImage

RENDER_MARGIN = 0.5  # as probes.RENDER_MARGIN: the probes' answers are in this long before the run's end
REGISTRY_MARGIN = 0.2  # as probes.REGISTRY_MARGIN
HEAD_START_WAIT = 0.03  # seconds begin() waits for the lookups (all done from the cache, or the requests sent)


@dataclass(slots=True)
class HeadStart:
    """Lookups under way: what they were started for, their result, and the targets gather() hands in later."""

    refs: tuple[str, ...]
    offline: bool
    refresh: bool
    result: Future[tuple[RemoteImage, ...]] = field(default_factory=Future)
    targets: Future[Callable[[], tuple[str, ...]]] = field(default_factory=Future)
    looked_up: threading.Event = field(default_factory=threading.Event)  # every reference answered (or failed)

    def wanted(self) -> tuple[str, ...]:
        """The tag-search targets, once gather() names them (none if it never claims these lookups)."""
        self.looked_up.set()  # inspect_remote asks once every lookup is done: begin() need not wait any longer
        try:
            return tuple(self.targets.result(timeout=60.0)())
        except Exception:  # noqa: BLE001 - no targets: no tag search; the lookups themselves stand
            return ()


_lock = threading.Lock()
_started: list[HeadStart] = []


def finish_time(timeout: float, deadline: float | None) -> float:
    """When the probes' answers are in (probes._gather's `finish`)."""
    end = deadline if deadline is not None else time.monotonic() + timeout
    return end - min(RENDER_MARGIN, timeout / 4)


def begin(
    refs: Sequence[str], *, offline: bool, refresh: bool, timeout: float, deadline: float | None
) -> HeadStart | None:
    """Start the lookups of `refs` in a daemon thread, if none of them needs the engine's answer first."""
    from dockdoctor.probes._run import environ
    from dockdoctor.probes.registry import RegistryOptions, inspect_remote, needs_engine, needs_network
    from dockdoctor.reference import ReferenceError, parse

    refs = tuple(refs)
    with _lock:
        for head in _started:  # started from the entry point (for_argv) for this very command line
            if head.refs == refs and head.offline == offline and head.refresh == refresh:
                return head
    try:
        for ref in refs:
            parse(ref)
    except ReferenceError:
        return None  # the CLI reports it; the run stays on the ordinary path
    if not refs or needs_engine(refs):
        return None
    head = HeadStart(refs=refs, offline=offline, refresh=refresh)
    options = RegistryOptions.from_env(
        dict(environ()),
        offline=offline,
        refresh=refresh,
        timeout=(min(5.0, timeout), timeout),
        deadline=finish_time(timeout, deadline) - REGISTRY_MARGIN,
    )
    if needs_network(refs, options):
        # The HTTP modules here, before the thread starts, when a lookup will send: imported by the thread, they
        # share the CPU with the caller's imports and the first request left 20-30 ms later (paired CLI runs, 40 ms
        # proxy). A run the cache answers imports none of them.
        import dockdoctor.probes.registry._auth  # noqa: F401

    def run() -> None:
        from dockdoctor.probes._run import signals_to_the_main_thread

        signals_to_the_main_thread()
        try:
            head.result.set_result(inspect_remote(refs, options=options, targets=head.wanted))
        except BaseException as err:  # noqa: BLE001 - handed to whoever claims the result
            head.result.set_exception(err)
        finally:
            head.looked_up.set()

    with _lock:
        _started.append(head)
    threading.Thread(target=run, name="registry-early", daemon=True).start()
    # The CPU to itself while the lookups read the cache and send the first wave: the caller's imports would
    # take the GIL from them (switch interval 5 ms) and hold the first requests back by as much as they cost.
    # Lookups all answered from the cache (a warm run) end the wait at once: nothing is left to send.
    head.looked_up.wait(timeout=HEAD_START_WAIT)
    return head


def begin_for_argv(argv: Sequence[str]) -> HeadStart | None:
    """begin() for an `inspect` command line read as click will read it (dockdoctor._argv), before click and
    the CLI are imported (_entry.py); the command's own begin() then finds these lookups started."""
    from dockdoctor._argv import read

    words = read(argv)
    if words is None or words.command != "inspect" or not words.args:
        return None
    offline, refresh = words.given("offline"), words.given("refresh")
    try:
        return begin(words.args, offline=offline, refresh=refresh, timeout=words.seconds(), deadline=None)
    except Exception:  # noqa: BLE001 - the command's own begin() meets it again, and the CLI says it in one line
        return None


def claim(refs: Sequence[str], *, offline: bool, refresh: bool) -> HeadStart | None:
    """The lookups begin() started for exactly these references and options (taken: each is claimed once)."""
    with _lock:
        for head in _started:
            if head.refs == tuple(refs) and head.offline == offline and head.refresh == refresh:
                _started.remove(head)
                return head
    return None
