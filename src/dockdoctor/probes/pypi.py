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

from dockdoctor.model import (
    DockerfileFacts,
    IndexProject,
    IndexRelease,
    Place,
    ProbeError,
    ProbeErrorKind,
    PythonPin,
)
from dockdoctor.probes._files import Unread, inside, read_text
from dockdoctor.probes._pool import Pool

DEFAULT_INDEX = "https://pypi.org/simple/"
ACCEPT = "application/vnd.pypi.simple.v1+json"
MAX_BODY = 16 << 20  # one project's answer (numpy's is about 3 MB); a larger one is an error, not read on
MAX_LATER = 30  # later releases kept per pin (the nearest one with a wheel is among them, or it is far away)
WORKERS = 6
MAX_PINS_TOTAL = 2000  # pins per project (each lock is bounded too)
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
            body = bytearray()  # not bytes +=: 16 MB in 64 KiB chunks would copy about 2 GB
            for chunk in resp.iter_content(65536):
                body += chunk
                if len(body) > MAX_BODY:
                    return ProbeError(
                        probe="pypi",
                        kind=ProbeErrorKind.TOO_LARGE,
                        detail=f"{_public(url)}: answer larger than {MAX_BODY >> 20} MB, not read",
                    )
            return Answer(resp.status_code, resp.headers.get("Content-Type", ""), bytes(body))
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


LOCK_LIMIT = 8 << 20  # lock files are larger than other project files (1 MiB); a larger one is not read


def host_pip_settings(env: Mapping[str, str], home: str) -> list[tuple[str, str, str]]:
    """The host's pip configuration, lowest precedence first: its config files in pip's order, then PIP_* variables.

    Used only when the image itself names no index (the image's pip never reads the host's files): dockdoctor then
    asks the index the user's own pip uses, a mirror of PyPI, or PyPI."""
    from dockdoctor.project.pipconf import pip_conf

    files = []
    if env.get("PIP_CONFIG_FILE"):
        files.append((env["PIP_CONFIG_FILE"], "PIP_CONFIG_FILE"))
    folders = (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(os.pathsep)
    files += [(os.path.join(folder, "pip", "pip.conf"), "global") for folder in folders]
    files.append(("/etc/pip.conf", "global"))
    files.append((os.path.join(home, ".pip", "pip.conf"), "user"))
    files.append((os.path.join(env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "pip", "pip.conf"), "user"))
    files.append((os.path.join(home, "Library", "Application Support", "pip", "pip.conf"), "user"))
    if env.get("APPDATA"):
        files.append((os.path.join(env["APPDATA"], "pip", "pip.ini"), "user"))
    if env.get("VIRTUAL_ENV"):
        files.append((os.path.join(env["VIRTUAL_ENV"], "pip.conf"), "site"))
    settings: list[tuple[str, str, str]] = []
    for path, level in files:
        if env.get("PIP_CONFIG_FILE") == os.devnull:
            break  # pip: PIP_CONFIG_FILE=os.devnull loads no file at all
        try:
            text = read_text(path)
        except (Unread, OSError, UnicodeError):
            continue
        settings += [
            (key, value, origin)
            for key, value, origin in pip_conf(text, f"the host's {path} ({level})")
            if key == "no-index" or _http(value)
        ]  # a file:// index on the host is no index the image's pip can use
    for name, key in (("PIP_INDEX_URL", "index-url"), ("PIP_EXTRA_INDEX_URL", "extra-index-url")):
        if env.get(name, "").strip():
            settings.append((key, " ".join(v for v in env[name].split() if _http(v)), f"the environment's {name}"))
    if env.get("PIP_NO_INDEX"):
        settings.append(("no-index", env["PIP_NO_INDEX"], "the environment's PIP_NO_INDEX"))
    return settings


def _http(url: str) -> bool:
    return all(v.lower().startswith(("http://", "https://")) for v in url.split()) and bool(url.split())


@dataclass(frozen=True, slots=True)
class Found:
    """The pins, what was not read, and the index URLs as written (with credentials) by their public form."""

    pins: tuple[PythonPin, ...] = ()
    notes: tuple[str, ...] = ()
    urls: tuple[tuple[str, str], ...] = ()  # (public, as written): only the probe uses the second
    index_notes: tuple[str, ...] = ()  # pins no index is asked about (--no-index, an index that is not HTTP)


def project_pins(root: str, dockerfiles: tuple[DockerfileFacts, ...], env: Mapping[str, str] | None = None) -> Found:
    """The exact pins each Dockerfile's python stages install (requirements files, command lines, pyproject.toml,
    poetry.lock, uv.lock, Pipfile.lock) with the index each install asks, and the files that could not be read."""
    from dockdoctor.project.locks import Locked, LockError, pipfile_lock, poetry_lock, pyproject_pins, uv_lock
    from dockdoctor.project.pins import installs, requirement_pins
    from dockdoctor.project.pipconf import pip_conf, requirement_options, resolve

    env = env if env is not None else {}
    notes: list[str] = []
    index_notes: list[str] = []

    def read(rel: str, limit: int = 1 << 20) -> str | None:
        path = os.path.normpath(os.path.join(root, rel))
        if not inside(path, root):
            return None
        try:
            return read_text(path, root=root, limit=limit)
        except Unread as unread:
            if os.path.lexists(path):
                notes.append(f"{rel}: {unread.reason}")
            return None
        except (OSError, UnicodeError):
            return None

    host = host_pip_settings(env, env.get("HOME", os.path.expanduser("~")))
    urls: dict[str, str] = {}

    def public(url: str) -> str:
        url = url if url.endswith("/") else url + "/"
        urls.setdefault(_public(url), url)
        return _public(url)

    pins: list[PythonPin] = []
    for df in dockerfiles:
        text = read(df.path)
        if text is None:
            continue
        context = posixpath.dirname(df.path)
        for ins in installs(text, path=df.path):
            image: list[tuple[str, str, str]] = []
            for key, value, origin in ins.index:
                if key == "config-file":
                    conf = read(posixpath.join(context, value))
                    image += pip_conf(conf, f"{value} ({origin}, {df.path})") if conf is not None else []
                elif key.startswith("arg:"):
                    name = origin.rsplit(" ", 1)[-1]
                    if env.get(name, "").strip():  # `docker build --build-arg NAME` passes the environment's value
                        image.append((key[4:], env[name], f"{origin} (--build-arg from the environment)"))
                else:
                    image.append((key, value, origin))
            base = image if any(k in ("index-url", "no-index") for k, _v, _o in image) else host + image
            found: list[tuple[str, str, Place, str, str, list[tuple[str, str, str]]]] = []
            found += [(p.name, p.version, p.source, p.text, "command", []) for p in ins.pins]
            for rel in ins.files:
                texts: dict[str, str] = {}

                def keep(name: str, texts: dict[str, str] = texts) -> str | None:
                    got = read(name)
                    if got is not None:
                        texts[name] = got
                    return got

                more, why = requirement_pins(posixpath.join(context, rel), keep, python=ins.python)
                notes.extend(why)
                options = [o for name, got in texts.items() for o in requirement_options(got, name)]
                found += [(p.name, p.version, p.source, p.text, "requirements", options) for p in more]
            for use in ins.locks:
                rel = posixpath.normpath(posixpath.join(context, use.path))
                got = read(rel, LOCK_LIMIT)
                if got is None:
                    continue
                try:
                    locked: list[Locked]
                    if use.kind == "poetry.lock":
                        locked = poetry_lock(got, python=ins.python, groups=use.groups, extras=bool(use.extras))
                    elif use.kind == "uv.lock":
                        locked = uv_lock(got, python=ins.python, dev=use.dev, extras=use.extras)
                    elif use.kind == "Pipfile.lock":
                        locked = pipfile_lock(got, python=ins.python, dev=use.dev)
                    else:
                        locked = pyproject_pins(got, python=ins.python, extras=use.extras)
                except LockError as err:
                    notes.append(f"{rel}: {err}"[:300])
                    continue
                if use.kind == "pyproject.toml" and ins.tool == "poetry":
                    continue  # poetry install reads poetry.lock; pyproject.toml only when there is no lock
                for item in locked:
                    lock_index = [("index-url", item.index, f"{rel} (its index)")] if item.index else []
                    at = Place(rel, item.line) if item.line > 0 else Place(f"{rel}:{item.line}")  # ":0" as before
                    found.append((item.name, item.version, at, item.text, use.kind, lock_index))
            for name, version, source, line_text, kind, own in found:
                settings = own if kind in ("poetry.lock", "uv.lock", "Pipfile.lock") else base + own
                chosen = resolve(settings)
                if chosen.no_index:
                    index_notes.append(f"{source}: --no-index ({chosen.source}): no package index is asked")
                    continue
                if chosen.url and not _http(chosen.url):
                    index_notes.append(
                        f"{source}: the index {_public(chosen.url)} ({chosen.source}) is not HTTP: not asked"
                    )
                    continue
                pins.append(
                    PythonPin(
                        name=name,
                        version=version,
                        source=source,
                        text=line_text,
                        dockerfile=df.path,
                        line=ins.line,
                        python=ins.python,
                        libc=ins.libc,
                        kind=kind,
                        index=public(chosen.url or DEFAULT_INDEX),
                        extra_indexes=tuple(public(u) for u in chosen.extra if _http(u)),
                        index_source=chosen.source,
                        distro=ins.distro,
                    )
                )
    return Found(
        pins=tuple(dict.fromkeys(pins))[:MAX_PINS_TOTAL],
        notes=tuple(dict.fromkeys(notes)),
        urls=tuple(urls.items()),
        index_notes=tuple(dict.fromkeys(index_notes))[:20],
    )


def probe_index(
    pins: tuple[PythonPin, ...],
    *,
    env: Mapping[str, str],
    cache_dir: Path | None,
    offline: bool,
    refresh: bool,
    deadline: float,
    timeout: float,
    urls: tuple[tuple[str, str], ...] = (),
) -> tuple[tuple[IndexProject, ...], str]:
    """One request per (index, pinned project), at most WORKERS at once, all by `deadline`; --offline: the cache.

    Each pin is asked of its index and its extra indexes (pip merges what they offer); `urls` maps the public form
    of each index (what the facts hold) to the URL as written, credentials included, which only the request sees."""
    real = dict(urls)
    default = index_url(env)
    cache = _Cache(cache_dir)
    wanted: dict[tuple[str, str], str] = {}  # (public index, name) -> pinned version
    for p in pins:
        for index in (p.index or _public(default), *p.extra_indexes):
            wanted.setdefault((index, p.name), p.version)
    if not wanted:
        return (), ""

    def full(index: str) -> str:
        return real.get(index) or (default if index == _public(default) else index)

    if offline:
        out = []
        for (index, name), version in wanted.items():
            body = cache.get(full(index) + name + "/", ttl=None)
            parsed = releases_from(body, name, version) if body is not None else "no cached answer"
            if not isinstance(parsed, str):
                out.append(IndexProject(name=name, index=index, releases=parsed))
        missing = len(wanted) - len(out)
        indexes = ", ".join(sorted({i for i, _n in wanted}))
        note = f"--offline: the package index ({indexes}) was not asked about {missing} pin(s)" if missing else ""
        return tuple(out), note
    pool = Pool(WORKERS, "pypi")
    try:
        futures = [
            (
                index,
                name,
                pool.submit(
                    _project, name, version, full(index), cache, refresh=refresh, timeout=(min(5.0, timeout), timeout)
                ),
            )
            for (index, name), version in wanted.items()
        ]
        out = []
        for index, name, future in futures:
            try:
                out.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
            except FutureTimeout:
                out.append(
                    IndexProject(
                        name=name,
                        index=index,
                        error=ProbeError(
                            probe="pypi",
                            kind=ProbeErrorKind.TIMEOUT,
                            detail=f"{index}: no answer for {name} within the run",
                        ),
                    )
                )
        return tuple(out), ""
    finally:
        pool.shutdown()
