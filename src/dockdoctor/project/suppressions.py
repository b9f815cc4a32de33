"""Inline suppressions (pure): `# dockdoctor: ignore=DKD605,arch-specific-download reason` in a project file.

A comment names one or more checks by code or slug, comma-separated, then a reason. It takes out the findings
located on its own line or on the line below it: the comment above an instruction, or at the end of a YAML line
(in a Dockerfile only above: a `#` after an instruction belongs to the instruction).
A comment without a reason suppresses nothing; DKD719 reports it, so every suppression says why.
"""

from __future__ import annotations

import re

from dockdoctor.model import Suppression

_COMMENT = re.compile(r"#\s*dockdoctor:\s*ignore\s*=\s*(?P<names>[\w-]+(?:\s*,\s*[\w-]+)*)(?P<reason>.*)$", re.I)


def parse_suppressions(text: str, *, path: str) -> tuple[Suppression, ...]:
    """Every suppression comment of a file's text, with its line (1-based) and its reason ("" when none)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "dockdoctor" not in line.lower():
            continue
        match = _COMMENT.search(line)
        if match is None:
            continue
        names = tuple(n.strip() for n in match["names"].split(",") if n.strip())
        reason = match["reason"].strip().lstrip("-:—").strip()
        found.append(Suppression(file=path, line=number, names=names, reason=reason, text=line))
    return tuple(found)


def covers(suppression: Suppression, file: str, line: int) -> bool:
    """Whether a finding at `file:line` is on the comment's line or the line below it."""
    return suppression.file == file and line in (suppression.line, suppression.line + 1)
