"""The output boundary: strings from outside (files, registries, engines, environment) made safe to show.

`visible()` turns every control character into visible text (`\\x1b`, `\\n`, `\\u202e`), so that no value can
move the cursor, set a window title (OSC `ESC ] 0 ; ... BEL`), clear the screen, start a new line of its own or
reverse the text direction. `clean()` applies it to every string of a Report (or of any frozen model value)
once, before the text and Markdown renderers format it; `renderer_for()` does that for them. A fix's unified
diff, which dockdoctor builds from file lines, keeps the line breaks that start diff lines (` `, `+`, `-`, `@`,
`\\`); any other line break in it came from a value and is shown as `\\n` too. `visible_text()` keeps line breaks
and tabs (a raw answer saved in a support bundle). The CLI's own lines with outside text (fix progress, errors on
stderr) go through `visible()` too.

Markdown then needs one more rule in prose and table cells, `markdown()`: `&`, `<` and `>` become entities,
`|`, `[`, `]` and backslashes get a backslash; code spans that the text already has are kept as they are (in
CommonMark nothing inside a code span is markup). JSON needs nothing: json.dumps escapes control characters.
"""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any, TypeVar

from dockdoctor.model import EditFile

T = TypeVar("T")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str) -> str:
    """The text with control, line-separator and bidi characters written as escapes (ESC -> `\\x1b`).

    Lone surrogates (the undecodable bytes of a file name) are escaped too, so any encoding can print the result.
    """
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


_UNSAFE_IN_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def visible_text(text: str) -> str:
    """Like `visible()`, but a multi-line text keeps its line breaks and tabs (a raw answer saved in a bundle)."""
    return _UNSAFE_IN_TEXT.sub(_escape, text) if _UNSAFE_IN_TEXT.search(text) else text


def _diff_lines(diff: str) -> str:
    """A unified diff made visible line by line; a line break that does not start a diff line is a value's own."""
    first, *rest = diff.split("\n")
    out = [visible(first)]
    out.extend(("\n" if part == "" or part[0] in " +-@\\" else "\\n") + visible(part) for part in rest)
    return "".join(out)


def clean(value: T) -> T:
    """Any model value (Report, Facts, fix items) with every string passed through `visible()`."""
    walked: T = _walk(value)  # the same type: _walk rebuilds each dataclass and tuple from its own parts
    return walked


_FIELDS: dict[type, tuple[str, ...]] = {}  # per class: the field names of a dataclass, () for anything else


def _walk(value: Any) -> Any:
    cls = type(value)
    if cls is str:
        return visible(value)
    if cls is tuple:
        items = tuple(_walk(v) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if cls is EditFile:
        return dataclasses.replace(value, path=visible(value.path), diff=_diff_lines(value.diff))
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else ()
    changes = {}
    for name in names:
        old = getattr(value, name)
        new = _walk(old)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(value, **changes) if changes else value


_CODE_SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?P<code>.+?)(?<!`)(?P=ticks)(?!`)")
_MARKUP = {ord("\\"): "\\\\", ord("|"): "\\|", ord("["): "\\[", ord("]"): "\\]"}


def _prose(text: str) -> str:
    return html.escape(text, quote=False).translate(_MARKUP)


def markdown(text: str, *, cell: bool = False) -> str:
    """Prose (or a table cell) in Markdown: no raw HTML, no links, no cell breaks; the text's code spans stay code."""
    text = visible(text)
    out, end = [], 0
    spans = _CODE_SPAN.finditer(text) if len(text) <= 4096 else ()  # a longer text is all prose: no rescans
    for match in spans:
        out.append(_prose(text[end : match.start()]))
        out.append(match.group(0).replace("|", "\\|") if cell else match.group(0))  # GFM splits cells in spans too
        end = match.end()
    out.append(_prose(text[end:]))
    return "".join(out)


def code(text: str) -> str:
    """An inline code span that holds any text (the fence is longer than any backtick run inside)."""
    text = visible(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(lang: str, body: str) -> list[str]:
    """A fenced code block around a body that cannot close it early."""
    longest = max((len(run) for run in re.findall(r"`{3,}|~{3,}", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{lang}", body, ticks]
