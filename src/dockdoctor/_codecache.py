"""Byte code for the methods @dataclass writes: compiled once, then kept beside dockdoctor's own byte code.

Each @dataclass writes the source of its __init__, __repr__, __eq__, __hash__ (and, when frozen, __setattr__ and
__delattr__) and compiles it with exec() while its module is imported: two thirds of the time the model takes
to import (125 classes on `inspect`'s path). That text is the same on every run, so, as a .pyc file does for a
module, the code compiled from it is kept: one marshal file in the folder and under the interpreter tag
importlib uses for dockdoctor's byte code (PYTHONPYCACHEPREFIX and PYTHONDONTWRITEBYTECODE apply), or in
dockdoctor's cache folder when the install is not the user's to write. A run compiles only text it has not met.
The classes and methods are exactly dataclasses' own: only the compile() of the same text is skipped. The CLI's
entry point installs it (dockdoctor._entry); code that imports dockdoctor as a library is left alone.
"""

from __future__ import annotations

import sys
from types import CodeType

KEEP = 4096  # entries: beyond this, only the text this run used is kept (sources edited many times over)
_FILENAME = "<string>"  # the name builtin exec() gives a string's code, as dataclasses calls it
_code: dict[str, CodeType] = {}
_used: set[str] = set()


class _State:
    path = ""  # the file this run read and writes back at exit
    new = False  # whether this run compiled text the file did not hold


def install() -> None:
    """From now on, dataclasses' exec() of a method's text reuses the byte code kept for that text."""
    import dataclasses

    if vars(dataclasses).get("exec") is _exec:
        return
    path = cache_path()
    if path:
        _code.update(_read(path))
        _State.path = path
        import atexit

        atexit.register(_save)
    dataclasses.exec = _exec  # type: ignore[attr-defined]  # a module global: shadows the builtin there only


def cache_path() -> str:
    """Where the kept byte code lives: beside this module's own .pyc file, else (an install the user cannot
    write to) in dockdoctor's cache folder under bytecode/; "" when no byte code is written at all."""
    return kept_path(__file__, ".dataclasses")


def kept_path(source: str, suffix: str) -> str:
    """Where what is made from the file `source` is kept: its .pyc path with `suffix` for ".pyc" (the folder and
    interpreter tag importlib uses), else (an install the user cannot write to) dockdoctor's cache folder under
    bytecode/; "" when no byte code is written at all (PYTHONDONTWRITEBYTECODE, no cache tag)."""
    if sys.dont_write_bytecode:
        return ""
    try:
        from importlib.util import cache_from_source

        beside = cache_from_source(source).removesuffix(".pyc") + suffix
    except (NotImplementedError, ValueError):  # no cache tag, or no source file: nothing kept
        return ""
    import os

    if os.path.exists(beside) or _writable(os.path.dirname(beside)):
        return beside
    folder = os.environ.get("DOCKDOCTOR_CACHE_DIR", "")  # as probes.cache.cache_root finds dockdoctor's folder
    if not folder:
        import platformdirs

        folder = str(platformdirs.user_cache_path("dockdoctor", appauthor=False))
    return os.path.join(folder, "bytecode", os.path.basename(beside))


def _writable(folder: str) -> bool:
    """Whether `folder` is, or could be made, a folder this process writes in."""
    import os

    while not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder or os.path.lexists(folder):
            return False  # the root, or a file where a folder should be
        folder = parent
    return os.access(folder, os.W_OK)


def _exec(source: object, globals: dict[str, object] | None = None, locals: object = None, /) -> None:  # noqa: A002
    if isinstance(source, str):
        code = _code.get(source)
        if code is None:
            code = compile(source, _FILENAME, "exec", dont_inherit=True)  # exactly what exec(str) compiles
            _code[source] = code
            _State.new = True
        _used.add(source)
        source = code
    exec(source, globals, locals)  # type: ignore[arg-type]  # noqa: S102 - the code dataclasses wrote


def _read(path: str) -> dict[str, CodeType]:
    import marshal
    from importlib.util import MAGIC_NUMBER

    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if not data.startswith(MAGIC_NUMBER):
            return {}  # another interpreter's byte code: compiled again, then replaced
        found = marshal.loads(data[len(MAGIC_NUMBER) :])
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, CodeType)}


def _save() -> None:
    """At exit, when this run compiled new text: the file written again (atomically; a failure is no error)."""
    path = _State.path
    if not _State.new or not path:
        return
    import marshal
    import os
    from importlib.util import MAGIC_NUMBER

    keep = _code if len(_code) <= KEEP else {k: v for k, v in _code.items() if k in _used}
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(MAGIC_NUMBER + marshal.dumps(keep))
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
