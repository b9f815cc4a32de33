"""The `.env` file format as compose reads it: comments, `export`, quotes, escapes and interpolation."""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping

from dockdoctor.project.interpolate import InterpolationError, interpolate

_SPACE = "\t\v\f\r \x85\xa0"  # blanks that are not line breaks
_EXPORT = re.compile(r"export[\t\n\f\r ]+")
_KEY_PUNCTUATION = "_.-[]"
_ESCAPE = re.compile(r"\\(?:[abcfnrtv$\"\\]|0[0-9]{0,3})")
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "c": "\\c",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "$": "$$",
    '"': '"',
    "\\": "\\",
}


class DotenvError(ValueError):
    """A `.env` file compose would refuse to read; the message starts with `path:line:`."""


def parse_dotenv(text: str, *, path: str, lookup: Mapping[str, str] | None = None) -> tuple[tuple[str, str, int], ...]:
    """(name, value, line) for each variable `text` defines, in line order, the last definition of a name winning.

    `lookup` (the process environment, given by the caller) answers bare `NAME` lines and takes precedence over
    earlier keys of the file when values are interpolated, as compose does. Raises DotenvError.
    """
    found: dict[str, tuple[str, int]] = {}
    values: dict[str, str] = {}
    pos, line = (1 if text.startswith("\ufeff") else 0), 1
    outside = lookup or {}
    known = ChainMap(dict(outside), values)  # the environment wins over earlier keys, as in compose
    while True:
        pos, line = _statement_start(text, pos, line)
        if pos >= len(text):
            break
        start_line = line
        key, pos, inherited = _key(text, pos, path, line)
        if inherited:
            line += 1
            if key in outside:
                _define(found, values, key, outside[key], start_line)
            continue
        value, pos, line = _value(text, pos, line, path, known)
        _define(found, values, key, value, start_line)
    return tuple((name, value, number) for name, (value, number) in found.items())


def _define(found: dict[str, tuple[str, int]], values: dict[str, str], key: str, value: str, line: int) -> None:
    found.pop(key, None)  # a redefinition moves the name to its new line
    found[key] = (value, line)
    values[key] = value


def _statement_start(text: str, pos: int, line: int) -> tuple[int, int]:
    """Skip blank space and comment lines; return the position and line of the next statement."""
    n = len(text)
    while pos < n:
        char = text[pos]
        if char == "\n":
            line += 1
        elif char == "#":
            end = text.find("\n", pos)
            if end < 0:
                return n, line
            pos = end
            continue
        elif not char.isspace():
            return pos, line
        pos += 1
    return n, line


def _key(text: str, pos: int, path: str, line: int) -> tuple[str, int, bool]:
    """(key, position after the separator, inherited) for the statement at `pos`."""
    export = _EXPORT.match(text, pos)
    if export:
        pos = export.start() + len("export")
        while pos < len(text) and text[pos] in _SPACE:
            pos += 1
    start = pos
    for i in range(pos, len(text)):
        char = text[i]
        if char in _SPACE or char in _KEY_PUNCTUATION or char.isalnum():
            continue
        if char in "=:\n":
            return _checked_key(text[start:i].rstrip(), path, line), _skip_space(text, i + 1), char == "\n"
        statement = text[start:].split("\n", 1)[0]
        raise DotenvError(
            f"{path}:{line}: unexpected character {char!r} in variable name {statement!r}: "
            "names may use letters, digits and _ . - [ ]"
        )
    return _checked_key(text[start:].rstrip(), path, line), len(text), True


def _checked_key(key: str, path: str, line: int) -> str:
    if any(char in _SPACE for char in key):
        raise DotenvError(f"{path}:{line}: key {key!r} cannot contain a space")
    return key


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def _value(text: str, pos: int, line: int, path: str, known: Mapping[str, str]) -> tuple[str, int, int]:
    """(value, position after it, line after it) for the value starting at `pos`."""
    quote = text[pos] if pos < len(text) and text[pos] in "'\"" else ""
    if not quote:
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        raw = text[pos:end].split(" #", 1)[0].rstrip()
        return _expand(raw, known, path, line), end + 1, line + 1
    chars: list[str] = []
    escaped = False
    for i in range(pos + 1, len(text)):
        char = text[i]
        if char == quote and not escaped:
            raw = "".join(chars)
            value = _expand(_unescape(raw), known, path, line) if quote == '"' else raw
            return value, i + 1, line + text.count("\n", pos, i)
        if char == quote:
            chars.append(char)
        elif escaped:
            chars.append("\\" + char)
        elif char == "\\":
            escaped = True
            continue
        else:
            chars.append(char)
        escaped = False
    shown = text[pos:].split("\n", 1)[0]
    raise DotenvError(f"{path}:{line}: unterminated quoted value {shown}: close the {quote} quote")


def _unescape(raw: str) -> str:
    """Shell (XSI echo) escapes of a double-quoted value; `\\$` becomes `$$` so interpolation keeps it literal."""

    def one(match: re.Match[str]) -> str:
        seq = match.group(0)[1:]
        if seq.startswith("0"):  # `\0ddd`: exactly three octal digits, else kept as written
            digits = seq[1:]
            ok = len(digits) == 3 and all(d in "01234567" for d in digits) and int(digits, 8) < 256
            return chr(int(digits, 8)) if ok else match.group(0)
        return _SIMPLE_ESCAPES[seq]

    return _ESCAPE.sub(one, raw)


def _expand(value: str, known: Mapping[str, str], path: str, line: int) -> str:
    try:
        return interpolate(value, known)
    except InterpolationError as error:
        raise DotenvError(f"{path}:{line}: {error}") from error
