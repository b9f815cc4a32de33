"""Test servers for what no real peer does on demand: a TCP endpoint that accepts and never answers, one that only
counts who came, none, and hostile registries (bad digests, deep nesting, fan-out, Retry-After, trickling)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def hanging_server() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word; yields the port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def closed_port() -> int:
    """A loopback port nothing listens on (a connection to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def counting_server() -> Iterator[tuple[int, list[str]]]:
    """A loopback HTTP server that answers 500 to everything; yields its port and the request lines it got."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            seen.append(f"{self.command} {self.path} auth={'Authorization' in self.headers}")
            self.send_error(500)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


# --- hostile registries ---------------------------------------------------------------------------

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


@dataclasses.dataclass
class Answer:
    """What the fake registry sends: status, headers, body; trickle > 0 sends one byte per `trickle` s (the
    headers too, unless trickle_headers is false: then they come at once and only the body trickles)."""

    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: bytes = b""
    trickle: float = 0.0
    trickle_headers: bool = True


Route = Callable[[str, str], Answer]  # (method, path) -> Answer


@dataclasses.dataclass
class Registry:
    """A running fake registry: host ("127.0.0.1:PORT") and the request lines it got ("GET /v2/...")."""

    host: str
    seen: list[str]


@contextlib.contextmanager
def registry_server(route: Route) -> Iterator[Registry]:
    """A loopback HTTP registry whose every answer comes from route(method, path); stops trickling when closed."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            seen.append(f"{self.command} {self.path}")
            answer = route(self.command, self.path)
            head = [f"HTTP/1.1 {answer.status} X"]
            headers = {"Content-Length": str(len(answer.body)), **answer.headers}
            head += [f"{k}: {v}" for k, v in headers.items()]
            data = ("\r\n".join(head) + "\r\n\r\n").encode()
            if not answer.trickle_headers or answer.trickle <= 0:
                self.wfile.write(data)
                self.wfile.flush()
                data = b""
            data += answer.body if self.command != "HEAD" else b""
            try:
                if answer.trickle <= 0:
                    self.wfile.write(data)
                    return
                for i in range(len(data)):
                    if stop.wait(answer.trickle if i else 0):
                        break
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
            except OSError:
                pass  # the client gave up: expected in these tests
            self.close_connection = True

        do_GET = do_HEAD = do_POST = _serve

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Registry(f"127.0.0.1:{server.server_address[1]}", seen)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def sha256(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def json_body(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def index_doc(children: list[tuple[str, str, dict[str, str] | None]]) -> bytes:
    """An OCI index of (digest, media type, platform or None) entries."""
    entries = []
    for digest, media_type, platform in children:
        entry: dict[str, object] = {"mediaType": media_type, "digest": digest, "size": 100}
        if platform is not None:
            entry["platform"] = platform
        entries.append(entry)
    return json_body({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})


def manifest_doc(config_digest: str) -> bytes:
    """An OCI image manifest whose config descriptor names config_digest."""
    return json_body(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": 100},
            "layers": [],
        }
    )


def documents(docs: dict[str, tuple[str, bytes]]) -> Route:
    """A route serving manifests and blobs by path suffix (`manifests/1`, `blobs/sha256:...`):
    {suffix: (type, body)}."""

    def route(method: str, path: str) -> Answer:
        for suffix, (media_type, body) in docs.items():
            if path.endswith("/" + suffix):
                return Answer(200, {"Content-Type": media_type, "Docker-Content-Digest": sha256(body)}, body)
        return Answer(
            404,
            {"Content-Type": "application/json"},
            b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}',
        )

    return route
