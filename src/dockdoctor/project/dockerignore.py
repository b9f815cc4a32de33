""".dockerignore as Docker reads it (moby/patternmatcher), matched without backtracking.

moby turns each pattern into a Go regular expression (`**/` becomes `(.*/)?`, `*` becomes `[^/]*`) that Go's RE2
engine runs in linear time; Python's `re` backtracks on the same expression (`**/**/**/**/**/**/**/**/x` took 17 s).
Here the pattern becomes the same tokens and runs as a set of states over the path (a Thompson simulation), so a
match costs at most (path length x pattern length) steps. Parsing follows `ignorefile.ReadAll`, pattern checks
follow `filepath.Match`, and the exact/prefix/suffix shortcuts follow `Pattern.compile`, quirks included
(`**file` matches `xfile`). The tables of moby's own tests pass: tests/data/moby_patternmatcher.json.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

_ESCAPED = frozenset(".+()|{}$")  # moby's shouldEscape: regexp specials that are plain characters in a pattern

# token kinds
_LIT, _ONE, _STAR, _DSTAR, _TAIL, _CLASS, _BOL = range(7)

# (_LIT, char) | (_ONE,) | (_STAR,) | (_DSTAR,) | (_TAIL,) | (_CLASS, negated, ranges) | (_BOL,)
Token: TypeAlias = tuple[Any, ...]


class PatternError(ValueError):
    """A pattern Docker refuses (`filepath.ErrBadPattern`, or a lone `!`)."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """One cleaned pattern: how it matches (exact, prefix, suffix or tokens) and whether it is an exception (`!`)."""

    text: str
    exclusion: bool
    kind: str  # "exact" | "prefix" | "suffix" | "regexp"
    tokens: tuple[Token, ...] = ()

    def match(self, path: str) -> bool:
        """Whether the pattern matches `path` itself (moby's Pattern.match)."""
        return self.match_prefixes(path)[-1]

    def match_prefixes(self, path: str) -> list[bool]:
        """For each `/`-separated prefix of `path` (the parent folders, then the path), whether the pattern matches."""
        ends = [i for i, c in enumerate(path) if c == "/"] + [len(path)]
        if self.kind != "regexp":
            return [self._simple(path[:end]) for end in ends]
        return _run(self.tokens, path, ends)

    def _simple(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        suffix = self.text[2:]
        return path.endswith(suffix) or (suffix[:1] == "/" and path == suffix[1:])


def _clean(path: str) -> str:
    """Go's filepath.Clean on a slash path (posixpath.normpath keeps a leading `//`, Go does not)."""
    cleaned = posixpath.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def read_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore file, as moby's ignorefile.ReadAll returns them."""
    patterns = []
    for number, line in enumerate(text.splitlines()):
        if number == 0:
            line = line.removeprefix("\ufeff")
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip()
        if line:
            line = _clean(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
        patterns.append(("!" if invert else "") + line)
    return patterns


def compile_patterns(patterns: Sequence[str]) -> tuple[Pattern, ...]:
    """moby's patternmatcher.New: cleaned patterns, `!` exceptions; raises PatternError for a bad one."""
    out = []
    for raw in patterns:
        text = raw.strip()
        if not text:
            continue
        text = _clean(text)
        exclusion = text.startswith("!")
        if exclusion:
            if len(text) == 1:
                raise PatternError('illegal exclusion pattern: "!"')
            text = text[1:]
        _check(text)
        kind, tokens = _compile(text)
        out.append(Pattern(text=text, exclusion=exclusion, kind=kind, tokens=tokens))
    return tuple(out)


def matches(path: str, patterns: Sequence[Pattern]) -> bool:
    """moby's MatchesOrParentMatches: whether `path` (slash-separated, relative) or a parent folder is ignored.

    The last pattern that matches decides, so `!exception` lines re-include what earlier lines ignored.
    """
    path = _clean(path)
    if path == ".":
        return False
    matched = False
    for pattern in patterns:
        if pattern.exclusion != matched:
            continue  # an inclusion when already matched, or an exclusion when not: nothing to change
        if any(pattern.match_prefixes(path)):
            matched = not pattern.exclusion
    return matched


def parse_dockerignore(text: str) -> tuple[Pattern, ...]:
    """The compiled patterns of a .dockerignore text; raises PatternError where Docker would refuse the file."""
    return compile_patterns(read_patterns(text))


# --- filepath.Match's syntax check -------------------------------------------------------------------------------


def _check(pattern: str) -> None:
    """Raise PatternError where Go's filepath.Match says ErrBadPattern (a malformed class or a trailing `\\`)."""
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            if i + 1 >= n:
                raise PatternError(f"syntax error in pattern {pattern!r}: a trailing \\")
            i += 2
        elif char == "[":
            _, _, i = _class(pattern, i)
        else:
            i += 1


def _class(pattern: str, start: int) -> tuple[bool, tuple[tuple[str, str], ...], int]:
    """Parse `[...]` at `start` the way filepath.Match does: (negated, ranges, index after `]`)."""
    i, n = start + 1, len(pattern)
    negated = i < n and pattern[i] == "^"
    i += negated
    ranges: list[tuple[str, str]] = []
    while True:
        if i < n and pattern[i] == "]" and ranges:
            return negated, tuple(ranges), i + 1
        lo, i = _class_char(pattern, i)
        hi = lo
        if pattern[i] == "-":
            hi, i = _class_char(pattern, i + 1)
        ranges.append((lo, hi))


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    """filepath.Match's getEsc: one (possibly escaped) class character; it must not end the pattern."""
    n = len(pattern)
    if i >= n or pattern[i] in "-]":
        raise PatternError(f"syntax error in pattern {pattern!r}: a malformed [...] class")
    if pattern[i] == "\\":
        i += 1
        if i >= n:
            raise PatternError(f"syntax error in pattern {pattern!r}: a malformed [...] class")
    if i + 1 >= n:
        raise PatternError(f"syntax error in pattern {pattern!r}: an unclosed [...] class")
    return pattern[i], i + 1


# --- Pattern.compile ---------------------------------------------------------------------------------------------


def _compile(pattern: str) -> tuple[str, tuple[Token, ...]]:
    """moby's Pattern.compile: the match type and, for "regexp", the tokens of the regular expression it builds."""
    tokens: list[Token] = []
    kind = "exact"
    i, n, step = 0, len(pattern), 0
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                if i >= n:
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        tokens.append((_TAIL,))
                        kind = "regexp"
                else:
                    tokens.append((_DSTAR,))
                    kind = "regexp"
                if step == 0:
                    kind = "suffix"
            else:
                tokens.append((_STAR,))
                kind = "regexp"
        elif char == "?":
            tokens.append((_ONE,))
            kind = "regexp"
        elif char == "\\":
            if i < n:
                tokens.append((_LIT, pattern[i]))
                i += 1
                kind = "regexp"
            else:
                tokens.append((_LIT, "\\"))
        elif char == "[":
            negated, ranges, i = _class(pattern, i - 1)
            tokens.append((_CLASS, negated, ranges))
            kind = "regexp"
        elif char == "^":
            tokens.append((_BOL,))  # unescaped in moby's regexp: a start-of-text assertion
        else:
            tokens.append((_LIT, char))
        step += 1
    return kind, tuple(tokens) if kind == "regexp" else ()


def regexp_source(tokens: Sequence[Token]) -> str:
    """The Go regular expression moby builds for these tokens (for comparing with moby's compile table)."""
    parts = []
    for token in tokens:
        kind = token[0]
        if kind == _LIT:
            parts.append("\\" + token[1] if token[1] in _ESCAPED or token[1] in "\\*?[]" else token[1])
        elif kind == _ONE:
            parts.append("[^/]")
        elif kind == _STAR:
            parts.append("[^/]*")
        elif kind == _DSTAR:
            parts.append("(.*/)?")
        elif kind == _TAIL:
            parts.append(".*")
        elif kind == _BOL:
            parts.append("^")
        else:
            body = "".join(lo if lo == hi else f"{lo}-{hi}" for lo, hi in token[2])
            parts.append(f"[{'^' if token[1] else ''}{body}]")
    return "^" + "".join(parts) + "$"


# --- the state-set simulation ------------------------------------------------------------------------------------


def _run(tokens: Sequence[Token], path: str, ends: Sequence[int]) -> list[bool]:
    """Whether the tokens match path[:end] for each end, in one left-to-right pass over the path.

    State 2k: about to match token k; state 2k+1: inside the `.*` of a `(.*/)?` at token k. Go's `.` does not match
    a newline; `[^/]` and negated classes do.
    """
    accept = 2 * len(tokens)
    results = []
    states = _closure(tokens, {0}, 0)
    wanted = iter(ends)
    end = next(wanted)
    for pos, char in enumerate(path):
        while end == pos:
            results.append(accept in states)
            end = next(wanted, -1)
        moved: set[int] = set()
        for state in states:
            if state == accept:
                continue
            token = tokens[state // 2]
            kind = token[0]
            if state % 2:  # inside (.*/)?
                if char != "\n":
                    moved.add(state)
                if char == "/":
                    moved.add(state + 1)
            elif kind == _LIT:
                if char == token[1]:
                    moved.add(state + 2)
            elif kind == _ONE:
                if char != "/":
                    moved.add(state + 2)
            elif kind == _STAR:
                if char != "/":
                    moved.add(state)
            elif kind == _TAIL:
                if char != "\n":
                    moved.add(state)
            elif kind == _CLASS:
                inside = any(lo <= char <= hi for lo, hi in token[2])
                if inside != token[1]:
                    moved.add(state + 2)
        states = _closure(tokens, moved, pos + 1)
        if not states:
            break
    while end != -1:
        results.append(end == len(path) and accept in states)
        end = next(wanted, -1)
    return results


def _closure(tokens: Sequence[Token], states: set[int], pos: int) -> set[int]:
    """The states reachable without reading a character: skip `*`, `.*`, an empty `(.*/)?`, `^` at the start."""
    accept = 2 * len(tokens)
    out: set[int] = set()
    todo = list(states)
    while todo:
        state = todo.pop()
        if state in out:
            continue
        out.add(state)
        if state == accept or state % 2:
            continue
        kind = tokens[state // 2][0]
        if kind in (_STAR, _TAIL):
            todo.append(state + 2)
        elif kind == _DSTAR:
            todo += [state + 1, state + 2]
        elif kind == _BOL and pos == 0:
            todo.append(state + 2)
    return out
