"""Remote image inspection: the platforms a registry offers for image references, cached by digest."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockdoctor.probes._pool import Pool
from dockdoctor.probes.registry._failure import PROBE, Kind
from dockdoctor.reference import PUBLIC_REGISTRIES, ImageRef, ReferenceError, parse

if TYPE_CHECKING:  # imported where results are built: a cold lookup's first request leaves before the model
    from dockdoctor.model import DeepImage, ProbeError, RemoteImage

__all__ = [
    "PROBE",
    "DeepRequest",
    "RegistryOptions",
    "clear_cache",
    "default_cache_dir",
    "inspect_deep",
    "inspect_remote",
    "needs_engine",
    "needs_network",
]

MAX_INDEX_DEPTH = 2  # an index may list indexes that list indexes, no deeper (a deeper one is a limit error)
MAX_DOCUMENTS = 32  # manifests and configs followed for one reference (real ones need 1 to 3)


def default_cache_dir() -> Path:
    """The registry cache: registry/ in dockdoctor's cache folder."""
    from dockdoctor.probes.cache import cache_root

    return Path(cache_root({})) / "registry"


@dataclass(frozen=True, slots=True)
class RegistryOptions:
    """How to talk to registries: timeouts, cache, offline/refresh, insecure hosts, concurrency, credentials."""

    timeout: tuple[float, float] = (5.0, 20.0)  # (connect, read) seconds
    cache_dir: Path | None = field(default_factory=default_cache_dir)  # None: no disk cache
    offline: bool = False
    refresh: bool = False  # ignore the tag TTL: always revalidate tags with a HEAD
    tag_ttl: float = 300.0
    insecure_registries: tuple[str, ...] = ()  # hosts, host:port or CIDRs spoken to over plain HTTP
    max_workers: int = 64  # lookups at once: every reference of a big project starts at the same moment
    per_registry: int = 64  # connections to one private or loopback registry; public ones: _http.PUBLIC_LIMIT
    docker_config_dir: str = ""  # "" means ~/.docker
    docker_auth_config: str = field(default="", repr=False)  # the DOCKER_AUTH_CONFIG JSON, if set
    observer: Callable[[str, str, int], None] | None = field(default=None, compare=False)  # method, url, status
    deadline: float | None = None  # time.monotonic() by which every answer is in (None: per request only)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> RegistryOptions:
        """The CLI-facing defaults: DOCKDOCTOR_CACHE_DIR and DOCKER_CONFIG from the environment."""
        import os

        from dockdoctor.probes._run import environ
        from dockdoctor.probes.cache import cache_root

        env = environ() if env is None else env
        values: dict[str, object] = {  # the config folder as endpoint.config_dir (a module that imports the model)
            "docker_config_dir": env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker"),
            "docker_auth_config": env.get("DOCKER_AUTH_CONFIG", ""),
        }
        if env.get("DOCKDOCTOR_CACHE_DIR"):
            values["cache_dir"] = Path(cache_root(env))  # as given: its blobs/ and tags/ sit beside fix's undo/
        if env.get("DOCKDOCTOR_REGISTRY_WORKERS", "").isdigit():  # requests in flight (1 = one at a time)
            values["max_workers"] = values["per_registry"] = max(1, int(env["DOCKDOCTOR_REGISTRY_WORKERS"]))
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def clear_cache(cache_dir: Path | str) -> int:
    """Remove every cached registry document and tag entry; returns the number of files removed."""
    from dockdoctor.probes.registry._cache import clear

    return clear(Path(cache_dir))


def inspect_remote(
    refs: Sequence[str], *, options: RegistryOptions, targets: Sequence[str] | Callable[[], Sequence[str]] = ()
) -> tuple[RemoteImage, ...]:
    """One RemoteImage per reference, in order; duplicates (same canonical form) are asked once.

    With targets (platforms, or a function that names them once the lookups are done), a tag that does not
    run natively on every target gets `alternatives`: the repository's other tags, ranked, looked up.
    Failures are values (RemoteImage.error, TagSearch.note), never exceptions.
    """
    parsed: list[ImageRef | ProbeError] = [_parse(text) for text in refs]
    unique = list(dict.fromkeys(p.canonical for p in parsed if isinstance(p, ImageRef)))
    by_canonical = {p.canonical: p for p in parsed if isinstance(p, ImageRef)}
    results: dict[str, RemoteImage] = {}
    if unique:
        from dockdoctor.probes.registry._client import _Client  # it imports this package's options

        client = _Client(options)
        # daemon threads, never joined: a registry that holds a connection cannot keep the process alive
        pool = Pool(options.max_workers, "registry")
        try:
            client.prepare([by_canonical[c] for c in unique])
            futures = {c: pool.submit(client.inspect, by_canonical[c]) for c in unique}
            results = {c: _wait(f, by_canonical[c], options.deadline) for c, f in futures.items()}
            wanted = targets() if callable(targets) else targets
            if wanted:
                from dockdoctor.probes.registry._tags import search_all

                found = search_all(
                    client, list(results.values()), wanted, workers=options.max_workers, deadline=options.deadline
                )
                results = {c: replace(r, alternatives=found[c]) if c in found else r for c, r in results.items()}
        finally:
            pool.shutdown()
            client.close()
    return tuple(_result(text, p, results) for text, p in zip(refs, parsed, strict=True))


@dataclass(frozen=True, slots=True)
class DeepRequest:
    """One image variant to read the entrypoint of: the reference, the target it serves, its platform and digest."""

    reference: str
    target: str
    platform: str
    digest: str


def inspect_deep(
    requests: Sequence[DeepRequest], *, options: RegistryOptions, budget: int | None = None
) -> tuple[DeepImage, ...]:
    """A DeepImage per request, in order; a variant two targets share is read once. Failures are values."""
    from dockdoctor.model import DeepImage, ProbeError
    from dockdoctor.probes.registry import _deep

    budget = budget or _deep.DEFAULT_BUDGET
    parsed = [_parse(r.reference) for r in requests]
    keys: dict[tuple[str, str], tuple[ImageRef, DeepRequest]] = {}
    for req, ref in zip(requests, parsed, strict=True):
        if isinstance(ref, ImageRef):
            keys.setdefault((ref.canonical, req.digest), (ref, req))
    results: dict[tuple[str, str], DeepImage] = {}
    if keys:
        from dockdoctor.probes.registry._client import _Client  # it imports this package's options

        client = _Client(options)
        pool = Pool(min(options.max_workers, 4), "deep")
        try:
            futures = {
                k: pool.submit(
                    _deep.inspect_variant,
                    client,
                    ref,
                    reference=req.reference,
                    target=req.target,
                    platform=req.platform,
                    digest=req.digest,
                    budget_bytes=budget,
                )
                for k, (ref, req) in keys.items()
            }
            for k, f in futures.items():
                ref, req = keys[k]
                try:
                    results[k] = f.result(
                        timeout=None
                        if options.deadline is None
                        else max(0.0, options.deadline - time.monotonic()) + 0.5
                    )
                except FutureTimeout:
                    results[k] = DeepImage(
                        reference=req.reference,
                        target=req.target,
                        platform=req.platform,
                        digest=req.digest,
                        error=ProbeError(
                            probe="deep",
                            kind=Kind.TIMEOUT,
                            detail=f"{_subject(ref)}: the layers were not read before the "
                            "deadline (--timeout; --deep needs more time than a check)",
                        ),
                    )
        finally:
            pool.shutdown()
            client.close()
    out = []
    for req, ref in zip(requests, parsed, strict=True):
        if isinstance(ref, ProbeError):
            out.append(
                DeepImage(
                    reference=req.reference,
                    target=req.target,
                    platform=req.platform,
                    digest=req.digest,
                    error=replace(ref, probe="deep"),
                )
            )
        else:
            out.append(replace(results[(ref.canonical, req.digest)], reference=req.reference, target=req.target))
    return tuple(out)


def _wait(future: Future[RemoteImage], ref: ImageRef, deadline: float | None) -> RemoteImage:
    """The lookup's result, or a timeout error at the deadline (requests end there themselves; this is the net)."""
    try:
        return future.result(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()) + 0.5)
    except FutureTimeout:
        from dockdoctor.model import ProbeError, RemoteImage

        error = ProbeError(
            probe=PROBE,
            kind=Kind.TIMEOUT,
            detail=f"{_subject(ref)}: no answer before the deadline (--timeout)",
        )
        return RemoteImage(reference=str(ref), canonical=ref.canonical, error=error)


def _parse(text: str) -> ImageRef | ProbeError:
    try:
        return parse(text)
    except ReferenceError as err:
        from dockdoctor.model import ProbeError

        return ProbeError(probe=PROBE, kind=Kind.INVALID_REFERENCE, detail=str(err))


def _result(text: str, p: ImageRef | ProbeError, results: Mapping[str, RemoteImage]) -> RemoteImage:
    if not isinstance(p, ImageRef):  # a ProbeError
        from dockdoctor.model import RemoteImage

        return RemoteImage(reference=text, canonical="", error=p)
    return replace(results[p.canonical], reference=text)


def _subject(ref: ImageRef) -> str:
    """How messages name a reference: registry-host/path:tag or @digest."""
    base = f"{ref.registry_host}/{ref.path}"
    return base + (f"@{ref.digest}" if ref.digest else f":{ref.tag or 'latest'}")


def needs_network(refs: Sequence[str], options: RegistryOptions) -> bool:
    """Whether looking these references up will ask a registry (see Cache.answers: a hint, read from the cache)."""
    if options.offline:
        return False
    if options.cache_dir is None:
        return True
    from dockdoctor.probes.registry._cache import Cache

    cache = Cache(Path(options.cache_dir))
    for text in refs:
        try:
            ref = parse(text)
        except ReferenceError:
            continue  # never looked up
        if not cache.answers(ref, refresh=options.refresh, ttl=options.tag_ttl)[0]:
            return True
    return False


def needs_engine(refs: Sequence[str]) -> bool:
    """Whether a reference's registry might be one the engine lists as insecure (plain HTTP)."""
    for ref in refs:
        try:
            parsed = parse(ref)
        except ReferenceError:
            continue
        if not parsed.is_loopback and parsed.domain not in PUBLIC_REGISTRIES:
            return True
    return False


def plain_http(ref: ImageRef, insecure: Sequence[str]) -> bool:
    """Loopback registries and those the engine lists as insecure (host, host:port or CIDR) use plain HTTP."""
    if ref.is_loopback:
        return True
    domain = ref.domain.lower()
    host = domain[1 : domain.find("]")] if domain.startswith("[") else domain.rsplit(":", 1)[0]
    for item in insecure:
        item = item.strip().lower().removeprefix("http://").removeprefix("https://").rstrip("/")
        if item in (domain, host):
            return True
        if "/" in item:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(item, strict=False):
                    return True
            except ValueError:
                continue
    return False
