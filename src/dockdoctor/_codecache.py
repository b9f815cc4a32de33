"""Byte code for the methods @dataclass writes: compiled once, then kept beside dockdoctor's own byte code.

Each @dataclass writes the source of its __init__, __repr__, __eq__, __hash__ (and, when frozen, __setattr__ and
__delattr__) and compiles it with exec() while its module is imported: two thirds of the time the model takes
to import (125 classes on `inspect`'s path). That text is the same on every run, so, as a .pyc file does for a
module, the code compiled from it is kept: one marshal file in the folder and under the interpreter tag
importlib uses for dockdoctor's byte code (PYTHONPYCACHEPREFIX and PYTHONDONTWRITEBYTECODE apply), or in
dockdoctor's cache folder when the install is not the user's to write. A run compiles only text it has not met.
The classes and methods are exactly dataclasses' own: only the compile() of the same text is skipped. The CLI's
entry point installs it (dockdoctor._entry); code that imports dockdoctor as a library is left alone.

The parsed knowledge tables are kept the same way (kept_table): one marshal file per .toml file beside the
package's byte code, holding the bytes it was parsed from; other bytes, another interpreter or a damaged file
are parsed again. marshal holds no dates: they are kept as their fields and made again on reading.
"""

from __future__ import annotations

import os
import sys
from types import CodeType

TYPE_CHECKING = False  # not typing's, nor collections.abc: imported before the CLI's modules, as _entry is
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

KEEP = 4096  # entries: beyond this, only the text this run used is kept (sources edited many times over)
_FILENAME = "<string>"  # the name builtin exec() gives a string's code, as dataclasses calls it
TABLE_SUFFIX = ".toml-data"  # knowledge/__pycache__/defects.cpython-311.toml-data
_TABLE_FORMAT = 1  # the layout of a kept table: (format, the file's bytes, the table, its dates)
_Where = tuple[str | int, ...]  # a value's place in a table: its keys and list indexes
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

    if os.path.exists(beside) or _writable(os.path.dirname(beside)):
        return beside
    folder = os.environ.get("DOCKDOCTOR_CACHE_DIR", "")  # as probes.cache.cache_root finds dockdoctor's folder
    if not folder:
        import platformdirs

        folder = str(platformdirs.user_cache_path("dockdoctor", appauthor=False))
    return os.path.join(folder, "bytecode", os.path.basename(beside))


def _writable(folder: str) -> bool:
    """Whether `folder` is, or could be made, a folder this process writes in."""

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


def _trusted(st: os.stat_result) -> bool:
    """Whether a kept file may be run: owned by this user or root, and writable by no one else (as ssh asks of
    its keys), so a shared or world-writable cache folder cannot slip code into the CLI."""
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: the folder's ACLs decide, as they do for .pyc files
        return True
    return st.st_uid in (getuid(), 0) and not st.st_mode & 0o022


def _read(path: str) -> dict[str, CodeType]:
    import marshal
    from importlib.util import MAGIC_NUMBER

    try:
        with open(path, "rb") as fh:
            if not _trusted(os.fstat(fh.fileno())):
                return {}  # code another user could have written is never run: compiled again instead
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
    from importlib.util import MAGIC_NUMBER

    keep = _code if len(_code) <= KEEP else {k: v for k, v in _code.items() if k in _used}
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), "wb") as fh:  # whatever the umask
            fh.write(MAGIC_NUMBER + marshal.dumps(keep))
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def kept_table(path: str, raw: bytes, parse: Callable[[bytes], dict[str, Any]]) -> dict[str, Any]:
    """The table parsed from `raw` (the bytes of the TOML file `path`), kept as byte code is: read back from the
    file kept beside the package's byte code when it was parsed from exactly these bytes by this interpreter,
    else parsed and kept (atomically). The knowledge tables' keeper (dockdoctor.knowledge.keeper, set by the
    CLI's entry point): tomllib is pure Python, and parsing check's tables cost more than the rest of its imports."""
    kept = kept_path(path, TABLE_SUFFIX)
    if kept:
        found = _read_table(kept, raw)
        if found is not None:
            return found
    data = parse(raw)
    if kept:
        _write_table(kept, raw, data)
    return data


def _read_table(kept: str, raw: bytes) -> dict[str, Any] | None:
    """The table kept in `kept` when it was parsed from exactly `raw` by this interpreter; else None."""
    import marshal
    from importlib.util import MAGIC_NUMBER

    try:
        with open(kept, "rb") as fh:
            if not _trusted(os.fstat(fh.fileno())):
                return None  # a table another user could have written: parsed again from the shipped file
            blob = fh.read()
        if not blob.startswith(MAGIC_NUMBER):
            return None
        found = marshal.loads(blob[len(MAGIC_NUMBER) :])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (isinstance(found, tuple) and len(found) == 4 and found[0] == _TABLE_FORMAT and found[1] == raw):
        return None
    data, dates = found[2], found[3]
    if not isinstance(data, dict):
        return None
    try:
        if dates:
            _put_dates(data, dates)
    except (LookupError, TypeError, ValueError):
        return None
    return data


def _write_table(kept: str, raw: bytes, data: dict[str, Any]) -> None:
    """Keep `data` in `kept` (atomically; a failure, or a value marshal cannot hold, is no error)."""
    import marshal
    from importlib.util import MAGIC_NUMBER

    dates: list[tuple[_Where, str, tuple[int | None, ...]]] = []
    plain = _take_dates(data, (), dates)
    if plain is None:
        return
    tmp = f"{kept}.{os.getpid()}.tmp"
    try:
        blob = MAGIC_NUMBER + marshal.dumps((_TABLE_FORMAT, raw, plain, dates))
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), "wb") as fh:
            fh.write(blob)
        os.replace(tmp, kept)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _take_dates(value: Any, path: _Where, dates: list[tuple[_Where, str, tuple[int | None, ...]]]) -> Any:
    """A copy of `value` that marshal holds (dates, times and datetimes as None, listed in `dates` by their path);
    None when it holds a value of any other type (not kept)."""
    import datetime

    kind = type(value)
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            plain = _take_dates(item, (*path, key), dates)
            if plain is None:
                return None
            out[key] = plain
        return out
    if kind is list:
        items: list[Any] = []
        for index, item in enumerate(value):
            plain = _take_dates(item, (*path, index), dates)
            if plain is None:
                return None
            items.append(plain)
        return items
    if kind in (str, int, float, bool):
        return value
    if kind is datetime.date:
        dates.append((path, "date", (value.year, value.month, value.day)))
        return 0  # a stand-in (None would read as "not kept")
    if kind not in (datetime.datetime, datetime.time):
        return None
    offset: int | None = None
    if value.tzinfo is not None:  # tomllib's offsets are unnamed datetime.timezone objects of whole seconds
        delta = value.utcoffset()
        if delta is None or delta.microseconds or value.tzinfo != datetime.timezone(delta):
            return None
        offset = int(delta.total_seconds())
        if value.tzinfo.tzname(None) != datetime.timezone(delta).tzname(None):
            return None
    fields: tuple[int | None, ...] = (value.hour, value.minute, value.second, value.microsecond, offset)
    if kind is datetime.datetime:
        fields = (value.year, value.month, value.day, *fields)
    dates.append((path, kind.__name__, fields))
    return 0


def _put_dates(data: dict[str, Any], dates: list[tuple[_Where, str, tuple[int | None, ...]]]) -> None:
    import datetime

    for path, kind, fields in dates:
        where: Any = data
        for step in path[:-1]:
            where = where[step]
        if kind == "date":
            value: Any = datetime.date(*fields)  # type: ignore[arg-type]
        else:
            *clock, offset = fields
            tz = None if offset is None else datetime.timezone(datetime.timedelta(seconds=offset))
            cls = datetime.datetime if kind == "datetime" else datetime.time
            value = cls(*clock).replace(tzinfo=tz)  # type: ignore[arg-type]
        where[path[-1]] = value
