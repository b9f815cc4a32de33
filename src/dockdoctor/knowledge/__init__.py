"""What dockdoctor knows about the world beside the facts: data files with public sources, loaded lazily.

Each `<name>.toml` in this folder is one table of knowledge (known defects, error signatures, base-image
levels...). Every entry carries a `source` (a public URL: release notes, an issue thread, documentation).
Checks read knowledge through `load()`; they stay pure (the files are part of the package, not the system).
"""

from __future__ import annotations

import sys
from functools import cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed `<name>.toml` of this package (cached: each file is read once per process)."""
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    return data


def names() -> tuple[str, ...]:
    """Every knowledge table shipped with the package."""
    return tuple(sorted(p.name[:-5] for p in resources.files(__name__).iterdir() if p.name.endswith(".toml")))
