"""What dockdoctor knows about the world beside the facts: data files with public sources, loaded lazily.

Each `<name>.toml` in this folder is one table of knowledge (known defects, error signatures, base-image
levels...). Every entry carries a `source` (a public URL: release notes, an issue thread, documentation).
Checks read knowledge through `load()`; they stay pure (the files are part of the package, not the system).
"""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed `<name>.toml` of this package (cached: each file is read once per process).

    Read through the package's own loader, as importlib.resources reads it underneath (from a folder or a zip
    alike), without importing importlib.resources (its readers import zipfile and tempfile: ~10 ms of `check`).
    """
    get_data = getattr(__spec__.loader, "get_data", None)
    if get_data is None:  # pragma: no cover - the file and zip loaders both have it
        from importlib import resources

        raw: bytes = resources.files(__name__).joinpath(f"{name}.toml").read_bytes()
    else:
        raw = get_data(os.path.join(__path__[0], f"{name}.toml"))
    data: dict[str, Any] = tomllib.loads(raw.decode("utf-8").replace("\r\n", "\n"))  # as read_text() reads it
    return data


def names() -> tuple[str, ...]:
    """Every knowledge table shipped with the package."""
    from importlib import resources

    return tuple(sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml")))
