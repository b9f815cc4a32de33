"""The one door to the docker SDK: an endpoint in, the engine's /version and /info answers or a ProbeError out."""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from typing import Any, TypeVar

from dockdoctor.model import ProbeError, ProbeErrorKind
from dockdoctor.probes._run import record
from dockdoctor.probes.endpoint import TLSFiles

T = TypeVar("T")


def _precheck_socket(endpoint: str) -> ProbeError | None:
    """Name the usual unix-socket failures exactly, before the SDK words them vaguely."""
    path = endpoint[len("unix://") :]
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return ProbeError(probe="engine", kind=ProbeErrorKind.NOT_FOUND, detail=f"no socket at {path}")
    except PermissionError:
        return ProbeError(probe="engine", kind=ProbeErrorKind.PERMISSION, detail=f"{path}: permission denied")
    except OSError as err:
        return ProbeError(probe="engine", kind=ProbeErrorKind.ERROR, detail=f"{path}: {err.strerror}")
    if not stat.S_ISSOCK(mode):
        return ProbeError(probe="engine", kind=ProbeErrorKind.NOT_FOUND, detail=f"{path} exists but is not a socket")
    if not os.access(path, os.R_OK | os.W_OK):
        return ProbeError(
            probe="engine",
            kind=ProbeErrorKind.PERMISSION,
            detail=f"{path}: permission denied (the user cannot read and write the socket)",
        )
    return None


def _classify(err: BaseException) -> ProbeErrorKind:
    """A ProbeError kind for an exception raised while talking to the engine."""
    seen: BaseException | None = err
    text = ""
    while seen is not None:
        text += f" {type(seen).__name__} {seen}"
        if isinstance(seen, OSError) and seen.errno is not None:
            if seen.errno in (errno.EACCES, errno.EPERM):
                return ProbeErrorKind.PERMISSION
            if seen.errno == errno.ECONNREFUSED:
                return ProbeErrorKind.REFUSED
            if seen.errno == errno.ENOENT:
                return ProbeErrorKind.NOT_FOUND
        seen = seen.__cause__ or seen.__context__
    lowered = text.lower()
    for needle, kind in (
        ("timed out", ProbeErrorKind.TIMEOUT),
        ("timeout", ProbeErrorKind.TIMEOUT),
        ("permission denied", ProbeErrorKind.PERMISSION),
        ("connection refused", ProbeErrorKind.REFUSED),
        ("no such file", ProbeErrorKind.NOT_FOUND),
        ("ssl", ProbeErrorKind.TLS),
        ("certificate", ProbeErrorKind.TLS),
        ("ssh", ProbeErrorKind.SSH),
    ):
        if needle in lowered:
            return kind
    return ProbeErrorKind.PROTOCOL


def engine_answers(
    endpoint: str, *, tls: TLSFiles | None, timeout: float
) -> tuple[dict[str, Any], dict[str, Any]] | ProbeError:
    """Ask the engine at `endpoint` for /version and /info."""
    if endpoint.startswith("unix://"):
        problem = _precheck_socket(endpoint)
        if problem is not None:
            return problem
        return _unix_answers(endpoint, timeout=timeout)
    import docker
    import requests

    # ValueError: an answer that is no JSON, or a transport whose pipe closed under it (ssh://)
    errors = (docker.errors.DockerException, requests.exceptions.RequestException, OSError, ValueError)
    try:
        # A fixed version skips the SDK's own /version round trip; both calls below are unversioned, so any
        # engine answers them whatever API versions it supports.
        client = _client(endpoint, version="1.24", timeout=timeout, tls=tls)
    except errors as err:
        return _error(endpoint, err)

    def unversioned(path: str) -> Any:
        return client._result(client._get(client._url(path, versioned_api=False)), json=True)

    try:
        return _version_and_info(endpoint, unversioned, errors)
    finally:
        client.close()


def _unix_answers(endpoint: str, *, timeout: float) -> tuple[dict[str, Any], dict[str, Any]] | ProbeError:
    """/version and /info over the unix socket with the standard library (probes/_engine_api.py), without the SDK."""
    from dockdoctor.probes._engine_api import UnixAPI, unix_errors

    client = UnixAPI(endpoint, version="1.24", timeout=timeout)
    try:
        return _version_and_info(endpoint, lambda path: client.get_json(path, versioned_api=False), unix_errors())
    finally:
        client.close()


def _version_and_info(
    endpoint: str, get: Callable[[str], Any], errors: tuple[type[BaseException], ...]
) -> tuple[dict[str, Any], dict[str, Any]] | ProbeError:
    """/version and /info through `get` (either client), each recorded; the error of the first failure when
    neither answered, and no second wait when the first says the engine is not there."""
    answers: list[dict[str, Any]] = []
    failures: list[BaseException] = []
    for path in ("/version", "/info"):
        try:
            answer = get(path)
            answers.append(answer if isinstance(answer, dict) else {})
            record("engine", f"GET {endpoint} {path}", json.dumps(answers[-1], indent=2))
        except errors as err:
            answers.append({})
            failures.append(err)
            if _classify(err) in ("not-found", "permission", "refused", "timeout", "tls", "ssh"):
                break  # the engine is not there: do not wait a second time
    if len(failures) == len(answers) or not any(answers):
        return _error(endpoint, failures[0] if failures else ValueError("empty answers to /version and /info"))
    version, info = (answers + [{}])[:2]
    return version, info


def with_client(
    endpoint: str, *, tls: TLSFiles | None, timeout: float, api_version: str, call: Callable[[Any], T]
) -> T | ProbeError:
    """Run `call(client)` against the engine with the API version it speaks; SDK and transport errors -> ProbeError.

    A unix socket gets the stdlib client (probes/_engine_api.py, the same methods); other endpoints the SDK's.
    """
    if endpoint.startswith("unix://"):
        from dockdoctor.probes._engine_api import UnixAPI, unix_errors

        try:
            client = UnixAPI(endpoint, version=api_version, timeout=timeout)
            try:
                return call(client)
            finally:
                client.close()
        except unix_errors() as err:
            return _error(endpoint, err)
    import docker
    import requests

    try:
        client = _client(endpoint, version=api_version, timeout=timeout, tls=tls)
        try:
            return call(client)
        finally:
            client.close()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError, ValueError) as err:
        return _error(endpoint, err)


def _client(endpoint: str, *, version: str, timeout: float, tls: TLSFiles | None) -> Any:
    """An APIClient for the endpoint: ssh:// through the system ssh client (probes/_ssh.py), TLS for tcp://."""
    import docker

    if endpoint.startswith("ssh://"):
        from dockdoctor.probes import _ssh

        return _ssh.client(endpoint, version=version, timeout=timeout)
    client = docker.APIClient(base_url=endpoint, version=version, timeout=timeout, tls=_tls(tls, endpoint))
    if endpoint.startswith("tcp://") and tls is not None:
        _pin_verify(client)
    return client


def _pin_verify(client: Any) -> None:
    """The context's CA verifies the engine, even with REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE set.

    requests lets those variables override a Session's own `verify` (psf/requests#3829, #4726; docker-py#2433): a
    tcp:// engine with its own CA then fails with CERTIFICATE_VERIFY_FAILED where the docker CLI connects. The
    proxy settings from the environment still apply.
    """
    merge, verify = client.merge_environment_settings, client.verify

    def pinned(url: Any, proxies: Any, stream: Any, verify_arg: Any, cert: Any) -> Any:
        settings = merge(url, proxies, stream, verify_arg, cert)
        settings["verify"] = verify
        return settings

    client.merge_environment_settings = pinned


def _tls(tls: TLSFiles | None, endpoint: str) -> Any:
    import docker

    if tls is None or not endpoint.startswith("tcp://"):
        return False
    cert = (tls.cert, tls.key) if tls.cert and tls.key else None
    return docker.tls.TLSConfig(client_cert=cert, ca_cert=tls.ca, verify=tls.ca if tls.verify else False)


def _error(endpoint: str, err: BaseException) -> ProbeError:
    detail = str(err).strip() or type(err).__name__
    if endpoint.startswith("ssh://"):
        from dockdoctor.probes import _ssh

        said = _ssh.failure(endpoint)
        if said:  # ssh's own words (`Permission denied (publickey).`) say more than "Connection aborted"
            return ProbeError(probe="engine", kind=ProbeErrorKind.SSH, detail=f"{endpoint}: ssh: {said}")
    return ProbeError(probe="engine", kind=_classify(err), detail=f"{endpoint}: {detail}")
