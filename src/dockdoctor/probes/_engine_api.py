"""The Engine API over a unix socket with http.client: the few GET calls the probes make, without the docker SDK.

The SDK (and requests, urllib3 under it) costs more to import than the answers take to arrive; a local engine
needs none of it. tcp:// (TLS) and ssh:// endpoints still go through the SDK (probes/_sdk.py). The methods and
their answers mirror docker.APIClient's, so probes/images.py runs on either client unchanged.
"""

from __future__ import annotations

import base64
import http.client
import json as jsonlib
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

MAX_ANSWER = 64 << 20  # bytes: an /images/json of thousands of images is a few MB; beyond this is not an answer


class APIError(Exception):
    """The engine answered with an error status (docker.errors.APIError's role)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}".strip())
        self.status = status


class NotFound(APIError):
    """404 from the engine: no such image, container or path (docker.errors.NotFound's role)."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


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
        self._conn = _UnixConnection(self.path, timeout)

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
                self._conn.request("GET", url, headers={"User-Agent": "dockdoctor"})
                resp = self._conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._conn.close()
                if attempt:
                    raise
                continue
            body = resp.read(MAX_ANSWER + 1)
            if len(body) > MAX_ANSWER:
                self._conn.close()
                raise ValueError(f"GET {url}: an answer larger than {MAX_ANSWER >> 20} MiB")
            headers = {k.lower(): v for k, v in resp.getheaders()}
            if resp.will_close:
                self._conn.close()
            return Answer(status=resp.status, headers=headers, body=body)
        raise http.client.RemoteDisconnected("the engine closed the connection")  # pragma: no cover

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
    return (APIError, OSError, ValueError, http.client.HTTPException)


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
