"""Pins from lock files and pyproject.toml (pure): poetry.lock, uv.lock, Pipfile.lock, PEP 621 and Poetry dependencies.

Each parser takes the file's text and says which exact releases an install on Linux with the stage's CPython puts
in the image, with the line that names each one. A text that is not TOML/JSON, or not the format, is a LockError
(the probe reports the file as not read). The formats, from real files kept in tests/data/locks/ (see SOURCES.md):
- poetry.lock: `[[package]]` tables with name, version, `groups` (Poetry 2) or `category` (Poetry 1), `optional`,
  `markers`, and `[package.source]` url for packages from another index;
- uv.lock: `[[package]]` with name, version, `source = { registry = URL }` (or editable/virtual for the project
  itself), `dependencies = [{ name, marker }]` and `[package.dev-dependencies]`: what is installed is what the
  project reaches through edges whose markers hold on Linux;
- Pipfile.lock: JSON with `_meta.sources` and the `default` / `develop` sections, `"version": "==x"`, `markers`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.utils import canonicalize_name

MAX_PACKAGES = 5000  # a lock with more entries is read up to here


class LockError(ValueError):
    """A lock or pyproject file that is not the format it is named after; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Locked:
    """One exact release an install puts in the image, and the line of the file that names it."""

    name: str  # normalized (PEP 503)
    version: str
    line: int
    text: str  # that line as written
    index: str = ""  # the index URL the file names for it ("" = the default)


def linux_env(python: str) -> dict[str, str]:
    """The marker environment of CPython `python` on Linux (the image), for packaging's Marker.evaluate."""
    env = {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    if python:
        env.update(python_version=python, python_full_version=python + ".0")
    return env


def marker_holds(text: str, python: str, extras: Sequence[str] = ()) -> bool:
    """Whether a marker holds on Linux with that CPython (an unreadable marker counts as holding: it is kept)."""
    if not text.strip():
        return True
    try:
        marker = Marker(text)
    except InvalidMarker:
        return True
    env = linux_env(python)
    try:
        if "extra" not in text:
            return marker.evaluate(env)
        return any(marker.evaluate({**env, "extra": e}) for e in (*extras, ""))
    except (UndefinedComparison, UndefinedEnvironmentName, ValueError):
        return True


def _toml(text: str, what: str) -> dict[str, object]:
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        doc: dict[str, object] = tomllib.loads(text)
        return doc
    except (tomllib.TOMLDecodeError, RecursionError) as err:
        raise LockError(f"not TOML ({what}): {err}") from None


def _name_lines(text: str) -> dict[str, list[int]]:
    """Normalized name -> line numbers of `name = "x"` lines, in order (a TOML lock's `[[package]]` entries)."""
    out: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = re.match(r'\s*name\s*=\s*"([^"]+)"', line)
        if m:
            out.setdefault(canonicalize_name(m.group(1)), []).append(number)
    return out


def _packages(doc: Mapping[str, object], what: str) -> list[dict[str, object]]:
    packages = doc.get("package")
    if not isinstance(packages, list):
        raise LockError(f"no [[package]] entries: not a {what}")
    return [p for p in packages[:MAX_PACKAGES] if isinstance(p, dict)]


def _line(lines: dict[str, list[int]], name: str, used: dict[str, int], texts: list[str]) -> tuple[int, str]:
    numbers = lines.get(name, [])
    i = used.get(name, 0)
    used[name] = i + 1
    number = numbers[i] if i < len(numbers) else (numbers[-1] if numbers else 0)
    return number, texts[number - 1] if 0 < number <= len(texts) else ""


def poetry_lock(text: str, *, python: str, groups: Sequence[str] | None = None, extras: bool = False) -> list[Locked]:
    """The releases `poetry install` puts in the image; `groups` None: every group (Poetry's default)."""
    doc = _toml(text, "poetry.lock")
    if not isinstance(doc.get("metadata"), dict):
        raise LockError("no [metadata] table: not a poetry.lock")
    lines, texts = _name_lines(text), text.splitlines()
    used: dict[str, int] = {}
    out = []
    for pkg in _packages(doc, "poetry.lock"):
        name, version = pkg.get("name"), pkg.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            continue
        number, line = _line(lines, canonicalize_name(name), used, texts)
        found = pkg.get("groups")
        belongs = [str(g) for g in found] if isinstance(found, list) else [str(pkg.get("category", "main"))]
        if groups is not None and not set(belongs) & set(groups):
            continue
        if pkg.get("optional") is True and not extras:
            continue
        markers = pkg.get("markers")
        if isinstance(markers, str) and not marker_holds(markers, python):
            continue
        if isinstance(markers, dict) and not any(marker_holds(str(m), python) for m in markers.values()):
            continue  # Poetry 2's per-group markers
        source = pkg.get("source")
        index = ""
        if isinstance(source, dict):
            if source.get("type") not in (None, "legacy"):
                continue  # a git, file, directory or url package: no index release to check
            index = str(source.get("url", ""))
        out.append(Locked(canonicalize_name(name), version, number, line, index))
    return out


def uv_lock(text: str, *, python: str, dev: bool = True, extras: Sequence[str] = ()) -> list[Locked]:
    """The registry releases `uv sync` installs: reached from the project through edges whose markers hold."""
    doc = _toml(text, "uv.lock")
    if "version" not in doc:
        raise LockError("no top-level `version`: not a uv.lock")
    lines, texts = _name_lines(text), text.splitlines()
    used: dict[str, int] = {}
    by_name: dict[str, list[tuple[dict[str, object], int, str]]] = {}
    roots = []
    seen_plain: set[tuple[str, str, str]] = set()
    for pkg in _packages(doc, "uv.lock"):
        name = pkg.get("name")
        if not isinstance(name, str):
            continue
        key = canonicalize_name(name)
        number, line = _line(lines, key, used, texts)
        by_name.setdefault(key, []).append((pkg, number, line))
        source = pkg.get("source")
        if isinstance(source, dict) and ("editable" in source or "virtual" in source):
            roots.append(pkg)

    def edges(pkg: Mapping[str, object], top: bool, chosen: Sequence[str]) -> list[dict[str, object]]:
        deps = pkg.get("dependencies")
        found: list[dict[str, object]] = [d for d in deps if isinstance(d, dict)] if isinstance(deps, list) else []
        found += _extra_edges(pkg, extras if top else chosen)
        dev_groups = pkg.get("dev-dependencies")
        if top and dev and isinstance(dev_groups, dict):
            for group in dev_groups.values():
                found += [d for d in group if isinstance(d, dict)] if isinstance(group, list) else []
        return found

    wanted: list[tuple[dict[str, object], int, str]] = []
    if not roots:  # a lock without the project itself: every registry package counts
        wanted = [entry for entries in by_name.values() for entry in entries]
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[dict[str, object], bool, Sequence[str]]] = [(r, True, ()) for r in roots]
    while todo:
        pkg, top, chosen = todo.pop()
        for dep in edges(pkg, top, chosen):
            name = canonicalize_name(str(dep.get("name", "")))
            if not marker_holds(str(dep.get("marker", "")), python):
                continue
            raw = dep.get("extra")
            sub = [str(e) for e in raw] if isinstance(raw, list) else []
            for target, number, line in by_name.get(name, []):
                version = str(target.get("version", ""))
                if dep.get("version") not in (None, version):
                    continue
                if (name, version) not in seen:
                    seen.add((name, version))
                    wanted.append((target, number, line))
                visit = (name, version, ",".join(sorted(sub)))
                if visit not in seen_plain:
                    seen_plain.add(visit)
                    todo.append((target, False, sub))
    out = []
    for pkg, number, line in wanted:
        source = pkg.get("source")
        if not isinstance(source, dict) or "registry" not in source or not isinstance(pkg.get("version"), str):
            continue  # the project itself, git, path or url sources: no index release
        out.append(
            Locked(canonicalize_name(str(pkg["name"])), str(pkg["version"]), number, line, str(source["registry"]))
        )
    return sorted(out, key=lambda p: p.line)


def _extra_edges(pkg: Mapping[str, object], extras: Sequence[str]) -> list[dict[str, object]]:
    groups = pkg.get("optional-dependencies")
    if not isinstance(groups, dict):
        return []
    return [d for e in extras for d in groups.get(e, []) if isinstance(d, dict)]


def pipfile_lock(text: str, *, python: str, dev: bool = False) -> list[Locked]:
    """The releases `pipenv install --deploy` / `pipenv sync` installs: `default`, and `develop` with --dev."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise LockError(f"not JSON (Pipfile.lock): {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("default"), dict):
        raise LockError("no `default` section: not a Pipfile.lock")
    meta = doc.get("_meta")
    sources = meta.get("sources") if isinstance(meta, dict) else None
    urls = {
        str(s.get("name", "")): str(s.get("url", ""))
        for s in (sources if isinstance(sources, list) else [])
        if isinstance(s, dict)
    }
    first = next(iter(urls.values()), "")
    texts = text.splitlines()
    out = []
    for section in ("default", "develop") if dev else ("default",):
        entries = doc.get(section)
        if not isinstance(entries, dict):
            continue
        start = next((i for i, t in enumerate(texts) if t.strip().startswith(f'"{section}"')), 0)
        for name, entry in list(entries.items())[:MAX_PACKAGES]:
            if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
                continue  # git, path or editable entries have no version
            version = entry["version"]
            if not version.startswith("==") or "*" in version:
                continue
            if isinstance(entry.get("markers"), str) and not marker_holds(entry["markers"], python):
                continue
            number = next(
                (i + 1 for i in range(start, len(texts)) if texts[i].strip().startswith(f'"{name}"')),
                0,
            )
            index = urls.get(str(entry.get("index", "")), first)
            out.append(Locked(canonicalize_name(name), version[2:], number, texts[number - 1] if number else "", index))
    return out


def pyproject_pins(text: str, *, python: str, extras: Sequence[str] = ()) -> list[Locked]:
    """Exact pins in pyproject.toml: PEP 621 `[project].dependencies` (`==`), and Poetry's
    `[tool.poetry.dependencies]` (a bare version or `==`, which Poetry reads as exact)."""
    from packaging.requirements import InvalidRequirement, Requirement

    doc = _toml(text, "pyproject.toml")
    texts = text.splitlines()
    out = []

    def line_of(needle: str) -> tuple[int, str]:
        for number, line in enumerate(texts, 1):
            if needle in line:
                return number, line
        return 0, ""

    project = doc.get("project")
    deps = project.get("dependencies") if isinstance(project, dict) else None
    wanted = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
    optional = project.get("optional-dependencies") if isinstance(project, dict) else None
    if isinstance(optional, dict):
        wanted += [d for e in extras for d in optional.get(e, []) if isinstance(d, str)]
    for item in wanted[:MAX_PACKAGES]:
        try:
            req = Requirement(item)
        except InvalidRequirement:
            continue
        specs = list(req.specifier)
        if req.url or len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
            continue
        if req.marker is not None and not marker_holds(str(req.marker), python, extras):
            continue
        number, line = line_of(item)
        out.append(Locked(canonicalize_name(req.name), specs[0].version, number, line))
    tool = doc.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    pdeps = poetry.get("dependencies") if isinstance(poetry, dict) else None
    for name, spec in pdeps.items() if isinstance(pdeps, dict) else []:
        if canonicalize_name(name) == "python":
            continue
        version = spec if isinstance(spec, str) else spec.get("version") if isinstance(spec, dict) else None
        if not isinstance(version, str):
            continue
        version = version.strip().removeprefix("==").strip()
        if not re.fullmatch(r"\d+(\.\d+)*([a-z]+\d*)?(\.post\d+)?", version):
            continue  # ^1.2, ~1.2, >=1, *, 1.* : ranges, not pins
        if isinstance(spec, dict) and isinstance(spec.get("markers"), str):
            if not marker_holds(spec["markers"], python):
                continue
        number, line = line_of(name)
        out.append(Locked(canonicalize_name(name), version, number, line))
    return out
