"""The one HTTP door of the registry client: pooled http.client connections, proxies from the environment,
retries, manual redirects, errors as values.

Standard library only (no requests, no urllib3): `inspect` sends its first request before anything heavy is
imported, and a run answered from the cache imports no HTTP library at all beyond http.client.
"""

from __future__ import annotations

import base64
import heapq
import http.client
import ipaddress
import itertools
import os
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlencode, urljoin, urlsplit

from dockdoctor import __version__
from dockdoctor.probes._run import signals_to_the_main_thread
from dockdoctor.probes.registry._failure import Kind
from dockdoctor.probes.registry._failure import RegistryFailure as RegistryFailure  # importable here, as it was

if TYPE_CHECKING:
    from dockdoctor.model import ProbeErrorKind

MAX_REDIRECTS = 5
MAX_RETRIES = 2
MAX_RETRY_AFTER = 10.0  # seconds we are willing to wait inside one run (and never past its deadline)
IDEMPOTENT = frozenset({"GET", "HEAD"})
PULL_LIMIT_TEXT = "pull rate limit"
_ERRNO_RE = re.compile(r"\[Errno -?\d+\][^'\")]*|\[SSL[^\]]*\][^'\")]*|timed out")

Observer = Callable[[str, str, int], None]  # method, url, status (0 when no answer)


@dataclass(frozen=True, slots=True)
class Response:
    """A finished response: status, lower-cased headers, the (capped) body and the final URL."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def private_host(netloc: str) -> bool:
    """localhost, or an IP literal in a loopback, private or link-local range."""
    host = netloc.rsplit("@", 1)[-1]
    host = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local


Connection = http.client.HTTPConnection  # HTTPSConnection is a subclass


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy from the environment: where to connect, and the Proxy-Authorization its URL carries."""

    netloc: str
    authorization: str = field(default="", repr=False)


def proxies_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """scheme -> proxy URL from *_proxy variables (lower case wins, as in urllib and requests); "no" is NO_PROXY.

    The environment only, as the docker CLI and skopeo read it (Go's ProxyFromEnvironment); HTTP_PROXY is
    ignored when REQUEST_METHOD is set (httpoxy, as urllib does).
    """
    found: dict[str, str] = {}
    for upper_pass in (True, False):
        for name, value in env.items():
            lower = name.lower()
            if value and lower.endswith("_proxy") and (name != lower) == upper_pass:
                found[lower[: -len("_proxy")]] = value.strip()
    if "REQUEST_METHOD" in env:
        found.pop("http", None)
    return found


def bypassed(netloc: str, no_proxy: str) -> bool:
    """Whether NO_PROXY names this host: `*`, a host or domain suffix (leading dot optional, port optional), or
    a CIDR range for an IP literal."""
    if no_proxy.strip() == "*":
        return True
    netloc = netloc.lower()
    host = netloc[1 : netloc.find("]")] if netloc.startswith("[") else netloc.rsplit(":", 1)[0]
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for entry in no_proxy.lower().split(","):
        name = entry.strip().lstrip(".")
        if not name:
            continue
        if "/" in name and ip is not None:
            try:
                if ip in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
            continue
        if name in (host, netloc) or host.endswith("." + name) or netloc.endswith("." + name):
            return True
    return False


def _proxy(url: str) -> Proxy:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise RegistryFailure(
            Kind.UNREACHABLE,
            f"proxy {parts.scheme}://{parts.hostname or ''}: only http:// proxies are supported",
        )
    netloc = parts.netloc.rsplit("@", 1)[-1]
    auth = ""
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        auth = "Basic " + base64.b64encode(pair).decode("ascii")
    return Proxy(netloc=netloc, authorization=auth)


class _ConnectTimeout(Exception):
    pass


@dataclass(slots=True)
class Transport:
    """HTTP for one run: pooled keep-alive connections, per-host concurrency limit, request counting."""

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    per_host: int = 4
    observer: Observer | None = None
    deadline: float | None = None  # time.monotonic() after which no request goes on (the run's --timeout)
    sleep: Callable[[float], None] = time.sleep
    env: Mapping[str, str] | None = field(default=None, repr=False)  # None: os.environ (proxies, CA bundle)
    _limits: dict[str, threading.BoundedSemaphore] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _idle: dict[tuple[str, str], list[Connection]] = field(init=False, default_factory=dict)
    _proxies: dict[str, str] = field(init=False, default_factory=dict)
    _tls: ssl.SSLContext | None = field(init=False, default=None)
    _closed: bool = field(init=False, default=False)
    _watch: _Watchdog = field(init=False, default_factory=lambda: _Watchdog())

    def __post_init__(self) -> None:
        self._proxies = proxies_from_env(os.environ if self.env is None else self.env)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [c for conns in self._idle.values() for c in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()
        self._watch.stop()

    def _limit(self, netloc: str) -> threading.BoundedSemaphore:
        """The connection cap of a host: PUBLIC_LIMIT for the public registries, per_host for the others."""
        host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
        limit = min(self.per_host, PUBLIC_LIMIT) if host.endswith(PUBLIC_HOSTS) else self.per_host
        with self._lock:
            return self._limits.setdefault(netloc, threading.BoundedSemaphore(limit))

    def request(
        self,
        method: str,
        url: str,
        *,
        subject: str,
        headers: Mapping[str, str] | None = None,
        max_bytes: int = 4 << 20,
        data: Mapping[str, str] | None = None,
    ) -> Response:
        """One logical request: follows redirects itself (Authorization only to the same origin), retries
        idempotent requests on 429/5xx/connection errors, and raises RegistryFailure for transport failures.

        HTTP error statuses are returned, not raised: the caller knows what a 401 or 404 means for it.
        """
        attempt = 0
        while True:
            try:
                resp = self._follow(method, url, dict(headers or {}), max_bytes, data, subject)
            except _Retryable as err:
                if method not in IDEMPOTENT or attempt >= MAX_RETRIES - 1 or not self._can_wait(0.2 * (attempt + 1)):
                    raise RegistryFailure(err.kind, err.detail) from None
                attempt += 1
                self.sleep(0.2 * attempt)
                continue
            wait = self._retry_wait(method, resp, attempt)
            if wait is None or not self._can_wait(wait):
                return resp  # a wait that would end past the deadline is not worth starting
            attempt += 1
            self.sleep(wait)

    def open(
        self, method: str, url: str, *, subject: str, headers: Mapping[str, str] | None = None, max_bytes: int = 1 << 16
    ) -> Stream | Response:
        """Like request(), but a 200 answer comes back as an open Stream (the caller closes it); other answers
        are read (up to max_bytes) and returned as a Response. Redirects are followed with the same rules."""
        headers = dict(headers or {})
        first = origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            netloc = origin(url)[1]
            deadline = self.deadline if self.deadline is not None else time.monotonic() + 3600.0
            limit = self._limit(netloc)
            if not limit.acquire(timeout=max(0.0, min(deadline, self._request_deadline()) - time.monotonic())):
                raise RegistryFailure(
                    Kind.TIMEOUT,
                    f"{subject}: no connection to {netloc} became free before the deadline (--timeout)",
                )
            try:
                conn, resp = self._guarded(_Exchange(), method, url, headers, None, subject)
            except BaseException:
                limit.release()
                raise
            self._observe(method, url, resp.status)
            location = resp.getheader("location") or ""
            if resp.status in (301, 302, 303, 307, 308) and location:
                conn.close()
                limit.release()
                url, headers = redirected(url, location, first, headers, subject)
                continue
            if resp.status == 200:
                return Stream(conn, resp, url=url, subject=subject, deadline=deadline, release=limit.release)
            try:
                body = _read_capped(resp, max_bytes, subject)
            except (RegistryFailure, OSError, http.client.HTTPException):
                body = b""
            finally:
                conn.close()
                limit.release()
            return Response(status=resp.status, headers=_headers(resp), body=body, url=url)
        raise RegistryFailure(Kind.PROTOCOL, f"{subject}: more than {MAX_REDIRECTS} redirects")

    def _can_wait(self, seconds: float) -> bool:
        """Whether waiting `seconds` still leaves time for another attempt before the deadline."""
        return self.deadline is None or time.monotonic() + seconds + 0.1 < self.deadline

    def _request_deadline(self) -> float:
        """When one exchange (connect, headers, body, all of it) must be over: its timeouts, or the run's end."""
        own = time.monotonic() + self.connect_timeout + self.read_timeout
        return own if self.deadline is None else min(own, self.deadline)

    def _retry_wait(self, method: str, resp: Response, attempt: int) -> float | None:
        """How long to wait before asking again (429 and 5xx, idempotent requests only), or None: do not."""
        if method not in IDEMPOTENT or attempt >= MAX_RETRIES or resp.status not in (429, 500, 502, 503, 504):
            return None
        if resp.status == 429 and PULL_LIMIT_TEXT in resp.body[:4096].decode("utf-8", "replace").lower():
            return None  # Docker Hub's pull limit: waiting seconds will not help
        after = retry_after(resp)
        if after is not None and after > MAX_RETRY_AFTER:
            return None  # "come back in a day": not worth any wait inside one run
        return after if after is not None else 0.5 * (2**attempt) + random.uniform(0, 0.1)

    def _follow(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        data: Mapping[str, str] | None,
        subject: str,
    ) -> Response:
        first = origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._send(method, url, headers, max_bytes, data, subject)
            if resp.status not in (301, 302, 303, 307, 308) or not resp.header("location"):
                return resp
            target, headers = redirected(url, resp.header("location"), first, headers, subject)
            if resp.status == 303:
                method, data = "GET", None
            url = target
        raise RegistryFailure(Kind.PROTOCOL, f"{subject}: more than {MAX_REDIRECTS} redirects")

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        data: Mapping[str, str] | None,
        subject: str,
    ) -> Response:
        """One HTTP exchange within its total deadline, in the caller's thread.

        The socket timeouts bound each read, not the exchange: a server that sends a byte every few seconds
        never trips them. So the transport's watchdog shuts the connection down at the deadline and the
        exchange reports a timeout. (A thread per exchange did the same at the cost of a thread start and two
        hand-offs per request: with fifty lookups on a busy machine, that was tens of milliseconds of queueing
        before the requests left.)
        """
        netloc = origin(url)[1]
        deadline = self._request_deadline()
        limit = self._limit(netloc)
        if not limit.acquire(timeout=max(0.0, deadline - time.monotonic())):
            self._observe(method, url, 0)
            raise RegistryFailure(
                Kind.TIMEOUT,
                f"{subject}: no connection to {netloc} became free before the deadline (--timeout)",
            )
        box = _Exchange(deadline)
        try:
            self._watch.watch(box)
            self._exchange(box, method, url, headers, max_bytes, data, subject)
        finally:
            box.finish()
            limit.release()
        late = box.error is not None and time.monotonic() >= deadline  # e.g. a connect bounded by the deadline
        if box.response is None and (box.abandoned or late):  # cut at the deadline: whatever broke, that is why
            self._observe(method, url, 0)
            total = min(self.connect_timeout + self.read_timeout, max(0.0, deadline - box.started))
            raise RegistryFailure(Kind.TIMEOUT, f"{subject}: {netloc} did not finish answering within {total:.3g} s")
        self._observe(method, url, box.status)
        if box.error is not None:
            raise box.error
        assert box.response is not None
        return box.response

    def _observe(self, method: str, url: str, status: int) -> None:
        if self.observer is not None:
            self.observer(method, url, status)

    def _exchange(
        self,
        box: _Exchange,
        method: str,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        data: Mapping[str, str] | None,
        subject: str,
    ) -> None:
        try:
            conn, resp = self._guarded(box, method, url, headers, data, subject)
            box.status = resp.status
            try:
                body = _read_capped(resp, max_bytes, subject)
            except BaseException:
                conn.close()
                raise
            if not box.finish():  # the watchdog cut it as the last bytes came: a timeout, the connection gone
                conn.close()
                return
            self._checkin(origin(url), conn, resp)
            box.response = Response(status=resp.status, headers=_headers(resp), body=body, url=url)
        except (OSError, http.client.HTTPException) as err:  # while reading the body
            box.error = self._failure(err, urlsplit(url).netloc, subject)
        except (RegistryFailure, _Retryable) as err:  # _send decides: a timeout if the watchdog cut it, else this
            box.error = err

    def _guarded(
        self,
        box: _Exchange,
        method: str,
        url: str,
        headers: dict[str, str],
        data: Mapping[str, str] | None,
        subject: str,
    ) -> tuple[Connection, http.client.HTTPResponse]:
        """Send the request and read the response head; transport errors become RegistryFailure/_Retryable."""
        netloc = origin(url)[1]
        try:
            return self._roundtrip(box, method, url, headers, data)
        except _ConnectTimeout:
            raise RegistryFailure(
                Kind.TIMEOUT,
                f"{subject}: {netloc} did not answer (connect timeout after {self.connect_timeout:g} s)",
            ) from None
        except (OSError, http.client.HTTPException) as err:
            raise self._failure(err, netloc, subject) from None

    def _failure(self, err: BaseException, netloc: str, subject: str) -> Exception:
        if isinstance(err, ssl.SSLError):
            return RegistryFailure(
                Kind.TLS,
                f"{subject}: TLS error talking to {netloc} ({_short(err)}); if this "
                "registry uses plain HTTP, list it in the engine's insecure-registries, "
                "or set REQUESTS_CA_BUNDLE for a private CA",
            )
        if isinstance(err, TimeoutError):
            return RegistryFailure(
                Kind.TIMEOUT,
                f"{subject}: {netloc} did not answer (read timeout after {self.read_timeout:g} s)",
            )
        if isinstance(err, http.client.HTTPException):
            return RegistryFailure(Kind.PROTOCOL, f"{subject}: bad HTTP exchange with {netloc} ({_short(err)})")
        failure = RegistryFailure if _unknown_host(err) else _Retryable  # a name that does not resolve stays so
        return failure(
            Kind.UNREACHABLE,
            f"{subject}: cannot connect to {netloc} ({_short(err)}); is the registry running and the host name right?",
        )

    def _roundtrip(
        self, box: _Exchange, method: str, url: str, headers: dict[str, str], data: Mapping[str, str] | None
    ) -> tuple[Connection, http.client.HTTPResponse]:
        parts = urlsplit(url)
        key = origin(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        send = {"User-Agent": USER_AGENT, **headers}
        body = None
        if data is not None:
            body = urlencode(dict(data)).encode("ascii")
            send.setdefault("Content-Type", "application/x-www-form-urlencoded")
        proxy = self._proxy_for(parts.scheme, parts.netloc)
        if proxy is not None and parts.scheme == "http":
            path = url  # the absolute form, to the proxy (https goes through a CONNECT tunnel instead)
            if proxy.authorization:
                send["Proxy-Authorization"] = proxy.authorization
        # a kept-alive connection the server has closed meanwhile fails at once: then once more on a new one
        for reuse in (True, False) if method in IDEMPOTENT else (False,):
            conn = self._checkout(key) if reuse else None
            reused = conn is not None
            if conn is None:
                conn = self._new(parts.scheme, parts.netloc, proxy, box.deadline)
                box.hold(conn)
                self._connect(conn)
            else:
                box.hold(conn)
            try:
                conn.request(method, path, body=body, headers=send)
                return conn, conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
                conn.close()
                if not reused or box.abandoned:
                    raise
            except BaseException:
                conn.close()
                raise
        raise http.client.RemoteDisconnected("the server closed the connection")  # pragma: no cover

    def _proxy_for(self, scheme: str, netloc: str) -> Proxy | None:
        """The proxy the environment names for this scheme and host (NO_PROXY respected), or None."""
        if bypassed(netloc, self._proxies.get("no", "")):
            return None
        url = self._proxies.get(scheme) or self._proxies.get("all")
        return _proxy(url) if url else None

    def _new(self, scheme: str, netloc: str, proxy: Proxy | None, deadline: float | None = None) -> Connection:
        where = proxy.netloc if proxy is not None else netloc
        timeout = self.connect_timeout
        if deadline is not None:  # the watchdog cannot cut a connect (there is no socket to shut yet): bound it
            timeout = max(0.001, min(timeout, deadline - time.monotonic()))
        if scheme == "https":
            conn: Connection = http.client.HTTPSConnection(where, timeout=timeout, context=self._context())
            if proxy is not None:
                auth = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else None
                conn.set_tunnel(netloc, headers=auth)
            return conn
        return http.client.HTTPConnection(where, timeout=timeout)

    def _connect(self, conn: Connection) -> None:
        try:
            conn.connect()
        except TimeoutError:
            conn.close()
            raise _ConnectTimeout() from None
        if conn.sock is not None:
            conn.sock.settimeout(self.read_timeout)

    def _context(self) -> ssl.SSLContext:
        """The TLS context of the run: the system's CAs plus certifi's (what requests used), or the bundle
        REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE names; SSL_CERT_FILE and SSL_CERT_DIR work as OpenSSL reads them."""
        with self._lock:
            if self._tls is None:
                env = os.environ if self.env is None else self.env
                bundle = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or ""
                if bundle:
                    ctx = ssl.create_default_context(
                        cafile=None if os.path.isdir(bundle) else bundle,
                        capath=bundle if os.path.isdir(bundle) else None,
                    )
                else:
                    ctx = ssl.create_default_context()
                    try:
                        import certifi

                        ctx.load_verify_locations(certifi.where())
                    except (ImportError, OSError, ssl.SSLError):
                        pass
                self._tls = ctx
            return self._tls

    def _checkout(self, key: tuple[str, str]) -> Connection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _checkin(self, key: tuple[str, str], conn: Connection, resp: http.client.HTTPResponse) -> None:
        """A connection whose answer was read to the end goes back to the pool, unless either side ends it."""
        if resp.will_close or conn.sock is None or not resp.isclosed():
            conn.close()
            return
        with self._lock:
            if not self._closed:
                self._idle.setdefault(key, []).append(conn)
                return
        conn.close()


USER_AGENT = f"dockdoctor/{__version__}"


def _headers(resp: http.client.HTTPResponse) -> dict[str, str]:
    """Lower-cased header names; a header sent twice (WWW-Authenticate) is joined with ", " (RFC 9110 5.3)."""
    out: dict[str, str] = {}
    for name, value in resp.getheaders():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


class Stream:
    """A 200 answer whose body is read as it arrives (a layer blob): chunks until the end, the deadline or close().

    The per-host slot is held until close(); at the deadline a watchdog shuts the socket down, so a registry
    that trickles bytes cannot hold the run past --timeout.
    """

    def __init__(
        self,
        conn: Connection,
        resp: http.client.HTTPResponse,
        *,
        url: str,
        subject: str,
        deadline: float,
        release: Callable[[], None],
    ) -> None:
        self.status = resp.status
        self.headers = _headers(resp)
        self.url = url
        self.body = b""
        self._conn = conn
        self._resp = resp
        self._subject = subject
        self._deadline = deadline
        self._release = release
        self._closed = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), _shut, args=(conn,))
        self._timer.daemon = True
        self._timer.start()

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def chunks(self, size: int = 65536) -> Iterator[bytes]:
        netloc = origin(self.url)[1]
        try:
            while True:
                chunk = self._resp.read(size)
                if not chunk:
                    return
                if time.monotonic() > self._deadline:
                    raise RegistryFailure(
                        Kind.TIMEOUT,
                        f"{self._subject}: {netloc} did not finish sending the layer before the deadline (--timeout)",
                    )
                yield chunk
        except (OSError, ValueError, http.client.HTTPException) as err:
            if time.monotonic() >= self._deadline - 0.05:
                raise RegistryFailure(
                    Kind.TIMEOUT,
                    f"{self._subject}: the layer from {netloc} was cut at the deadline (--timeout)",
                ) from None
            raise RegistryFailure(
                Kind.UNREACHABLE,
                f"{self._subject}: the layer download from {netloc} broke off ({_short(err)})",
            ) from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._timer.cancel()
        try:
            self._resp.close()
            self._conn.close()
        finally:
            self._release()


class _Exchange:
    """One exchange's state, shared by the thread that talks to the server and the watchdog that may cut it."""

    def __init__(self, deadline: float | None = None) -> None:
        self.started = time.monotonic()
        self.deadline = deadline
        self.status = 0
        self.response: Response | None = None
        self.error: BaseException | None = None
        self.abandoned = False
        self.finished = False
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def hold(self, conn: Connection) -> None:
        with self._lock:
            self._conn = conn
            abandoned = self.abandoned
        if abandoned:
            _shut(conn)

    def finish(self) -> bool:
        """The exchange is over (nothing is cut after this); False if the watchdog cut it first."""
        with self._lock:
            self.finished = True
            return not self.abandoned

    def abandon(self) -> None:
        """The deadline passed: cut the connection, so the blocked read returns now rather than at the server's
        pace. Nothing happens once the exchange has finished."""
        with self._lock:
            if self.finished:
                return
            self.abandoned = True
            conn = self._conn
        if conn is not None:
            _shut(conn)


class _Watchdog:
    """One daemon thread per transport that cuts each exchange still running at its deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Exchange]] = []
        self._order = itertools.count()
        self._started = False
        self._stopped = False

    def watch(self, box: _Exchange) -> None:
        if box.deadline is None:
            return
        with self._cond:
            if self._stopped:  # the run is over (its transport closed): nothing more goes out
                box.abandon()
                return
            heapq.heappush(self._heap, (box.deadline, next(self._order), box))
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="registry-watchdog", daemon=True).start()
            elif self._heap[0][2] is box:
                self._cond.notify()  # an earlier deadline than the one it sleeps towards

    def stop(self) -> None:
        """The run is over: cut what still runs, and let the thread end (a process runs many transports)."""
        with self._cond:
            self._stopped = True
            running = [box for _, _, box in self._heap]
            self._heap.clear()
            self._cond.notify()
        for box in running:
            box.abandon()

    def _run(self) -> None:
        signals_to_the_main_thread()
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                while self._heap and (self._heap[0][0] <= now or self._heap[0][2].finished):
                    self._heap[0][2].abandon()  # a no-op for a finished exchange
                    heapq.heappop(self._heap)
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


def _shut(conn: Connection) -> None:
    """Shut the connection's socket down (a blocked read in another thread then returns); best effort."""
    sock = conn.sock
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _read_capped(resp: http.client.HTTPResponse, max_bytes: int, subject: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = resp.read(65536)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise RegistryFailure(
                Kind.PROTOCOL,
                f"{subject}: response larger than {max_bytes // (1 << 20)} MiB; refusing to read it",
            )
        chunks.append(chunk)


def _short(err: BaseException) -> str:
    """The useful tail of a transport error: `[Errno 111] Connection refused`, not the whole repr."""
    text = str(err) or type(err).__name__
    match = _ERRNO_RE.search(text)
    return match.group(0).strip() if match else text[:200]


def redirected(
    url: str, location: str, first: tuple[str, str], headers: dict[str, str], subject: str
) -> tuple[str, dict[str, str]]:
    """Where a redirect leads, and the headers to send there: only http(s); credentials never leave the first
    origin; a public registry may not send us to a private address. One rule for every request."""
    target = urljoin(url, location)
    if urlsplit(target).scheme not in ("http", "https"):
        raise RegistryFailure(Kind.PROTOCOL, f"{subject}: redirected to a non-HTTP URL {target!r}")
    if origin(target) != first:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        if private_host(origin(target)[1]) and not private_host(first[1]):
            raise RegistryFailure(
                Kind.PROTOCOL,
                f"{subject}: refusing a redirect from {first[1]} to the private address {origin(target)[1]}",
            )
    return target, headers


def _unknown_host(err: BaseException) -> bool:
    text = str(err)
    return "Name or service not known" in text or "nodename nor servname" in text or "No address associated" in text


# Connections (= requests in flight: HTTP/1.1, no pipelining) to one public registry host. Peers cap far
# lower, but per operation and for layer downloads: regclient's defaultConcurrent = 3 "concurrent registry
# connections" per host (regclient/regclient@b59559f config/host.go), go-containerregistry's defaultJobs = 4
# for a remote operation while its transport keeps up to 50 idle connections per host (MaxIdleConnsPerHost,
# google/go-containerregistry@6a5f6b3 pkg/v1/remote/options.go), dockerd's max-concurrent-downloads = 3
# (https://github.com/confidential-containers/guest-components/pull/153 "the same default config for
# dockerd"). Docker Hub meters manifest GETs, not connections: a pull "makes one pull for a single manifest"
# (https://github.com/docker/docs/pull/20788.diff, download-rate-limit.md), and containers/image reads a
# digest with HEAD because the GET "counts as a pull" (https://github.com/containers/image/pull/1078); so the
# count of GETs is what is kept small (one per reference, HEAD to revalidate). A lookup is a few KiB:
# 6 in flight to a public host (twice regclient's 3) is polite; private and loopback registries get
# RegistryOptions.per_registry (64), the number of lookups a big compose project starts at once.
PUBLIC_LIMIT = 6
PUBLIC_HOSTS = (
    "docker.io",
    "ghcr.io",
    "quay.io",
    "gcr.io",
    "pkg.dev",
    "mcr.microsoft.com",
    "amazonaws.com",
    "registry.k8s.io",
    "gitlab.com",
)


class _Retryable(Exception):
    def __init__(self, kind: ProbeErrorKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def retry_after(resp: Response | Stream) -> float | None:
    """Retry-After in seconds (delta-seconds form; an HTTP date counts as unknown)."""
    value = resp.header("retry-after").strip()
    if value.isdigit():
        return float(value)
    return None


def ratelimit_note(resp: Response | Stream) -> str:
    """`ratelimit-remaining 0; retry after 3600 s` from whatever rate-limit headers are there."""
    parts = []
    remaining = resp.header("ratelimit-remaining").split(";")[0].strip()
    if remaining:
        parts.append(f"ratelimit-remaining {remaining}")
    limit = resp.header("ratelimit-limit").strip()
    if limit and not remaining:
        parts.append(f"ratelimit-limit {limit}")
    after = retry_after(resp)
    if after is not None:
        parts.append(f"retry after {after:g} s")
    return "; ".join(parts)
