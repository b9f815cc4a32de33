"""The host-built folders probe: node_modules and virtual environments in the project that hold native code, the
COPY lines that put them into images (no .dockerignore entry) and the compose bind mounts that put them into
containers (no volume over them). Bounded: a few folders deep, a budget of directory entries, small reads."""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Iterator

from dockdoctor.model import HostBuilt, HostMount, Line, Place, ProjectFacts
from dockdoctor.probes._files import Unread, inside, read_text
from dockdoctor.project.dockerignore import Pattern, PatternError, matches, parse_dockerignore
from dockdoctor.project.natives import copies, npm_platform, so_platform

MAX_DEPTH = 3  # node_modules / .venv folders this deep under the project (web/app/node_modules)
MAX_PACKAGES = 3000  # packages looked at per node_modules
MAX_ENTRIES = 20_000  # directory entries per virtual environment
MAX_NATIVES = 12  # examples kept per folder
# npm's os and cpu names as words of a package name (@esbuild/darwin-arm64, @rollup/rollup-linux-x64-gnu,
# @img/sharp-darwin-arm64, lightningcss-win32-x64-msvc): the packages whose package.json says where they run
_PLATFORM_WORD = re.compile(r"(?:^|[-/_.])(?:darwin|linux|win32|freebsd|android|x64|arm64|ia32|arm)(?:$|[-_.])")
_SKIP = frozenset({".git", ".hg", ".svn", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache"})


def _scandir(path: str) -> list[os.DirEntry[str]]:
    try:
        return sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return []


def _folders(root: str) -> Iterator[tuple[str, str]]:
    """(path, kind) of node_modules folders and virtual environments under root (never inside one another)."""

    def visit(folder: str, depth: int) -> Iterator[tuple[str, str]]:
        for entry in _scandir(folder):
            if entry.name in _SKIP or not entry.is_dir(follow_symlinks=False):
                continue
            if entry.name == "node_modules":
                yield entry.path, "node_modules"
            elif os.path.isfile(os.path.join(entry.path, "pyvenv.cfg")):
                yield entry.path, "venv"
            elif depth < MAX_DEPTH:
                yield from visit(entry.path, depth + 1)

    yield from visit(root, 1)


def _package_dirs(modules: str) -> Iterator[tuple[str, str]]:
    for entry in _scandir(modules):
        if entry.name.startswith("."):
            continue
        if entry.name.startswith("@"):
            for sub in _scandir(entry.path):
                yield f"{entry.name}/{sub.name}", sub.path
        else:
            yield entry.name, entry.path


def node_natives(modules: str, root: str) -> tuple[list[str], list[str]]:
    """What in a node_modules folder is native (package names with why) and the platforms they name."""
    natives: list[str] = []
    platforms: list[str] = []
    for count, (name, path) in enumerate(_package_dirs(modules)):
        if count >= MAX_PACKAGES:
            break
        meta: object = {}
        if _PLATFORM_WORD.search(name):  # platform packages are named after their platform: only those are read
            try:
                meta = json.loads(read_text(os.path.join(path, "package.json"), root=root, limit=256 << 10))
            except (Unread, OSError, UnicodeError, ValueError, RecursionError):
                meta = {}
        if not isinstance(meta, dict):
            meta = {}
        platform = npm_platform(meta.get("os"), meta.get("cpu"))
        why = ""
        if platform:
            why = f"os {meta['os'][0]}, cpu {meta['cpu'][0]}"
            platforms.append(platform)
        elif os.path.isfile(os.path.join(path, "binding.gyp")):
            why = "binding.gyp: built by node-gyp on this machine"
        else:
            built = [e.name for e in _scandir(os.path.join(path, "build", "Release")) if e.name.endswith(".node")]
            why = f"build/Release/{built[0]}" if built else ""
        if why and len(natives) < MAX_NATIVES:
            natives.append(f"{name} ({why})")
    return natives, sorted(set(platforms))


def venv_natives(venv: str, root: str) -> tuple[list[str], list[str]]:
    """Extension modules in a virtual environment (relative paths) and the platforms their names say."""
    natives: list[str] = []
    platforms: set[str] = set()
    budget = [MAX_ENTRIES]

    def visit(folder: str, depth: int) -> None:
        for entry in _scandir(folder):
            budget[0] -= 1
            if budget[0] < 0 or len(natives) >= MAX_NATIVES:
                return
            if entry.is_dir(follow_symlinks=False) and depth < 8:
                visit(entry.path, depth + 1)
            elif entry.name.endswith(".so"):
                natives.append(os.path.relpath(entry.path, root).replace(os.sep, "/"))
                if so_platform(entry.name):
                    platforms.add(so_platform(entry.name))

    for lib in ("lib", "lib64"):
        visit(os.path.join(venv, lib), 0)
    return natives, sorted(platforms)


def _contexts(project: ProjectFacts) -> list[tuple[str, str]]:
    """(Dockerfile, build context), both relative to the project: each Dockerfile's folder, and compose builds."""
    out = [(df.path, posixpath.dirname(df.path)) for df in project.dockerfiles]
    root = project.root
    for service in project.compose.services if project.compose else ():
        build = service.build
        if build is None or "://" in build.context:
            continue
        context = os.path.relpath(os.path.join(root, build.context), root).replace(os.sep, "/")
        context = "" if context == "." else context
        if context.startswith(".."):
            continue
        out.append((posixpath.normpath(posixpath.join(context, build.dockerfile)), context))
    return list(dict.fromkeys(out))


def _ignore(root: str, dockerfile: str, context: str) -> tuple[str, Line, tuple[Pattern, ...] | None]:
    """The ignore file the build reads (`<Dockerfile>.dockerignore` beside it first, as BuildKit does, else the
    context's .dockerignore), its last line, and its patterns (None: docker refuses the file, nothing to add to)."""
    for rel in (dockerfile + ".dockerignore", posixpath.join(context, ".dockerignore")):
        path = os.path.join(root, rel)
        if not os.path.lexists(path):
            continue
        try:
            text = read_text(path, root=root)
        except (Unread, OSError, UnicodeError):
            return rel, Line(), None
        lines = text.splitlines()
        end = Line(len(lines), lines[-1]) if lines else Line()
        try:
            return rel, end, parse_dockerignore(text)
        except PatternError:
            return rel, end, None
    return posixpath.join(context, ".dockerignore"), Line(), ()


def _mounts(project: ProjectFacts, folder: str) -> list[HostMount]:
    """Compose bind mounts of `folder` (absolute) or a folder above it, with no volume over its container path."""
    from dockdoctor.project.compose import service_lines

    compose = project.compose
    if compose is None or not compose.files:
        return []
    base = os.path.dirname(os.path.join(project.root, compose.files[0]))
    lines: dict[str, tuple[str, int, str, str]] = {}
    for rel in compose.files:
        try:
            text = read_text(os.path.join(project.root, rel), root=project.root)
        except (Unread, OSError, UnicodeError):
            continue
        texts = text.splitlines()
        for name, keys in service_lines(rel, text).items():
            number = keys.get("volumes", 0)
            if 0 < number < len(texts):
                item = texts[number]
                indent = item[: len(item) - len(item.lstrip())]
                lines[name] = (rel, number, texts[number - 1], indent if item.lstrip().startswith("-") else "")
    out = []
    for service in compose.services:
        targets = {v.split(":", 1)[-1].rstrip("/") for v in service.volumes}
        binds = {v.split(":", 1)[1].rstrip("/") for v in service.volumes if ":" in v and v.startswith((".", "/", "~"))}
        for volume in service.volumes:
            source, sep, target = volume.partition(":")
            if not sep or not source.startswith((".", "/")):
                continue
            path = os.path.normpath(source if os.path.isabs(source) else os.path.join(base, source))
            if folder != path and not folder.startswith(path.rstrip(os.sep) + os.sep):
                continue
            inner = posixpath.normpath(posixpath.join(target, os.path.relpath(folder, path).replace(os.sep, "/")))
            if inner in targets and inner not in binds:
                continue  # an anonymous or named volume over it: the container keeps its own packages
            file, number, anchor, indent = lines.get(service.name, ("", 0, "", ""))
            shown = os.path.relpath(path, project.root).replace(os.sep, "/")
            if not shown.startswith(".."):  # `docker compose config` makes sources absolute: show them as written
                volume = ("." if shown == "." else "./" + shown) + ":" + target
            out.append(
                HostMount(
                    service=service.name,
                    volume=volume,
                    target=inner,
                    file=file,
                    line=number if indent else 0,
                    anchor=anchor,
                    indent=indent,
                    platform=service.platform or "",
                )
            )
    return out


def probe_host_built(project: ProjectFacts) -> tuple[HostBuilt, ...]:
    """Every host-built folder with native code under the project, and how it gets into images and containers."""
    root = project.root
    found: list[HostBuilt] = []
    if not project.dockerfiles and project.compose is None:
        return ()  # nothing builds or mounts anything: no way in
    for path, kind in _folders(root):
        if not inside(os.path.realpath(path), os.path.realpath(root)):
            continue
        natives, platforms = node_natives(path, root) if kind == "node_modules" else venv_natives(path, root)
        if not natives:
            continue
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        copied: list[Place] = []
        installs, ignore_file, ignore_end, entry = True, "", Line(), ""
        for dockerfile, context in _contexts(project):
            if context and not (rel + "/").startswith(context.rstrip("/") + "/"):
                continue
            inner = rel[len(context) + 1 :] if context else rel
            ignore, end, patterns = _ignore(root, dockerfile, context)
            if patterns is None or matches(inner, patterns):
                continue  # excluded from the build context (or docker refuses the file: DKD609 says so)
            try:
                text = read_text(os.path.join(root, dockerfile), root=root)
            except (Unread, OSError, UnicodeError):
                continue
            for line, installed in copies(text, inner, kind):
                copied.append(Place(dockerfile, line))
                installs = installs and installed
                ignore_file, ignore_end, entry = ignore, end, inner
        found.append(
            HostBuilt(
                path=rel,
                kind=kind,
                natives=tuple(natives),
                platforms=tuple(platforms),
                copied_by=tuple(copied),
                reinstalled=bool(copied) and installs,
                dockerignore=ignore_file,
                dockerignore_end=ignore_end,
                ignore_entry=entry,
                mounts=tuple(_mounts(project, path)),
            )
        )
    return tuple(found)
