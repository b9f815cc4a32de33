"""`check --list-checks`: the catalog as aligned text lines or a JSON list."""

from __future__ import annotations

import json
from collections.abc import Sequence

from dockdoctor.model import Rule


def render_rules(rules: Sequence[Rule], *, as_json: bool) -> str:
    """One line per check (code, slug, default severity, title), or the same four fields as JSON objects."""
    rows = [(r.id, r.slug, r.severity.value, r.title) for r in rules]
    if as_json:
        return (
            json.dumps([dict(zip(("id", "slug", "severity", "title"), r, strict=True)) for r in rows], indent=2) + "\n"
        )
    return "".join(f"{i}  {slug:34} {sev:8} {title}\n" for i, slug, sev, title in rows)
