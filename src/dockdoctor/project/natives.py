"""Host-built package folders (pure): what their native parts were built for, and which COPY lines put them in images.

npm packages with native code say where they run in package.json (`"os": ["darwin"], "cpu": ["arm64"]`, the
fields npm checks before installing an optional dependency: esbuild's @esbuild/<platform>, @rollup/rollup-<platform>,
@img/sharp-<platform>, @swc/core-<platform>); node-gyp addons have a `binding.gyp` and build `build/Release/*.node`
for the machine that ran `npm install`. Python extension modules carry their platform in the file name
(`_speedups.cpython-312-darwin.so`, `x.cpython-311-aarch64-linux-gnu.so`; an `.abi3.so` says only "this machine").
"""

from __future__ import annotations

import posixpath
import re
import shlex

from dockdoctor.project.dockerfile import LexError, scan

NPM_OS = {"darwin": "darwin", "linux": "linux", "win32": "windows", "freebsd": "freebsd", "android": "android"}
NPM_CPU = {"x64": "amd64", "arm64": "arm64", "arm": "arm", "ia32": "386", "ppc64": "ppc64le", "s390x": "s390x"}
_SO = re.compile(r"\.cpython-\d+[a-z]*-(?P<tag>[a-z0-9_]+(?:-[a-z0-9_]+)*)\.so$")
_SO_TAGS = {
    "darwin": "darwin",
    "x86_64-linux-gnu": "linux/amd64",
    "aarch64-linux-gnu": "linux/arm64",
    "x86_64-linux-musl": "linux/amd64",
    "aarch64-linux-musl": "linux/arm64",
    "arm-linux-gnueabihf": "linux/arm",
}
# commands that install a folder's packages inside the image (npm ci first removes a node_modules that is there)
_NODE_INSTALL = re.compile(
    r"(?:^|[\s;&|])(?:npm\s+(?:ci|install|i)|yarn(?:\s+install)?|pnpm\s+(?:install|i))(?=\s|$|;|&)"
)
_NODE_CLEAN = re.compile(r"(?:^|[\s;&|])npm\s+ci(?=\s|$|;|&)|rm\s+-[a-z]*r[a-z]*f?\s+\S*node_modules")
_VENV_INSTALL = re.compile(
    r"(?:^|[\s;&|])(?:uv\s+(?:sync|venv)|python3?(?:\.\d+)?\s+-m\s+venv|virtualenv|poetry\s+install|pip3?\s+install)(?=\s|$)"
)
_VENV_CLEAN = re.compile(
    r"(?:^|[\s;&|])(?:uv\s+(?:sync|venv)|python3?(?:\.\d+)?\s+-m\s+venv)(?=\s|$)|rm\s+-[a-z]*r[a-z]*f?\s+\S*venv"
)


def npm_platform(os_field: object, cpu_field: object) -> str:
    """ "darwin/arm64" from package.json `os: ["darwin"], cpu: ["arm64"]`; "" unless both name one platform."""
    if not (isinstance(os_field, list) and isinstance(cpu_field, list)) or len(os_field) != 1 or len(cpu_field) != 1:
        return ""
    os_name, cpu = NPM_OS.get(str(os_field[0])), NPM_CPU.get(str(cpu_field[0]))
    return f"{os_name}/{cpu}" if os_name and cpu else ""


def so_platform(filename: str) -> str:
    """ "linux/arm64" for `x.cpython-311-aarch64-linux-gnu.so`, "darwin" for `...-darwin.so`; "" when it does not
    say (`.abi3.so`, a bare `.so`)."""
    m = _SO.search(filename)
    return _SO_TAGS.get(m.group("tag"), "") if m else ""


def _brings(sources: list[str], folder: str) -> bool:
    """Whether COPY sources (relative to the build context) include `folder` or a folder above it."""
    for src in sources:
        clean = posixpath.normpath(src.lstrip("/")) if src not in (".", "./") else "."
        if clean == "." or folder == clean or folder.startswith(clean.rstrip("/") + "/"):
            return True
    return False


def copies(text: str, folder: str, kind: str) -> list[tuple[int, bool]]:
    """(line, installs) for each COPY/ADD of the build context that brings `folder` (relative to the context) into
    a stage and is not followed, in that stage, by a step that replaces it (`npm ci`, `rm -rf node_modules`,
    `uv sync`, `python -m venv`). `installs`: the stage installed its own packages before the copy, so leaving the
    host's folder out leaves the image's own."""
    try:
        instructions = scan(text).instructions
    except (LexError, ValueError, RecursionError):
        return []
    install = _NODE_INSTALL if kind == "node_modules" else _VENV_INSTALL
    clean = _NODE_CLEAN if kind == "node_modules" else _VENV_CLEAN
    out: list[tuple[int, bool]] = []
    pending: list[tuple[int, bool]] = []
    installed = False
    for ins in instructions:
        if ins.cmd == "from":
            out += pending
            pending, installed = [], False
        elif ins.cmd in ("copy", "add") and not any(f.startswith("--from") for f in ins.flags):
            words = list(ins.json) if ins.json else _words(ins.args)
            if len(words) >= 2 and _brings(words[:-1], folder):
                pending.append((ins.line, installed))
        elif ins.cmd == "run":
            if clean.search(ins.args):
                pending = []
            if install.search(ins.args):
                installed = True
    return out + pending


def _words(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()
