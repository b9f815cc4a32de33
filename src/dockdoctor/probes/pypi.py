"""The package-index probe: the pins Dockerfiles pip-install, and what the index (PEP 691 JSON) offers for them."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import time
from collections.abc import Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from dockdoctor.model import DockerfileFacts, IndexProject, IndexRelease, ProbeError, ProbeErrorKind, PythonPin
from dockdoctor.probes._files import Unread, inside, read_text
from dockdoctor.probes._pool import Pool

DEFAULT_INDEX = "https://pypi.org/simple/"
ACCEPT = "application/vnd.pypi.simple.v1+json"
MAX_BODY = 16 << 20  # one project's answer (numpy's is about 3 MB); a larger one is an error, not read on
MAX_LATER = 30  # later releases kept per pin (the nearest one with a wheel is among them, or it is far away)
WORKERS = 6
TTL = 3600.0  # like the registry's tag entries: the index changes, but not within a run or an hour
CACHE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def _get(url: str, *, timeout: tuple[float, float]) -> Answer | ProbeError:
    """The one door to the index: a GET with the PEP 691 Accept header, a bounded body; errors as values."""
    import requests

    try:
        with requests.get(url, headers={"Accept": ACCEPT}, timeout=timeout, stream=True, allow_redirects=True) as resp:
            body = b""
            for chunk in resp.iter_content(65536):
                body += chunk
                if len(body) > MAX_BODY:
                    return ProbeError(
                        probe="pypi",
                        kind=ProbeErrorKind.TOO_LARGE,
                        detail=f"{_public(url)}: answer larger than {MAX_BODY >> 20} MB, not read",
                    )
            return Answer(resp.status_code, resp.headers.get("Content-Type", ""), body)
    except (requests.exceptions.RequestException, OSError, ValueError) as err:
        return ProbeError(
            probe="pypi", kind=ProbeErrorKind.UNREACHABLE, detail=f"{_public(url)}: {type(err).__name__}: {err}"[:300]
        )


def _public(url: str) -> str:
    """The URL without credentials (a private index's user:token@ part never reaches the facts)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def index_url(env: Mapping[str, str]) -> str:
    """The index pip uses: PIP_INDEX_URL, else PyPI's simple API."""
    url = env.get("PIP_INDEX_URL", "").strip() or DEFAULT_INDEX
    return url if url.endswith("/") else url + "/"


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def releases_from(body: bytes, name: str, pinned: str) -> tuple[IndexRelease, ...] | str:
    """The pinned release and up to MAX_LATER later final releases, from a PEP 691 project page; or what is wrong."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return "the answer is not JSON (an index without the PEP 691 JSON API?)"
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, list):
        return "the answer has no `files` list (not a PEP 691 project page)"
    by_version: dict[str, list[str]] = {}
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("filename"), str) or item.get("yanked"):
            continue
        filename = item["filename"]
        try:
            version = (
                str(parse_wheel_filename(filename)[1])
                if filename.endswith(".whl")
                else str(parse_sdist_filename(filename)[1])
            )
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        by_version.setdefault(version, []).append(filename)
    want = _version(pinned)
    if want is None:
        return f"the pin's version {pinned!r} is not a PEP 440 version"
    mine = [v for v in by_version if _version(v) == want]
    later = sorted(
        (v for v in by_version if (pv := _version(v)) is not None and pv > want and not pv.is_prerelease), key=Version
    )[:MAX_LATER]
    return tuple(IndexRelease(version=v, files=tuple(sorted(by_version[v]))) for v in mine + later)


class _Cache:
    """pypi/<sha256 of index and project>.json under the registry cache folder: the page's files and when."""

    def __init__(self, root: Path | None) -> None:
        self.root = root / "pypi" if root is not None else None

    def _path(self, url: str) -> Path | None:
        return self.root / (hashlib.sha256(url.encode()).hexdigest() + ".json") if self.root else None

    def get(self, url: str, *, ttl: float | None) -> bytes | None:
        path = self._path(url)
        try:
            entry = json.loads(path.read_bytes()) if path else None
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT or not isinstance(entry.get("body"), str):
            return None
        age = time.time() - float(entry.get("fetched_at", 0))
        return entry["body"].encode() if ttl is None or 0 <= age < ttl else None

    def put(self, url: str, body: bytes) -> None:
        path = self._path(url)
        if path is None:
            return
        from dockdoctor.files import replace_own

        try:
            replace_own(
                path,
                json.dumps(
                    {"format": CACHE_FORMAT, "fetched_at": time.time(), "body": body.decode("utf-8", "replace")}
                ).encode(),
            )
        except OSError:
            pass


def _project(
    name: str, pinned: str, index: str, cache: _Cache, *, refresh: bool, timeout: tuple[float, float]
) -> IndexProject:
    url = index + name + "/"
    public = _public(url)
    body = None if refresh else cache.get(url, ttl=TTL)
    if body is None:
        answer = _get(url, timeout=timeout)
        if isinstance(answer, ProbeError):
            return IndexProject(name=name, index=_public(index), error=answer)
        if answer.status == 404:
            return IndexProject(
                name=name,
                index=_public(index),
                error=ProbeError(
                    probe="pypi", kind=ProbeErrorKind.NOT_FOUND, detail=f"{public}: the index has no project {name!r}"
                ),
            )
        if answer.status != 200:
            return IndexProject(
                name=name,
                index=_public(index),
                error=ProbeError(probe="pypi", kind=ProbeErrorKind.ERROR, detail=f"{public}: HTTP {answer.status}"),
            )
        if "json" not in answer.content_type:
            return IndexProject(
                name=name,
                index=_public(index),
                error=ProbeError(
                    probe="pypi",
                    kind=ProbeErrorKind.NOT_JSON,
                    detail=(
                        f"{public}: answered {answer.content_type or 'no type'}, "
                        f"not {ACCEPT} (an index without PEP 691?)"
                    ),
                ),
            )
        body = answer.body
        parsed = releases_from(body, name, pinned)
        if not isinstance(parsed, str):
            cache.put(url, body)
    else:
        parsed = releases_from(body, name, pinned)
    if isinstance(parsed, str):
        return IndexProject(
            name=name,
            index=_public(index),
            error=ProbeError(probe="pypi", kind=ProbeErrorKind.INVALID, detail=f"{public}: {parsed}"),
        )
    return IndexProject(name=name, index=_public(index), releases=parsed)


def project_pins(root: str, dockerfiles: tuple[DockerfileFacts, ...]) -> tuple[tuple[PythonPin, ...], tuple[str, ...]]:
    """The `==` pins each Dockerfile's python stages install, and the requirements files that could not be read."""
    from dockdoctor.project.pins import installs, requirement_pins

    def read(rel: str) -> str | None:
        path = os.path.normpath(os.path.join(root, rel))
        if not inside(path, root):
            return None
        try:
            return read_text(path, root=root)
        except (Unread, OSError, UnicodeError):
            return None

    pins: list[PythonPin] = []
    notes: list[str] = []
    for df in dockerfiles:
        text = read(df.path)
        if text is None:
            continue
        context = posixpath.dirname(df.path)
        for ins in installs(text, path=df.path):
            found = list(ins.pins)
            for rel in ins.files:
                more, why = requirement_pins(posixpath.join(context, rel), read, python=ins.python)
                found += more
                notes += why
            pins.extend(
                PythonPin(
                    name=pin.name,
                    version=pin.version,
                    source=pin.source,
                    text=pin.text,
                    dockerfile=df.path,
                    line=ins.line,
                    python=ins.python,
                    libc=ins.libc,
                )
                for pin in found
            )
    return tuple(dict.fromkeys(pins)), tuple(dict.fromkeys(notes))


def probe_index(
    pins: tuple[PythonPin, ...],
    *,
    env: Mapping[str, str],
    cache_dir: Path | None,
    offline: bool,
    refresh: bool,
    deadline: float,
    timeout: float,
) -> tuple[tuple[IndexProject, ...], str]:
    """One request per pinned (project, version), at most WORKERS at once, all by `deadline`; --offline: the cache."""
    index = index_url(env)
    cache = _Cache(cache_dir)
    wanted = list(dict.fromkeys((p.name, p.version) for p in pins))
    if not wanted:
        return (), ""
    if offline:
        out = []
        for name, version in wanted:
            body = cache.get(index + name + "/", ttl=None)
            parsed = releases_from(body, name, version) if body is not None else "no cached answer"
            if not isinstance(parsed, str):
                out.append(IndexProject(name=name, index=_public(index), releases=parsed))
        return tuple(out), "" if len(out) == len(
            wanted
        ) else f"--offline: the package index ({_public(index)}) was not asked about {len(wanted) - len(out)} pin(s)"
    pool = Pool(WORKERS, "pypi")
    try:
        futures = [
            (
                name,
                pool.submit(
                    _project, name, version, index, cache, refresh=refresh, timeout=(min(5.0, timeout), timeout)
                ),
            )
            for name, version in wanted
        ]
        out = []
        for name, future in futures:
            try:
                out.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
            except FutureTimeout:
                out.append(
                    IndexProject(
                        name=name,
                        index=_public(index),
                        error=ProbeError(
                            probe="pypi",
                            kind=ProbeErrorKind.TIMEOUT,
                            detail=f"{_public(index)}: no answer for {name} within the run",
                        ),
                    )
                )
        return tuple(out), ""
    finally:
        pool.shutdown()
