"""What dockdoctor knows about the world beside the facts: data files with public sources, loaded lazily.

Each `<name>.toml` in this folder is one table of knowledge (known defects, error signatures, base-image
levels...). Every entry carries a `source` (a public URL: release notes, an issue thread, documentation).
Checks read knowledge through `load()`; they stay pure (the files are part of the package, not the system).

The CLI keeps the parsed tables as byte code is kept (tomllib is pure Python: parsing the four tables `check`
reads cost more than the rest of its imports): its entry point sets `keeper` to dockdoctor._codecache.kept_table,
which keeps one marshal file per table beside the package's byte code, with the bytes it was parsed from. Code
that imports dockdoctor as a library parses on first use, as before; this module itself never writes a file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

Table = dict[str, Any]
# (the .toml file's path, its bytes, the parser) -> the table: set by the CLI's entry point (dockdoctor._entry)
keeper: Callable[[str, bytes, Callable[[bytes], Table]], Table] | None = None


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
    return _parse(raw) if keeper is None else keeper(path, raw, _parse)


def _parse(raw: bytes) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    data: dict[str, Any] = tomllib.loads(raw.decode("utf-8").replace("\r\n", "\n"))  # as read_text() reads it
    return data


def names() -> tuple[str, ...]:
    """Every knowledge table shipped with the package."""
    from importlib import resources

    return tuple(sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml")))
