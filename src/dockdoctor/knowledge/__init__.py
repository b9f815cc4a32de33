"""What dockdoctor knows about the world beside the facts: data files with public sources, loaded lazily.

Each `<name>.toml` in this folder is one table of knowledge (known defects, error signatures, base-image
levels...). Every entry carries a `source` (a public URL: release notes, an issue thread, documentation).
Checks read knowledge through `load()`; they stay pure (the files are part of the package, not the system).

The parsed tables are kept as byte code is (tomllib is pure Python: parsing the four tables `check` reads costs
more than the rest of its imports): one marshal file per table beside the package's byte code (or in dockdoctor's
cache folder, see _codecache.kept_path), holding the file's bytes it was parsed from. A run whose file has the
same bytes takes the table from there; other bytes, another interpreter, a damaged or missing file: parsed again.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import Any

KEPT_SUFFIX = ".toml-data"  # knowledge/__pycache__/defects.cpython-311.toml-data
_FORMAT = 1  # the layout of a kept file: (format, the file's bytes, the table, its dates)
_Path = tuple[str | int, ...]


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed `<name>.toml` of this package (cached: each file is read once per process).

    Read through the package's own loader, as importlib.resources reads it underneath (from a folder or a zip
    alike), without importing importlib.resources (its readers import zipfile and tempfile: ~10 ms of `check`).
    """
    path = os.path.join(__path__[0], f"{name}.toml")
    get_data = getattr(__spec__.loader, "get_data", None)
    if get_data is None:  # pragma: no cover - the file and zip loaders both have it
        from importlib import resources

        raw: bytes = resources.files(__name__).joinpath(f"{name}.toml").read_bytes()
    else:
        raw = get_data(path)
    from dockdoctor._codecache import kept_path

    kept = kept_path(path, KEPT_SUFFIX)
    if kept:
        found = _read(kept, raw)
        if found is not None:
            return found
    data = _parse(raw)
    if kept:
        _write(kept, raw, data)
    return data


def _parse(raw: bytes) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    data: dict[str, Any] = tomllib.loads(raw.decode("utf-8").replace("\r\n", "\n"))  # as read_text() reads it
    return data


def _read(kept: str, raw: bytes) -> dict[str, Any] | None:
    """The table kept in `kept` when it was parsed from exactly `raw` by this interpreter; else None."""
    import marshal
    from importlib.util import MAGIC_NUMBER

    try:
        with open(kept, "rb") as fh:
            blob = fh.read()
        if not blob.startswith(MAGIC_NUMBER):
            return None
        found = marshal.loads(blob[len(MAGIC_NUMBER) :])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not (isinstance(found, tuple) and len(found) == 4 and found[0] == _FORMAT and found[1] == raw):
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


def _write(kept: str, raw: bytes, data: dict[str, Any]) -> None:
    """Keep `data` in `kept` (atomically; a failure, or a value marshal cannot hold, is no error)."""
    import marshal
    from importlib.util import MAGIC_NUMBER

    dates: list[tuple[_Path, str, tuple[int | None, ...]]] = []
    plain = _take_dates(data, (), dates)
    if plain is None:
        return
    tmp = f"{kept}.{os.getpid()}.tmp"
    try:
        blob = MAGIC_NUMBER + marshal.dumps((_FORMAT, raw, plain, dates))
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, kept)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _take_dates(value: Any, path: _Path, dates: list[tuple[_Path, str, tuple[int | None, ...]]]) -> Any:
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


def _put_dates(data: dict[str, Any], dates: list[tuple[_Path, str, tuple[int | None, ...]]]) -> None:
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


def names() -> tuple[str, ...]:
    """Every knowledge table shipped with the package."""
    from importlib import resources

    return tuple(sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml")))
