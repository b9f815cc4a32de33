"""gather(): run every probe concurrently, each within its timeout, and assemble the Facts."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TypeVar

from dockdoctor import __version__
from dockdoctor.model import (
    BuildxFacts,
    ComposeFacts,
    EmulationFacts,
    EngineFacts,
    Facts,
    HostFacts,
    ProbeError,
)
from dockdoctor.probes._run import environ, recording

T = TypeVar("T")

ENV_PREFIXES = ("DOCKER_", "COMPOSE_")
ENV_SECRET = ("DOCKER_AUTH_CONFIG",)


@dataclass(frozen=True, slots=True)
class GatherOptions:
    """How long each probe may take."""

    timeout: float = 8.0
    keep_raw: bool = False  # keep every raw probe answer (support bundles)
    project_dir: str | None = None
    compose_files: tuple[str, ...] = ()


def _environment(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in env.items()
                        if k.startswith(ENV_PREFIXES) and k not in ENV_SECRET))


def gather(options: GatherOptions = GatherOptions()) -> Facts:
    """All facts about this machine and its engine; slow or broken probes cost their timeout, no more."""
    with recording() as raw:
        facts = _gather(options)
    return dataclasses.replace(facts, raw=tuple(raw)) if options.keep_raw else facts


def _gather(options: GatherOptions) -> Facts:
    from dockdoctor.probes.buildx import probe_buildx
    from dockdoctor.probes.compose import probe_compose
    from dockdoctor.probes.emulation import engine_emulation, probe_emulation
    from dockdoctor.probes.endpoint import resolve
    from dockdoctor.probes.engine import probe_engine
    from dockdoctor.probes.host import probe_host

    env = dict(environ())
    resolved = resolve(env)
    t = options.timeout
    pool = ThreadPoolExecutor(max_workers=5, thread_name_prefix="probe")
    try:
        host_f = pool.submit(probe_host, timeout=t)
        engine_f = pool.submit(probe_engine, resolved, timeout=t)
        compose_f = pool.submit(probe_compose, timeout=t)
        buildx_f = pool.submit(probe_buildx, timeout=t)

        def result(future: object, name: str, fallback: Callable[[ProbeError], T]) -> T:
            try:
                return future.result(timeout=t + 2)  # type: ignore[attr-defined,no-any-return]
            except FutureTimeout:
                return fallback(ProbeError(probe=name, kind="timeout", detail=f"no answer in {t:g}s"))

        host = result(host_f, "host", lambda e: _fallback_host(e))
        emulation = probe_emulation(os_name=host.os)
        engine = result(engine_f, "engine", lambda e: dataclasses.replace(
            _fallback_engine(resolved), error=e))
        compose = result(compose_f, "compose", lambda e: ComposeFacts(errors=(e,)))
        buildx = result(buildx_f, "buildx", lambda e: BuildxFacts(error=e))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    builders = tuple((b.name, b.platforms) for b in buildx.builders if b.current)
    emulated = engine_emulation(host_os=host.os, engine_platform=engine.platform, engine_flavor=engine.flavor.value,
                                engine_remote=engine.remote, handlers=emulation.handlers,
                                rosetta=emulation.rosetta, builder_platforms=builders)
    return Facts(
        host=host,
        engine=engine,
        compose=compose,
        buildx=buildx,
        emulation=dataclasses.replace(emulation, emulated=emulated),
        environment=_environment(env),
        dockdoctor_version=__version__,
        gathered_at=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
    )


def _fallback_host(error: ProbeError) -> HostFacts:
    import platform

    return HostFacts(os="unknown", arch=platform.machine(), machine=platform.machine(), errors=(error,))


def _fallback_engine(resolved: object) -> EngineFacts:
    from dockdoctor.probes.engine import facts_from_answers

    return facts_from_answers(resolved, None)  # type: ignore[arg-type]


__all__ = ["GatherOptions", "gather"]
