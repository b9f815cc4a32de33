"""Benchmark: `dockdoctor inspect` against a real registry behind an added-latency proxy, beside skopeo and docker.

Usage: python bench/registry_speed.py [--refs 50] [--delay-ms 40] [--runs 3] [--profile] [--timeline]
       (DOCKDOCTOR_TESTENV names the test environment's env.json; only its loopback registry is used)

1. Seeds >= --refs references of mixed kinds into the test registry through the HTTP API (bench/app-N:amd64,
   :arm64, :multi, :oci, :attest, by digest, plus nonexistent tags/repositories), reusing the blobs of the
   existing busybox images (cross-repository mounts). Idempotent; nothing is ever deleted.
2. Starts a TCP proxy (one selector thread) on 127.0.0.1:0 in front of the registry that holds every chunk
   --delay-ms in each direction, and counts connections and HTTP requests (parsed from both streams) per phase.
3. Times, all through the proxy: dockdoctor cold / warm within the TTL / warm after the TTL (--refresh), the
   registry client alone in a `python -c` driver (same three), a skopeo loop, a `docker manifest inspect` loop,
   a `docker buildx imagetools inspect` loop (the test environment's buildx plugin), and the floor
   (interpreter start-up + 3 round trips).
4. Prints wall times, ratios, requests per reference, peak RSS and one PASS/MISS line per target:
   cold <= 1.5x the floor; warm within the TTL <= 3x `python -c pass` + the cache read (every cached file
   read once, timed in this process); the first registry request leaves before the check catalog, the docker
   SDK or requests are imported (one profiled cold run), and a warm run imports neither; peak RSS < 80 MB.
   --profile prints the per-phase timeline of a profiled cold and warm run (bench/_profile_run.py: imports,
   probes, first request, last response, render), --timeline the proxy's per-request view.
5. Then the htpasswd registry behind its own proxy: a first run against a later one that remembers the host's
   auth challenge (requests and 401s counted).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import heapq
import http.client
import ipaddress
import json
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import Profile, Run, bench_env, profile, run  # noqa: E402

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
# One block of ten kinds; references cycle through it. "single" kinds are one image manifest at the top.
KINDS = ("amd64", "arm64", "multi", "oci", "attest", "digest", "multi", "oci", "arm64", "missing")
SINGLE_KINDS = ("amd64", "arm64", "digest")
SOURCES = {  # kind -> (source repository, source tag)
    "amd64": ("busybox", "amd64"),
    "arm64": ("busybox", "arm64"),
    "multi": ("busybox", "multi"),
    "oci": ("busybox", "multi-oci"),
    "attest": ("dockdoctor-registry-test/busybox", "attest"),
}
SUBPROCESS_TIMEOUT = 120.0  # seconds, any one command
MAX_PROXY_CONNECTIONS = 5000


# --- registry seeding (direct, not through the proxy) ---------------------------------------------


class Registry:
    """Minimal Docker Registry HTTP API v2 client over http.client (plain HTTP, loopback only)."""

    def __init__(self, hostport: str) -> None:
        self.hostport = hostport
        self.requests = 0

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.hostport, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            self.requests += 1
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def manifest(self, repo: str, ref: str) -> tuple[bytes, str, str]:
        status, headers, body = self.call("GET", f"/v2/{repo}/manifests/{ref}", {"Accept": ACCEPT})
        if status != 200:
            raise RuntimeError(f"GET {repo}:{ref}: HTTP {status} {body[:200]!r}")
        media_type = headers.get("content-type", "").split(";")[0].strip()
        return body, media_type, "sha256:" + hashlib.sha256(body).hexdigest()

    def head_manifest(self, repo: str, ref: str) -> str:
        status, headers, _ = self.call("HEAD", f"/v2/{repo}/manifests/{ref}", {"Accept": ACCEPT})
        return headers.get("docker-content-digest", "") if status == 200 else ""

    def ensure_blob(self, src: str, dst: str, digest: str) -> None:
        if self.call("HEAD", f"/v2/{dst}/blobs/{digest}")[0] == 200:
            return
        status, headers, _ = self.call("POST", f"/v2/{dst}/blobs/uploads/?mount={digest}&from={src}")
        if status == 201:
            return
        if status != 202:
            raise RuntimeError(f"mount {digest} into {dst}: HTTP {status}")
        code, _, data = self.call("GET", f"/v2/{src}/blobs/{digest}")  # not mountable: monolithic upload
        if code != 200:
            raise RuntimeError(f"GET blob {src}@{digest}: HTTP {code}")
        location = headers["location"]
        if location.startswith("http"):
            location = "/" + location.split("/", 3)[3]
        location += ("&" if "?" in location else "?") + f"digest={digest}"
        code, _, _ = self.call("PUT", location, {"Content-Type": "application/octet-stream"}, data)
        if code != 201:
            raise RuntimeError(f"upload {digest} into {dst}: HTTP {code}")

    def copy(self, src: str, src_ref: str, dst: str, dst_ref: str) -> str:
        """Copy a manifest (recursively: children, config and layer blobs) from src:src_ref to dst:dst_ref."""
        body, media_type, digest = self.manifest(src, src_ref)
        if self.head_manifest(dst, dst_ref) == digest:
            return digest
        doc = json.loads(body)
        if media_type in INDEX_TYPES:
            for child in doc.get("manifests", []):
                if not self.head_manifest(dst, child["digest"]):
                    self.copy(src, child["digest"], dst, child["digest"])
        else:
            for desc in [doc.get("config") or {}, *(doc.get("layers") or [])]:
                if desc.get("digest"):
                    self.ensure_blob(src, dst, desc["digest"])
        status, _, data = self.call("PUT", f"/v2/{dst}/manifests/{dst_ref}", {"Content-Type": media_type}, body)
        if status != 201:
            raise RuntimeError(f"PUT {dst}:{dst_ref}: HTTP {status} {data[:300]!r}")
        return digest


@dataclass(frozen=True)
class Ref:
    path: str  # repo:tag or repo@digest, without the registry host
    kind: str


def seed(reg: Registry, count: int) -> list[Ref]:
    refs: list[Ref] = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        repo = f"bench/app-{i // 5}"
        if kind == "missing":
            path = f"{repo}:missing" if (i // len(KINDS)) % 2 == 0 else f"bench/nonexistent-{i}:latest"
        elif kind == "digest":
            path = f"{repo}@{reg.copy('busybox', 'amd64', repo, 'digest-amd64')}"
        else:
            src, tag = SOURCES[kind]
            reg.copy(src, tag, repo, kind)
            path = f"{repo}:{kind}"
        refs.append(Ref(path, kind))
    return refs


# --- the delaying, counting proxy -----------------------------------------------------------------


@dataclass
class Event:
    phase: str
    conn: int
    method: str
    path: str
    t_req: float  # when the request head reached the proxy (perf_counter)
    t_resp: float = 0.0  # when the response head reached the proxy from the registry
    status: int = 0


@dataclass
class ConnInfo:
    phase: str
    conn: int
    tls: bool = False


class _HttpStream:
    """Incremental HTTP/1.1 message splitter for one direction (Content-Length and chunked bodies)."""

    def __init__(self, on_head) -> None:  # on_head(first_line, headers) -> body_length or None (=chunked)
        self.buf = b""
        self.body_left = 0
        self.chunked = False
        self.on_head = on_head
        self.broken = False

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        self.buf += data
        while True:
            if self.body_left:
                take = min(self.body_left, len(self.buf))
                self.buf, self.body_left = self.buf[take:], self.body_left - take
                if self.body_left:
                    return
            if self.chunked:
                if not self._skip_chunks():
                    return
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self.broken = True
                return
            head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4 :]
            lines = head.split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = self.on_head(lines[0], headers)
            if length is None:
                self.chunked = True
            else:
                self.body_left = length

    def _skip_chunks(self) -> bool:
        while True:
            end = self.buf.find(b"\r\n")
            if end < 0:
                return False
            size = int(self.buf[:end].split(b";")[0] or b"0", 16)
            if size == 0:
                trailer = self.buf.find(b"\r\n\r\n", end)
                if trailer < 0:
                    return False
                self.buf, self.chunked = self.buf[trailer + 4 :], False
                return True
            if len(self.buf) < end + 2 + size + 2:
                return False
            self.buf = self.buf[end + 2 + size + 2 :]


class DelayProxy:
    """127.0.0.1:0 -> upstream; every chunk is held `delay` seconds in each direction (latency, not bandwidth).

    One thread runs every connection (a selector and a heap of due chunks): a network's latency costs the
    measured processes no CPU, and neither may the proxy that stands for it. (It used four threads per
    connection: with 64 connections in flight, 256 threads competing with the measured client on 2 cores.)
    """

    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream, self.delay = upstream, delay
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.phase = "idle"
        self.events: list[Event] = []
        self.conns: list[ConnInfo] = []
        self.lock = threading.Lock()
        self.stopping = False
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.listener, selectors.EVENT_READ, None)
        self._due: list[tuple[float, int, socket.socket, bytes]] = []  # (when, order, destination, bytes; b"": EOF)
        self._order = 0
        self._out: dict[socket.socket, bytearray] = {}  # bytes a destination has not taken yet
        self._eof: set[socket.socket] = set()  # shut for writing once their out buffer is empty
        self._read_done: set[socket.socket] = set()  # sockets whose peer has ended its side
        self._wake_r, self._wake_w = socket.socketpair()
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self.acceptor = threading.Thread(target=self._loop, name="proxy", daemon=True)
        self.acceptor.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _loop(self) -> None:
        while not self.stopping:
            timeout = max(0.0, self._due[0][0] - time.perf_counter()) if self._due else None
            for key, mask in self._sel.select(timeout):
                sock = key.fileobj
                if sock is self.listener:
                    self._accept()
                elif sock is self._wake_r:
                    self._wake_r.recv(64)
                elif mask & selectors.EVENT_READ and key.data is not None:
                    self._read(sock, key.data)  # type: ignore[arg-type]
                if mask & selectors.EVENT_WRITE:
                    self._flush(sock)  # type: ignore[arg-type]
            now = time.perf_counter()
            while self._due and self._due[0][0] <= now:
                _, _, dst, data = heapq.heappop(self._due)
                if data:
                    self._out.setdefault(dst, bytearray()).extend(data)
                else:
                    self._eof.add(dst)
                self._flush(dst)

    def _accept(self) -> None:
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        with self.lock:
            if len(self.conns) >= MAX_PROXY_CONNECTIONS:
                client.close()
                return
            info = ConnInfo(self.phase, len(self.conns))
            self.conns.append(info)
        try:
            server = socket.create_connection(self.upstream, timeout=10)  # loopback: at once
        except OSError:
            client.close()
            return
        pending: list[Event] = []  # requests awaiting their response on this connection (in order)
        for sock in (client, server):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sel.register(client, selectors.EVENT_READ, _Side(server, self._request_parser(info, pending), info))
        self._sel.register(server, selectors.EVENT_READ, _Side(client, self._response_parser(pending), None))

    def _read(self, src: socket.socket, side: _Side) -> None:
        try:
            data = src.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        now = time.perf_counter()
        if data:
            if side.first and side.info is not None and data[:1] == b"\x16":
                side.info.tls = True  # a TLS ClientHello (docker --insecure tries HTTPS first)
                side.stream.broken = True
            side.first = False
            try:
                side.stream.feed(data)
            except ValueError:
                side.stream.broken = True
        else:
            self._read_done.add(src)
            self._want(src, selectors.EVENT_READ, False)
        self._order += 1
        heapq.heappush(self._due, (now + self.delay, self._order, side.peer, data))

    def _flush(self, dst: socket.socket) -> None:
        buf = self._out.get(dst)
        try:
            while buf:
                sent = dst.send(buf)
                del buf[:sent]
        except BlockingIOError:
            pass
        except OSError:
            buf = None
            self._out.pop(dst, None)
        self._want(dst, selectors.EVENT_WRITE, bool(buf))
        if not buf and dst in self._eof:
            self._eof.discard(dst)
            self._out.pop(dst, None)
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            if dst in self._read_done:  # both directions of this socket are over
                self._read_done.discard(dst)
                self._want(dst, selectors.EVENT_READ | selectors.EVENT_WRITE, False)
                dst.close()

    def _want(self, sock: socket.socket, event: int, want: bool) -> None:
        """Add or remove interest in `event` for sock, keeping its other interest and its data."""
        try:
            key = self._sel.get_key(sock)
        except (KeyError, ValueError):
            if want:
                self._sel.register(sock, event, None)
            return
        events = (key.events | event) if want else (key.events & ~event)
        if events != key.events:
            if events:
                self._sel.modify(sock, events, key.data)
            else:
                self._sel.unregister(sock)

    def _request_parser(self, info: ConnInfo, pending: list[Event]) -> _HttpStream:
        def on_head(line: str, headers: dict[str, str]) -> int | None:
            parts = line.split(" ")
            event = Event(self.phase, info.conn, parts[0], parts[1] if len(parts) > 1 else "", time.perf_counter())
            with self.lock:
                self.events.append(event)
                pending.append(event)
            if headers.get("transfer-encoding", "").lower() == "chunked":
                return None
            return int(headers.get("content-length", "0") or 0)

        return _HttpStream(on_head)

    def _response_parser(self, pending: list[Event]) -> _HttpStream:
        def on_head(line: str, headers: dict[str, str]) -> int | None:
            parts = line.split(" ")
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            with self.lock:
                event = pending.pop(0) if pending else None
            if event is not None:
                event.t_resp, event.status = time.perf_counter(), status
            if status in (204, 304) or (event is not None and event.method == "HEAD") or status < 200:
                return 0
            if headers.get("transfer-encoding", "").lower() == "chunked":
                return None
            return int(headers.get("content-length", "0") or 0)

        return _HttpStream(on_head)

    def of_phase(self, phase: str) -> tuple[list[Event], list[ConnInfo]]:
        with self.lock:
            return [e for e in self.events if e.phase == phase], [c for c in self.conns if c.phase == phase]

    def stop(self) -> None:
        self.stopping = True
        self._wake_w.send(b"x")
        self.acceptor.join(timeout=5)
        for key in list(self._sel.get_map().values()):
            sock = key.fileobj
            try:
                sock.close()  # type: ignore[union-attr]
            except OSError:
                pass
        for sock in (*self._out, *self._eof, *self._read_done, self._wake_w):
            try:
                sock.close()
            except OSError:
                pass
        self._sel.close()


@dataclass
class _Side:
    """One direction of a proxied connection: where its bytes go and the parser that counts its messages."""

    peer: socket.socket
    stream: _HttpStream
    info: ConnInfo | None
    first: bool = True


# --- measurements ---------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    walls: list[float] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # of the first run
    conns: list[ConnInfo] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    completed: int = 0  # loop iterations run (loops only)
    rss: list[int] = field(default_factory=list)  # peak RSS of each run, KiB
    cpus: list[float] = field(default_factory=list)  # CPU seconds (user + system) of each run

    @property
    def wall(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")


def run_timed(
    proxy: DelayProxy, phase: Phase, argv: list[str], env: dict[str, str], *, tag: str = "", capture: bool = False
) -> tuple[float, subprocess.CompletedProcess[bytes] | None]:
    proxy.phase = phase.name + tag
    start = time.perf_counter()
    result = run(argv, env, capture=True, timeout=SUBPROCESS_TIMEOUT)
    proc: subprocess.CompletedProcess[bytes] | None = subprocess.CompletedProcess(
        argv, result.returncode, result.stdout, result.stderr
    )
    if result.timed_out:
        phase.failures.append(f"timed out after {SUBPROCESS_TIMEOUT:g} s: {' '.join(argv[:4])} ...")
        proc = None
    proxy.phase = "idle"
    phase.starts.append(start)
    phase.rss.append(result.max_rss_kib)
    phase.cpus.append(result.cpu)
    return result.wall, proc


# What a warm run cannot import less than, whatever else it skips: the standard-library modules a model of plain
# dataclasses with enums, JSON documents and an engine socket needs, and the model itself (its methods' byte
# code kept by dockdoctor._codecache, as every run has it). The warm target is 3x python -c pass.
MODEL_STDLIB = "import dataclasses, enum, json, socket, threading"
IMPORT_FLOORS = (
    ("stdlib of a dataclass model (dataclasses, enum, json, socket, threading)", MODEL_STDLIB),
    (
        "dockdoctor.model (code cache on)",
        "from dockdoctor._codecache import install; install(); import dockdoctor.model",
    ),
)


def read_cache(folder: str) -> float:
    """Median of 7 times reading every file under the cache folder once (what a warm run must read at least)."""
    paths = [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files]
    times = []
    for _ in range(7):
        start = time.perf_counter()
        for path in paths:
            with open(path, "rb") as fh:
                fh.read()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def round_trip(proxy: DelayProxy, host: str) -> float:
    """One raw HTTP GET /v2/ through the proxy on a fresh connection: connect to last byte."""
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
        s.sendall(f"GET /v2/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        while s.recv(65536):
            pass
    return time.perf_counter() - start


DRIVER = """\
import json, sys
from pathlib import Path
from dockdoctor.probes.registry import inspect_remote, RegistryOptions
cache, ttl, workers, refs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
more = {"max_workers": workers, "per_registry": workers} if workers else {}
out = inspect_remote(refs, options=RegistryOptions(cache_dir=Path(cache), tag_ttl=ttl, docker_config_dir=cache, **more))
print(json.dumps([[r.reference, r.kind, r.error.kind if r.error else ""] for r in out]))
"""


def classify(event: Event) -> str:
    path = event.path.split("?")[0]
    if path.rstrip("/") == "/v2":
        return "ping"
    if "/manifests/" in path:
        by = "digest" if "/manifests/sha256:" in path else "tag"
        return f"{event.method} manifest by {by}"
    if "/blobs/" in path:
        return f"{event.method} blob"
    return f"{event.method} other"


def summarize(events: list[Event]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in events:
        counts[classify(e)] = counts.get(classify(e), 0) + 1
    return dict(sorted(counts.items()))


def max_in_flight(events: list[Event]) -> int:
    marks = sorted(
        [(e.t_req, 1) for e in events] + [(e.t_resp or e.t_req, -1) for e in events], key=lambda m: (m[0], m[1])
    )
    best = cur = 0
    for _, step in marks:
        cur += step
        best = max(best, cur)
    return best


def timeline(phase: Phase, limit: int = 200) -> list[str]:
    if not phase.events:
        return []
    t0 = phase.starts[0]
    lines = [
        f"  timeline of {phase.name} (first run; request arrival at the proxy in ms from process start, "
        f"+ms until the registry's response head reached the proxy (includes the request hold), connection, "
        f"status):"
    ]
    for e in sorted(phase.events, key=lambda e: e.t_req)[:limit]:
        dur = f"{(e.t_resp - e.t_req) * 1000:6.0f}" if e.t_resp else "     ?"
        lines.append(f"    {(e.t_req - t0) * 1000:7.0f} +{dur}  c{e.conn:<4} {e.status:3}  {e.method:4} {e.path}")
    return lines


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refs", type=int, default=50, help="number of references (>= 10)")
    parser.add_argument("--delay-ms", type=float, default=40.0, help="added latency per chunk, each direction")
    parser.add_argument("--runs", type=int, default=3, help="runs of each dockdoctor phase (median wall)")
    parser.add_argument("--loop-budget", type=float, default=240.0, help="seconds allowed to each skopeo/docker loop")
    parser.add_argument("--timeline", action="store_true", help="print the per-request timeline of cold runs")
    parser.add_argument(
        "--profile", action="store_true", help="print the per-phase timeline of a profiled cold and warm CLI run"
    )
    parser.add_argument(
        "--what-if",
        type=int,
        default=0,
        metavar="N",
        help="also time the driver with max_workers = per_registry = N (default 0: skip; the client's own "
        "default is 64 each, so only N above the number of references shows anything)",
    )
    args = parser.parse_args()
    if not 10 <= args.refs <= 1000 or not 0 <= args.delay_ms <= 1000 or not 1 <= args.runs <= 20:
        parser.error("--refs 10..1000, --delay-ms 0..1000, --runs 1..20")

    envfile = os.environ.get("DOCKDOCTOR_TESTENV", "")
    if not envfile or not os.path.exists(envfile):
        print("DOCKDOCTOR_TESTENV must name the test environment's env.json", file=sys.stderr)
        return 2
    with open(envfile, encoding="utf-8") as fh:
        testenv = json.load(fh)
    registry = testenv["registry"]
    host, _, port = registry.rpartition(":")
    if not ipaddress.ip_address(host).is_loopback:
        print(f"refusing a non-loopback registry {registry}", file=sys.stderr)
        return 2
    docker_cli = testenv.get("docker_cli") or shutil.which("docker") or ""
    skopeo = shutil.which("skopeo") or ""
    py = sys.executable

    reg = Registry(registry)
    t = time.perf_counter()
    refs = seed(reg, args.refs)
    print(
        f"registry {registry}; seeded/verified {len(refs)} references with {reg.requests} direct requests in "
        f"{time.perf_counter() - t:.1f} s"
    )
    kinds = {k: sum(r.kind == k for r in refs) for k in dict.fromkeys(KINDS)}
    n_single = sum(r.kind in SINGLE_KINDS for r in refs)
    n_missing = kinds["missing"]
    n_found = len(refs) - n_missing
    print("kinds: " + ", ".join(f"{k} {v}" for k, v in kinds.items()))

    work = tempfile.mkdtemp(prefix="dockdoctor-bench-")
    proxy = DelayProxy((host, int(port)), args.delay_ms / 1000)
    try:
        code = measure(args, proxy, refs, work, py, docker_cli, skopeo, testenv, n_single, n_missing, n_found)
        measure_auth(args, testenv, py, work)
        return code
    finally:
        proxy.stop()
        shutil.rmtree(work, ignore_errors=True)


def measure_auth(args, testenv: dict, py: str, work: str) -> None:
    """The htpasswd registry behind its own proxy: a first run (no challenge known: each first-wave request meets a
    401) against a later one with a cold document cache but the host's challenge remembered (Basic sent up front)."""
    host, _, port = testenv["registry_auth"].rpartition(":")
    proxy = DelayProxy((host, int(port)), args.delay_ms / 1000)
    try:
        refs = [f"{proxy.address}/busybox:{tag}" for tag in ("amd64", "arm64", "multi", "multi-oci")]
        auth = base64.b64encode(f"{testenv['registry_user']}:{testenv['registry_password']}".encode()).decode()
        rows: dict[str, list[tuple[float, int, int]]] = {"first run": [], "later run": []}
        for run in range(args.runs):
            cache = tempfile.mkdtemp(prefix="auth-cache-", dir=work)
            with open(os.path.join(cache, "config.json"), "w", encoding="utf-8") as fh:
                json.dump({"auths": {proxy.address: {"auth": auth}}}, fh)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKDOCTOR_CACHE"))}
            env.update(DOCKDOCTOR_CACHE_DIR=cache, DOCKER_CONFIG=cache, NO_PROXY="*", no_proxy="*")
            for name in rows:
                if name == "later run":  # documents and tags gone, the remembered challenge kept
                    for sub in ("blobs", "tags"):
                        shutil.rmtree(os.path.join(cache, sub), ignore_errors=True)
                proxy.phase = f"auth {name} #{run}"
                start = time.perf_counter()
                subprocess.run(
                    [py, "-m", "dockdoctor", "inspect", *refs, "--json"],
                    env=env,
                    capture_output=True,
                    timeout=SUBPROCESS_TIMEOUT,
                    check=False,
                )
                wall = time.perf_counter() - start
                events, _ = proxy.of_phase(proxy.phase)
                rows[name].append((wall, len(events), sum(e.status == 401 for e in events)))
        print()
        print(f"authenticating registry (htpasswd, Basic) behind its own proxy, {len(refs)} refs, cold documents:")
        for name, runs in rows.items():
            walls = [w for w, _, _ in runs]
            _, reqs, unauthorized = runs[0]
            print(
                f"  {name:10} {fmt_ms(statistics.median(walls))} (median of {len(runs)})  {reqs} requests, "
                f"{unauthorized} answered 401"
                + ("  (challenge remembered: credentials sent up front)" if name == "later run" else "")
            )
    finally:
        proxy.stop()


def measure(
    args,
    proxy: DelayProxy,
    refs: list[Ref],
    work: str,
    py: str,
    docker_cli: str,
    skopeo: str,
    testenv: dict,
    n_single: int,
    n_missing: int,
    n_found: int,
) -> int:
    via = [f"{proxy.address}/{r.path}" for r in refs]
    n = len(refs)
    print(
        f"proxy {proxy.address} -> {testenv['registry']}, +{args.delay_ms:g} ms per chunk each direction; "
        f"python {sys.version.split()[0]} ({py})"
    )

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKDOCTOR_CACHE"))}
    base_env = bench_env(base_env, os.path.join(work, "pycache"))  # byte code cached, as when installed
    base_env.update({"DOCKER_HOST": testenv["docker_host"], "NO_PROXY": "*", "no_proxy": "*"})
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        base_env.pop(k, None)

    # (f) the floor
    rtts = [round_trip(proxy, proxy.address) for _ in range(7)]
    starts, start_cpus = [], []
    for _ in range(7):
        started = run([py, "-c", "pass"], base_env, timeout=SUBPROCESS_TIMEOUT)
        starts.append(started.wall)
        start_cpus.append(started.cpu)
    rtt, py_start, py_cpu = statistics.median(rtts), statistics.median(starts), statistics.median(start_cpus)
    floor = py_start + 3 * rtt
    proxy.events.clear()

    cli_ok = (
        subprocess.run(
            [py, "-m", "dockdoctor", "inspect", "--help"],
            env=base_env,
            capture_output=True,
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        ).returncode
        == 0
    )
    phases: dict[str, Phase] = {}
    verdicts: dict[str, str] = {}
    prof_cold: Profile | None = None
    prof_warm: Profile | None = None
    cache_read = 0.0

    def dd_runs(label: str, make_argv, env_for) -> None:
        """cold, warm-within-TTL, warm-after-TTL, args.runs times each (a fresh cache per cold run)."""
        names = [f"{label} cold", f"{label} warm (within TTL)", f"{label} warm (after TTL)"]
        for name in names:
            phases[name] = Phase(name)
        for i in range(args.runs):
            cache = tempfile.mkdtemp(prefix="cache-", dir=work)
            for step, name in enumerate(names):
                phase = phases[name]
                wall, proc = run_timed(proxy, phase, make_argv(step, cache), env_for(cache), tag=f"#{i}", capture=True)
                phase.walls.append(wall)
                if i == 0:
                    phase.events, phase.conns = proxy.of_phase(name + "#0")
                    verdicts[name] = check_output(proc, refs)

    # (a)-(c) the CLI, if the lead's command exists
    if cli_ok:

        def cli_argv(step: int, cache: str) -> list[str]:
            return [py, "-m", "dockdoctor", "inspect", *via, "--json", *(["--refresh"] if step == 2 else [])]

        def cli_env(cache: str) -> dict[str, str]:
            return {**base_env, "DOCKDOCTOR_CACHE_DIR": cache, "DOCKER_CONFIG": cache}

        warmup = tempfile.mkdtemp(prefix="cache-warmup-", dir=work)  # compiles the byte code: no run pays for it
        run(cli_argv(0, warmup), cli_env(warmup), timeout=SUBPROCESS_TIMEOUT)
        proxy.events.clear()
        dd_runs("dockdoctor inspect", cli_argv, cli_env)
        # one profiled cold run, then one warm within the TTL on its cache: import order, per-phase timeline
        pcache = tempfile.mkdtemp(prefix="cache-profiled-", dir=work)
        proxy.phase = "profiled cold"
        prof_cold = profile(cli_argv(0, pcache)[3:], cli_env(pcache), timeout=SUBPROCESS_TIMEOUT)
        proxy.phase = "profiled warm"
        prof_warm = profile(cli_argv(1, pcache)[3:], cli_env(pcache), timeout=SUBPROCESS_TIMEOUT)
        proxy.phase = "idle"
        cache_read = read_cache(pcache)
        # the same warm run without the missing references: 404s are not cached, so only this one needs no network
        offline_name = f"dockdoctor inspect warm (within TTL, the {n_found} existing refs: no network)"
        nonet = phases[offline_name] = Phase(offline_name)
        found_via = [v for v, r in zip(via, refs, strict=True) if r.kind != "missing"]
        for i in range(args.runs):
            argv = [py, "-m", "dockdoctor", "inspect", *found_via, "--json"]
            wall, proc = run_timed(proxy, nonet, argv, cli_env(pcache), tag=f"#{i}", capture=True)
            nonet.walls.append(wall)
            if i == 0:
                nonet.events, nonet.conns = proxy.of_phase(offline_name + "#0")

    # the registry client alone, in a tiny driver process (tag_ttl=0 makes the third step revalidate)
    def drv_argv(step: int, cache: str) -> list[str]:
        return [py, "-c", DRIVER, cache, "0" if step == 2 else "300", "0", *via]

    dd_runs("registry client (python -c driver)", drv_argv, lambda cache: dict(base_env))
    if args.what_if:  # the same driver with more requests in flight: what raising the client's limits would give
        w = args.what_if
        dd_runs(
            f"what-if: driver, per_registry={w}",
            lambda step, cache: [py, "-c", DRIVER, cache, "0" if step == 2 else "300", str(w), *via],
            lambda cache: dict(base_env),
        )

    # (d) skopeo loop, (e) docker loop
    def loop(name: str, argv_for, env: dict[str, str]) -> None:
        phase = phases[name] = Phase(name)
        proxy.phase = name
        start = time.perf_counter()
        phase.starts.append(start)
        failed = 0
        for ref in via:
            if time.perf_counter() - start > args.loop_budget:
                phase.failures.append(f"stopped after {phase.completed} of {n}: --loop-budget {args.loop_budget:g} s")
                break
            try:
                rc = subprocess.run(
                    argv_for(ref),
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=SUBPROCESS_TIMEOUT,
                    check=False,
                ).returncode
            except subprocess.TimeoutExpired:
                rc = -1
            failed += rc != 0
            phase.completed += 1
        wall = time.perf_counter() - start
        proxy.phase = "idle"
        phase.walls.append(wall * n / max(1, phase.completed))  # extrapolated if the budget cut it short
        phase.events, phase.conns = proxy.of_phase(name)
        verdicts[name] = f"{failed} of {phase.completed} exited non-zero (expected {n_missing}: the missing refs)"

    if skopeo:
        loop(
            "skopeo inspect --raw loop",
            lambda ref: [skopeo, "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
            base_env,
        )
    if docker_cli:
        docker_cfg = tempfile.mkdtemp(prefix="docker-config-", dir=work)
        loop(
            "docker manifest inspect loop",
            lambda ref: [docker_cli, "manifest", "inspect", "--insecure", ref],
            {**base_env, "DOCKER_CONFIG": docker_cfg},
        )
    buildx = buildx_plugin(testenv)
    if docker_cli and buildx:  # the plugin in a config folder of its own: the other loops do not see it
        buildx_cfg = tempfile.mkdtemp(prefix="docker-config-buildx-", dir=work)
        os.makedirs(os.path.join(buildx_cfg, "cli-plugins"))
        os.symlink(buildx, os.path.join(buildx_cfg, "cli-plugins", "docker-buildx"))
        loop(  # without --raw: the platforms list a person asks it for
            "docker buildx imagetools inspect loop",
            lambda ref: [docker_cli, "buildx", "imagetools", "inspect", ref],
            {**base_env, "DOCKER_CONFIG": buildx_cfg},
        )

    # the import floors of the warm target: what importing no more than a dataclass model costs, in this run
    # (interleaved with python -c pass, each ratio of runs taken side by side)
    beside: dict[str, list[Run]] = {label: [] for label in ("pass", *(label for label, _ in IMPORT_FLOORS))}
    for _ in range(7):
        for label, code in (("pass", "pass"), *IMPORT_FLOORS):
            beside[label].append(run([py, "-c", code], base_env, timeout=SUBPROCESS_TIMEOUT))
    floors = {
        label: (statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs))
        for label, runs in beside.items()
    }

    # --- report -------------------------------------------------------------------------------------
    print()
    print(
        f"floor: python -c pass {fmt_ms(py_start)} (median of 7) + 3 x round trip {fmt_ms(rtt)} "
        f"(median GET /v2/ of 7, {min(rtts) * 1000:.0f}..{max(rtts) * 1000:.0f} ms) = {fmt_ms(floor)}"
    )
    print()
    print(f"{'phase':44} {'wall':>11} {'runs':>20}  {'conns':>5} {'TLS':>3} {'reqs':>5}  requests (first run)")
    for phase in phases.values():
        runs = "/".join(f"{w * 1000:.0f}" for w in phase.walls) if len(phase.walls) > 1 else ""
        tls = sum(c.tls for c in phase.conns)
        counts = ", ".join(f"{k} {v}" for k, v in summarize(phase.events).items())
        print(
            f"{phase.name:44} {fmt_ms(phase.wall)} {runs:>20}  {len(phase.conns):5} {tls:3} "
            f"{len(phase.events):5}  {counts}"
        )
        for failure in phase.failures:
            print(f"{'':44} ! {failure}")
    print()
    for name, verdict in verdicts.items():
        print(f"output check, {name}: {verdict}")

    primary = "dockdoctor inspect" if cli_ok else "registry client (python -c driver)"
    if not cli_ok:
        print("note: `python -m dockdoctor inspect --help` failed; the driver process stands in for the CLI")
    cold, warm, after = (phases[f"{primary} {s}"] for s in ("cold", "warm (within TTL)", "warm (after TTL)"))
    skop = phases.get("skopeo inspect --raw loop")
    dock = phases.get("docker manifest inspect loop")
    imagetools = phases.get("docker buildx imagetools inspect loop")
    print()
    print(f"ratios ({primary}, cold, median wall):")
    if skop:
        print(f"  skopeo loop / dockdoctor cold   = {skop.wall / cold.wall:6.2f}x")
    if dock:
        print(f"  docker loop / dockdoctor cold   = {dock.wall / cold.wall:6.2f}x")
    if imagetools:
        print(f"  buildx imagetools loop / cold   = {imagetools.wall / cold.wall:6.2f}x")
    print(f"  dockdoctor cold / floor         = {cold.wall / floor:6.2f}x")
    drv = phases["registry client (python -c driver) cold"]
    if cli_ok:
        print(f"  driver cold / floor             = {drv.wall / floor:6.2f}x   (registry client without the CLI)")

    print()
    results = []
    extra = [p for name, p in phases.items() if name.startswith("what-if") and "warm" not in name]
    for phase in (cold, warm, after) + ((drv,) if cli_ok else ()) + tuple(extra):
        per = len(phase.events) / n
        print(
            f"{phase.name}: {len(phase.events)} requests, {per:.2f} per reference; max in flight "
            f"{max_in_flight(phase.events)}; connections {len(phase.conns)}"
        )
        if phase.events:
            t0, first = phase.starts[0], min(e.t_req for e in phase.events)
            last = max(e.t_resp or e.t_req for e in phase.events)
            print(
                f"    first run {phase.walls[0] * 1000:.0f} ms: first request at {(first - t0) * 1000:.0f} ms, "
                f"last response head at {(last - t0) * 1000:.0f} ms (network span {(last - first) * 1000:.0f} ms "
                f"= {(last - first) / rtt:.1f} round trips), exit "
                f"{(phase.walls[0] - (last - t0) - args.delay_ms / 1000) * 1000:.0f} ms after the client got it"
            )
    print()

    def line(ok: bool, text: str) -> None:
        results.append(ok)
        print(f"{'PASS' if ok else 'MISS'}  {text}")

    def ev_of(phase: Phase, pred) -> int:
        return sum(1 for e in phase.events if pred(e))

    def missing_ref(e: Event) -> bool:
        return any(e.path.endswith(f"/v2/{r.path.replace(':', '/manifests/', 1)}") for r in refs if r.kind == "missing")

    cold_manifest = ev_of(cold, lambda e: e.method == "GET" and "/manifests/" in e.path)
    cold_blob = ev_of(cold, lambda e: e.method == "GET" and "/blobs/" in e.path)
    cold_other = len(cold.events) - cold_manifest - cold_blob
    line(
        cold_manifest <= n and cold_blob <= n_single and cold_other == 0,
        f"cold: {cold_manifest} manifest GETs for {n} refs (<= {n}), {cold_blob} config GETs for {n_single} "
        f"single-platform refs (<= {n_single}), {cold_other} other requests (0)",
    )
    after_head = ev_of(after, lambda e: e.method == "HEAD")
    after_other_found = ev_of(after, lambda e: e.method != "HEAD" and not missing_ref(e))
    after_missing = ev_of(after, missing_ref)
    n_digest = sum(r.kind == "digest" for r in refs)
    line(
        after_head == n_found - n_digest and after_other_found == 0,
        f"warm after TTL: {after_head} HEADs for {n_found - n_digest} existing tag refs (1 each), "
        f"{after_other_found} other requests for them or the {n_digest} digest refs (0); "
        f"[{after_missing} requests for the {n_missing} missing refs: not cached]",
    )
    warm_found = ev_of(warm, lambda e: not missing_ref(e))
    warm_missing = ev_of(warm, missing_ref)
    line(
        warm_found == 0,
        f"warm within TTL: {warm_found} requests for the {n_found} existing refs (0); "
        f"[{warm_missing} for the {n_missing} missing refs: 404s are not cached]",
    )
    if skop:
        line(
            skop.wall >= 10 * cold.wall,
            f"cold wall {cold.wall * 1000:.0f} ms >= 10x faster than the skopeo loop "
            f"{skop.wall * 1000:.0f} ms (is {skop.wall / cold.wall:.1f}x)",
        )
    line(
        cold.wall <= 1.5 * floor,
        f"cold wall {cold.wall * 1000:.0f} ms within 1.5x of the floor {floor * 1000:.0f} ms "
        f"(is {cold.wall / floor:.2f}x)",
    )
    if cli_ok:
        budget = 3 * py_start + cache_read
        line(
            warm.wall <= budget,
            f"warm within TTL {warm.wall * 1000:.0f} ms <= 3x python -c pass + the cache read = "
            f"3 x {py_start * 1000:.0f} + {cache_read * 1000:.1f} = {budget * 1000:.0f} ms "
            f"(is {warm.wall / (py_start + cache_read):.2f}x python -c pass + cache read)",
        )
        nonet = phases[offline_name]
        line(
            nonet.wall <= budget and not nonet.events,
            f"warm within TTL, the {n_found} existing refs only: {nonet.wall * 1000:.0f} ms <= {budget * 1000:.0f} "
            f"ms (is {nonet.wall / (py_start + cache_read):.2f}x python -c pass + cache read; "
            f"{len(nonet.events)} registry requests)",
        )
        print(
            "info  CPU (user + system, median; the load moves it far less than wall): python -c pass "
            f"{py_cpu * 1000:.0f} ms; inspect cold {statistics.median(cold.cpus) * 1000:.0f} ms, warm within TTL "
            f"{statistics.median(warm.cpus) * 1000:.0f} ms = {statistics.median(warm.cpus) / py_cpu:.1f}x, without "
            f"the missing refs {statistics.median(nonet.cpus) * 1000:.0f} ms = "
            f"{statistics.median(nonet.cpus) / py_cpu:.1f}x python -c pass"
        )
        pass_wall, pass_cpu = floors.pop("pass")
        for label, (wall, cpu) in floors.items():
            print(
                f"info  import floor, {label}: {wall * 1000:.0f} ms = {wall / pass_wall:.2f}x python -c pass "
                f"(CPU {cpu * 1000:.0f} ms = {cpu / pass_cpu:.2f}x; medians of 7, each beside a python -c pass: "
                f"{pass_wall * 1000:.0f} ms)"
            )
        rss = max(cold.rss + warm.rss + after.rss) / 1024
        line(rss < 80, f"peak RSS of inspect for {n} references {rss:.1f} MB (< 80 MB; cold/warm/after-TTL runs)")
    for label, prof in (("cold", prof_cold), ("warm within TTL", prof_warm)):
        if prof is None:
            continue
        if prof.error:
            line(False, f"profiled {label} run: {prof.error}")
            continue
        first = prof.first("request", "registry")
        heavy = {m: prof.import_began(m) for m in ("dockdoctor.checks", "docker", "requests")}
        if label == "cold":
            late = [m for m, t in heavy.items() if t is not None and first is not None and t < first]
            order = ", ".join(f"{m} " + (f"at {t:.0f} ms" if t is not None else "never") for m, t in heavy.items())
            line(
                first is not None and not late,
                f"profiled cold run: first registry request at {first or 0:.0f} ms from the spawn, before the "
                f"imports of {', '.join(heavy)} begin ({order})",
            )
        else:
            imported = [m for m in ("requests", "docker", "urllib3") if prof.imported.get(m)]
            line(
                not imported,
                f"profiled warm run within the TTL imports neither requests nor the docker SDK "
                f"({', '.join(imported) + ' imported' if imported else 'none of requests, urllib3, docker imported'}; "
                f"{sum(1 for e in prof.events if e['kind'] == 'request')} HTTP requests, registry and engine)",
            )
    if cli_ok:
        print(
            f"info  driver cold {drv.wall * 1000:.0f} ms = {drv.wall / floor:.2f}x floor; CLI minus driver: "
            f"{(cold.wall - drv.wall) * 1000:.0f} ms; warm within TTL (CLI, no network) {warm.wall * 1000:.0f} ms"
        )

    for phase in extra:
        print(
            f"info  {phase.name}: {phase.wall * 1000:.0f} ms = {phase.wall / floor:.2f}x floor; skopeo loop / it = "
            f"{(skop.wall / phase.wall) if skop else float('nan'):.1f}x; {len(phase.events)} requests, "
            f"max in flight {max_in_flight(phase.events)}"
        )
    if args.profile:
        for label, prof in (
            ("dockdoctor inspect cold", prof_cold),
            ("dockdoctor inspect warm (within TTL)", prof_warm),
        ):
            if prof is not None:
                print()
                print("\n".join(prof.lines(f"{label}, profiled") if not prof.error else [f"  {label}: {prof.error}"]))
    if args.timeline:
        print()
        for phase in ((cold, drv) if cli_ok else (cold,)) + tuple(extra[:1]):
            print("\n".join(timeline(phase)))
    return 0 if all(results) else 1


def buildx_plugin(testenv: dict) -> str:
    """The docker-buildx plugin binary: the test environment's, else one in the docker CLI's system folders."""
    folders = ("/usr/local/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins", "/usr/lib/docker/cli-plugins")
    found = [testenv.get("buildx_plugin") or "", *(os.path.join(f, "docker-buildx") for f in folders)]
    return next((path for path in found if path and os.access(path, os.X_OK)), "")


def check_output(proc: subprocess.CompletedProcess[bytes] | None, refs: list[Ref]) -> str:
    """Whether the answers look right: missing refs errored as not-found, the others did not."""
    if proc is None:
        return "no output (timed out)"
    text = proc.stdout.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return f"exit {proc.returncode}, output not JSON: {text[:120]!r} {proc.stderr[-300:]!r}"
    rows: list[tuple[str, str, str]] = []
    if isinstance(data, list):
        rows = [tuple(r) for r in data]
    else:  # the CLI report: facts.images.remote (shape may still change: search for RemoteImage-like dicts)

        def walk(node: object) -> None:
            if isinstance(node, dict):
                if "reference" in node and "canonical" in node:
                    err = node.get("error") or {}
                    rows.append(
                        (
                            node["reference"],
                            str(node.get("kind", "")),
                            str(err.get("kind", "")) if isinstance(err, dict) else str(err),
                        )
                    )
                    return
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(data)
    by_ref = {r[0]: r for r in rows}
    bad = []
    for ref in refs:
        row = next((v for k, v in by_ref.items() if k.endswith("/" + ref.path)), None)
        want_error = "not-found" if ref.kind == "missing" else ""
        if row is None:
            bad.append(f"{ref.path}: absent")
        elif row[2] != want_error:
            bad.append(f"{ref.path}: error {row[2] or 'none'} (want {want_error or 'none'})")
    return f"exit {proc.returncode}; {len(refs) - len(bad)} of {len(refs)} answers as expected" + (
        f"; e.g. {bad[:3]}" if bad else ""
    )


if __name__ == "__main__":
    raise SystemExit(main())
