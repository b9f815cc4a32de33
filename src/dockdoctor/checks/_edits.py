"""Exact, minimal file edits as unified diffs (pure): replace a line, insert one after another, or several at once."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import NamedTuple

from dockdoctor.model import EditFile, Line, Origin


def origin_line(origin: Origin | None) -> tuple[str, int] | None:
    """The compose file and line an edit of `origin`'s key can name: None when it has no file line, or when its file
    name holds a colon or white space (which a diff header does not name plainly)."""
    at = origin.location if origin is not None else None
    return (at.file, at.line) if at and not any(c == ":" or c.isspace() for c in at.file) else None


def _header(rel: str) -> str:
    return f"--- a/{rel}\n+++ b/{rel}\n"


def replace_line(root: str, rel: str, line: int, old: str, new: str) -> EditFile:
    """Line `line` of `rel` (under `root`) goes from `old` to `new` (which may be several lines)."""
    added = new.split("\n")
    plus = "".join(f"+{text}\n" for text in added)
    return EditFile(
        path=posixpath.join(root, rel), diff=f"{_header(rel)}@@ -{line},1 +{line},{len(added)} @@\n-{old}\n{plus}"
    )


def delete_line(root: str, rel: str, line: int, old: str) -> EditFile:
    """Line `line` of `rel` (whose text is `old`) goes."""
    return EditFile(path=posixpath.join(root, rel), diff=f"{_header(rel)}@@ -{line},1 +{line},0 @@\n-{old}\n")


def insert_after(root: str, rel: str, line: int, anchor: str, new: str) -> EditFile:
    """A new line after line `line` (whose text is `anchor`, kept as context)."""
    return EditFile(
        path=posixpath.join(root, rel), diff=f"{_header(rel)}@@ -{line},1 +{line},2 @@\n {anchor}\n+{new}\n"
    )


def indent_of(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def append_line(root: str, rel: str, end: Line, new: str) -> EditFile:
    """A line at the end of `rel`; `end` is its last line, number 0 for a file to create."""
    if end.number == 0:
        return EditFile(path=posixpath.join(root, rel), diff=f"{_header(rel)}@@ -0,0 +1,1 @@\n+{new}\n")
    return insert_after(root, rel, end.number, end.text, new)


class LineEdit(NamedTuple):
    """What happens around one line (`old`, its text now): lines added before and after it, and its new text."""

    old: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    new: str | None = None  # None: the line stays as it is


def edit_lines(root: str, rel: str, edits: Mapping[int, LineEdit]) -> EditFile:
    """Several line edits of one file as one diff, a hunk per line (old line numbers; the new ones shifted)."""
    body, shift = [], 0
    for line in sorted(edits):
        edit = edits[line]
        kept = [f" {edit.old}"] if edit.new is None else [f"-{edit.old}", f"+{edit.new}"]
        plus = [f"+{text}" for text in edit.before] + kept + [f"+{text}" for text in edit.after]
        count = len(edit.before) + 1 + len(edit.after)
        body.append(f"@@ -{line},1 +{line + shift},{count} @@\n" + "".join(f"{p}\n" for p in plus))
        shift += len(edit.before) + len(edit.after)
    return EditFile(path=posixpath.join(root, rel), diff=_header(rel) + "".join(body))
