"""The registry client's network schedule, as `dockdoctor inspect` runs it against a loopback registry: every
lookup's first request in flight at once, a lookup's config GET right after its manifest (not after the other
lookups), one GET per document however many references share it, the public-registry connection cap.

No wall-clock assertions: the fake registry holds requests on barriers and events (their timeouts are only
a safety net that turns a wrong schedule into a failed assertion rather than a hung test)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from clirun import dockdoctor, isolated_env
from support.servers import OCI_MANIFEST, Answer, json_body, manifest_doc, registry_server, sha256

from dockdoctor.probes.registry import RegistryOptions
from dockdoctor.probes.registry._http import PUBLIC_LIMIT, Transport

CONFIG = json_body({"os": "linux", "architecture": "arm64", "rootfs": {"type": "layers", "diff_ids": []}})
MANIFEST = manifest_doc(sha256(CONFIG))
SAFETY = 20.0  # seconds a held request waits at most (a wrong schedule fails the assertions below instead)


def _ok(media_type: str, body: bytes) -> Answer:
    return Answer(200, {"Content-Type": media_type, "Docker-Content-Digest": sha256(body)}, body)


def _inspect(tmp_path: Path, *refs: str, offline: bool = False) -> list[dict[str, Any]]:
    env = isolated_env(
        tmp_path,
        DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock",
        DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
        NO_PROXY="*",
        no_proxy="*",
    )
    result = dockdoctor("inspect", "--json", *(["--offline"] if offline else []), *refs, env=env, timeout=90)
    assert "Traceback" not in result.stderr, result.stderr
    remote: list[dict[str, Any]] = result.json()["facts"]["images"]["remote"]
    return remote


def test_every_lookup_is_in_flight_at_once(tmp_path: Path) -> None:
    """40 references (more than the 32 lookups the client ran at once before): their 40 manifest requests all
    reach the registry before any is answered."""
    n = 40
    barrier = threading.Barrier(n, timeout=SAFETY)
    met: list[bool] = []

    def route(method: str, path: str) -> Answer:
        if "/manifests/" in path:
            try:
                barrier.wait()
                met.append(True)
            except threading.BrokenBarrierError:
                met.append(False)
            return _ok(OCI_MANIFEST, MANIFEST)
        return _ok("application/octet-stream", CONFIG)

    with registry_server(route) as reg:
        remote = _inspect(tmp_path, *(f"{reg.host}/app-{i}/x:1" for i in range(n)))
    assert [r["error"] for r in remote] == [None] * n
    assert met == [True] * n, f"{met.count(False)} of {n} manifest requests waited for others to be answered first"


def test_a_lookups_config_leaves_before_the_other_lookups_are_answered(tmp_path: Path) -> None:
    """The first manifest is answered at once, the others only after its config GET arrived: the config GET
    follows its manifest at once, it does not wait for the other lookups."""
    config_asked = threading.Event()
    held: list[bool] = []

    def route(method: str, path: str) -> Answer:
        if path.endswith("/first/x/manifests/1"):
            return _ok(OCI_MANIFEST, MANIFEST)
        if "/blobs/" in path:
            config_asked.set()
            return _ok("application/octet-stream", CONFIG)
        if path.endswith("/x/manifests/1"):
            held.append(config_asked.wait(SAFETY))
            return _ok(OCI_MANIFEST, MANIFEST)
        return Answer(404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')

    with registry_server(route) as reg:
        remote = _inspect(tmp_path, f"{reg.host}/first/x:1", *(f"{reg.host}/other-{i}/x:1" for i in range(5)))
    assert [r["error"] for r in remote] == [None] * 6
    assert held == [True] * 5, "a held manifest request was given up before the first lookup's config GET came"


def test_a_document_shared_by_references_is_fetched_once_and_cached(tmp_path: Path) -> None:
    """Eight references whose manifests name one config: one config GET; the cache holds everything when the
    run ends, so an offline run answers them all."""

    def route(method: str, path: str) -> Answer:
        return _ok(OCI_MANIFEST, MANIFEST) if "/manifests/" in path else _ok("application/octet-stream", CONFIG)

    refs: list[str] = []
    with registry_server(route) as reg:
        refs = [f"{reg.host}/app-{i}/x:1" for i in range(8)]
        first = _inspect(tmp_path, *refs)
        blob_gets = [line for line in reg.seen if "/blobs/" in line]
    assert [r["error"] for r in first] == [None] * 8
    assert len(blob_gets) == 1, blob_gets
    offline = _inspect(tmp_path, *refs, offline=True)  # the registry is gone: the disk cache answers
    assert [(r["error"], r["from_cache"]) for r in offline] == [(None, True)] * 8
    assert {r["platforms"][0]["platform"] for r in offline} == {"linux/arm64"}


def _cap(transport: Transport, netloc: str) -> int:
    limit = transport._limit(netloc)
    taken = 0
    while limit.acquire(blocking=False):
        taken += 1
    for _ in range(taken):
        limit.release()
    return taken


def test_public_registries_get_the_polite_cap_and_private_ones_the_lookup_count() -> None:
    options = RegistryOptions(cache_dir=None)
    transport = Transport(per_host=options.per_registry, env={})
    assert _cap(transport, "registry-1.docker.io") == PUBLIC_LIMIT == 6
    assert _cap(transport, "ghcr.io") == PUBLIC_LIMIT
    assert _cap(transport, "registry.example.internal:5000") == options.per_registry == options.max_workers == 64
    assert _cap(Transport(per_host=2, env={}), "ghcr.io") == 2  # DOCKDOCTOR_REGISTRY_WORKERS can only lower it
