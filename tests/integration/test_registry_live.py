"""The registry client against the real test registries, plus a tiny in-process server for what they cannot do."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from integration.env import access_log_lines, wait_log_quiet
from support.servers import closed_port

from dockdoctor import __version__
from dockdoctor.model import RemoteImage
from dockdoctor.probes.registry import RegistryOptions, clear_cache, inspect_remote
from dockdoctor.probes.registry import _manifest as mf

ROOT = Path(__file__).resolve().parents[2]
TEST_REPO = "dockdoctor-registry-test/busybox"
OCI_EMPTY_BODY = b"{}"
ARTIFACT_TYPE = "application/vnd.dockdoctor.test.artifact+json"


def sha(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def opts(tmp_path: Path, **kw: object) -> RegistryOptions:
    base: dict[str, object] = {"cache_dir": tmp_path / "cache", "docker_config_dir": str(tmp_path / "no-docker")}
    base.update(kw)
    return RegistryOptions(**base)  # type: ignore[arg-type]


def one(ref: str, options: RegistryOptions) -> RemoteImage:
    return inspect_remote([ref], options=options)[0]


# --- pushing extra documents through the registry API ---------------------------------------


@dataclass
class Pusher:
    """Pushes blobs and manifests to a no-auth registry:2 with plain requests."""

    registry: str
    repo: str = TEST_REPO
    http: requests.Session = field(default_factory=requests.Session)

    def url(self, suffix: str, repo: str | None = None) -> str:
        return f"http://{self.registry}/v2/{repo or self.repo}/{suffix}"

    def raw(self, repo: str, ref: str) -> tuple[bytes, str]:
        r = self.http.get(self.url(f"manifests/{ref}", repo), headers={"Accept": mf.ACCEPT}, timeout=10)
        r.raise_for_status()
        return r.content, r.headers["Content-Type"]

    def mount(self, digest: str, source: str = "busybox") -> None:
        r = self.http.post(self.url(f"blobs/uploads/?mount={digest}&from={source}"), timeout=10)
        assert r.status_code == 201, (r.status_code, r.text)

    def blob(self, body: bytes) -> str:
        digest = sha(body)
        r = self.http.post(self.url("blobs/uploads/"), timeout=10)
        assert r.status_code == 202, r.text
        location = r.headers["Location"]
        location = location if location.startswith("http") else f"http://{self.registry}{location}"
        sep = "&" if "?" in location else "?"
        r = self.http.put(
            f"{location}{sep}digest={digest}",
            data=body,
            headers={"Content-Type": "application/octet-stream"},
            timeout=10,
        )
        assert r.status_code == 201, r.text
        return digest

    def manifest(self, ref: str, body: bytes, media_type: str) -> str:
        r = self.http.put(self.url(f"manifests/{ref}"), data=body, headers={"Content-Type": media_type}, timeout=10)
        assert r.status_code == 201, (r.status_code, r.text)
        return sha(body)

    def copy_image(self, digest: str) -> tuple[bytes, str]:
        """Copy an image manifest (and mount its blobs) from busybox into the test repository."""
        body, media_type = self.raw("busybox", digest)
        doc = json.loads(body)
        for desc in [doc["config"], *doc["layers"]]:
            self.mount(desc["digest"])
        self.manifest(digest, body, media_type)
        return body, media_type


def _desc(media_type: str, body: bytes, **extra: object) -> dict[str, object]:
    return {"mediaType": media_type, "digest": sha(body), "size": len(body), **extra}


def _attestation_manifest(pusher: Pusher, subject: str) -> bytes:
    """A BuildKit-style attestation manifest: unknown/unknown config and one in-toto layer."""
    statement = json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "subject": [{"name": "_", "digest": {"sha256": subject.split(":")[1]}}],
            "predicate": {},
        }
    ).encode()
    layer = pusher.blob(statement)
    config = json.dumps(
        {"architecture": "unknown", "os": "unknown", "config": {}, "rootfs": {"type": "layers", "diff_ids": [layer]}}
    ).encode()
    pusher.blob(config)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mf.OCI_MANIFEST,
            "config": _desc(mf.OCI_CONFIG, config),
            "layers": [
                _desc(
                    "application/vnd.in-toto+json",
                    statement,
                    annotations={"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
                )
            ],
        }
    ).encode()
    pusher.manifest(sha(body), body, mf.OCI_MANIFEST)
    return body


def _index(entries: list[dict[str, object]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": mf.OCI_INDEX, "manifests": entries}).encode()


@pytest.fixture(scope="session")
def pushed(testenv: dict) -> dict[str, str]:
    """Extra documents in TEST_REPO: attestation index, nested index, artifact, entry without platform."""
    pusher = Pusher(testenv["registry"])
    info = testenv["image_info"]["multi-oci"]
    children: list[dict[str, object]] = []
    attestations: list[dict[str, object]] = []
    for m in info["manifests"]:
        body, media_type = pusher.copy_image(m["digest"])
        os_, arch = m["platform"].split("/")[:2]
        children.append(_desc(media_type, body, platform={"architecture": arch, "os": os_}))
        att = _attestation_manifest(pusher, m["digest"])
        attestations.append(
            _desc(
                mf.OCI_MANIFEST,
                att,
                platform={"architecture": "unknown", "os": "unknown"},
                annotations={
                    "vnd.docker.reference.digest": m["digest"],
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            )
        )
    out = {"registry": testenv["registry"], "repo": TEST_REPO}
    out["attest_digest"] = pusher.manifest("attest", _index(children + attestations), mf.OCI_INDEX)
    inner_body, inner_type = pusher.raw("busybox", "multi-oci")
    pusher.manifest(sha(inner_body), inner_body, inner_type)
    out["nested_digest"] = pusher.manifest("nested", _index([_desc(mf.OCI_INDEX, inner_body)]), mf.OCI_INDEX)
    noplat = dict(children[0])
    noplat.pop("platform")
    out["noplatform_digest"] = pusher.manifest("noplatform", _index([noplat, children[1]]), mf.OCI_INDEX)
    pusher.blob(OCI_EMPTY_BODY)
    artifact = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mf.OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": _desc(mf.OCI_EMPTY, OCI_EMPTY_BODY),
            "layers": [_desc(mf.OCI_EMPTY, OCI_EMPTY_BODY)],
        }
    ).encode()
    out["artifact_digest"] = pusher.manifest("artifact", artifact, mf.OCI_MANIFEST)
    out["amd64_oci_digest"] = info["manifests"][0]["digest"]
    out["arm64_oci_digest"] = info["manifests"][1]["digest"]
    return out


def ref_of(pushed: dict[str, str], tag: str) -> str:
    return f"{pushed['registry']}/{pushed['repo']}:{tag}"


# --- kinds and platforms on the real registry ------------------------------------------------


@pytest.mark.parametrize(
    ("key", "kind", "platforms"),
    [
        ("amd64", "manifest", ["linux/amd64"]),
        ("arm64", "manifest", ["linux/arm64"]),
        ("multi", "index", ["linux/amd64", "linux/arm64"]),
        ("multi_oci", "index", ["linux/amd64", "linux/arm64"]),
    ],
)
def test_each_kind_lists_its_platforms(
    testenv: dict, tmp_path: Path, key: str, kind: str, platforms: list[str]
) -> None:
    got = one(testenv["images"][key], opts(tmp_path))
    info = testenv["image_info"][key.replace("_", "-")]
    assert got.error is None, got.error
    assert (got.kind, sorted(p.platform for p in got.platforms)) == (kind, platforms)
    assert got.digest == info["digest"]
    assert got.media_type == info["media_type"]
    if kind == "index":
        assert [p.digest for p in got.platforms] == [m["digest"] for m in info["manifests"]]
    assert got.attestations == ()


def test_attestations_are_listed_apart(pushed: dict[str, str], tmp_path: Path) -> None:
    got = one(ref_of(pushed, "attest"), opts(tmp_path))
    assert got.error is None, got.error
    assert got.digest == pushed["attest_digest"]
    assert [p.platform for p in got.platforms] == ["linux/amd64", "linux/arm64"]
    assert [a.refers_to for a in got.attestations] == [pushed["amd64_oci_digest"], pushed["arm64_oci_digest"]]
    assert all(a.media_type == mf.OCI_MANIFEST for a in got.attestations)


def test_nested_index_is_resolved_with_one_more_get(pushed: dict[str, str], tmp_path: Path) -> None:
    seen: list[tuple[str, str, int]] = []
    got = one(ref_of(pushed, "nested"), opts(tmp_path, observer=lambda m, u, s: seen.append((m, u, s))))
    assert got.error is None, got.error
    assert (got.kind, [p.platform for p in got.platforms]) == ("index", ["linux/amd64", "linux/arm64"])
    assert [m for m, _, _ in seen] == ["GET", "GET"]


def test_index_entry_without_platform_is_unknown(pushed: dict[str, str], tmp_path: Path) -> None:
    got = one(ref_of(pushed, "noplatform"), opts(tmp_path))
    assert [p.platform for p in got.platforms] == ["unknown", "linux/arm64"]


def test_artifact_is_not_an_image_and_its_config_is_not_fetched(pushed: dict[str, str], tmp_path: Path) -> None:
    seen: list[tuple[str, str, int]] = []
    got = one(ref_of(pushed, "artifact"), opts(tmp_path, observer=lambda m, u, s: seen.append((m, u, s))))
    assert got.error is None, got.error
    assert (got.kind, got.artifact_type, got.platforms) == ("artifact", ARTIFACT_TYPE, ())
    assert len(seen) == 1 and "/manifests/" in seen[0][1]


def test_digest_reference_is_verified_and_resolved(testenv: dict, tmp_path: Path) -> None:
    info = testenv["image_info"]["multi"]
    got = one(f"{testenv['registry']}/busybox@{info['digest']}", opts(tmp_path))
    assert got.error is None and got.digest == info["digest"]
    assert len(got.platforms) == 2


# --- agreement with skopeo ---------------------------------------------------------------------


def skopeo_raw(ref: str, *creds: str) -> bytes:
    argv = ["skopeo", "inspect", "--raw", "--tls-verify=false", *creds, f"docker://{ref}"]
    return subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout


def skopeo_platforms(ref: str) -> tuple[str, list[str]]:
    body = skopeo_raw(ref)
    doc = json.loads(body)
    if "manifests" in doc:
        plats = [
            f"{m['platform']['os']}/{m['platform']['architecture']}"
            for m in doc["manifests"]
            if m["platform"]["os"] != "unknown"
        ]
        return sha(body), plats
    config = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--config", "--raw", "--tls-verify=false", f"docker://{ref}"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    )
    return sha(body), [f"{config['os']}/{config['architecture']}"]


@pytest.mark.parametrize("key", ["amd64", "arm64", "multi", "multi_oci"])
def test_same_digest_and_platforms_as_skopeo(testenv: dict, tmp_path: Path, key: str) -> None:
    ref = testenv["images"][key]
    got = one(ref, opts(tmp_path))
    digest, plats = skopeo_platforms(ref)
    assert got.digest == digest
    assert [p.platform for p in got.platforms] == plats


def test_attestation_index_agrees_with_skopeo(pushed: dict[str, str], tmp_path: Path) -> None:
    ref = ref_of(pushed, "attest")
    got = one(ref, opts(tmp_path))
    digest, plats = skopeo_platforms(ref)
    assert (got.digest, [p.platform for p in got.platforms]) == (digest, plats)


# --- authentication against the htpasswd registry ---------------------------------------------


def write_config(directory: Path, config: dict[str, object]) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return str(directory)


def basic_config(testenv: dict, password: str | None = None) -> dict[str, object]:
    pair = f"{testenv['registry_user']}:{password or testenv['registry_password']}"
    return {"auths": {testenv["registry_auth"]: {"auth": base64.b64encode(pair.encode()).decode()}}}


def test_basic_auth_with_config_json(testenv: dict, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "docker", basic_config(testenv))
    refs = [testenv["images"]["auth_multi"], testenv["images"]["auth_amd64"]]
    got = inspect_remote(refs, options=opts(tmp_path, docker_config_dir=cfg))
    assert [r.error for r in got] == [None, None]
    assert got[0].digest == testenv["image_info"]["multi"]["auth_digest"]
    assert got[1].platforms[0].platform == "linux/amd64"


@pytest.fixture
def helper_on_path(tmp_path: Path, testenv: dict, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A docker-credential-dockdoctortest script on PATH that answers for the auth registry and logs calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "helper.log"
    script = bin_dir / "docker-credential-dockdoctortest"
    script.write_text(
        f"""#!/bin/sh
read -r server || true
echo "$1 $server" >> {log}
if [ "$server" = "{testenv["registry_auth"]}" ]; then
  user='{testenv["registry_user"]}' secret='{testenv["registry_password"]}'
  printf '{{"ServerURL":"%s","Username":"%s","Secret":"%s"}}' "$server" "$user" "$secret"
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
""",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


@pytest.mark.parametrize("style", ["credHelpers", "credsStore"])
def test_basic_auth_with_credential_helper(testenv: dict, tmp_path: Path, helper_on_path: Path, style: str) -> None:
    config: dict[str, object] = (
        {"credHelpers": {testenv["registry_auth"]: "dockdoctortest"}}
        if style == "credHelpers"
        else {"credsStore": "dockdoctortest"}
    )
    cfg = write_config(tmp_path / "docker", config)
    refs = [testenv["images"]["auth_multi_oci"], testenv["images"]["auth_arm64"]]
    got = inspect_remote(refs, options=opts(tmp_path, docker_config_dir=cfg))
    assert [r.error for r in got] == [None, None]
    assert got[0].digest == testenv["image_info"]["multi-oci"]["auth_digest"]
    assert helper_on_path.read_text().splitlines() == [f"get {testenv['registry_auth']}"]  # asked once


def test_missing_credentials_is_auth_required(testenv: dict, tmp_path: Path) -> None:
    got = one(testenv["images"]["auth_amd64"], opts(tmp_path))
    assert got.error is not None and got.error.kind == "auth-required"
    assert f"docker login {testenv['registry_auth']}" in got.error.detail


def test_wrong_password_is_auth_failed(testenv: dict, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "docker", basic_config(testenv, "wrong-password"))
    got = one(testenv["images"]["auth_amd64"], opts(tmp_path, docker_config_dir=cfg))
    assert got.error is not None and got.error.kind == "auth-failed"
    assert "config.json" in got.error.detail


# --- failures ----------------------------------------------------------------------------------


def test_not_found(testenv: dict, tmp_path: Path) -> None:
    ref = f"{testenv['registry']}/nope:1"
    got = one(ref, opts(tmp_path))
    assert got.error is not None and got.error.kind == "not-found"
    assert got.error.detail == (
        f"{ref}: not found (the repository or tag does not exist; a private repository also answers 401)"
    )


def test_invalid_reference_makes_no_request(tmp_path: Path) -> None:
    seen: list[object] = []
    got = inspect_remote(["Nginx", "foo@sha256:abc"], options=opts(tmp_path, observer=lambda *a: seen.append(a)))
    assert [r.error.kind for r in got if r.error] == ["invalid-reference", "invalid-reference"]
    assert seen == []


def test_registry_down_is_unreachable_quickly(tmp_path: Path) -> None:
    start = time.monotonic()
    got = one(f"127.0.0.1:{closed_port()}/busybox:1", opts(tmp_path))
    assert got.error is not None and got.error.kind == "unreachable"
    assert time.monotonic() - start < 2.0


# --- cache -------------------------------------------------------------------------------------


def run_counted(
    refs: list[str], options: RegistryOptions, log: str
) -> tuple[tuple[RemoteImage, ...], list[tuple[str, str, int]], list[str]]:
    seen: list[tuple[str, str, int]] = []
    before = wait_log_quiet(log)
    got = inspect_remote(refs, options=replace(options, observer=lambda m, u, s: seen.append((m, u, s))))
    after = wait_log_quiet(log)
    lines = [line for line in access_log_lines(log)[before:after] if f"dockdoctor/{__version__}" in line]
    return got, seen, lines


def test_cache_warm_within_ttl_is_free_and_after_ttl_costs_one_head(testenv: dict, tmp_path: Path) -> None:
    refs = [testenv["images"][k] for k in ("amd64", "arm64", "multi", "multi_oci")]
    log = testenv["registry_log"]
    options = opts(tmp_path, tag_ttl=300.0)
    cold, cold_seen, cold_log = run_counted(refs, options, log)
    assert all(r.error is None and not r.from_cache for r in cold)
    assert sorted(m for m, _, _ in cold_seen) == ["GET"] * 6  # 4 manifests + 2 configs (the arm64/amd64 ones)
    assert len(cold_log) == len(cold_seen)

    warm, warm_seen, warm_log = run_counted(refs, options, log)
    assert (warm_seen, warm_log) == ([], [])
    assert [r.digest for r in warm] == [r.digest for r in cold]
    assert [r.platforms for r in warm] == [r.platforms for r in cold]
    assert all(r.from_cache for r in warm)

    stale, stale_seen, stale_log = run_counted(refs, replace(options, tag_ttl=0.0), log)
    assert sorted((m, u.rsplit("/", 1)[1]) for m, u, _ in stale_seen) == [
        ("HEAD", "amd64"),
        ("HEAD", "arm64"),
        ("HEAD", "multi"),
        ("HEAD", "multi-oci"),
    ]
    assert len(stale_log) == 4 and all('"HEAD ' in line for line in stale_log)
    assert [r.platforms for r in stale] == [r.platforms for r in cold]


def test_changed_digest_is_refetched(pushed: dict[str, str], testenv: dict, tmp_path: Path) -> None:
    pusher = Pusher(pushed["registry"])
    multi, multi_type = pusher.raw("busybox", "multi-oci")
    pusher.manifest("moving", multi, multi_type)
    ref = ref_of(pushed, "moving")
    options = opts(tmp_path, tag_ttl=0.0)
    first = one(ref, options)
    assert first.kind == "index"
    single, single_type = pusher.raw(TEST_REPO, pushed["amd64_oci_digest"])
    pusher.manifest("moving", single, single_type)
    seen: list[tuple[str, str, int]] = []
    second = one(ref, replace(options, observer=lambda m, u, s: seen.append((m, u, s))))
    assert (second.kind, [p.platform for p in second.platforms]) == ("manifest", ["linux/amd64"])
    assert second.digest == sha(single) and not second.from_cache
    assert [(m, u.split("/v2/")[1].split("/")[-2]) for m, u, _ in seen] == [
        ("HEAD", "manifests"),
        ("GET", "manifests"),
        ("GET", "blobs"),
    ]


def test_offline_uses_only_the_cache(testenv: dict, tmp_path: Path) -> None:
    ref = testenv["images"]["multi"]
    seen: list[object] = []
    offline = opts(tmp_path, offline=True, observer=lambda *a: seen.append(a))
    missing = one(ref, offline)
    assert missing.error is not None and "not in cache" in missing.error.detail
    one(ref, opts(tmp_path))
    got = one(ref, replace(offline, tag_ttl=0.0))
    assert got.error is None and got.from_cache and len(got.platforms) == 2
    assert seen == []


def test_clear_cache_removes_files(testenv: dict, tmp_path: Path) -> None:
    one(testenv["images"]["amd64"], opts(tmp_path))
    assert clear_cache(tmp_path / "cache") == 5  # manifest + its .type, config (+ .type), tag entry
    assert clear_cache(tmp_path / "cache") == 0


def test_cache_rejects_a_tampered_document(testenv: dict, tmp_path: Path) -> None:
    ref = testenv["images"]["multi"]
    first = one(ref, opts(tmp_path))
    blob = tmp_path / "cache" / "blobs" / "sha256" / first.digest.split(":")[1]
    blob.write_bytes(blob.read_bytes().replace(b"arm64", b"arm65"))
    seen: list[object] = []
    again = one(ref, opts(tmp_path, observer=lambda *a: seen.append(a)))
    assert again.error is None and [p.platform for p in again.platforms] == ["linux/amd64", "linux/arm64"]
    assert len(seen) == 1  # refetched


# --- an in-process server for what registry:2 cannot do ----------------------------------------

Handler = Callable[["Request"], tuple[int, dict[str, str], bytes]]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up (timeout tests) is expected
            super().handle_error(request, client_address)


class FakeServer:
    """A threaded HTTP server on 127.0.0.1:0 whose routes are functions; it records every request."""

    def __init__(self, route: Handler) -> None:
        self.route = route
        self.requests: list[Request] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        server = self

        class _H(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                with server.lock:
                    server.requests.append(req)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    status, headers, body = server.route(req)
                finally:
                    with server.lock:
                        server.active -= 1
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], FakeServer]]:
    servers: list[FakeServer] = []

    def start(route: Handler) -> FakeServer:
        servers.append(FakeServer(route))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def fixture_doc(name: str) -> tuple[bytes, str]:
    data = json.loads((ROOT / "fixtures" / "registry" / name).read_text(encoding="utf-8"))
    return data["body"].encode(), data["content_type"]


def test_rate_limit_reports_headers_and_does_not_wait_an_hour(
    serve: Callable[[Handler], FakeServer], tmp_path: Path
) -> None:
    srv = serve(
        lambda r: (
            429,
            {
                "ratelimit-limit": "100;w=21600",
                "ratelimit-remaining": "0;w=21600",
                "Retry-After": "3600",
                "Content-Type": "application/json",
            },
            b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
        )
    )
    start = time.monotonic()
    got = one(f"{srv.host}/library/x:1", opts(tmp_path))
    assert got.error is not None and got.error.kind == "rate-limited"
    assert got.error.detail == f"{srv.host}/library/x: rate limited (ratelimit-remaining 0; retry after 3600 s)"
    assert time.monotonic() - start < 2.0 and len(srv.requests) == 1


def test_rate_limit_with_short_retry_after_is_retried(serve: Callable[[Handler], FakeServer], tmp_path: Path) -> None:
    body, ctype = fixture_doc("oci-index.multi-oci.json")
    calls: list[int] = []

    def route(r: Request) -> tuple[int, dict[str, str], bytes]:
        calls.append(1)
        if len(calls) == 1:
            return 429, {"Retry-After": "1"}, b""
        return 200, {"Content-Type": ctype}, body

    srv = serve(route)
    start = time.monotonic()
    got = one(f"{srv.host}/x:1", opts(tmp_path))
    assert got.error is None and len(got.platforms) == 2
    assert 1.0 <= time.monotonic() - start < 3.0 and len(srv.requests) == 2


def test_blob_redirect_to_another_host_drops_authorization(
    serve: Callable[[Handler], FakeServer], tmp_path: Path
) -> None:
    manifest, mtype = fixture_doc("docker-manifest.amd64.json")
    config, _ = fixture_doc("docker-config.amd64.json")
    config_digest = json.loads(manifest)["config"]["digest"]
    cdn = serve(
        lambda r: (
            (400, {}, b"Only one auth mechanism allowed")
            if "authorization" in r.headers
            else (200, {"Content-Type": "application/octet-stream"}, config)
        )
    )
    expected = "Basic " + base64.b64encode(b"u:p").decode()

    def registry(r: Request) -> tuple[int, dict[str, str], bytes]:
        if r.headers.get("authorization") != expected:
            return 401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""
        if r.path.endswith(f"/blobs/{config_digest}"):
            return 307, {"Location": f"http://{cdn.host}/blob?sig=abc"}, b""
        return 200, {"Content-Type": mtype}, manifest

    reg = serve(registry)
    cfg = write_config(tmp_path / "docker", {"auths": {reg.host: {"username": "u", "password": "p"}}})
    got = one(f"{reg.host}/app:1", opts(tmp_path, docker_config_dir=cfg))
    assert got.error is None, got.error
    assert got.platforms[0].platform == "linux/amd64"
    assert [r.headers.get("authorization") for r in cdn.requests] == [None]
    assert reg.requests[-1].headers["authorization"] == expected


def test_wrong_content_type_is_sniffed_from_the_body(serve: Callable[[Handler], FakeServer], tmp_path: Path) -> None:
    body, _ = fixture_doc("docker-manifest-list.multi.json")
    srv = serve(lambda r: (200, {"Content-Type": "text/plain; charset=utf-8"}, body))
    got = one(f"{srv.host}/x:1", opts(tmp_path))
    assert got.error is None and got.kind == "index"
    assert got.media_type == mf.DOCKER_LIST and len(got.platforms) == 2


def test_hanging_server_times_out_within_the_configured_seconds(
    serve: Callable[[Handler], FakeServer], tmp_path: Path
) -> None:
    release = threading.Event()

    def hang(r: Request) -> tuple[int, dict[str, str], bytes]:
        release.wait(10)
        return 500, {}, b""

    srv = serve(hang)
    refs = [f"{srv.host}/x:{i}" for i in range(5)]
    start = time.monotonic()
    try:
        got = inspect_remote(refs, options=opts(tmp_path, timeout=(1.0, 1.0)))
    finally:
        release.set()
    assert [r.error.kind if r.error else None for r in got] == ["timeout"] * 5
    assert "read timeout after 1 s" in got[0].error.detail
    # all five wait at once: the hang costs one timeout, not one per reference (nor one for a first request)
    assert time.monotonic() - start < 1.9


def bearer_registry(serve: Callable[[Handler], FakeServer], *, hold_401: float = 0.0) -> tuple[FakeServer, FakeServer]:
    """A token issuer granting "t0k3n" to anyone, and a registry that answers 401 (after hold_401 s) without it."""
    body, ctype = fixture_doc("oci-index.multi-oci.json")
    tokens = serve(
        lambda r: (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"token": "t0k3n", "expires_in": 300}).encode(),
        )
    )

    def registry(r: Request) -> tuple[int, dict[str, str], bytes]:
        if r.headers.get("authorization") != "Bearer t0k3n":
            time.sleep(hold_401)
            challenge = f'Bearer realm="http://{tokens.host}/token",service="fake.test"'
            return 401, {"WWW-Authenticate": challenge}, b'{"errors":[{"code":"UNAUTHORIZED"}]}'
        return 200, {"Content-Type": ctype}, body

    return tokens, serve(registry)


def test_bearer_token_is_fetched_anonymously_with_get_and_reused(
    serve: Callable[[Handler], FakeServer], tmp_path: Path
) -> None:
    tokens, reg = bearer_registry(serve)
    refs = [f"{reg.host}/team/app:{i}" for i in range(3)]
    # one at a time: the first 401 teaches the challenge, later requests carry the token up front
    got = inspect_remote(refs, options=opts(tmp_path, max_workers=1, per_registry=1))
    assert [r.error for r in got] == [None, None, None]
    assert [(r.method, r.path, r.headers.get("authorization")) for r in tokens.requests] == [
        ("GET", "/token?service=fake.test&scope=repository%3Ateam%2Fapp%3Apull", None)
    ]
    assert [r.headers.get("authorization") for r in reg.requests] == [None] + ["Bearer t0k3n"] * 3


def test_concurrent_first_requests_share_one_token_per_scope(
    serve: Callable[[Handler], FakeServer], tmp_path: Path
) -> None:
    """No first-request gate: the first wave all meet the 401, then one token per scope answers them all."""
    tokens, reg = bearer_registry(serve, hold_401=0.2)  # every first-wave request is out before a 401 is back
    refs = [f"{reg.host}/team/app:{i}" for i in range(4)] + [f"{reg.host}/team/other:1"]
    start = time.monotonic()
    got = inspect_remote(refs, options=opts(tmp_path))
    assert [r.error for r in got] == [None] * 5
    assert time.monotonic() - start < 0.2 * 2  # one 401 wait for all of them, not one after another
    assert sorted(r.path.split("scope=")[1] for r in tokens.requests) == [
        "repository%3Ateam%2Fapp%3Apull",
        "repository%3Ateam%2Fother%3Apull",
    ]
    assert sorted(str(r.headers.get("authorization")) for r in reg.requests) == ["Bearer t0k3n"] * 5 + ["None"] * 5


def test_twenty_references_concurrently_duplicates_asked_once(
    serve: Callable[[Handler], FakeServer], tmp_path: Path
) -> None:
    body, ctype = fixture_doc("oci-index.multi-oci.json")

    def route(r: Request) -> tuple[int, dict[str, str], bytes]:
        time.sleep(0.05)
        return 200, {"Content-Type": ctype}, body

    srv = serve(route)
    refs = [f"{srv.host}/app:t{i % 10}" for i in range(20)]
    start = time.monotonic()
    got = inspect_remote(refs, options=opts(tmp_path, per_registry=4))
    assert [r.reference for r in got] == refs and all(r.error is None for r in got)
    assert sorted(r.path for r in srv.requests) == sorted(f"/v2/app/manifests/t{i}" for i in range(10))
    assert 1 < srv.max_active <= 4
    assert time.monotonic() - start < 0.05 * 10


def test_identity_token_uses_the_refresh_grant_with_post(
    serve: Callable[[Handler], FakeServer], tmp_path: Path
) -> None:
    body, ctype = fixture_doc("oci-index.multi-oci.json")
    tokens = serve(
        lambda r: (
            (200, {"Content-Type": "application/json"}, b'{"access_token": "acc"}')
            if r.method == "POST"
            else (405, {}, b"")
        )
    )
    reg = serve(
        lambda r: (
            (200, {"Content-Type": ctype}, body)
            if r.headers.get("authorization") == "Bearer acc"
            else (401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/token",service="svc"'}, b"")
        )
    )
    cfg = write_config(tmp_path / "docker", {"auths": {reg.host: {"identitytoken": "refresh"}}})
    got = one(f"{reg.host}/a/b:1", opts(tmp_path, docker_config_dir=cfg))
    assert got.error is None, got.error
    assert [r.method for r in tokens.requests] == ["POST"]


def test_server_errors_are_retried(serve: Callable[[Handler], FakeServer], tmp_path: Path) -> None:
    body, ctype = fixture_doc("oci-index.multi-oci.json")
    answers = iter([(503, {}, b""), (200, {"Content-Type": ctype}, body)])
    srv = serve(lambda r: next(answers))
    got = one(f"{srv.host}/x:1", opts(tmp_path))
    assert got.error is None and len(srv.requests) == 2


def test_persistent_server_errors_end_as_unreachable(serve: Callable[[Handler], FakeServer], tmp_path: Path) -> None:
    srv = serve(lambda r: (502, {"Retry-After": "0"}, b"bad gateway"))
    got = one(f"{srv.host}/x:1", opts(tmp_path))
    assert got.error is not None and got.error.kind == "unreachable" and "HTTP 502" in got.error.detail
    assert len(srv.requests) == 3


def test_oversized_manifest_is_refused(serve: Callable[[Handler], FakeServer], tmp_path: Path) -> None:
    srv = serve(lambda r: (200, {"Content-Type": mf.OCI_INDEX}, b" " * ((4 << 20) + 1)))
    got = one(f"{srv.host}/x:1", opts(tmp_path))
    assert got.error is not None and got.error.kind == "protocol" and "4 MiB" in got.error.detail


def test_document_that_does_not_match_its_digest(serve: Callable[[Handler], FakeServer], tmp_path: Path) -> None:
    body, ctype = fixture_doc("oci-index.multi-oci.json")
    srv = serve(lambda r: (200, {"Content-Type": ctype}, body + b"\n"))
    got = one(f"{srv.host}/x@{sha(body)}", opts(tmp_path))
    assert got.error is not None and got.error.kind == "digest-mismatch"
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # nothing unverified is cached


def test_head_without_digest_falls_back_to_get(serve: Callable[[Handler], FakeServer], tmp_path: Path) -> None:
    body, ctype = fixture_doc("oci-index.multi-oci.json")
    srv = serve(lambda r: (200, {"Content-Type": ctype}, body))
    ref = f"{srv.host}/x:1"
    one(ref, opts(tmp_path))
    got = one(ref, opts(tmp_path, tag_ttl=0.0))
    assert got.error is None and [r.method for r in srv.requests] == ["GET", "HEAD", "GET"]


def test_forbidden_is_denied(serve: Callable[[Handler], FakeServer], tmp_path: Path) -> None:
    srv = serve(
        lambda r: (
            403,
            {"Content-Type": "application/json"},
            b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}',
        )
    )
    got = one(f"{srv.host}/x:1", opts(tmp_path))
    assert got.error is not None and got.error.kind == "denied"
    assert "requested access to the resource is denied" in got.error.detail


def test_missing_helper_is_named_in_auth_required(testenv: dict, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "docker", {"credsStore": "dockdoctor-missing-helper"})
    got = one(testenv["images"]["auth_amd64"], opts(tmp_path, docker_config_dir=cfg))
    assert got.error is not None and got.error.kind == "auth-required"
    assert "docker-credential-dockdoctor-missing-helper is not installed" in got.error.detail


def test_docker_auth_config_environment_credentials(testenv: dict, tmp_path: Path) -> None:
    got = one(
        testenv["images"]["auth_multi"], replace(opts(tmp_path), docker_auth_config=json.dumps(basic_config(testenv)))
    )
    assert got.error is None and got.digest == testenv["image_info"]["multi"]["auth_digest"]


def test_auth_registry_request_count(testenv: dict, tmp_path: Path) -> None:
    """Basic auth: each request that goes out before the host's first 401 meets one; later ones send the
    credentials up front. One at a time that is one 401 per run; all at once, one per first-wave request."""
    cfg = write_config(tmp_path / "docker", basic_config(testenv))
    refs = [testenv["images"][k] for k in ("auth_amd64", "auth_arm64", "auth_multi", "auth_multi_oci")]
    serial = opts(tmp_path, docker_config_dir=cfg, max_workers=1, per_registry=1, cache_dir=tmp_path / "c1")
    got, seen, lines = run_counted(refs, serial, testenv["auth_registry_log"])
    assert all(r.error is None for r in got)
    assert [s for _, _, s in seen] == [401] + [200] * 6
    assert len(lines) == 7
    concurrent = opts(tmp_path, docker_config_dir=cfg, cache_dir=tmp_path / "c2")
    got, seen, lines = run_counted(refs, concurrent, testenv["auth_registry_log"])
    assert all(r.error is None for r in got)
    assert sorted(s for _, _, s in seen) == [200] * 6 + [401] * sum(s == 401 for _, _, s in seen)
    assert 1 <= sum(s == 401 for _, _, s in seen) <= 4 and len(lines) == len(seen)
    # a later run remembers that the host asks for Basic: the credentials go with every first request
    got, seen, lines = run_counted(refs, replace(concurrent, refresh=True), testenv["auth_registry_log"])
    assert all(r.error is None for r in got)
    assert [s for _, _, s in seen] == [200] * 4 and len(lines) == 4  # one HEAD per tag, no 401


def test_rejected_cached_token_is_replaced_once(serve: Callable[[Handler], FakeServer], tmp_path: Path) -> None:
    body, ctype = fixture_doc("oci-index.multi-oci.json")
    issued = iter(["t1", "t2"])
    tokens = serve(lambda r: (200, {}, json.dumps({"token": next(issued)}).encode()))
    valid = {"Bearer t1"}

    def registry(r: Request) -> tuple[int, dict[str, str], bytes]:
        if r.headers.get("authorization") in valid:
            valid.clear()
            valid.add("Bearer t2")  # the registry revokes t1 after one use
            return 200, {"Content-Type": ctype}, body
        return 401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/token",service="svc"'}, b""

    reg = serve(registry)
    got = inspect_remote([f"{reg.host}/a:1", f"{reg.host}/a:2"], options=opts(tmp_path, max_workers=1))
    assert [r.error for r in got] == [None, None]
    assert [r.headers.get("authorization") for r in reg.requests] == [None, "Bearer t1", "Bearer t1", "Bearer t2"]
