"""Python pins a Dockerfile installs (pure): requirements files with `-r` includes, `pip install` lines, base tags."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dockdoctor.model.location import Place
from dockdoctor.project.dockerfile import LexError, scan
from dockdoctor.project.locks import linux_env

MAX_INCLUDE_DEPTH = 5  # `-r` inside `-r` inside ...: deeper ones are not read
MAX_PINS = 500
_PYTHON_TAG = re.compile(
    r"^(?:(?:docker\.io|index\.docker\.io)/)?(?:library/)?python:(\d+)\.(\d+)(?:\.\d+)?"
    r"((?:-[a-z0-9.]+)*)(?:@sha256:[0-9a-f]{64})?$"
)
_INSTALL = re.compile(
    r"(?:^|\s)(?P<tool>uv\s+pip|pip3?(?:\.\d+)?|python3?(?:\.\d+)?\s+-m\s+pip)\s+(?:install|(?P<sync>sync))\s"
)
_LOCKED = re.compile(
    r"(?:^|\s)(?:(?P<poetry>poetry\s+install)|(?P<uv>uv\s+sync)|(?P<pipenv>pipenv\s+(?:install|sync)))(?=\s|$)"
)
_UV_IMAGE = re.compile(r"^ghcr\.io/astral-sh/uv:python(\d+)\.(\d+)((?:-[a-z0-9.]+)*)$")
# the settings that choose the index, per installer: pip reads PIP_*, uv pip reads UV_* (never PIP_*)
INDEX_ENV = {
    "pip": {"PIP_INDEX_URL": "index-url", "PIP_EXTRA_INDEX_URL": "extra-index-url", "PIP_NO_INDEX": "no-index"},
    "uv": {
        "UV_INDEX_URL": "index-url",
        "UV_DEFAULT_INDEX": "index-url",
        "UV_EXTRA_INDEX_URL": "extra-index-url",
        "UV_INDEX": "extra-index-url",
        "UV_NO_INDEX": "no-index",
    },
}
# where pip in the image looks for a config file (pip's docs, "Configuration": global, then user; root's home)
IMAGE_PIP_CONF = ("/etc/xdg/pip/pip.conf", "/etc/pip.conf", "/root/.pip/pip.conf", "/root/.config/pip/pip.conf")
_SPLIT = re.compile(r"&&|\|\||;|\|")


@dataclass(frozen=True, slots=True)
class Pin:
    """`name==version` as one requirements line (or one `pip install` word) has it."""

    name: str
    version: str
    source: Place  # "requirements.txt:3" or "Dockerfile:7"
    text: str


@dataclass(frozen=True, slots=True)
class Install:
    """One `pip install` in a Dockerfile stage: the interpreter of the stage and what it installs."""

    line: int
    python: str
    libc: str
    files: tuple[str, ...]  # requirements files, relative to the build context
    pins: tuple[Pin, ...]  # `pkg==x` words on the command line itself
    locks: tuple[LockUse, ...] = ()  # lock files and pyproject.toml the command installs from
    # what chooses the index, lowest precedence first: (setting, value as written, origin); setting is index-url,
    # extra-index-url, no-index, config-file (a pip.conf copied into the image: its build-context path) or
    # arg:index-url / arg:extra-index-url (an ARG without a default: the build's --build-arg)
    index: tuple[tuple[str, str, str], ...] = ()
    tool: str = "pip"  # "pip" | "uv" (uv pip) | "poetry" | "uv-sync" | "pipenv"
    distro: str = ""  # the Debian release the stage's base tag names


@dataclass(frozen=True, slots=True)
class LockUse:
    """A file an install resolves from: poetry.lock, uv.lock, Pipfile.lock or pyproject.toml, and which parts."""

    kind: str  # "poetry.lock" | "uv.lock" | "Pipfile.lock" | "pyproject.toml"
    path: str  # relative to the build context
    groups: tuple[str, ...] | None = None  # poetry: the groups installed (None: all of them, Poetry's default)
    dev: bool = True  # uv sync: the dev group (its default); pipenv: develop (only with --dev)
    extras: tuple[str, ...] = ()


def base_python(image: str) -> tuple[str, str] | None:
    """("3.11", "glibc") for python:3.11-slim, ("3.12", "musl") for python:3.12-alpine; None for anything else."""
    m = _PYTHON_TAG.match(image.strip().lower()) or _UV_IMAGE.match(image.strip().lower())
    if m is None:
        return None
    suffix = m.group(3)
    if "windows" in suffix or "nanoserver" in suffix:
        return None
    return f"{m.group(1)}.{m.group(2)}", "musl" if "alpine" in suffix else "glibc"


def base_distro(image: str) -> str:
    """The Debian release a python tag names: "bookworm" for python:3.11-slim-bookworm; "" for none (or alpine)."""
    m = _PYTHON_TAG.match(image.strip().lower()) or _UV_IMAGE.match(image.strip().lower())
    if m is None:
        return ""
    return next((w for w in m.group(3).split("-") if w in ("buster", "bullseye", "bookworm", "trixie", "forky")), "")


def pin_of(text: str, source: Place, python: str = "") -> Pin | None:
    """The pin in one requirement (`name[extra]==1.2 ; marker`); None for ranges, wildcards, URLs or bad text."""
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    specs = list(req.specifier)
    if req.url or len(specs) != 1 or specs[0].operator not in ("==", "===") or "*" in specs[0].version:
        return None
    linux = linux_env(python)
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
            pin = pin_of(code.split(" --hash")[0].strip(), Place(rel, number), python)
            if pin is not None:
                pins.append(Pin(pin.name, pin.version, pin.source, first))
        if len(pins) >= MAX_PINS:
            break
    return pins[:MAX_PINS], notes


def _commands(command: str) -> list[tuple[str, list[str], str]]:
    """(installer, words after the subcommand, the folder a `cd` before it moved to, "" for none) for every install
    in a shell command: pip/uv pip (install, sync), poetry install, uv sync, pipenv install/sync."""
    out = []
    cwd = ""
    for part in _SPLIT.split(command):
        padded = " " + part + " "
        moved = re.match(r"\s*cd\s+(\S+)\s*$", part)
        if moved:
            cwd = posixpath.join(cwd, moved.group(1).strip("'\""))
            continue
        m = _INSTALL.search(padded)
        locked = _LOCKED.search(padded) if m is None else None
        if m is None and locked is None:
            continue
        end = m.end() if m is not None else locked.end()  # type: ignore[union-attr]
        try:
            words = shlex.split(padded[end:])
        except ValueError:
            words = padded[end:].split()
        if m is not None:
            tool = "uv" if m.group("tool").startswith("uv") else "pip"
            out.append((tool + (":sync" if m.group("sync") else ""), words, cwd))
        else:
            assert locked is not None
            kind = "poetry" if locked.group("poetry") else "uv-sync" if locked.group("uv") else "pipenv"
            out.append((kind, words, cwd))
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


def _brought(copies: list[tuple[tuple[str, ...], str]], path: str, workdir: str) -> str | None:
    """The build-context path of `path` (as the stage sees it) when a COPY brought it in; None when none did."""
    full = posixpath.normpath(posixpath.join(workdir, path))
    for sources, dest in reversed(copies):
        target = posixpath.normpath(posixpath.join(workdir, dest))
        name = posixpath.basename(target)
        into = dest.endswith("/") or dest in (".", "./") or len(sources) > 1 or "." not in name
        for src in sources:  # the file itself, by name
            clean = posixpath.normpath(src.lstrip("/"))
            if posixpath.basename(clean) == posixpath.basename(full) and (
                target == full or (into and posixpath.dirname(full) == target)
            ):
                return clean
        for src in sources:  # a folder copied whole: `COPY . .`, `COPY app/ /srv/`
            clean = posixpath.normpath(src.lstrip("/")) if src not in (".", "./") else "."
            folder = src.endswith("/") or (len(sources) == 1 and "." not in posixpath.basename(clean))
            if full.startswith(target.rstrip("/") + "/") and (clean == "." or folder):
                rest = full[len(target.rstrip("/")) + 1 :]
                return rest if clean == "." else posixpath.join(clean, rest)
    return None


def _option(words: list[str], i: int, *names: str) -> tuple[str | None, int]:
    """The value of option `names` at words[i] (`--opt value` or `--opt=value`, `-i value`) and the next index."""
    word = words[i]
    for name in names:
        if word == name and i + 1 < len(words):
            return words[i + 1], i + 2
        if name.startswith("--") and word.startswith(name + "="):
            return word.split("=", 1)[1], i + 1
    return None, i


def _lock_use(tool: str, words: list[str], copies: list[tuple[tuple[str, ...], str]], workdir: str) -> list[LockUse]:
    """What poetry install / uv sync / pipenv install reads, if a COPY brought it into the stage."""
    folder, groups, without, dev, extras = ".", None, [], tool == "uv-sync", []
    i = 0
    while i < len(words):
        value, j = _option(words, i, "-C", "--directory", "--project")
        if value is not None:
            folder, i = value, j
            continue
        value, j = _option(words, i, "--only", "--with", "--without", "--extra", "-E", "--extras")
        if value is not None:
            key = words[i].split("=", 1)[0]
            names = [v.strip() for v in value.split(",") if v.strip()]
            if key == "--only":
                groups = (groups or []) + names
            elif key == "--without":
                without += names
            elif key in ("--extra", "-E", "--extras"):
                extras += names
            i = j
            continue
        if words[i] in ("--no-dev", "--no-default-groups"):
            dev = False
            without.append("dev")
        elif words[i] in ("--dev", "-d"):
            dev = True
        elif words[i] == "--only-dev":
            groups = ["dev"]
        i += 1
    kinds = {"poetry": ("poetry.lock", "pyproject.toml"), "uv-sync": ("uv.lock",), "pipenv": ("Pipfile.lock",)}[tool]
    for kind in kinds:
        src = _brought(copies, posixpath.join(folder, kind), workdir)
        if src is not None:
            chosen = tuple(groups) if groups is not None else None
            if tool == "poetry" and without:
                chosen = tuple(g for g in (chosen or ("main",)) if g not in without) if chosen else ("main",)
            return [LockUse(kind=kind, path=src, groups=chosen, dev=dev, extras=tuple(extras))]
    return []


def _is_folder(word: str) -> bool:
    """`.`, `./`, `./api`, `/app`: a project folder pip builds (not a wheel, sdist or requirement)."""
    if word in (".", "./"):
        return True
    return word.startswith(("./", "/")) and "." not in posixpath.basename(word.rstrip("/"))


def _substitute(value: str, env: dict[str, tuple[str, str]]) -> str:
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env[m.group(1)][0] if m.group(1) in env else m.group(0), value
    )


def installs(text: str, *, path: str) -> list[Install]:
    """Every Python install in a Dockerfile (pip, pip3, python -m pip, uv pip install/sync, poetry install, uv sync,
    pipenv install/sync), in stages whose base tag says which Python it is (a stage FROM an earlier stage inherits
    it), with what chooses its index. Stages on other bases are skipped."""
    try:
        instructions = scan(text).instructions
    except (LexError, ValueError, RecursionError):
        return []
    out: list[Install] = []
    Copies = list[tuple[tuple[str, ...], str]]
    Env = dict[str, tuple[str, str]]  # name -> (value, origin); value "\0" = an ARG without a default
    # per stage name and index: python, COPY lines, WORKDIR and ENV/ARG, which a stage built FROM it inherits
    stages: dict[str, tuple[tuple[str, ...] | None, Copies, str, Env]] = {}
    python: tuple[str, ...] | None = None  # (version, libc, Debian release)
    copies: Copies = []
    env: Env = {}
    workdir = "/"
    count = 0
    for ins in instructions:
        if ins.cmd == "from":
            words = ins.args.split()
            base = words[0].lower() if words else ""
            if base in stages:
                python, inherited, workdir, inherited_env = stages[base]
                copies, env = list(inherited), dict(inherited_env)
            else:
                found = base_python(base)
                python = (*found, base_distro(base)) if found else None
                copies, workdir, env = [], "/", {}
            state = (python, copies, workdir, env)
            stages[str(count)] = state
            count += 1
            if len(words) >= 3 and words[1].lower() == "as":
                stages[words[2].lower()] = state
        elif ins.cmd == "workdir" and ins.args.strip():
            workdir = posixpath.join(workdir, ins.args.strip())
            for key, (py, cp, _wd, en) in list(stages.items()):
                if cp is copies:
                    stages[key] = (py, cp, workdir, en)
        elif ins.cmd in ("env", "arg"):
            for name, value in _assignments(ins.args, arg=ins.cmd == "arg"):
                if ins.cmd == "arg" and name in env and value is None:
                    continue  # ARG X after ENV X: the ENV value stays
                env[name] = (
                    "\0" if value is None else _substitute(value, env),
                    f"{path}:{ins.line} {ins.cmd.upper()} {name}",
                )
        elif ins.cmd in ("copy", "add") and not any(f.startswith("--from") for f in ins.flags):
            words = list(ins.json) if ins.json else ins.args.split()
            if len(words) >= 2:
                copies.append((tuple(words[:-1]), words[-1]))
        elif ins.cmd == "run" and python is not None:
            for tool, words, cwd in _commands(ins.args):
                here = posixpath.join(workdir, cwd)
                install = _install(tool, words, ins.line, python, path, copies, here, env)
                if install is not None:
                    out.append(install)
    return out


def _assignments(args: str, *, arg: bool) -> list[tuple[str, str | None]]:
    """ENV a=b c=d, the legacy `ENV a b`, ARG a=b, ARG a (no default: None)."""
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    if not words:
        return []
    if not arg and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    out: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        out.append((name, value if eq else None))
    return out


def _index_settings(
    tool: str, env: dict[str, tuple[str, str]], copies: list[tuple[tuple[str, ...], str]], workdir: str
) -> list[tuple[str, str, str]]:
    """What the image itself says about the index, lowest precedence first: a pip.conf copied in, then ENV/ARG."""
    settings: list[tuple[str, str, str]] = []
    installer = "uv" if tool.startswith("uv") else "pip"
    if installer == "pip":
        conf_paths = list(IMAGE_PIP_CONF)
        if "PIP_CONFIG_FILE" in env and env["PIP_CONFIG_FILE"][0] != "\0":
            conf_paths.insert(0, env["PIP_CONFIG_FILE"][0])  # pip reads it first; the others override it
        for conf in conf_paths:
            src = _brought(copies, conf, workdir)
            if src is not None:
                settings.append(("config-file", src, f"copied to {conf}"))
    for name, key in INDEX_ENV[installer].items():
        if name in env:
            value, origin = env[name]
            settings.append((("arg:" + key) if value == "\0" else key, "" if value == "\0" else value, origin))
    return settings


def _install(
    tool: str,
    words: list[str],
    line: int,
    python: tuple[str, ...],
    path: str,
    copies: list[tuple[tuple[str, ...], str]],
    workdir: str,
    env: dict[str, tuple[str, str]],
) -> Install | None:
    settings = _index_settings(tool, env, copies, workdir)
    if tool in ("poetry", "uv-sync", "pipenv"):
        used = _lock_use(tool, words, copies, workdir)
        if not used:
            return None
        return Install(
            line=line,
            python=python[0],
            libc=python[1],
            files=(),
            pins=(),
            locks=tuple(used),
            tool=tool,
            distro=python[2],
        )
    files: list[str] = []
    pins: list[Pin] = []
    locks: list[LockUse] = []
    where = f"{path}:{line}"
    i = 0
    while i < len(words):
        word = words[i]
        value, j = _option(words, i, "-r", "--requirement")
        if value is not None:
            files.append(_copied(copies, value, workdir))
            i = j
            continue
        value, j = _option(words, i, "-i", "--index-url", "--default-index")
        if value is not None:
            settings.append(("index-url", value, f"{where} --index-url"))
            i = j
            continue
        value, j = _option(words, i, "--extra-index-url", "--index")
        if value is not None:
            settings.append(("extra-index-url", value, f"{where} --extra-index-url"))
            i = j
            continue
        if word == "--no-index":
            settings.append(("no-index", "", f"{where} --no-index"))
        elif tool.endswith(":sync") and not word.startswith("-"):
            files.append(_copied(copies, word, workdir))
        elif not word.startswith("-") and "==" in word:
            pin = pin_of(word, Place(path, line), python[0])
            if pin is not None:
                pins.append(pin)
        elif _is_folder(word):
            src = _brought(copies, posixpath.join(word, "pyproject.toml"), workdir)
            if src is not None:
                locks.append(LockUse(kind="pyproject.toml", path=src))
        i += 1
    if not (files or pins or locks):
        return None
    return Install(
        line=line,
        python=python[0],
        libc=python[1],
        files=tuple(files),
        pins=tuple(pins),
        locks=tuple(locks),
        index=tuple(settings),
        tool=tool.split(":")[0],
        distro=python[2],
    )
