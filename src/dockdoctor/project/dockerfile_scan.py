"""The Dockerfile line scanner, after BuildKit's frontend/dockerfile/parser/parser.go: directives, comments,
continuation lines, heredocs, flags and the exec form, into instructions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from dockdoctor.project.dockerfile_lex import LexError, split_words

MAX_INSTRUCTIONS = 10_000
MAX_LINE = 65_535  # bufio.MaxScanTokenSize - 1: BuildKit refuses longer physical lines
MAX_LEXED_LINE = 262_144  # longer logical lines are searched for heredocs without the shell lexer
_HEREDOC_CMDS = frozenset(("add", "copy", "run"))
_DIRECTIVE_RE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*")
_DIRECTIVES = frozenset(("syntax", "escape", "check"))
_HEREDOC_RE = re.compile(r"(\d*)<<(-?)\s*([^<]*)", re.DOTALL)
_LOOSE_HEREDOC_RE = re.compile(r"(?<!\S)(\d*<<-?\s*[^\s<]+)")
_PLAIN_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]+")
_WS_RE = re.compile(r"[\t\v\f\r ]+")


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A here-document attached to a RUN/ADD/COPY instruction."""

    name: str
    content: str
    expand: bool = True  # False when the delimiter was quoted
    chomp: bool = False  # <<- strips leading tabs
    fd: int = 0  # 3<<EOF


@dataclass(frozen=True, slots=True)
class Instruction:
    """One logical Dockerfile instruction, continuation lines joined."""

    cmd: str  # lower case
    args: str  # what follows the command and its --flags
    flags: tuple[str, ...]  # --flag=value words, quotes removed
    line: int  # first line, 1-based
    end_line: int
    original: str  # the joined line
    json: tuple[str, ...] | None = None  # the exec-form array, when args is one
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True, slots=True)
class Scan:
    """What the line-level parser read: the instructions, the directives, and the error that stopped it."""

    instructions: tuple[Instruction, ...] = ()
    directives: tuple[tuple[str, str], ...] = ()
    escape: str = "\\"
    error: tuple[int, str] | None = None  # (line, message)


# ---------------------------------------------------------------- line scanner (BuildKit parser/parser.go)


@dataclass(slots=True)
class _Reader:
    lines: list[str]
    escape: str = "\\"
    pos: int = 0  # lines consumed so far == current 1-based line number
    directives: list[tuple[str, str]] = field(default_factory=list)
    directives_done: bool = False

    def read(self) -> str | None:
        if self.pos >= len(self.lines):
            return None
        line = self.lines[self.pos]
        self.pos += 1
        if len(line) > MAX_LINE // 4 and len(line.rstrip("\r\n").encode()) > MAX_LINE:
            raise _ScanError(self.pos, f"dockerfile line greater than max allowed size of {MAX_LINE}")
        return line


class _ScanError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _directive(rd: _Reader, line: str) -> None:
    if rd.directives_done:
        return
    m = _DIRECTIVE_RE.fullmatch(line)
    name = m.group(1).lower() if m else ""
    if name not in _DIRECTIVES:
        rd.directives_done = True
        return
    if any(k == name for k, _ in rd.directives):
        raise _ScanError(rd.pos, f"only one {name} parser directive can be used")
    value = m.group(2) if m else ""
    if name == "escape":
        if value not in ("\\", "`"):
            raise _ScanError(rd.pos, f"invalid escape token '{value}' does not match ` or \\")
        rd.escape = value
    rd.directives.append((name, value))


def _continues(line: str, escape: str) -> tuple[str, bool]:
    """trimContinuationCharacter: (line without the escape, True when the next line continues it)."""
    body = line.rstrip(" \t")
    if not body.endswith(escape):
        return line, False
    if len(body) == 1:
        return "", True
    if body[-2] == escape:
        return line, False
    return body[:-1], True


def _logical_line(rd: _Reader, first: str) -> tuple[str, bool]:
    """Joins continuation lines (comments and blank lines inside are skipped); (line, is_empty)."""
    line = first.rstrip("\r\n").lstrip()
    _directive(rd, line)
    if _is_comment(line):
        return "", True
    body, more = _continues(line, rd.escape)
    if not more and not body:
        return "", True
    parts = [body]
    while more:
        nxt = rd.read()
        if nxt is None:
            break
        raw = nxt.rstrip("\r\n")
        _directive(rd, raw)
        if _is_comment(raw) or not raw.strip():
            continue
        body, more = _continues(raw, rd.escape)
        parts.append(body)
    return "".join(parts), False


def _extract_flags(rest: str, escape: str) -> tuple[str, tuple[str, ...]]:
    """extractBuilderFlags: leading --flag words (quotes and escapes removed) and the remaining text."""
    flags: list[str] = []
    pos = 0
    while True:
        while pos < len(rest) and rest[pos].isspace():
            pos += 1
        if not rest.startswith("--", pos):
            return rest[pos:], tuple(flags)
        word, pos, blank_ok = _flag_word(rest, pos, escape)
        if word == "--":
            return rest[pos:], tuple(flags)
        if word or blank_ok:
            flags.append(word)
        if pos >= len(rest):
            return "", tuple(flags)


def _flag_word(rest: str, pos: int, escape: str) -> tuple[str, int, bool]:
    out: list[str] = []
    quote = ""
    blank_ok = False
    while pos < len(rest):
        ch = rest[pos]
        if not quote and ch.isspace():
            break
        if not quote and ch in "'\"":
            quote, blank_ok = ch, True
        elif quote and ch == quote:
            quote = ""
        elif ch == escape:
            if pos + 1 < len(rest):
                pos += 1
                out.append(rest[pos])
        else:
            out.append(ch)
        pos += 1
    return "".join(out), pos, blank_ok


def _exec_form(args: str) -> tuple[str, ...] | None:
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _heredoc_specs(line: str) -> Iterator[Heredoc]:
    """heredocsFromLine: every `[n]<<[-]WORD` shell word of the line (content not read yet), lazily.

    A logical line longer than MAX_LEXED_LINE (only pathological files have one) is not lexed: its words are
    found by a regular expression that ignores quoting.
    """
    try:
        if len(line) > MAX_LEXED_LINE:
            words: tuple[str, ...] = tuple(m.group(1) for m in _LOOSE_HEREDOC_RE.finditer(line))
        else:
            words = split_words(line, {}, raw_quotes=True, raw_escapes=True, skip_unset=True)
    except LexError:
        return
    for word in words:
        if "<<" not in word:
            continue
        try:
            doc = parse_heredoc(word)
        except LexError:
            doc = None
        if doc is not None:
            yield doc


def parse_heredoc(word: str) -> Heredoc | None:
    """ParseHeredoc: `[n]<<[-]WORD` to a Heredoc (no content), None if not one; LexError for a broken quote."""
    m = _HEREDOC_RE.fullmatch(word)
    if m is None or not m.group(3):
        return None
    chomp, fd = m.group(2) == "-", int(m.group(1) or 0)
    if _PLAIN_NAME_RE.fullmatch(m.group(3)):
        return Heredoc(m.group(3), "", expand=True, chomp=chomp, fd=fd)
    words = split_words(m.group(3), {}, skip_unset=True)
    if len(words) != 1:
        return None
    raw = split_words(m.group(3), {}, raw_quotes=True, skip_unset=True)
    quotes = words[0].count("'") + words[0].count('"')
    raw_quotes = raw[0].count("'") + raw[0].count('"')
    return Heredoc(words[0], "", expand=quotes == raw_quotes, chomp=chomp, fd=fd)


def _read_heredoc(rd: _Reader, doc: Heredoc, start: int) -> Heredoc:
    body: list[str] = []
    while True:
        line = rd.read()
        if line is None:
            raise _ScanError(start, f"unterminated heredoc <<{doc.name} (started at line {start})")
        candidate = line.rstrip("\r\n")
        if (candidate.lstrip("\t") if doc.chomp else candidate) == doc.name:
            return Heredoc(doc.name, "".join(body), doc.expand, doc.chomp, doc.fd)
        body.append(line + "\n")


def _instruction(rd: _Reader, line: str, start: int) -> Instruction:
    parts = _WS_RE.split(line.strip(), maxsplit=1)
    cmd = parts[0].lower()
    args, flags = _extract_flags(parts[1], rd.escape) if len(parts) == 2 else ("", ())
    args = args.strip()
    exec_form = _exec_form(args) if cmd in ("add", "cmd", "copy", "entrypoint", "run", "shell", "volume") else None
    inner = _WS_RE.split(args, maxsplit=1)[0].lower() if cmd == "onbuild" else cmd
    heredocs: tuple[Heredoc, ...] = ()
    if inner in _HEREDOC_CMDS and exec_form is None and "<<" in line:
        heredocs = tuple(_read_heredoc(rd, doc, start) for doc in _heredoc_specs(line))
    return Instruction(cmd, args, flags, start, rd.pos, line, exec_form, heredocs)


def _skip_blank(rd: _Reader) -> None:
    """Skip blank and comment lines fast once the directives are over (2 MB of them must stay cheap)."""
    if not rd.directives_done:
        return
    lines, pos, end = rd.lines, rd.pos, len(rd.lines)
    while pos < end:
        stripped = lines[pos].lstrip()
        if stripped and stripped[0] != "#":
            break
        pos += 1
    rd.pos = pos


def scan(text: str) -> Scan:
    """The line-level parse: directives, escape character, continuations, comments and heredocs."""
    text = text[1:] if text.startswith("\ufeff") else text
    lines = text.split("\n")
    if not lines[-1]:
        lines.pop()
    rd = _Reader(lines)
    out: list[Instruction] = []
    try:
        while len(out) < MAX_INSTRUCTIONS:
            _skip_blank(rd)
            first = rd.read()
            if first is None:
                break
            start = rd.pos
            line, empty = _logical_line(rd, first)
            if not empty and line.strip():
                out.append(_instruction(rd, line, start))
    except _ScanError as exc:
        return Scan(tuple(out), tuple(rd.directives), rd.escape, (exc.line, exc.message))
    if not out:
        return Scan((), tuple(rd.directives), rd.escape, (max(rd.pos, 1), "file with no instructions"))
    return Scan(tuple(out), tuple(rd.directives), rd.escape)
