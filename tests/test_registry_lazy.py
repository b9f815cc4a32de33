"""A lookup answered from the disk cache imports no HTTP code: no http.client, ssl, email or socket.

Run in a fresh interpreter (pytest itself has imported all of them), on a cache seeded through the Cache API
with a real-shaped image manifest and config: within the tag TTL, offline, and a reference by digest.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clirun import SRC

HTTP_MODULES = (
    "http.client",
    "ssl",
    "email.parser",
    "socket",
    "dockdoctor.probes.registry._http",
    "dockdoctor.probes.registry._auth",
)

DRIVER = textwrap.dedent(
    """
    import hashlib, json, sys, time
    from pathlib import Path

    from dockdoctor.probes.registry import RegistryOptions, inspect_remote
    from dockdoctor.probes.registry._cache import Cache, TagEntry

    cache_dir, offline, ref = Path(sys.argv[1]), sys.argv[2] == "offline", sys.argv[3]
    config = json.dumps({"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    config = config.encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config)},
        "layers": [],
    }).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    cache = Cache(cache_dir)
    cache.put_document(config_digest, config, "application/vnd.oci.image.config.v1+json")
    cache.put_document(digest, manifest, "application/vnd.oci.image.manifest.v1+json")
    entry = TagEntry(digest, digest, "application/vnd.oci.image.manifest.v1+json", time.time())
    cache.put_tag("registry.example.test/team/app:1.0", entry)
    ref = ref.replace("DIGEST", digest)
    options = RegistryOptions(cache_dir=cache_dir, docker_config_dir=str(cache_dir / "no-docker"), offline=offline)
    (got,) = inspect_remote([ref], options=options)
    print(json.dumps({
        "error": got.error.detail if got.error else None,
        "from_cache": got.from_cache,
        "digest": got.digest == digest,
        "platforms": [p.platform for p in got.platforms],
        "imported": [m for m in sys.argv[4:] if m in sys.modules],
    }))
    """
)


def drive(tmp_path: Path, mode: str, ref: str) -> dict[str, object]:
    """One lookup in a fresh interpreter (DRIVER): its result and the HTTP modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(tmp_path / "cache"), mode, ref, *HTTP_MODULES],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got: dict[str, object] = json.loads(proc.stdout)
    return got


@pytest.mark.parametrize(
    ("mode", "ref"),
    [
        ("within-ttl", "registry.example.test/team/app:1.0"),
        ("offline", "registry.example.test/team/app:1.0"),
        ("within-ttl", "registry.example.test/team/app@DIGEST"),
    ],
)
def test_a_lookup_answered_from_the_cache_imports_no_http_code(tmp_path: Path, mode: str, ref: str) -> None:
    got = drive(tmp_path, mode, ref)
    assert got == {"error": None, "from_cache": True, "digest": True, "platforms": ["linux/arm64"], "imported": []}


def test_a_reference_missing_from_the_offline_cache_is_an_error_without_http_code(tmp_path: Path) -> None:
    got = drive(tmp_path, "offline", "registry.example.test/x:2")
    assert got["imported"] == []
    assert "not in cache (offline mode makes no network requests" in got["error"]


def test_many_lookups_asking_at_once_share_one_transport_and_authenticator(tmp_path: Path) -> None:
    import threading

    from dockdoctor.probes.registry import RegistryOptions
    from dockdoctor.probes.registry._client import _Client

    client = _Client(RegistryOptions(cache_dir=tmp_path / "cache", docker_config_dir=str(tmp_path / "no-docker")))
    assert client._transport is None and client._auth is None  # built by the first request only
    start = threading.Barrier(16)
    seen: list[tuple[int, int]] = []

    def ask() -> None:
        start.wait()
        seen.append((id(client.auth), id(client.transport)))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1 and client.auth.transport is client.transport
    client.close()


def test_a_transport_first_needed_after_close_starts_closed(tmp_path: Path) -> None:
    from dockdoctor.probes.registry import RegistryOptions
    from dockdoctor.probes.registry._client import _Client

    client = _Client(RegistryOptions(cache_dir=tmp_path / "cache", docker_config_dir=str(tmp_path / "no-docker")))
    client.close()  # nothing was built: nothing to close
    assert client._transport is None
    assert client.transport._closed  # a lookup past the run's end gets the closed transport it had before


def test_needs_network_is_read_from_the_cache(tmp_path: Path) -> None:
    import hashlib
    import time

    from dockdoctor.probes.registry import RegistryOptions, needs_network
    from dockdoctor.probes.registry._cache import Cache, TagEntry

    body = b'{"schemaVersion": 2}'
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    cache = Cache(tmp_path / "cache")
    cache.put_document(digest, body, "application/vnd.oci.image.manifest.v1+json")
    cache.put_tag("registry.example.test/app:1", TagEntry(digest, digest, "", time.time()))
    options = RegistryOptions(cache_dir=tmp_path / "cache", docker_config_dir=str(tmp_path))
    assert not needs_network(["registry.example.test/app:1", f"registry.example.test/app@{digest}"], options)
    assert needs_network(["registry.example.test/app:2"], options)  # no entry
    assert needs_network(["registry.example.test/app:1"], RegistryOptions(cache_dir=tmp_path / "cache", tag_ttl=0.0))
    assert needs_network(["registry.example.test/app:1"], RegistryOptions(cache_dir=tmp_path / "cache", refresh=True))
    assert not needs_network(["registry.example.test/app:2"], RegistryOptions(cache_dir=tmp_path / "c", offline=True))
    assert needs_network(["registry.example.test/app:1"], RegistryOptions(cache_dir=None))
