"""The one HTTP door of the registry client: a Session per run, retries, manual redirects, errors as values."""

from __future__ import annotations

import ipaddress
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from requests.__version__ import __version__ as requests_version

from dockdoctor import __version__
from dockdoctor.model import ProbeError, ProbeErrorKind
from dockdoctor.probes._run import signals_to_the_main_thread

PROBE = "registry"
MAX_REDIRECTS = 5
MAX_RETRIES = 2
MAX_RETRY_AFTER = 10.0  # seconds we are willing to wait inside one run (and never past its deadline)
IDEMPOTENT = frozenset({"GET", "HEAD"})
PULL_LIMIT_TEXT = "pull rate limit"
_ERRNO_RE = re.compile(r"\[Errno -?\d+\][^'\")]*|\[SSL[^\]]*\][^'\")]*|timed out")

Observer = Callable[[str, str, int], None]  # method, url, status (0 when no answer)


class RegistryFailure(Exception):
    """Internal control flow: carries the ProbeError the whole reference ends with."""

    def __init__(self, kind: ProbeErrorKind, detail: str) -> None:
        super().__init__(detail)
        self.error = ProbeError(probe=PROBE, kind=kind, detail=detail)


@dataclass(frozen=True, slots=True)
class Response:
    """A finished response: status, lower-cased headers, the (capped) body and the final URL."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class _NoNetrc(requests.auth.AuthBase):
    """An auth object that does nothing, so requests never adds ~/.netrc credentials (brief §6.5)."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


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


@dataclass(slots=True)
class Transport:
    """HTTP for one run: shared Session, per-host concurrency limit, request counting."""

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    per_host: int = 4
    observer: Observer | None = None
    deadline: float | None = None  # time.monotonic() after which no request goes on (the run's --timeout)
    sleep: Callable[[float], None] = time.sleep
    session: requests.Session = field(init=False)
    _limits: dict[str, threading.BoundedSemaphore] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=16, pool_maxsize=max(self.per_host, 4), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"dockdoctor/{__version__} python-requests/{requests_version}"

    def close(self) -> None:
        self.session.close()

    def _limit(self, netloc: str) -> threading.BoundedSemaphore:
        # public registries get the polite limit the registry brief recommends; private ones the full one
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
                    ProbeErrorKind.TIMEOUT,
                    f"{subject}: no connection to {netloc} became free before the deadline (--timeout)",
                )
            try:
                resp = self._open_once(method, url, headers, subject)
            except BaseException:
                limit.release()
                raise
            self._observe(method, url, resp.status_code)
            location = resp.headers.get("location", "")
            if resp.status_code in (301, 302, 303, 307, 308) and location:
                resp.close()
                limit.release()
                url, headers = redirected(url, location, first, headers, subject)
                continue
            if resp.status_code == 200:
                return Stream(resp, subject=subject, deadline=deadline, release=limit.release)
            try:
                body = _read_capped(resp, max_bytes, subject)
            except RegistryFailure:
                body = b""
            finally:
                resp.close()
                limit.release()
            return Response(
                status=resp.status_code, headers={k.lower(): v for k, v in resp.headers.items()}, body=body, url=url
            )
        raise RegistryFailure(ProbeErrorKind.PROTOCOL, f"{subject}: more than {MAX_REDIRECTS} redirects")

    def _open_once(self, method: str, url: str, headers: dict[str, str], subject: str) -> requests.Response:
        netloc = origin(url)[1]
        try:
            return self.session.request(
                method,
                url,
                headers=headers,
                stream=True,
                auth=_NoNetrc(),
                allow_redirects=False,
                timeout=(self.connect_timeout, self.read_timeout),
            )
        except requests.exceptions.SSLError as err:
            raise RegistryFailure(
                ProbeErrorKind.TLS, f"{subject}: TLS error talking to {netloc} ({_short(err)})"
            ) from None
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout):
            raise RegistryFailure(ProbeErrorKind.TIMEOUT, f"{subject}: {netloc} did not answer in time") from None
        except requests.exceptions.RequestException as err:
            raise RegistryFailure(
                ProbeErrorKind.UNREACHABLE, f"{subject}: cannot connect to {netloc} ({_short(err)})"
            ) from None

    def _can_wait(self, seconds: float) -> bool:
        """Whether waiting `seconds` still leaves time for another attempt before the deadline."""
        return self.deadline is None or time.monotonic() + seconds + 0.1 < self.deadline

    def _request_deadline(self) -> float:
        """When one exchange (connect, headers, body, all of it) must be over: its timeouts, or the run's end."""
        own = time.monotonic() + self.connect_timeout + self.read_timeout
        return own if self.deadline is None else min(own, self.deadline)

    def _retry_wait(self, method: str, resp: Response, attempt: int) -> float | None:
        if method not in IDEMPOTENT or attempt >= MAX_RETRIES:
            return None
        if resp.status == 429:
            if PULL_LIMIT_TEXT in resp.body[:4096].decode("utf-8", "replace").lower():
                return None  # Docker Hub's pull limit: waiting seconds will not help
            after = retry_after(resp)
            if after is not None and after > MAX_RETRY_AFTER:
                return None
            return after if after is not None else 0.5 * (2**attempt) + random.uniform(0, 0.1)
        if resp.status in (500, 502, 503, 504):
            after = retry_after(resp)
            if after is not None and after > MAX_RETRY_AFTER:
                return None  # "come back in a day": not worth any wait inside one run
            return after if after is not None else 0.5 * (2**attempt) + random.uniform(0, 0.1)
        return None

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
        raise RegistryFailure(ProbeErrorKind.PROTOCOL, f"{subject}: more than {MAX_REDIRECTS} redirects")

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        data: Mapping[str, str] | None,
        subject: str,
    ) -> Response:
        """One HTTP exchange within its total deadline.

        The socket timeouts bound each read, not the exchange: a server that sends a byte every few seconds
        never trips them. So the exchange runs in a daemon thread and the caller waits for it only until the
        deadline; then it shuts the connection down (when it can reach it) and reports a timeout.
        """
        netloc = origin(url)[1]
        deadline = self._request_deadline()
        limit = self._limit(netloc)
        if not limit.acquire(timeout=max(0.0, deadline - time.monotonic())):
            self._observe(method, url, 0)
            raise RegistryFailure(
                ProbeErrorKind.TIMEOUT,
                f"{subject}: no connection to {netloc} became free before the deadline (--timeout)",
            )
        box = _Exchange()
        worker = threading.Thread(
            target=self._exchange,
            args=(box, limit, method, url, headers, max_bytes, data, subject),
            name="registry-http",
            daemon=True,
        )
        try:
            worker.start()
        except BaseException:
            limit.release()
            raise
        if not box.done.wait(max(0.0, deadline - time.monotonic())):
            box.abandon()
            self._observe(method, url, 0)
            total = min(self.connect_timeout + self.read_timeout, max(0.0, deadline - box.started))
            raise RegistryFailure(
                ProbeErrorKind.TIMEOUT, f"{subject}: {netloc} did not finish answering within {total:.3g} s"
            )
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
        limit: threading.BoundedSemaphore,
        method: str,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        data: Mapping[str, str] | None,
        subject: str,
    ) -> None:
        signals_to_the_main_thread()
        try:
            box.response = self._exchange_in_thread(box, method, url, headers, max_bytes, data, subject)
        except BaseException as err:  # noqa: BLE001 - handed to the waiting caller
            box.error = err
        finally:
            limit.release()
            box.done.set()

    def _exchange_in_thread(
        self,
        box: _Exchange,
        method: str,
        url: str,
        headers: dict[str, str],
        max_bytes: int,
        data: Mapping[str, str] | None,
        subject: str,
    ) -> Response:
        netloc = origin(url)[1]
        try:
            resp = self.session.request(
                method,
                url,
                headers=headers,
                data=data,
                stream=True,
                auth=_NoNetrc(),
                allow_redirects=False,
                timeout=(self.connect_timeout, self.read_timeout),
            )
            box.hold(resp)
            box.status = resp.status_code
            try:
                # a HEAD's empty body is read too, so that the connection goes back to the pool
                body = _read_capped(resp, max_bytes, subject) if method != "HEAD" else (resp.content and b"")
            finally:
                resp.close()
        except requests.exceptions.SSLError as err:
            raise RegistryFailure(
                ProbeErrorKind.TLS,
                f"{subject}: TLS error talking to {netloc} ({_short(err)}); if this "
                "registry uses plain HTTP, list it in the engine's insecure-registries, "
                "or set REQUESTS_CA_BUNDLE for a private CA",
            ) from None
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as err:
            what = "connect" if isinstance(err, requests.exceptions.ConnectTimeout) else "read"
            limit = self.connect_timeout if what == "connect" else self.read_timeout
            raise RegistryFailure(
                ProbeErrorKind.TIMEOUT, f"{subject}: {netloc} did not answer ({what} timeout after {limit:g} s)"
            ) from None
        except requests.exceptions.ConnectionError as err:
            failure = RegistryFailure if _unknown_host(err) else _Retryable  # a name that does not resolve stays so
            raise failure(
                ProbeErrorKind.UNREACHABLE,
                f"{subject}: cannot connect to {netloc} ({_short(err)}); is the "
                "registry running and the host name right?",
            ) from None
        except requests.exceptions.RequestException as err:
            raise RegistryFailure(
                ProbeErrorKind.PROTOCOL, f"{subject}: bad HTTP exchange with {netloc} ({_short(err)})"
            ) from None
        return Response(status=box.status, headers={k.lower(): v for k, v in resp.headers.items()}, body=body, url=url)


class Stream:
    """A 200 answer whose body is read as it arrives (a layer blob): chunks until the end, the deadline or close().

    The per-host slot is held until close(); at the deadline a watchdog shuts the socket down, so a registry
    that trickles bytes cannot hold the run past --timeout.
    """

    def __init__(self, resp: requests.Response, *, subject: str, deadline: float, release: Callable[[], None]) -> None:
        self.status = resp.status_code
        self.headers = {k.lower(): v for k, v in resp.headers.items()}
        self.url = resp.url
        self.body = b""
        self._resp = resp
        self._subject = subject
        self._deadline = deadline
        self._release = release
        self._closed = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), _shut, args=(resp,))
        self._timer.daemon = True
        self._timer.start()

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def chunks(self, size: int = 65536) -> Iterator[bytes]:
        netloc = origin(self.url)[1]
        try:
            for chunk in self._resp.iter_content(size):
                if time.monotonic() > self._deadline:
                    raise RegistryFailure(
                        ProbeErrorKind.TIMEOUT,
                        f"{self._subject}: {netloc} did not finish sending the layer before the deadline (--timeout)",
                    )
                yield chunk
        except requests.exceptions.RequestException as err:
            if time.monotonic() >= self._deadline - 0.05:
                raise RegistryFailure(
                    ProbeErrorKind.TIMEOUT,
                    f"{self._subject}: the layer from {netloc} was cut at the deadline (--timeout)",
                ) from None
            raise RegistryFailure(
                ProbeErrorKind.UNREACHABLE,
                f"{self._subject}: the layer download from {netloc} broke off ({_short(err)})",
            ) from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._timer.cancel()
        try:
            self._resp.close()
        finally:
            self._release()


class _Exchange:
    """One exchange's result box, shared by the waiting caller and the thread that talks to the server."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.done = threading.Event()
        self.status = 0
        self.response: Response | None = None
        self.error: BaseException | None = None
        self._resp: requests.Response | None = None
        self._abandoned = False
        self._lock = threading.Lock()

    def hold(self, resp: requests.Response) -> None:
        with self._lock:
            self._resp = resp
            abandoned = self._abandoned
        if abandoned:
            _shut(resp)

    def abandon(self) -> None:
        """The caller gave up: cut the connection, so the thread ends now rather than at the server's pace."""
        with self._lock:
            self._abandoned = True
            resp = self._resp
        if resp is not None:
            _shut(resp)


def _shut(resp: requests.Response) -> None:
    """Shut the response's socket down (urllib3 2 keeps it at raw._connection.sock); best effort."""
    for path in (("raw", "_connection", "sock"), ("raw", "_fp", "fp", "raw", "_sock")):
        obj: object = resp
        for name in path:
            obj = getattr(obj, name, None)
        if isinstance(obj, socket.socket):
            try:
                obj.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return


def redirected(
    url: str, location: str, first: tuple[str, str], headers: dict[str, str], subject: str
) -> tuple[str, dict[str, str]]:
    """Where a redirect leads, and the headers to send there: only http(s); credentials never leave the first
    origin; a public registry may not send us to a private address. One rule for every request."""
    target = urljoin(url, location)
    if urlsplit(target).scheme not in ("http", "https"):
        raise RegistryFailure(ProbeErrorKind.PROTOCOL, f"{subject}: redirected to a non-HTTP URL {target!r}")
    if origin(target) != first:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        if private_host(origin(target)[1]) and not private_host(first[1]):
            raise RegistryFailure(
                ProbeErrorKind.PROTOCOL,
                f"{subject}: refusing a redirect from {first[1]} to the private address {origin(target)[1]}",
            )
    return target, headers


def _unknown_host(err: BaseException) -> bool:
    text = str(err)
    return "Name or service not known" in text or "nodename nor servname" in text or "No address associated" in text


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


def _read_capped(resp: requests.Response, max_bytes: int, subject: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    for chunk in resp.iter_content(65536):
        total += len(chunk)
        if total > max_bytes:
            raise RegistryFailure(
                ProbeErrorKind.PROTOCOL,
                f"{subject}: response larger than {max_bytes // (1 << 20)} MiB; refusing to read it",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _short(err: Exception) -> str:
    """The useful tail of a requests/urllib3 error: `[Errno 111] Connection refused`, not the whole repr."""
    text = str(err)
    match = _ERRNO_RE.search(text)
    return match.group(0).strip() if match else text[:200]


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
