"""Which docker contexts lead to a live engine: symlinks resolved, liveness by connecting, engines told apart by ID."""

from __future__ import annotations

import dataclasses
import os

from dockdoctor.model import ContextFacts, ProbeError
from dockdoctor.probes import _sdk
from dockdoctor.probes._run import unix_connect

UNIX = "unix://"


def _resolved(host: str) -> str:
    """A unix socket's path with its symlinks resolved (`/var/run/docker.sock` -> `~/.docker/run/docker.sock`)."""
    if not host.startswith(UNIX):
        return ""
    return os.path.realpath(host[len(UNIX) :])


def probe_contexts(
    contexts: tuple[ContextFacts, ...], *, timeout: float = 2.0, known_ids: dict[str, str] | None = None
) -> tuple[tuple[ContextFacts, ...], tuple[ProbeError, ...]]:
    """Each unix-socket context with its resolved path and whether a connect() succeeds.

    When the live sockets are more than one file, each is asked for its engine ID (`GET /info`): Docker Desktop
    serves one engine on several sockets. `known_ids` maps resolved paths whose ID is known already (the
    engine the CLI uses) so that it is not asked twice.
    """
    errors: list[ProbeError] = []
    out: list[ContextFacts] = []
    for ctx in contexts:
        path = _resolved(ctx.host)
        if not path:
            out.append(ctx)
            continue
        live = unix_connect("contexts", path, timeout=timeout)
        if isinstance(live, ProbeError):
            errors.append(live)
            live_value: bool | None = None
        else:
            live_value = live
        out.append(dataclasses.replace(ctx, resolved=path, live=live_value))
    paths = {c.resolved for c in out if c.live}
    if len(paths) < 2:
        return tuple(out), tuple(errors)
    ids = dict(known_ids or {})
    for path in sorted(paths - set(ids)):
        answers = _sdk.engine_answers(UNIX + path, tls=None, timeout=timeout)
        if isinstance(answers, ProbeError):
            errors.append(dataclasses.replace(answers, probe="contexts"))
        else:
            ids[path] = str(answers[1].get("ID") or "")
    return tuple(dataclasses.replace(c, engine_id=ids.get(c.resolved, "")) if c.live else c for c in out), tuple(errors)
