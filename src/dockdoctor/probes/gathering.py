"""gather(): run every probe concurrently, all within one deadline, and assemble the Facts (re-exported by the
probes package, which itself imports nothing: probes/_prestart.py runs before the model is imported)."""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from dockdoctor import __version__
from dockdoctor.model import (
    BuildxFacts,
    ComposeFacts,
    EmulationFacts,
    EngineFacts,
    Facts,
    HostFacts,
    ImageFacts,
    KubeFacts,
    ProbeError,
    ProbeErrorKind,
    ProjectFacts,
    RemoteImage,
)
from dockdoctor.probes._pool import Pool
from dockdoctor.probes._run import environ, recording
from dockdoctor.probes.endpoint import Resolved
from dockdoctor.probes.project_images import built_images, project_images
from dockdoctor.progress import waiting

if TYPE_CHECKING:  # imported where used: the registry and deep modules load only when a run needs them
    from dockdoctor.model import DeepImage, LocalImage
    from dockdoctor.probes.registry import DeepRequest

T = TypeVar("T")

ENV_PREFIXES = ("DOCKER_", "COMPOSE_")
ENV_SECRET = ("DOCKER_AUTH_CONFIG",)
RENDER_MARGIN = 0.5  # seconds of the budget kept for checks, rendering and exit after the probes
REGISTRY_MARGIN = 0.2  # registry requests end this much before the probes' deadline, to report their own timeout


@dataclass(frozen=True, slots=True)
class GatherOptions:
    """What to gather, and the time budget: every probe's answer is in by `deadline`, or it is a timeout."""

    timeout: float = 8.0  # the whole run's budget (--timeout), and the longest any one probe operation waits
    deadline: float | None = None  # time.monotonic() when the run ends; None: `timeout` from the start of gather
    keep_raw: bool = False  # keep every raw probe answer (support bundles)
    project_dir: str | None = None
    compose_files: tuple[str, ...] = ()
    image_refs: tuple[str, ...] = ()  # references to look up in their registries
    local_images: bool = True  # local copies of those references, and containers
    offline: bool = False  # registry answers from the cache only
    refresh: bool = False  # ignore the cache's tag entries
    tools: bool = True  # compose and buildx (not needed to inspect images)
    context: str | None = None  # gather this docker context, as `docker --context NAME` reaches it (--all-contexts)
    targets: tuple[str, ...] = ()  # target platforms as asked (--platform, settings); none: the engine's own
    suggest_tags: bool = True  # for a tag that lacks a target, look up the repository's other tags
    deep: bool = False  # --deep: read the entrypoint file of every image variant a target runs
    deep_targets: tuple[str, ...] = ()  # the targets --deep reads variants for (default: the engine's platform)
    engine: bool = True  # False (--no-engine): only the project scan and the registry lookups; no socket is touched
    kube_context: str | None = None  # `--kube [CONTEXT]`: read this kubeconfig context ("" = the current one)
    kube_namespace: str | None = None  # with --kube: this namespace only (None: every namespace)


def _environment(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v) for k, v in env.items() if k.startswith(ENV_PREFIXES) and k not in ENV_SECRET))


def gather(options: GatherOptions = GatherOptions()) -> Facts:
    """All facts about this machine and its engine, by the deadline; a probe without an answer then is a timeout."""
    with recording() as raw:
        facts = _gather(options)
    return dataclasses.replace(facts, raw=tuple(raw)) if options.keep_raw else facts


def _gather(options: GatherOptions) -> Facts:
    if not options.engine:
        return _gather_without_engine(options)
    from dockdoctor.probes.early import claim
    from dockdoctor.probes.emulation import engine_emulation, probe_emulation
    from dockdoctor.probes.endpoint import resolve
    from dockdoctor.probes.engine import facts_from_answers, probe_engine
    from dockdoctor.probes.host import probe_host
    from dockdoctor.probes.images import with_emulators

    deadline = options.deadline if options.deadline is not None else time.monotonic() + options.timeout
    finish = deadline - min(RENDER_MARGIN, options.timeout / 4)  # the probes' answers are in by then
    env = dict(environ())
    if options.context is None:
        resolved = resolve(env)
    else:
        from dockdoctor.probes.fleet import context_env

        resolved = resolve(context_env(env, options.context))  # chosen as DOCKER_CONTEXT=NAME would choose it
    t = max(0.1, min(options.timeout, finish - time.monotonic()))  # the longest one probe operation waits
    pool = Pool(8, "probe")  # daemon threads: a probe still stuck at the deadline does not hold the process

    def result(future: Future[T], name: str, fallback: Callable[[ProbeError], T]) -> T:
        try:
            with waiting(name):  # the CLI's spinner names it when it takes a while
                return future.result(timeout=max(0.0, finish - time.monotonic()))
        except FutureTimeout:
            return fallback(
                ProbeError(
                    probe=name,
                    kind=ProbeErrorKind.TIMEOUT,
                    detail=f"no answer within the run's {options.timeout:g} s (--timeout)",
                )
            )

    try:
        # references on loopback or public registries need nothing from the engine: ask them first, at once
        early = options.image_refs if options.project_dir is None and not needs_engine(options.image_refs) else ()
        host_f = pool.submit(probe_host, timeout=t)
        engine_f = pool.submit(probe_engine, resolved, timeout=t)
        head = claim(early, offline=options.offline, refresh=options.refresh) if early and not options.context else None
        early_f: Future[tuple[RemoteImage, ...]] | None = None
        if head is not None:  # `inspect` started these lookups before its imports (probes/early.py)
            head.targets.set_result(lambda: _targets(options, engine_f, host_f, finish))
            early_f = head.result
        elif early:
            early_f = pool.submit(
                _remote, early, None, options, env, finish, lambda: _targets(options, engine_f, host_f, finish)
            )
        compose_f: Future[ComposeFacts] | None = None
        buildx_f: Future[BuildxFacts] | None = None
        if options.tools:  # imported here: `inspect` needs neither, nor shutil (with zlib, bz2 and lzma)
            from dockdoctor.probes.buildx import probe_buildx
            from dockdoctor.probes.compose import probe_compose

            compose_f = pool.submit(probe_compose, timeout=t)
            buildx_f = pool.submit(probe_buildx, timeout=t)
        project_f = pool.submit(_project, options, env, finish) if options.project_dir is not None else None
        host = result(host_f, "host", _fallback_host)
        # binfmt handlers, each QEMU's --version and the Mac engines' CLIs: one bounded probe, beside the others
        emulation_f = pool.submit(probe_emulation, os_name=host.os, timeout=min(t, 3.0), host_arch=host.arch)
        engine = result(engine_f, "engine", lambda e: dataclasses.replace(facts_from_answers(resolved, None), error=e))
        contexts_f = pool.submit(_contexts, engine, min(t, 3.0))
        project = (
            result(project_f, "project", lambda e: ProjectFacts(root=str(options.project_dir), errors=(e,)))
            if project_f is not None
            else None
        )
        refs = tuple(dict.fromkeys(options.image_refs + (project_images(project) if project else ())))
        remote_f = early_f or (
            pool.submit(
                _remote, refs, engine, options, env, finish, lambda: _targets(options, engine_f, host_f, finish)
            )
            if refs
            else None
        )
        local_f = pool.submit(_local, resolved, engine, refs + (built_images(project) if project else ()), options, t)
        images = result(local_f, "images", lambda e: ImageFacts(errors=(e,)))
        if remote_f is not None:
            remote = result(
                remote_f, "registry", lambda e: tuple(RemoteImage(reference=r, canonical=r, error=e) for r in refs)
            )
            images = dataclasses.replace(images, remote=remote)
            if options.deep:
                deep_f = pool.submit(_deep, remote, engine, host_f, options, env, finish)
                missed: list[ProbeError] = []

                def no_deep(error: ProbeError) -> tuple[DeepImage, ...]:
                    missed.append(error)
                    return ()

                deep = result(deep_f, "deep", no_deep)
                images = dataclasses.replace(
                    images, deep=deep + _local_only(remote, images.local), errors=images.errors + tuple(missed)
                )
        compose = result(compose_f, "compose", lambda e: ComposeFacts(errors=(e,))) if compose_f else ComposeFacts()
        buildx = result(buildx_f, "buildx", lambda e: BuildxFacts(error=e)) if buildx_f else BuildxFacts()
        engine = result(contexts_f, "contexts", lambda e: dataclasses.replace(engine, context_errors=(e,)))
        emulation = result(emulation_f, "emulation", lambda e: EmulationFacts(errors=(e,)))
    finally:
        pool.shutdown()

    builders = tuple((b.name, b.platforms) for b in buildx.builders if b.current)
    emulated = engine_emulation(
        host_os=host.os,
        engine_platform=engine.platform,
        engine_flavor=engine.flavor.value,
        engine_remote=engine.remote,
        handlers=emulation.handlers,
        rosetta=emulation.rosetta,
        builder_platforms=builders,
        binfmt_enabled=emulation.binfmt_enabled,
        settings=emulation.settings,
    )
    return Facts(
        host=host,
        engine=engine,
        compose=compose,
        buildx=buildx,
        emulation=dataclasses.replace(emulation, emulated=emulated),
        images=with_emulators(images, engine.platform, emulated),
        project=project,
        environment=_environment(env),
        dockdoctor_version=__version__,
        gathered_at=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
    )


def _gather_without_engine(options: GatherOptions) -> Facts:
    """`check --no-engine`: the project scan and the registry lookups only (no host, engine, compose, buildx or
    emulation probe runs, no socket is opened); the engine and host facts stay empty."""
    from dockdoctor.model import EndpointRule

    deadline = options.deadline if options.deadline is not None else time.monotonic() + options.timeout
    finish = deadline - min(RENDER_MARGIN, options.timeout / 4)
    env = dict(environ())
    pool = Pool(3, "probe")
    try:
        kube_f = pool.submit(_kube, options, env, finish) if options.kube_context is not None else None
        project = None
        if options.project_dir is not None:
            project_f = pool.submit(_project, options, env, finish)
            try:
                with waiting("project"):
                    project = project_f.result(timeout=max(0.0, finish - time.monotonic()))
            except FutureTimeout:
                project = ProjectFacts(
                    root=str(options.project_dir),
                    errors=(
                        ProbeError(
                            probe="project",
                            kind=ProbeErrorKind.TIMEOUT,
                            detail=f"no answer within the run's {options.timeout:g} s (--timeout)",
                        ),
                    ),
                )
        refs = tuple(dict.fromkeys(options.image_refs + (project_images(project) if project else ())))
        images = ImageFacts()
        if refs and not options.offline:
            remote_f = pool.submit(_remote, refs, None, options, env, finish, lambda: options.targets)
            try:
                with waiting("registry"):
                    remote = remote_f.result(timeout=max(0.0, finish - time.monotonic()))
            except FutureTimeout:
                remote = tuple(
                    RemoteImage(
                        reference=r,
                        canonical=r,
                        error=ProbeError(
                            probe="registry",
                            kind=ProbeErrorKind.TIMEOUT,
                            detail=f"no answer within the run's {options.timeout:g} s (--timeout)",
                        ),
                    )
                    for r in refs
                )
            images = ImageFacts(remote=remote)
        kube = _kube_result(kube_f, options, finish) if kube_f is not None else None
    finally:
        pool.shutdown()
    return Facts(
        host=HostFacts(os="", arch="", machine=""),
        engine=EngineFacts(endpoint="", endpoint_rule=EndpointRule.DEFAULT, context=None),
        images=images,
        project=project,
        kube=kube,
        environment=_environment(env),
        dockdoctor_version=__version__,
        gathered_at=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
    )


def _kube(options: GatherOptions, env: dict[str, str], finish: float) -> KubeFacts:
    """`--kube`: the cluster through kubectl, then its workloads' images through the registry client."""
    from dockdoctor.probes.kube import KubeRequest, gather_kube

    def lookup(refs: tuple[str, ...], deadline: float) -> tuple[RemoteImage, ...]:
        return _remote(refs, None, options, env, min(deadline, finish)) if refs else ()

    request = KubeRequest(context=options.kube_context or "", namespace=options.kube_namespace)
    return gather_kube(request, deadline=finish - REGISTRY_MARGIN, lookup=lookup)


def _kube_result(future: Future[KubeFacts], options: GatherOptions, finish: float) -> KubeFacts:
    try:
        return future.result(timeout=max(0.0, finish - time.monotonic()))
    except FutureTimeout:
        return KubeFacts(
            context=options.kube_context or "(current context)",
            error=ProbeError(
                probe="kube",
                kind=ProbeErrorKind.TIMEOUT,
                detail=f"no answer within the run's {options.timeout:g} s (--timeout)",
            ),
        )


def _contexts(engine: EngineFacts, timeout: float) -> EngineFacts:
    """The engine facts with every context's socket resolved and tried (see probes/contexts.py)."""
    import os

    from dockdoctor.probes.contexts import probe_contexts

    known = {}
    if engine.engine_id and engine.endpoint.startswith("unix://"):
        known[os.path.realpath(engine.endpoint[len("unix://") :])] = engine.engine_id
    contexts, errors = probe_contexts(engine.contexts, timeout=timeout, known_ids=known)
    return dataclasses.replace(engine, contexts=contexts, context_errors=errors)


def _project(options: GatherOptions, env: dict[str, str], finish: float | None = None) -> ProjectFacts:
    from dockdoctor.probes.project import probe_project

    try:
        project = probe_project(
            str(options.project_dir), compose_files=options.compose_files, env=env, timeout=options.timeout
        )
        project = _pins(project, options, env, finish if finish is not None else time.monotonic() + options.timeout)
        if not project.dockerfiles and project.compose is None:
            return project  # nothing builds or mounts a host-built folder (probe_host_built would say no more)
        from dockdoctor.probes.natives import probe_host_built

        return dataclasses.replace(project, host_built=probe_host_built(project))
    except (OSError, UnicodeError, RecursionError, MemoryError, ValueError) as err:
        # the project folder is outside input: whatever slipped past the file door is a probe error (DKD001)
        return ProjectFacts(
            root=str(options.project_dir),
            errors=(
                ProbeError(
                    probe="project",
                    kind=ProbeErrorKind.ERROR,
                    detail=f"{options.project_dir}: {type(err).__name__}: {err}",
                ),
            ),
        )


def _pins(project: ProjectFacts, options: GatherOptions, env: dict[str, str], finish: float) -> ProjectFacts:
    """The project with the `==` pins its Dockerfiles pip-install and the package index's answer for them."""
    if not project.dockerfiles:
        return project  # no Dockerfile, no pin: project_pins would find nothing and note nothing
    from dockdoctor.probes.pypi import probe_index, project_pins
    from dockdoctor.probes.registry import RegistryOptions

    found = project_pins(project.root, project.dockerfiles, env)
    pins, unread = found.pins, found.notes
    if not pins:
        skipped = project.skipped + tuple((text.split(":", 1)[0], text.split(": ", 1)[-1]) for text in unread)
        note = "; ".join(found.index_notes)
        return dataclasses.replace(project, skipped=skipped, index_note=note) if unread or note else project
    cache_dir = RegistryOptions.from_env(env).cache_dir
    index, note = probe_index(
        pins,
        env=env,
        cache_dir=cache_dir,
        offline=options.offline,
        refresh=options.refresh,
        deadline=finish - REGISTRY_MARGIN,
        timeout=options.timeout,
        urls=found.urls,
    )
    skipped = project.skipped + tuple((text.split(":", 1)[0], text.split(": ", 1)[-1]) for text in unread)
    note = "; ".join(n for n in (note, *found.index_notes) if n)
    return dataclasses.replace(project, pins=pins, index=index, index_note=note, skipped=skipped)


def needs_engine(refs: tuple[str, ...]) -> bool:
    """Whether a reference's registry might be one the engine lists as insecure (plain HTTP)."""
    from dockdoctor.probes import registry  # there: probes.early asks it without importing this module

    return registry.needs_engine(refs)


def _targets(
    options: GatherOptions, engine_f: Future[EngineFacts], host_f: Future[HostFacts], finish: float
) -> tuple[str, ...]:
    """The platforms a tag search looks for: as asked, else the engine's (as app.resolve_targets), else the host's."""
    if not options.suggest_tags:
        return ()
    if options.targets:
        return options.targets
    for future in (engine_f, host_f):
        try:
            found = future.result(timeout=max(0.0, finish - time.monotonic()))
        except (FutureTimeout, Exception):  # noqa: BLE001 - its own result() reports the failure
            continue
        if isinstance(found, EngineFacts) and found.platform:
            return (found.platform,)
        if isinstance(found, HostFacts) and found.arch:
            return (f"linux/{found.arch}",)
    return ()


def _remote(
    refs: tuple[str, ...],
    engine: EngineFacts | None,
    options: GatherOptions,
    env: dict[str, str],
    finish: float,
    targets: Callable[[], tuple[str, ...]] = tuple,
) -> tuple[RemoteImage, ...]:
    from dockdoctor.probes.registry import RegistryOptions, inspect_remote

    registry = RegistryOptions.from_env(
        env,
        insecure_registries=engine.insecure_registries if engine else (),
        offline=options.offline,
        refresh=options.refresh,
        timeout=(min(5.0, options.timeout), options.timeout),
        deadline=finish - REGISTRY_MARGIN,
    )
    return inspect_remote(refs, options=registry, targets=targets)


def deep_requests(remote: tuple[RemoteImage, ...], targets: tuple[str, ...]) -> list[DeepRequest]:
    """The image variant each target runs, per looked-up image: an index's best match (exact or compatible),
    or a single-platform image's one variant (Docker runs it whatever its platform)."""
    from dockdoctor.platforms import MatchKind, PlatformError, best_match, format_platform, parse
    from dockdoctor.probes.registry import DeepRequest

    out = []
    for image in remote:
        if image.error is not None or image.artifact_type or image.kind not in ("index", "manifest"):
            continue
        offered = []
        for p in image.platforms:
            try:
                offered.append((parse(p.platform), p))
            except PlatformError:
                continue
        for text in targets:
            try:
                target = parse(text)
            except PlatformError:
                continue
            if image.kind == "manifest" and offered:
                chosen = offered[0][1]
            else:
                match = best_match(target, [o[0] for o in offered])
                if match.platform is None or match.kind not in (MatchKind.EXACT, MatchKind.COMPATIBLE):
                    continue
                chosen = next(p for plat, p in offered if plat == match.platform)
            out.append(
                DeepRequest(
                    reference=image.reference,
                    target=format_platform(target),
                    platform=chosen.platform,
                    digest=chosen.digest,
                )
            )
    return out


def _deep(
    remote: tuple[RemoteImage, ...],
    engine: EngineFacts,
    host_f: Future[HostFacts],
    options: GatherOptions,
    env: dict[str, str],
    finish: float,
) -> tuple[DeepImage, ...]:
    from dockdoctor.probes.registry import RegistryOptions, inspect_deep

    targets = options.deep_targets or ((engine.platform,) if engine.platform else ())
    if not targets:
        try:
            targets = (f"linux/{host_f.result(timeout=0).arch}",)
        except Exception:  # noqa: BLE001 - the host probe's own failure is reported by it
            targets = ()
    requests = deep_requests(remote, targets)
    if not requests:
        return ()
    registry = RegistryOptions.from_env(
        env,
        insecure_registries=engine.insecure_registries,
        offline=options.offline,
        refresh=options.refresh,
        timeout=(min(5.0, options.timeout), options.timeout),
        deadline=finish - REGISTRY_MARGIN,
    )
    budget = env.get("DOCKDOCTOR_DEEP_BUDGET", "")
    return inspect_deep(
        requests, options=registry, budget=int(budget) << 20 if budget.isdigit() and int(budget) else None
    )


def _local_only(remote: tuple[RemoteImage, ...], local: tuple[LocalImage, ...]) -> tuple[DeepImage, ...]:
    """Images the registry does not answer for but the engine holds: not read, and why.

    The Docker API reads files only from containers (`GET /containers/{id}/archive`) or exports the whole image
    (`GET /images/{name}/get`); --deep does neither: creating a container changes the engine, which `check`
    never does, and an export is the pull it avoids.
    """
    from dockdoctor.model import DeepImage
    from dockdoctor.reference import ReferenceError, parse

    def canonical(text: str) -> str:
        try:
            return parse(text).canonical
        except ReferenceError:
            return text

    held = {canonical(tag): image for image in local for tag in image.repo_tags}
    out = []
    for image in remote:
        copy = held.get(image.canonical or canonical(image.reference))
        if image.error is not None and copy is not None:
            out.append(
                DeepImage(
                    reference=image.reference,
                    target="",
                    platform=copy.platform,
                    digest=copy.id,
                    error=ProbeError(
                        probe="deep",
                        kind=ProbeErrorKind.LOCAL_ONLY,
                        detail=(
                            f"{image.reference}: only in the engine's store ({image.error.kind} at the "
                            "registry); --deep reads layers from registries only (the engine API would "
                            "need a container or a whole-image export)"
                        ),
                    ),
                )
            )
    return tuple(out)


def _local(
    resolved: Resolved, engine: EngineFacts, refs: tuple[str, ...], options: GatherOptions, timeout: float
) -> ImageFacts:
    if not engine.reachable or not options.local_images:
        return ImageFacts()
    from dockdoctor.probes.images import probe_local_images

    return probe_local_images(
        resolved.endpoint, tls=resolved.tls, timeout=timeout, api_version=engine.api_version or "1.24", refs=refs
    )


def _fallback_host(error: ProbeError) -> HostFacts:
    import platform

    return HostFacts(os="unknown", arch=platform.machine(), machine=platform.machine(), errors=(error,))


__all__ = ["GatherOptions", "gather"]
