"""gather(): run every probe concurrently, each within its timeout, and assemble the Facts."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
    ImageFacts,
    ProbeError,
    ProjectFacts,
    RemoteImage,
)
from dockdoctor.probes.endpoint import Resolved
from dockdoctor.probes.project_images import built_images, project_images
from dockdoctor.probes._run import environ, recording

T = TypeVar("T")

ENV_PREFIXES = ("DOCKER_", "COMPOSE_")
ENV_SECRET = ("DOCKER_AUTH_CONFIG",)
PUBLIC_REGISTRIES = ("docker.io", "ghcr.io", "quay.io", "gcr.io", "mcr.microsoft.com", "public.ecr.aws",
                     "registry.k8s.io", "registry.gitlab.com")


@dataclass(frozen=True, slots=True)
class GatherOptions:
    """How long each probe may take."""

    timeout: float = 8.0
    keep_raw: bool = False  # keep every raw probe answer (support bundles)
    project_dir: str | None = None
    compose_files: tuple[str, ...] = ()
    image_refs: tuple[str, ...] = ()  # references to look up in their registries
    local_images: bool = True  # local copies of those references, and containers
    offline: bool = False  # registry answers from the cache only
    refresh: bool = False  # ignore the cache's tag entries
    tools: bool = True  # compose and buildx (not needed to inspect images)


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
    from dockdoctor.probes.engine import facts_from_answers, probe_engine
    from dockdoctor.probes.host import probe_host

    env = dict(environ())
    resolved = resolve(env)
    t = options.timeout
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="probe")

    def result(future: Future[T], name: str, fallback: Callable[[ProbeError], T], *, rounds: int = 1) -> T:
        try:
            return future.result(timeout=rounds * t + 2)
        except FutureTimeout:
            return fallback(ProbeError(probe=name, kind="timeout", detail=f"no answer in {t:g}s"))

    try:
        # references on loopback or public registries need nothing from the engine: ask them first, at once
        early = options.image_refs if options.project_dir is None and not _needs_engine(options.image_refs) else ()
        early_f = pool.submit(_remote, early, None, options, env) if early else None
        host_f = pool.submit(probe_host, timeout=t)
        engine_f = pool.submit(probe_engine, resolved, timeout=t)
        compose_f = pool.submit(probe_compose, timeout=t) if options.tools else None
        buildx_f = pool.submit(probe_buildx, timeout=t) if options.tools else None
        project_f = pool.submit(_project, options, env) if options.project_dir is not None else None
        host = result(host_f, "host", _fallback_host)
        # binfmt handlers, each QEMU's --version and the Mac engines' CLIs: one bounded probe, beside the others
        emulation_f = pool.submit(probe_emulation, os_name=host.os, timeout=min(t, 3.0), host_arch=host.arch)
        engine = result(engine_f, "engine", lambda e: dataclasses.replace(facts_from_answers(resolved, None), error=e))
        contexts_f = pool.submit(_contexts, engine, min(t, 3.0))
        project = result(project_f, "project", lambda e: ProjectFacts(root=str(options.project_dir), errors=(e,))) \
            if project_f is not None else None
        refs = tuple(dict.fromkeys(options.image_refs + (project_images(project) if project else ())))
        remote_f = early_f or (pool.submit(_remote, refs, engine, options, env) if refs else None)
        images = _local(resolved, engine, refs + (built_images(project) if project else ()), options)
        if remote_f is not None:
            # a reference costs at most a challenge, a token, a manifest and a config, each within the timeout
            remote = result(remote_f, "registry", lambda e: tuple(
                RemoteImage(reference=r, canonical=r, error=e) for r in refs), rounds=4)
            images = dataclasses.replace(images, remote=remote)
        compose = result(compose_f, "compose", lambda e: ComposeFacts(errors=(e,))) if compose_f else ComposeFacts()
        buildx = result(buildx_f, "buildx", lambda e: BuildxFacts(error=e)) if buildx_f else BuildxFacts()
        engine = result(contexts_f, "contexts", lambda e: dataclasses.replace(engine, context_errors=(e,)))
        emulation = result(emulation_f, "emulation", lambda e: EmulationFacts(errors=(e,)), rounds=2)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    builders = tuple((b.name, b.platforms) for b in buildx.builders if b.current)
    emulated = engine_emulation(host_os=host.os, engine_platform=engine.platform, engine_flavor=engine.flavor.value,
                                engine_remote=engine.remote, handlers=emulation.handlers,
                                rosetta=emulation.rosetta, builder_platforms=builders,
                                binfmt_enabled=emulation.binfmt_enabled, settings=emulation.settings)
    return Facts(
        host=host,
        engine=engine,
        compose=compose,
        buildx=buildx,
        emulation=dataclasses.replace(emulation, emulated=emulated),
        images=images,
        project=project,
        environment=_environment(env),
        dockdoctor_version=__version__,
        gathered_at=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
    )


def _contexts(engine: EngineFacts, timeout: float) -> EngineFacts:
    """The engine facts with every context's socket resolved and tried (see probes/contexts.py)."""
    import os

    from dockdoctor.probes.contexts import probe_contexts

    known = {}
    if engine.engine_id and engine.endpoint.startswith("unix://"):
        known[os.path.realpath(engine.endpoint[len("unix://"):])] = engine.engine_id
    contexts, errors = probe_contexts(engine.contexts, timeout=timeout, known_ids=known)
    return dataclasses.replace(engine, contexts=contexts, context_errors=errors)


def _project(options: GatherOptions, env: dict[str, str]) -> ProjectFacts:
    from dockdoctor.probes.project import probe_project

    return probe_project(str(options.project_dir), compose_files=options.compose_files, env=env,
                         timeout=options.timeout)


def _needs_engine(refs: tuple[str, ...]) -> bool:
    """Whether a reference's registry might be one the engine lists as insecure (plain HTTP)."""
    from dockdoctor.reference import ReferenceError, parse

    for ref in refs:
        try:
            parsed = parse(ref)
        except ReferenceError:
            continue
        if not parsed.is_loopback and parsed.domain not in PUBLIC_REGISTRIES:
            return True
    return False


def _remote(refs: tuple[str, ...], engine: EngineFacts | None, options: GatherOptions,
            env: dict[str, str]) -> tuple[RemoteImage, ...]:
    from dockdoctor.probes.registry import RegistryOptions, inspect_remote

    registry = RegistryOptions.from_env(env, insecure_registries=engine.insecure_registries if engine else (),
                                        offline=options.offline, refresh=options.refresh,
                                        timeout=(min(5.0, options.timeout), options.timeout))
    return inspect_remote(refs, options=registry)


def _local(resolved: Resolved, engine: EngineFacts, refs: tuple[str, ...], options: GatherOptions) -> ImageFacts:
    if not engine.reachable or not options.local_images:
        return ImageFacts()
    from dockdoctor.probes.images import probe_local_images

    return probe_local_images(resolved.endpoint, tls=resolved.tls, timeout=options.timeout,
                              api_version=engine.api_version or "1.24", refs=refs)


def _fallback_host(error: ProbeError) -> HostFacts:
    import platform

    return HostFacts(os="unknown", arch=platform.machine(), machine=platform.machine(), errors=(error,))



__all__ = ["GatherOptions", "gather"]
