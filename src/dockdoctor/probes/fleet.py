"""The fleet probe: every docker context (or the named ones) gathered concurrently, each on its own, by one deadline."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from dockdoctor.model import ContextFacts, Facts, LocalImage, ProbeError, ProbeErrorKind
from dockdoctor.probes._pool import Pool
from dockdoctor.probes._run import environ
from dockdoctor.probes.endpoint import resolve
from dockdoctor.probes.gathering import RENDER_MARGIN, GatherOptions, _gather
from dockdoctor.progress import waiting

MAX_CONTEXTS = 32  # contexts gathered in one run; the others are listed as not checked
MAX_TAGGED = 500  # tagged images read per engine for the fleet checks


class UnknownContext(Exception):
    """A `--context NAME` that the docker CLI configuration does not hold."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(name)
        self.name, self.known = name, known


@dataclass(frozen=True, slots=True)
class Member:
    """One context of the fleet: its facts (as `check` gathers them) and the tagged images of its engine."""

    context: str
    facts: Facts
    current: bool
    images: tuple[LocalImage, ...] = ()
    images_error: ProbeError | None = None


@dataclass(frozen=True, slots=True)
class Fleet:
    """What the fleet probe saw: a member per context, in the order of `docker context ls`."""

    members: tuple[Member, ...]
    current: str


def contexts(env: dict[str, str] | None = None) -> tuple[str, tuple[ContextFacts, ...]]:
    """The current context's name and every context the docker CLI configuration holds (`default` first)."""
    resolved = resolve(dict(environ()) if env is None else env)
    return resolved.context or "default", resolved.contexts


def context_env(env: dict[str, str], name: str) -> dict[str, str]:
    """The environment `docker --context NAME` resolves in: the named context wins over DOCKER_HOST."""
    out = {
        k: v
        for k, v in env.items()
        if k not in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
    }
    if name == "default":  # the default context is DOCKER_HOST's (or the default socket)
        out.update({k: v for k, v in env.items() if k in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")})
    out["DOCKER_CONTEXT"] = name
    return out


def gather_fleet(options: GatherOptions, *, names: tuple[str, ...] = ()) -> Fleet:
    """Gather every context (or only `names`) concurrently, each with its own probes, all by the run's deadline.

    The current context is gathered exactly as `dockdoctor check` gathers it; the others as `docker --context
    NAME` reaches them, with the current one's compose and buildx facts (those belong to the docker CLI).
    Raises UnknownContext for a name the configuration does not hold.
    """
    deadline = options.deadline if options.deadline is not None else time.monotonic() + options.timeout
    finish = deadline - min(RENDER_MARGIN, options.timeout / 4) / 2  # after each gather's own end, before ours
    env = dict(environ())
    current, known = contexts(env)
    known_names = tuple(c.name for c in known)
    for name in names:
        if name not in known_names:
            raise UnknownContext(name, known_names)
    chosen = tuple(dict.fromkeys(names)) if names else known_names
    chosen = tuple(sorted(chosen, key=lambda n: n != current))  # the current context's report comes first
    chosen, beyond = chosen[:MAX_CONTEXTS], chosen[MAX_CONTEXTS:]
    pool = Pool(min(len(chosen), 8), "context")
    try:
        futures = [
            (name, pool.submit(_member, name, name == current, options, env, deadline, finish)) for name in chosen
        ]
        members = []
        for name, future in futures:
            try:
                with waiting(f"context {name}"):
                    members.append(future.result(timeout=max(0.0, finish - time.monotonic())))
            except FutureTimeout:
                members.append(
                    _failed(
                        name,
                        name == current,
                        env,
                        ProbeError(
                            probe="engine",
                            kind=ProbeErrorKind.TIMEOUT,
                            detail=f"context {name}: no answer within the run's {options.timeout:g} s (--timeout)",
                        ),
                    )
                )
            except Exception as err:  # noqa: BLE001 - one context's failure is that context's probe error
                members.append(
                    _failed(
                        name,
                        name == current,
                        env,
                        ProbeError(
                            probe="engine",
                            kind=ProbeErrorKind.ERROR,
                            detail=f"context {name}: {type(err).__name__}: {err}",
                        ),
                    )
                )
    finally:
        pool.shutdown()
    members += [
        _failed(
            name,
            False,
            env,
            ProbeError(
                probe="engine",
                kind=ProbeErrorKind.ERROR,
                detail=f"not checked: more than {MAX_CONTEXTS} contexts at once; name the ones "
                "to check with --context NAME",
            ),
        )
        for name in beyond
    ]
    return Fleet(members=_with_tools(tuple(members), options), current=current)


def _with_tools(members: tuple[Member, ...], options: GatherOptions) -> tuple[Member, ...]:
    """Compose and buildx belong to the docker CLI, not to an engine: every context gets the current one's.

    `docker buildx ls` lists the builders of every context; for another context the one named after it (its
    `docker` driver builder, which `docker --context NAME build` uses) is marked current.
    """
    first = next((m for m in members if m.current), None)
    if first is None or not options.tools:
        return members
    compose, buildx = first.facts.compose, first.facts.buildx
    out = []
    for member in members:
        if member.current:
            out.append(member)
            continue
        builders = tuple(dataclasses.replace(b, current=b.name == member.context) for b in buildx.builders)
        own = dataclasses.replace(
            buildx, builders=builders, current=member.context if any(b.current for b in builders) else None
        )
        out.append(dataclasses.replace(member, facts=dataclasses.replace(member.facts, compose=compose, buildx=own)))
    return tuple(out)


def _member(
    name: str, current: bool, options: GatherOptions, env: dict[str, str], deadline: float, finish: float
) -> Member:
    own = dataclasses.replace(
        options, deadline=deadline, keep_raw=False, tools=options.tools and current, context=None if current else name
    )
    facts = _gather(own)
    if not facts.engine.reachable:
        return Member(context=name, facts=facts, current=current)
    resolved = resolve(env if current else context_env(env, name))
    found = tagged_images(
        resolved.endpoint,
        tls=resolved.tls,
        api_version=facts.engine.api_version or "1.24",
        timeout=max(0.1, min(options.timeout, finish - time.monotonic())),
    )
    if isinstance(found, ProbeError):
        return Member(context=name, facts=facts, current=current, images_error=found)
    return Member(context=name, facts=facts, current=current, images=found)


def _failed(name: str, current: bool, env: dict[str, str], error: ProbeError) -> Member:
    from dockdoctor.model import HostFacts
    from dockdoctor.probes.engine import facts_from_answers

    resolved = resolve(env if current else context_env(env, name))
    engine = dataclasses.replace(facts_from_answers(resolved, None), error=error)
    return Member(
        context=name, current=current, facts=Facts(host=HostFacts(os="unknown", arch="", machine=""), engine=engine)
    )


def tagged_images(endpoint: str, *, tls: Any, api_version: str, timeout: float) -> tuple[LocalImage, ...] | ProbeError:
    """Every tagged image of the engine with the platforms it holds (at most MAX_TAGGED), for the fleet checks."""
    from dockdoctor.probes._sdk import with_client
    from dockdoctor.probes.images import _lists_manifests, _local

    def read(client: Any) -> tuple[LocalImage, ...]:
        from dockdoctor.probes._engine_api import not_found

        api_error = not_found(client)[1]  # UnixAPI's own on a unix socket, the SDK's elsewhere
        if _lists_manifests(api_version):
            listing = client._result(client._get(client._url("/images/json"), params={"manifests": "1"}), True)
        else:
            listing = client.images()
        found: list[LocalImage] = []
        for summary in listing:
            tags = [t for t in summary.get("RepoTags") or () if t and not t.endswith(":<none>")]
            if not tags:
                continue
            if len(found) >= MAX_TAGGED:
                break
            try:
                found.append(_local(client.inspect_image(str(summary["Id"])), summary))
            except api_error:  # removed between the listing and the inspect
                continue
        return tuple(found)

    result = with_client(endpoint, tls=tls, timeout=timeout, api_version=api_version, call=read)
    if isinstance(result, ProbeError):
        return ProbeError(probe="images", kind=result.kind, detail=result.detail)
    return result


__all__ = ["Fleet", "Member", "UnknownContext", "context_env", "contexts", "gather_fleet", "tagged_images"]
