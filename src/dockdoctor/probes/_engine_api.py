"""The Engine API over a unix socket, by the standard library alone: the few GET calls the probes make.

The SDK (and requests, urllib3 under it) costs more to import than the answers take to arrive; a local engine
needs none of it. Nor does it need http.client, which imports ssl and the email package's parser (20-30 ms of CPU,
on `check`'s path while its slowest probe waits on it): the engine answers HTTP/1.1 GETs with a length or in chunks
(RFC 9112 sections 6 and 7.1), which `_Connection` reads. tcp:// (TLS) and ssh:// endpoints still go through the SDK
(probes/_sdk.py). The methods and their answers mirror docker.APIClient's, so probes/images.py runs on either
client unchanged.
"""

from __future__ import annotations

import base64
import json as jsonlib
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

MAX_ANSWER = 64 << 20  # bytes: an /images/json of thousands of images is a few MB; beyond this is not an answer
_MAX_LINE = 65536  # a status, header or chunk-size line (http.client's _MAXLINE)
_MAX_HEADERS = 100  # http.client's _MAXHEADERS


class APIError(Exception):
    """The engine answered with an error status (docker.errors.APIError's role)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}".strip())
        self.status = status


class NotFound(APIError):
    """404 from the engine: no such image, container or path (docker.errors.NotFound's role)."""


class BadAnswer(ValueError):
    """What came back is not an HTTP/1.1 answer (a socket that is not an engine's, a cut-off answer)."""


class Disconnected(ConnectionError):
    """The engine closed the connection before it answered (http.client's RemoteDisconnected)."""


class _Connection:
    """One keep-alive HTTP/1.1 connection to a unix socket, made on the first request and after a close."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: BinaryIO | None = None

    def close(self) -> None:
        file, sock, self._file, self._sock = self._file, self._sock, None, None
        if file is not None:
            file.close()
        if sock is not None:
            sock.close()

    def _open(self) -> BinaryIO:
        if self._file is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
            except BaseException:
                sock.close()
                raise
            self._sock, self._file = sock, sock.makefile("rb")
        return self._file

    def get(self, url: str, limit: int) -> tuple[int, dict[str, str], bytes]:
        """Send GET `url`, read the answer (a body of at most `limit` + 1 bytes); Disconnected when the engine
        closed the connection before answering (nothing was read)."""
        file = self._open()
        assert self._sock is not None
        request = (
            f"GET {url} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: identity\r\nUser-Agent: dockdoctor\r\n\r\n"
        )
        self._sock.sendall(request.encode("ascii"))
        while True:
            line = file.readline(_MAX_LINE + 1)
            if not line:
                raise Disconnected("the engine closed the connection without an answer")
            version, _, rest = line.decode("iso-8859-1").rstrip("\r\n").partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or len(line) > _MAX_LINE or not (code.isdigit() and len(code) == 3):
                raise BadAnswer(f"not an HTTP/1.1 status line: {line[:80]!r}")
            status = int(code)
            headers = _headers(file)
            if not 100 <= status < 200 or status == 101:
                break  # an interim 1xx answer (100 Continue) is followed by the real one
        close = headers.get("connection", "").lower() == "close" or (
            version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive"
        )
        if status in (101, 204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = _chunked(file, limit)
        elif _is_digits(headers.get("content-length", "").strip()):
            size = int(headers["content-length"])
            body = file.read(min(size, limit + 1))
            if len(body) < min(size, limit + 1):
                raise BadAnswer(f"the answer ended after {len(body)} of its {size} bytes")
            if size > limit:
                close = True  # the rest is not read: the connection cannot carry another answer
        else:
            body, close = file.read(limit + 1), True  # the body ends where the connection does
        if close:
            self.close()
        return status, headers, body


def _is_digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²", which int() then refuses."""
    return text.isascii() and text.isdigit()


def _headers(file: BinaryIO) -> dict[str, str]:
    """The header fields up to the empty line, by lower-case name (a repeated name: its last value)."""
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS + 1):
        line = file.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise BadAnswer("a header line longer than 64 KiB")
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, colon, value = line.decode("iso-8859-1").partition(":")
        if not colon:
            raise BadAnswer(f"not a header field: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    raise BadAnswer(f"more than {_MAX_HEADERS} header fields")


def _chunked(file: BinaryIO, limit: int) -> bytes:
    """A chunked body (RFC 9112 section 7.1): sizes in hex, each chunk followed by CRLF, a 0 chunk, trailers."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = file.readline(_MAX_LINE + 1)
        size_text = line.split(b";", 1)[0].strip()
        if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):  # int() would take "-1", "+a" and "1_0"
            raise BadAnswer(f"not a chunk size: {line[:80]!r}")
        size = int(size_text, 16)
        if size == 0:
            _headers(file)  # the trailer fields, if any, up to the empty line
            return b"".join(parts)
        part = file.read(min(size, limit + 1 - total))
        parts.append(part)
        total += len(part)
        if total > limit:
            return b"".join(parts)
        if len(part) < size or file.readline(_MAX_LINE + 1).strip():
            raise BadAnswer("a chunk cut off or not followed by its line end")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class UnixAPI:
    """A keep-alive connection to the engine's unix socket; every call a GET, answers as the SDK returns them."""

    def __init__(self, endpoint: str, *, version: str, timeout: float) -> None:
        self.path = endpoint[len("unix://") :] if endpoint.startswith("unix://") else endpoint
        self.version = version
        self._conn = _Connection(self.path, timeout)

    def close(self) -> None:
        self._conn.close()

    def _url(self, path: str, *args: str, versioned_api: bool = True) -> str:
        path = path.format(*(quote(a, safe="/:") for a in args))
        return f"/v{self.version}{path}" if versioned_api else path

    def _get(self, url: str, params: Mapping[str, object] | None = None) -> Answer:
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        for attempt in (0, 1):  # a kept-alive connection the engine closed in between: once more, anew
            try:
                status, headers, body = self._conn.get(url, MAX_ANSWER)
            except (Disconnected, BrokenPipeError, ConnectionResetError):
                self._conn.close()
                if attempt:
                    raise
                continue
            except BaseException:
                self._conn.close()  # an answer read halfway: the connection cannot carry another
                raise
            if len(body) > MAX_ANSWER:
                self._conn.close()
                raise ValueError(f"GET {url}: an answer larger than {MAX_ANSWER >> 20} MiB")
            return Answer(status=status, headers=headers, body=body)
        raise Disconnected("the engine closed the connection")  # pragma: no cover

    def _result(self, answer: Answer, json: bool = False) -> Any:
        if answer.status >= 400:
            message = answer.body[:2048].decode("utf-8", "replace")
            try:
                message = str(jsonlib.loads(message).get("message") or message)
            except (ValueError, AttributeError):
                pass
            raise (NotFound if answer.status == 404 else APIError)(answer.status, message.strip())
        return jsonlib.loads(answer.body) if json else answer.body

    def get_json(self, path: str, *args: str, versioned_api: bool = True, **params: object) -> Any:
        return self._result(self._get(self._url(path, *args, versioned_api=versioned_api), params), True)

    # the docker.APIClient methods probes/images.py calls --------------------------------------------
    def images(self) -> Any:
        return self.get_json("/images/json", only_ids=0, all=0)

    def inspect_image(self, image: str) -> Any:
        return self.get_json("/images/{0}/json", image)

    def containers(self, all: bool = False) -> Any:  # noqa: A002 - the SDK's parameter name
        return self.get_json("/containers/json", all=int(all), limit=-1, size=0, trunc_cmd=0)

    def inspect_container(self, container: str) -> Any:
        return self.get_json("/containers/{0}/json", container)

    def logs(self, container: str, *, stdout: bool = True, stderr: bool = True, tail: int | str = "all") -> bytes:
        """The log as the SDK returns it: a TTY container's raw bytes, else the frames' payloads in order."""
        tty = bool((self.inspect_container(container).get("Config") or {}).get("Tty"))
        url = self._url("/containers/{0}/logs", container)
        params = {"stdout": int(stdout), "stderr": int(stderr), "tail": tail, "timestamps": 0, "follow": 0}
        raw = self._result(self._get(url, params))
        return raw if tty else b"".join(_frames(raw))

    def get_archive(self, container: str, path: str) -> tuple[Iterator[bytes], dict[str, Any]]:
        answer = self._get(self._url("/containers/{0}/archive", container), {"path": path})
        body = self._result(answer)
        encoded = answer.headers.get("x-docker-container-path-stat", "")
        stat = jsonlib.loads(base64.b64decode(encoded)) if encoded else {}
        return iter((body,)), stat


def unix_errors() -> tuple[type[BaseException], ...]:
    """What a call through UnixAPI raises when the engine or the socket fails (the probe door catches these)."""
    return (APIError, OSError, ValueError)  # BadAnswer is a ValueError, Disconnected an OSError


def not_found(client: object) -> tuple[type[BaseException], type[BaseException]]:
    """(not found, any API error) as `client` raises them: UnixAPI's own, or the docker SDK's."""
    if isinstance(client, UnixAPI):
        return NotFound, APIError
    import docker

    return docker.errors.NotFound, docker.errors.APIError


def _frames(raw: bytes) -> Iterator[bytes]:
    """The payloads of a multiplexed log stream: an 8-byte header (stream, 0, 0, 0, big-endian size) per frame."""
    at = 0
    while at + 8 <= len(raw):
        size = int.from_bytes(raw[at + 4 : at + 8], "big")
        yield raw[at + 8 : at + 8 + size]
        at += 8 + size
