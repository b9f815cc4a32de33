"""The registry client on http.client: HTTP proxies from the environment, NO_PROXY, and the answers through them."""

from __future__ import annotations

import base64
import contextlib
import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from clirun import dockdoctor, isolated_env
from support.servers import OCI_MANIFEST, documents, json_body, manifest_doc, registry_server, sha256

from dockdoctor.probes.registry._http import bypassed, proxies_from_env

CONFIG = json_body({"os": "linux", "architecture": "arm64", "rootfs": {"type": "layers", "diff_ids": []}})
DOCS = {"manifests/1": (OCI_MANIFEST, manifest_doc(sha256(CONFIG))), f"blobs/{sha256(CONFIG)}": ("x", CONFIG)}


@contextlib.contextmanager
def forwarding_proxy() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A loopback HTTP proxy for absolute-form GET/HEAD requests; the (request line, Proxy-Authorization) it got."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            seen.append((f"{self.command} {self.path}", self.headers.get("Proxy-Authorization", "")))
            target = urlsplit(self.path)
            upstream = http.client.HTTPConnection(target.netloc, timeout=10)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-authorization", "host")}
            upstream.request(self.command, target.path + (f"?{target.query}" if target.query else ""), headers=headers)
            resp = upstream.getresponse()
            body = resp.read()
            self.send_response(resp.status)
            for name, value in resp.getheaders():
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            upstream.close()

        do_GET = do_HEAD = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _inspect(tmp_path: Path, ref: str, **env: str):
    result = dockdoctor(
        "inspect",
        "--json",
        ref,
        env=isolated_env(
            tmp_path,
            **{
                "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
                "DOCKDOCTOR_CACHE_DIR": str(tmp_path / "cache"),
                "NO_PROXY": "",
                "no_proxy": "",
                **env,
            },
        ),
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    (image,) = result.json()["facts"]["images"]["remote"]
    return image


def test_lookups_go_through_the_http_proxy_with_its_credentials(tmp_path: Path) -> None:
    with registry_server(documents(DOCS)) as reg, forwarding_proxy() as (proxy, seen):
        image = _inspect(tmp_path, f"{reg.host}/x/y:1", HTTP_PROXY=f"http://user:p%40ss@{proxy}")
    assert image["error"] is None and image["platforms"][0]["platform"] == "linux/arm64"
    lines = [line for line, _ in seen]
    assert f"GET http://{reg.host}/v2/x/y/manifests/1" in lines  # the absolute form, to the proxy
    assert {auth for _, auth in seen} == {"Basic " + base64.b64encode(b"user:p@ss").decode()}
    assert len(reg.seen) == len(seen)


def test_no_proxy_sends_the_lookups_straight_to_the_registry(tmp_path: Path) -> None:
    with registry_server(documents(DOCS)) as reg, forwarding_proxy() as (proxy, seen):
        image = _inspect(tmp_path, f"{reg.host}/x/y:1", HTTP_PROXY=f"http://{proxy}", NO_PROXY="127.0.0.1")
    assert image["error"] is None and seen == [] and reg.seen


def test_a_proxy_of_an_unsupported_scheme_is_a_lookup_error(tmp_path: Path) -> None:
    with registry_server(documents(DOCS)) as reg:
        image = _inspect(tmp_path, f"{reg.host}/x/y:1", ALL_PROXY="socks5://127.0.0.1:1080")
    assert image["error"]["kind"] == "unreachable"
    assert "only http:// proxies are supported" in image["error"]["detail"]


def test_proxy_variables_lower_case_first_and_not_under_cgi() -> None:
    assert proxies_from_env({"HTTPS_PROXY": "http://a:1", "https_proxy": "http://b:2", "NO_PROXY": "x"}) == {
        "https": "http://b:2",
        "no": "x",
    }
    assert proxies_from_env({"HTTP_PROXY": "http://a:1", "REQUEST_METHOD": "GET"}) == {}


@pytest.mark.parametrize(
    ("netloc", "no_proxy", "expected"),
    [
        ("registry.example.com", "*", True),
        ("registry.example.com", "example.com", True),
        ("registry.example.com", ".example.com", True),
        ("registry.example.com:5000", "registry.example.com:5000", True),
        ("registry.example.com:5000", "registry.example.com", True),
        ("example.com.evil.org", "example.com", False),
        ("notexample.com", "example.com", False),
        ("10.1.2.3:5000", "10.0.0.0/8", True),
        ("192.168.1.1", "10.0.0.0/8, 192.168.0.0/16", True),
        ("[::1]:5000", "::1", True),
        ("ghcr.io", "", False),
    ],
)
def test_no_proxy_matching(netloc: str, no_proxy: str, expected: bool) -> None:
    assert bypassed(netloc, no_proxy) is expected
