"""The registry client against a real docker-registry in `auth: token` mode, with the token issuer in tests/support.

The registry (distribution 2.8, /usr/bin/docker-registry) answers 401 with a Bearer challenge; the client must
fetch a token from the realm (GET, Basic auth when it has credentials), and the registry must accept it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from support.servers import closed_port, counting_server
from support.token_issuer import TokenRegistry, token_registry

from dockdoctor.model import RemoteImage
from dockdoctor.probes.registry import RegistryOptions, clear_cache, inspect_remote
from dockdoctor.probes.registry._cache import Cache

PUBLIC = "public/busybox"
PRIVATE = "private/busybox"
USER = "dockdoctor"
PASSWORD = "s3cret-token-test"
BOTH = ["linux/amd64", "linux/arm64"]


@pytest.fixture(scope="module")
def reg(testenv: dict) -> Iterator[TokenRegistry]:
    src = testenv["registry"]
    copies = [
        (f"{src}/busybox:multi", f"{PUBLIC}:multi"),
        (f"{src}/busybox:amd64", f"{PUBLIC}:amd64"),
        (f"{src}/busybox:multi", f"{PRIVATE}:multi"),
    ]
    with token_registry(copies, anonymous_repos={PUBLIC}, user=USER, password=PASSWORD) as running:
        yield running


@pytest.fixture()
def seen(reg: TokenRegistry) -> list[tuple[str, str, int]]:
    reg.clear()
    return []


def config_dir(tmp_path: Path, host: str, user: str, password: str | None) -> Path:
    """A docker config dir; with a password, an `auths` entry for host like `docker login` writes."""
    folder = tmp_path / "docker-config"
    folder.mkdir(exist_ok=True)
    auths = {host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}} if password else {}
    (folder / "config.json").write_text(json.dumps({"auths": auths}))
    return folder


def inspect(
    refs: list[str],
    tmp_path: Path,
    seen: list,
    password: str | None = None,
    host: str = "",
    workers: int = 32,
    cache: Path | None = None,
) -> tuple[RemoteImage, ...]:
    options = RegistryOptions(
        cache_dir=cache,
        timeout=(3.0, 10.0),
        max_workers=workers,
        per_registry=workers,
        docker_config_dir=str(config_dir(tmp_path, host, USER, password)),
        observer=lambda m, u, s: seen.append((m, u, s)),
    )
    return inspect_remote(refs, options=options)


def explain(reg: TokenRegistry, seen: list) -> str:
    lines = [f"client: {m} {u} -> {s}" for m, u, s in seen]
    lines += [
        f"issuer: {r.method} {r.path} {r.query} auth={r.had_authorization} -> {r.status} {r.granted}"
        for r in reg.token_requests()
    ]
    return "\n".join(lines) + "\n--- registry log (tail) ---\n" + reg.log()[-3000:]


def test_anonymous_pull_follows_the_challenge_once_and_reuses_the_token(
    reg: TokenRegistry, tmp_path: Path, seen: list
) -> None:
    # one at a time, so the second reference starts after the first 401 (all at once, each would meet one)
    multi, amd64 = inspect([f"{reg.host}/{PUBLIC}:multi", f"{reg.host}/{PUBLIC}:amd64"], tmp_path, seen, workers=1)
    why = explain(reg, seen)
    assert multi.error is None and amd64.error is None, (multi.error, amd64.error, why)
    assert (multi.kind, [p.platform for p in multi.platforms]) == ("index", BOTH), why
    assert [p.platform for p in amd64.platforms] == ["linux/amd64"], why
    # one challenge from the registry, one token GET (no POST: there are no credentials), reused by both refs
    registry_calls = [(m, u, s) for m, u, s in seen if reg.host in u]
    token_calls = [(m, u, s) for m, u, s in seen if u.startswith(reg.realm)]
    assert [s for _, _, s in registry_calls].count(401) == 1, why
    assert [(m, s) for m, _, s in token_calls] == [("GET", 200)], why
    (asked,) = reg.token_requests()
    assert (asked.method, asked.query.get("service"), asked.scopes, asked.had_authorization) == (
        "GET",
        ["dockdoctor-test"],
        [f"repository:{PUBLIC}:pull"],
        False,
    ), why
    assert asked.granted == ({"type": "repository", "name": PUBLIC, "actions": ["pull"]},)
    assert all(s == 200 for _, _, s in registry_calls if s != 401), why


def test_a_later_run_answers_the_remembered_challenge_without_a_401(
    reg: TokenRegistry, tmp_path: Path, seen: list
) -> None:
    cache = tmp_path / "cache"
    (first,) = inspect([f"{reg.host}/{PUBLIC}:multi"], tmp_path, seen, cache=cache)
    assert first.error is None and [s for _, u, s in seen if reg.host in u] == [401, 200], explain(reg, seen)
    seen.clear()
    (second,) = inspect([f"{reg.host}/{PUBLIC}:amd64"], tmp_path, seen, cache=cache)
    why = explain(reg, seen)
    assert second.error is None, why
    # the token first, then the manifest and its config with it: no 401, one round trip fewer
    assert [(u.startswith(reg.realm), s) for _, u, s in seen] == [(True, 200), (False, 200), (False, 200)], why
    # what is kept: the scheme, realm and service (no scope, no token)
    (stored,) = (cache / "hosts").glob("*.json")
    data = json.loads(stored.read_text())
    assert (data["host"], data["scheme"], data["params"]) == (
        reg.host,
        "bearer",
        {"realm": reg.realm, "service": "dockdoctor-test"},
    )
    assert "token" not in stored.read_text().replace(reg.realm, "")
    clear_cache(cache)  # `dockdoctor cache clear` forgets it too
    assert not stored.exists()


def test_a_stale_remembered_challenge_is_replaced(reg: TokenRegistry, tmp_path: Path, seen: list) -> None:
    cache = tmp_path / "cache"
    Cache(cache).put_challenge(
        reg.host, "bearer", {"realm": f"http://127.0.0.1:{closed_port()}/token", "service": "moved"}
    )
    (got,) = inspect([f"{reg.host}/{PUBLIC}:multi"], tmp_path, seen, cache=cache)
    assert got.error is None, (got.error, explain(reg, seen))
    assert Cache(cache).get_challenge(reg.host) == ("bearer", {"realm": reg.realm, "service": "dockdoctor-test"})


def test_credentials_never_go_to_a_remembered_realm(reg: TokenRegistry, tmp_path: Path, seen: list) -> None:
    """A cache entry naming another token server (tampered, or stale) gets no password: only a live 401 does."""
    cache = tmp_path / "cache"
    with counting_server() as (port, hits):
        Cache(cache).put_challenge(reg.host, "bearer", {"realm": f"http://127.0.0.1:{port}/token", "service": "x"})
        (got,) = inspect([f"{reg.host}/{PRIVATE}:multi"], tmp_path, seen, password=PASSWORD, host=reg.host, cache=cache)
    assert got.error is None, (got.error, explain(reg, seen))
    assert hits == []
    assert [(r.had_authorization, r.user) for r in reg.token_requests()] == [(True, USER)]
    assert Cache(cache).get_challenge(reg.host) == ("bearer", {"realm": reg.realm, "service": "dockdoctor-test"})


def test_a_remembered_challenge_from_the_future_is_ignored(reg: TokenRegistry, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    cache.put_challenge(reg.host, "bearer", {"realm": reg.realm, "service": "dockdoctor-test"})
    (entry,) = (tmp_path / "cache" / "hosts").glob("*.json")
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps({**data, "seen_at": data["seen_at"] + 86400}))  # a clock that was ahead
    assert cache.get_challenge(reg.host) is None


def test_private_repo_without_credentials_needs_docker_login(reg: TokenRegistry, tmp_path: Path, seen: list) -> None:
    (got,) = inspect([f"{reg.host}/{PRIVATE}:multi"], tmp_path, seen)
    why = explain(reg, seen)
    assert got.error is not None and got.error.kind == "auth-required", (got.error, why)
    assert "docker login" in got.error.detail and reg.host in got.error.detail, got.error.detail
    # challenge, anonymous token with no access, then 401 insufficient_scope with that token
    assert [s for _, u, s in seen if reg.host in u] == [401, 401], why
    assert [(r.method, r.had_authorization, r.granted) for r in reg.token_requests()] == [("GET", False, ())], why


def test_credentials_from_the_docker_config_get_a_token(reg: TokenRegistry, tmp_path: Path, seen: list) -> None:
    (got,) = inspect([f"{reg.host}/{PRIVATE}:multi"], tmp_path, seen, password=PASSWORD, host=reg.host)
    why = explain(reg, seen)
    assert got.error is None, (got.error, why)
    assert (got.kind, [p.platform for p in got.platforms]) == ("index", BOTH), why
    asked = reg.token_requests()
    assert [(r.method, r.had_authorization, r.user, r.status) for r in asked] == [("GET", True, USER, 200)], why
    assert asked[0].scopes == [f"repository:{PRIVATE}:pull"], why


def test_wrong_password_is_auth_failed(reg: TokenRegistry, tmp_path: Path, seen: list) -> None:
    (got,) = inspect([f"{reg.host}/{PRIVATE}:multi"], tmp_path, seen, password="wrong", host=reg.host)
    why = explain(reg, seen)
    assert got.error is not None and got.error.kind == "auth-failed", (got.error, why)
    assert "docker login" in got.error.detail, got.error.detail
    assert [(r.had_authorization, r.status) for r in reg.token_requests()] == [(True, 401)], why


def test_cli_inspect_with_docker_config_credentials(reg: TokenRegistry, tmp_path: Path, seen: list) -> None:
    env = isolated_env(tmp_path, DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    config_dir(tmp_path, reg.host, USER, PASSWORD)  # the same folder isolated_env points DOCKER_CONFIG at
    ref = f"{reg.host}/{PRIVATE}:multi"
    result = dockdoctor("inspect", ref, "--json", "--platform", "linux/amd64", env=env, timeout=60)
    why = f"exit {result.code}\nstderr: {result.stderr[-2000:]}\n" + explain(reg, seen)
    assert "Traceback" not in result.stderr, why
    report = result.json()
    (image,) = report["facts"]["images"]["remote"]
    assert image.get("error") in (None, {}), (image, why)
    assert [p["platform"] for p in image["platforms"]] == BOTH, why
    assert [(r.had_authorization, r.user) for r in reg.token_requests()] == [(True, USER)], why
