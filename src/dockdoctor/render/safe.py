"""The output boundary: strings from outside (files, registries, engines, environment) made safe to show.

`visible()` turns every control character into visible text (`\\x1b`, `\\n`, `\\u202e`), so that no value can
move the cursor, set a window title (OSC `ESC ] 0 ; ... BEL`), clear the screen, start a new line of its own or
reverse the text direction. `clean()` applies it to every string of a Report (or of any frozen model value)
once, before the text and Markdown renderers format it; `renderer_for()` does that for them. A fix's unified
diff, which dockdoctor builds from file lines, keeps the line breaks that start diff lines (` `, `+`, `-`, `@`,
`\\`); any other line break in it came from a value and is shown as `\\n` too.

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
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x200E, 0x200F, 0x2028, 0x2029,
             *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]
_TABLE = {code: _NAMED.get(chr(code)) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
          for code in _CONTROLS}
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def visible(text: str) -> str:
    """The text with control, line-separator and bidi characters written as escapes (ESC -> `\\x1b`)."""
    text = text.translate(_TABLE)
    if text.isascii():
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)  # undecodable bytes of a file name


def _diff_lines(diff: str) -> str:
    """A unified diff made visible line by line; a line break that does not start a diff line is a value's own."""
    first, *rest = diff.split("\n")
    out = [visible(first)]
    for part in rest:
        out.append(("\n" if part == "" or part[0] in " +-@\\" else "\\n") + visible(part))
    return "".join(out)


def clean(value: T) -> T:
    """Any model value (Report, Facts, fix items) with every string passed through `visible()`."""
    return _walk(value)


def _walk(value: Any) -> Any:
    if isinstance(value, EditFile):
        return dataclasses.replace(value, path=visible(value.path), diff=_diff_lines(value.diff))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _walk(old)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, tuple):
        items = tuple(_walk(v) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    if type(value) is str:
        new = visible(value)
        return value if new == value else new
    return value


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
        out.append(_prose(text[end:match.start()]))
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
