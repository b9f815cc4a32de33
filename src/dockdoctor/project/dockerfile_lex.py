"""The shell lexer of Dockerfile words, after BuildKit's frontend/dockerfile/shell/lex.go: quotes, escapes,
${VAR} substitution with its modifiers, word splitting; every expansion bounded (MAX_* below)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

MAX_NESTING = 64  # ${a:-${b:-...}} depth; deeper input is pathological
MAX_EXPANSION = 65_536  # characters one substituted word may grow to
MAX_TRIM = 4_096  # ${VAR%pattern} and ${VAR#pattern} try every cut: values longer than this are refused


class LexError(ValueError):
    """A word BuildKit's shell lexer rejects (unterminated quote, bad substitution, ${VAR?} on an unset VAR)."""


# ---------------------------------------------------------------- shell lexer (BuildKit shell/lex.go semantics)


@dataclass(slots=True)
class _Lexer:
    text: str
    env: Mapping[str, str]
    escape: str = "\\"
    keep: frozenset[str] = frozenset()  # unset names left as written (SkipUnsetEnv for these)
    skip_unset: bool = False
    raw_quotes: bool = False
    raw_escapes: bool = False
    pos: int = 0
    depth: int = 0
    produced: int = 0  # characters substitutions produced so far (MAX_EXPANSION)
    split: bool = True  # also split the result into words (ProcessWords); ProcessWord does not need it

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1 if ch else 0
        return ch


_PLAIN: dict[tuple[str, str], re.Pattern[str]] = {}


def _plain(escape: str, stop: str) -> re.Pattern[str]:
    """A run of characters the lexer copies as they are (cached per escape and stop character)."""
    key = (escape, stop)
    if key not in _PLAIN:
        _PLAIN[key] = re.compile("[^$<'\"" + re.escape(escape + stop) + "]+")
    return _PLAIN[key]


class _Words:
    """Splits the lexer's output into words the way BuildKit's wordsStruct does."""

    __slots__ = ("buf", "in_word", "words")

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.words: list[str] = []
        self.in_word = False

    def add(self, text: str) -> None:
        parts = text.split()
        if text[:1].isspace() or not parts:
            self.flush()
        for i, part in enumerate(parts):
            if i:
                self.flush()
            self.raw(part)
        if text[-1:].isspace():
            self.flush()

    def raw(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def flush(self) -> None:
        if self.in_word and self.buf:
            self.words.append("".join(self.buf))
        self.buf, self.in_word = [], False

    def result(self) -> list[str]:
        if self.buf:
            self.words.append("".join(self.buf))
            self.buf = []
        return self.words


class _NoWords(_Words):
    """Word splitting switched off: ProcessWord and the inside of ${...} only need the joined result."""

    __slots__ = ()

    def add(self, text: str) -> None:
        return None

    def raw(self, text: str) -> None:
        return None


def _stop_on(lx: _Lexer, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
    saved, lx.raw_escapes = lx.raw_escapes, raw_escapes
    try:
        return _stop_on_inner(lx, stop)
    finally:
        lx.raw_escapes = saved


def _stop_on_inner(lx: _Lexer, stop: str) -> tuple[str, list[str]]:
    out: list[str] = []
    words = _Words() if lx.split and lx.depth == 0 else _NoWords()
    plain = _plain(lx.escape, stop)
    while lx.pos < len(lx.text):
        ch = lx.text[lx.pos]
        if stop and ch == stop:
            lx.pos += 1
            return "".join(out), words.result()
        if ch in _SPECIAL:
            piece = _SPECIAL[ch](lx)
            out.append(piece)
            (words.add if ch == "$" else words.raw)(piece)
            continue
        if ch == lx.escape:
            lx.pos += 1
            if lx.raw_escapes:
                words.raw(ch)
                out.append(ch)
            nxt = lx.next()
            if not nxt:
                break
            words.raw(nxt)
            out.append(nxt)
            continue
        m = plain.match(lx.text, lx.pos)
        chunk = m.group(0) if m else lx.next()
        lx.pos = m.end() if m else lx.pos
        words.add(chunk)
        out.append(chunk)
    if stop:
        raise LexError(f"unexpected end of statement while looking for matching {stop}")
    return "".join(out), words.result()


def _single_quote(lx: _Lexer) -> str:
    start = lx.pos
    end = lx.text.find("'", start + 1)
    if end < 0:
        raise LexError("unexpected end of statement while looking for matching single-quote")
    lx.pos = end + 1
    return lx.text[start : end + 1] if lx.raw_quotes else lx.text[start + 1 : end]


def _double_quote(lx: _Lexer) -> str:
    lx.next()
    out = ['"'] if lx.raw_quotes else []
    while True:
        ch = lx.peek()
        if not ch:
            raise LexError("unexpected end of statement while looking for matching double-quote")
        if ch == '"':
            lx.next()
            return "".join(out + (['"'] if lx.raw_quotes else []))
        if ch == "$":
            out.append(_dollar(lx))
            continue
        lx.next()
        if ch == lx.escape:
            if lx.raw_escapes:
                out.append(ch)
            if not lx.peek():
                continue
            if lx.peek() in ('"', "$", lx.escape):
                ch = lx.next()
        out.append(ch)


def _maybe_heredoc(lx: _Lexer) -> str:
    lx.next()
    if lx.peek() != "<":
        return "<"
    lx.next()
    start = lx.pos
    while lx.peek() in (" ", "\t") and lx.peek():
        lx.next()
    return "<<" + lx.text[start : lx.pos]


def _name(lx: _Lexer) -> str:
    ch = lx.peek()
    if ch.isdigit():
        start = lx.pos
        while lx.peek().isdigit():
            lx.next()
        return lx.text[start : lx.pos]
    if ch and ch in "@*#?-$!0":
        return lx.next()
    start = lx.pos
    while lx.peek() and (lx.peek().isalnum() or lx.peek() == "_"):
        lx.next()
    return lx.text[start : lx.pos]


def _lookup(lx: _Lexer, name: str) -> str | None:
    return lx.env.get(name)


def _left_as_written(lx: _Lexer, name: str) -> bool:
    return name not in lx.env and (lx.skip_unset or name in lx.keep)


def _dollar(lx: _Lexer) -> str:
    value = _substitute(lx)
    lx.produced += len(value)
    if lx.produced > MAX_EXPANSION:
        raise LexError(f"substitutions longer than {MAX_EXPANSION} characters")
    return value


def _substitute(lx: _Lexer) -> str:
    start = lx.pos
    lx.next()
    if lx.peek() != "{":
        name = _name(lx)
        if not name:
            return "$"
        return lx.text[start : lx.pos] if _left_as_written(lx, name) else (_lookup(lx, name) or "")
    lx.next()
    ch = lx.peek()
    if not ch:
        raise LexError("syntax error: missing '}'")
    if ch in "{}:":
        raise LexError("syntax error: bad substitution")
    name = _name(lx)
    op = lx.next()
    if op == "}":
        return lx.text[start : lx.pos] if _left_as_written(lx, name) else (_lookup(lx, name) or "")
    return _modifier(lx, start, name, op)


def _modifier(lx: _Lexer, start: int, name: str, op: str) -> str:
    null_is_unset = op == ":"
    if null_is_unset:
        op = lx.next()
    if op not in ("+", "-", "?", "#", "%", "/") or (null_is_unset and op in "#%/"):
        raise LexError(f"unsupported modifier ({':' if null_is_unset else ''}{op}) in substitution")
    if lx.depth >= MAX_NESTING:
        raise LexError("substitution nested too deeply")
    lx.depth += 1
    try:
        word, pattern = _modifier_words(lx, op)
    finally:
        lx.depth -= 1
    if _left_as_written(lx, name):
        return lx.text[start : lx.pos]
    return _apply(name, _lookup(lx, name), op, null_is_unset, word, pattern)


def _modifier_words(lx: _Lexer, op: str) -> tuple[str, str]:
    try:
        if op == "/":
            replace_all = lx.peek() == "/"
            if replace_all:
                lx.next()
            pattern, _ = _stop_on(lx, "/", True)
            word, _ = _stop_on(lx, "}", True)
            return word, ("/" if replace_all else "") + pattern
        word, _ = _stop_on(lx, "}", op in "#%")
        return word, ""
    except LexError:
        if not lx.peek():
            raise LexError("syntax error: missing '}'") from None
        raise


def _apply(name: str, value: str | None, op: str, null_is_unset: bool, word: str, pattern: str) -> str:
    missing = value is None or (null_is_unset and value == "")
    if op == "-":
        return word if missing else (value or "")
    if op == "+":
        return "" if missing else word
    if op == "?":
        if missing:
            raise LexError(
                f"{name}: {word or ('is not allowed to be unset' if value is None else 'is not allowed to be empty')}"
            )
        return value or ""
    if op == "/":
        return _replace(value or "", pattern, word)
    return _trim(value or "", word, op)


def _glob(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise LexError(f"invalid pattern ({pattern}) in substitution")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return "".join(out)


def _replace(value: str, pattern: str, replacement: str) -> str:
    replace_all = pattern.startswith("/")
    regex = re.compile(_glob(pattern[1:] if replace_all else pattern), re.DOTALL)
    return regex.sub(lambda _m: replacement, value, count=0 if replace_all else 1)


def _trim(value: str, word: str, op: str) -> str:
    """${VAR#glob}, ${VAR##glob}, ${VAR%glob}, ${VAR%%glob}: drop the shortest (or longest) matching prefix/suffix."""
    if len(value) > MAX_TRIM:
        raise LexError(f"value longer than {MAX_TRIM} characters for ${{...{op}...}}")
    greedy = word[:1] == op
    regex = re.compile(_glob(word[1:] if greedy else word), re.DOTALL)
    cuts = range(len(value) + 1)
    if op == "#":
        order = reversed(cuts) if greedy else iter(cuts)
        return next((value[i:] for i in order if regex.fullmatch(value, 0, i)), value)
    order = iter(cuts) if greedy else reversed(cuts)
    return next((value[:i] for i in order if regex.fullmatch(value, i)), value)


_SPECIAL = {"$": _dollar, "<": _maybe_heredoc, "'": _single_quote, '"': _double_quote}


def expand_word(
    word: str,
    env: Mapping[str, str],
    *,
    escape: str = "\\",
    keep: frozenset[str] = frozenset(),
    skip_unset: bool = False,
) -> str:
    """BuildKit ProcessWord: quotes removed, $VAR/${VAR...} substituted; raises LexError on bad input.

    Names in `keep` that env lacks stay as written ("$TARGETARCH"), as do all unset names with skip_unset.
    """
    lx = _Lexer(word, env, escape, keep, skip_unset, split=False)
    return _stop_on(lx, "", False)[0]


def split_words(
    line: str,
    env: Mapping[str, str],
    *,
    escape: str = "\\",
    raw_quotes: bool = False,
    raw_escapes: bool = False,
    skip_unset: bool = False,
) -> tuple[str, ...]:
    """BuildKit ProcessWords: the line split into shell words; raises LexError on bad input."""
    lx = _Lexer(line, env, escape, frozenset(), skip_unset, raw_quotes, raw_escapes)
    return tuple(_stop_on(lx, "", raw_escapes)[1])
