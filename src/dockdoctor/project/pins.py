"""Python pins a Dockerfile installs (pure): requirements files with `-r` includes, `pip install` lines, base tags."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dockdoctor.project.dockerfile import LexError, scan

MAX_INCLUDE_DEPTH = 5  # `-r` inside `-r` inside ...: deeper ones are not read
MAX_PINS = 500
_PYTHON_TAG = re.compile(
    r"^(?:(?:docker\.io|index\.docker\.io)/)?(?:library/)?python:(\d+)\.(\d+)(?:\.\d+)?"
    r"((?:-[a-z0-9.]+)*)(?:@sha256:[0-9a-f]{64})?$"
)
_INSTALL = re.compile(r"(?:^|\s)(?:uv\s+pip|pip3?(?:\.\d+)?|python3?(?:\.\d+)?\s+-m\s+pip)\s+install\s")
_SPLIT = re.compile(r"&&|\|\||;|\|")


@dataclass(frozen=True, slots=True)
class Pin:
    """`name==version` as one requirements line (or one `pip install` word) has it."""

    name: str
    version: str
    source: str  # "requirements.txt:3" or "Dockerfile:7"
    text: str


@dataclass(frozen=True, slots=True)
class Install:
    """One `pip install` in a Dockerfile stage: the interpreter of the stage and what it installs."""

    line: int
    python: str
    libc: str
    files: tuple[str, ...]  # requirements files, relative to the build context
    pins: tuple[Pin, ...]  # `pkg==x` words on the command line itself


def base_python(image: str) -> tuple[str, str] | None:
    """("3.11", "glibc") for python:3.11-slim, ("3.12", "musl") for python:3.12-alpine; None for anything else."""
    m = _PYTHON_TAG.match(image.strip().lower())
    if m is None:
        return None
    suffix = m.group(3)
    if "windows" in suffix or "nanoserver" in suffix:
        return None
    return f"{m.group(1)}.{m.group(2)}", "musl" if "alpine" in suffix else "glibc"


def pin_of(text: str, source: str, python: str = "") -> Pin | None:
    """The pin in one requirement (`name[extra]==1.2 ; marker`); None for ranges, wildcards, URLs or bad text."""
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    specs = list(req.specifier)
    if req.url or len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        return None
    linux = {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    if python:
        linux.update(python_version=python, python_full_version=python + ".0")
    try:
        if req.marker is not None and not req.marker.evaluate(linux):
            return None
    except ValueError:  # a marker packaging cannot compare (an invalid version in it)
        return None
    return Pin(name=canonicalize_name(req.name), version=specs[0].version, source=source, text=text)


def _logical(text: str) -> Iterator[tuple[int, str, str]]:
    """(first line number, joined text without comment, the first line as written)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start, first, joined = i + 1, lines[i], lines[i]
        while joined.endswith("\\") and i + 1 < len(lines):
            i += 1
            joined = joined[:-1] + lines[i]
        i += 1
        code = re.sub(r"(^|\s)#.*$", "", joined).strip()
        if code:
            yield start, code, first


def requirement_pins(
    rel: str, read: Callable[[str], str | None], *, python: str = "", depth: int = 0, seen: frozenset[str] = frozenset()
) -> tuple[list[Pin], list[str]]:
    """The pins of requirements file `rel` (relative to the project) and its `-r` includes, and what was not read."""
    rel = posixpath.normpath(rel)
    if rel.startswith("../") or rel == ".." or rel.startswith("/"):
        return [], [f"{rel}: outside the project, not read"]
    if rel in seen:
        return [], []
    if depth > MAX_INCLUDE_DEPTH:
        return [], [f"{rel}: -r includes nested deeper than {MAX_INCLUDE_DEPTH}, not read"]
    text = read(rel)
    if text is None:  # not there (a path this parser maps differently from the build) or unreadable: no pins
        return [], []
    pins: list[Pin] = []
    notes: list[str] = []
    for number, code, first in _logical(text):
        words = code.split()
        if words[0] in ("-r", "--requirement") and len(words) > 1:
            more, why = requirement_pins(
                posixpath.join(posixpath.dirname(rel), words[1]),
                read,
                python=python,
                depth=depth + 1,
                seen=seen | {rel},
            )
            pins += more
            notes += why
        elif words[0].startswith(("-r", "--requirement=")) and not words[0].startswith("--requirement "):
            target = words[0].split("=", 1)[1] if "=" in words[0] else words[0][2:]
            more, why = requirement_pins(
                posixpath.join(posixpath.dirname(rel), target), read, python=python, depth=depth + 1, seen=seen | {rel}
            )
            pins += more
            notes += why
        elif not code.startswith("-"):
            pin = pin_of(code.split(" --hash")[0].strip(), f"{rel}:{number}", python)
            if pin is not None:
                pins.append(Pin(pin.name, pin.version, pin.source, first))
        if len(pins) >= MAX_PINS:
            break
    return pins[:MAX_PINS], notes


def _install_words(command: str) -> list[list[str]]:
    """The words after `install` of every pip install in a shell command."""
    out = []
    for part in _SPLIT.split(command):
        m = _INSTALL.search(" " + part + " ")
        if m is None:
            continue
        try:
            words = shlex.split((" " + part + " ")[m.end() :])
        except ValueError:
            words = (" " + part + " ")[m.end() :].split()
        out.append(words)
    return out


def _copied(copies: list[tuple[tuple[str, ...], str]], path: str, workdir: str) -> str:
    """The build-context path of a file the stage installs from: the COPY source it came from, or the path itself."""
    name = posixpath.basename(path)
    for sources, _dest in reversed(copies):
        for src in sources:
            if posixpath.basename(src.rstrip("/")) == name:
                return posixpath.normpath(src.lstrip("/"))
    full = posixpath.normpath(posixpath.join(workdir, path))
    for sources, dest in reversed(copies):
        if any(s in (".", "./") for s in sources):
            base = posixpath.normpath(posixpath.join(workdir, dest))
            if full.startswith(base.rstrip("/") + "/"):
                return full[len(base.rstrip("/")) + 1 :]
    return posixpath.normpath(path.lstrip("/"))


def installs(text: str, *, path: str) -> list[Install]:
    """Every `pip install` (pip, pip3, python -m pip, uv pip) in a Dockerfile, in stages whose base tag says which
    Python it is (a stage FROM an earlier stage inherits it). Stages on other bases are skipped."""
    try:
        instructions = scan(text).instructions
    except (LexError, ValueError, RecursionError):
        return []
    out: list[Install] = []
    # per stage name and index: its python, its COPY lines and WORKDIR, which a stage built FROM it inherits
    stages: dict[str, tuple[tuple[str, str] | None, list[tuple[tuple[str, ...], str]], str]] = {}
    python: tuple[str, str] | None = None
    copies: list[tuple[tuple[str, ...], str]] = []
    workdir = "/"
    count = 0
    for ins in instructions:
        if ins.cmd == "from":
            words = ins.args.split()
            base = words[0].lower() if words else ""
            if base in stages:
                python, inherited, workdir = stages[base]
                copies = list(inherited)
            else:
                python, copies, workdir = base_python(base), [], "/"
            state = (python, copies, workdir)
            stages[str(count)] = state
            count += 1
            if len(words) >= 3 and words[1].lower() == "as":
                stages[words[2].lower()] = state
        elif ins.cmd == "workdir" and ins.args.strip():
            workdir = posixpath.join(workdir, ins.args.strip())
            for key, (py, cp, _wd) in list(stages.items()):
                if cp is copies:
                    stages[key] = (py, cp, workdir)
        elif ins.cmd in ("copy", "add") and not any(f.startswith("--from") for f in ins.flags):
            words = list(ins.json) if ins.json else ins.args.split()
            if len(words) >= 2:
                copies.append((tuple(words[:-1]), words[-1]))
        elif ins.cmd == "run" and python is not None:
            for words in _install_words(ins.args):
                files: list[str] = []
                pins: list[Pin] = []
                i = 0
                while i < len(words):
                    word = words[i]
                    if word in ("-r", "--requirement") and i + 1 < len(words):
                        files.append(_copied(copies, words[i + 1], workdir))
                        i += 1
                    elif word.startswith("--requirement="):
                        files.append(_copied(copies, word.split("=", 1)[1], workdir))
                    elif not word.startswith("-") and "==" in word:
                        pin = pin_of(word, f"{path}:{ins.line}", python[0])
                        if pin is not None:
                            pins.append(pin)
                    i += 1
                if files or pins:
                    out.append(
                        Install(line=ins.line, python=python[0], libc=python[1], files=tuple(files), pins=tuple(pins))
                    )
    return out
