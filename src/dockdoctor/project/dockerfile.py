"""Pure Dockerfile parser after BuildKit's: stages, ARG defaults, target variables and arch-specific downloads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from dockdoctor.model import ArchSpecific, ArgDefault, DockerfileFacts, ProbeError, ProbeErrorKind, Stage
from dockdoctor.platforms import TARGET_VARS, normalize_arch

__all__ = [
    "Heredoc",
    "Instruction",
    "LexError",
    "Scan",
    "arch_tokens",
    "expand_word",
    "parse_dockerfile",
    "parse_heredoc",
    "scan",
    "split_words",
]

MAX_INSTRUCTIONS = 10_000
MAX_LINE = 65_535  # bufio.MaxScanTokenSize - 1: BuildKit refuses longer physical lines
MAX_NESTING = 64  # ${a:-${b:-...}} depth; deeper input is pathological
MAX_EXPANSION = 65_536  # characters one substituted word may grow to
MAX_EXPANSION_TOTAL = 4_000_000  # characters all the substitutions of one file may produce
MAX_LEXED_LINE = 262_144  # longer logical lines are searched for heredocs without the shell lexer
MAX_TRIM = 4_096  # ${VAR%pattern} and ${VAR#pattern} try every cut: values longer than this are refused
TEXT_LIMIT = 120
_NO_ARGS: Mapping[str, str] = MappingProxyType({})
PLATFORM_VARS = frozenset(("BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT", *TARGET_VARS))
_INSTRUCTIONS = frozenset(
    (
        "add",
        "arg",
        "cmd",
        "copy",
        "entrypoint",
        "env",
        "expose",
        "from",
        "healthcheck",
        "label",
        "maintainer",
        "onbuild",
        "run",
        "shell",
        "stopsignal",
        "user",
        "volume",
        "workdir",
    )
)
_HEREDOC_CMDS = frozenset(("add", "copy", "run"))
_DIRECTIVE_RE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*")
_DIRECTIVES = frozenset(("syntax", "escape", "check"))
_HEREDOC_RE = re.compile(r"(\d*)<<(-?)\s*([^<]*)", re.DOTALL)
_LOOSE_HEREDOC_RE = re.compile(r"(?<!\S)(\d*<<-?\s*[^\s<]+)")
_PLAIN_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]+")
_WS_RE = re.compile(r"[\t\v\f\r ]+")
_STAGE_NAME_RE = re.compile(r"[a-z][a-z0-9-_.]*")
_TARGET_USE_RE = re.compile(r"\$\{?(TARGETPLATFORM|TARGETOS|TARGETARCH|TARGETVARIANT)(?![A-Za-z0-9_])")
_ARCH_PROBE_RE = re.compile(
    r"uname\s+(?:-[a-z]*m|--machine)|dpkg\s+--print-architecture|apk\s+--print-arch"
    r"|\$\(\s*arch\s*\)|`\s*arch\s*`"
)
_ARCH_TOKEN_RE = re.compile(
    r"(?<![A-Za-z0-9])(x86_64|x86-64|amd64|x64|aarch64|arm64|armv7l?|armhf|i386)(?![A-Za-z0-9])"
    r"|(?<=[-_/])(386)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_ARCH_ALIASES = {"x64": "amd64", "x86-64": "amd64", "armv7": "arm", "armv7l": "arm"}


class LexError(ValueError):
    """A word BuildKit's shell lexer rejects (unterminated quote, bad substitution, ${VAR?} on an unset VAR)."""


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


# ---------------------------------------------------------------- stages (BuildKit instructions/parse.go)


@dataclass(slots=True)
class _StageDraft:
    stage: Stage
    declared: set[str] = field(default_factory=set)
    uses_target: bool = False
    runs: bool = False
    arch: list[ArchSpecific] = field(default_factory=list)


@dataclass(slots=True)
class _State:
    path: str
    build_args: Mapping[str, str]
    escape: str
    env: dict[str, str] = field(default_factory=dict)  # global ARGs as FROM sees them
    args: list[ArgDefault] = field(default_factory=list)
    stages: list[_StageDraft] = field(default_factory=list)
    names: dict[str, int] = field(default_factory=dict)
    error: tuple[int, str] | None = None
    expanded: int = 0  # characters produced by substitution so far (MAX_EXPANSION_TOTAL)

    def fail(self, line: int, message: str) -> None:
        if self.error is None:
            self.error = (line, message)


def _arg_pairs(ins: Instruction, escape: str) -> tuple[tuple[str, str | None], ...]:
    try:
        words = split_words(ins.args, {}, escape=escape, raw_quotes=True, raw_escapes=True, skip_unset=True)
    except LexError:
        words = tuple(ins.args.split())
    pairs = []
    for word in words:
        name, eq, value = word.partition("=")
        pairs.append((name, value if eq else None))
    return tuple(pairs)


def _unquote(value: str, escape: str) -> str:
    try:
        return expand_word(value, {}, escape=escape, skip_unset=True)
    except LexError:
        return value


def _on_arg(st: _State, ins: Instruction) -> None:
    for name, raw in _arg_pairs(ins, st.escape):
        if not name:
            st.fail(ins.line, "ARG names can not be blank")
            continue
        default = None if raw is None else _unquote(raw, st.escape)
        if default is not None:
            st.args.append(ArgDefault(name, default, ins.line, global_scope=not st.stages))
        if st.stages:
            st.stages[-1].declared.add(name)
            continue
        value = st.build_args.get(name)
        if name in PLATFORM_VARS:  # BuildKit sets these from the build's platforms; a default never applies
            continue
        if value is None and raw is not None:
            value = _expand(st, raw, ins.line)
        if value is not None:
            st.env[name] = value


def _expand(st: _State, word: str, line: int) -> str:
    if st.expanded > MAX_EXPANSION_TOTAL:
        st.fail(line, f"substitutions produced more than {MAX_EXPANSION_TOTAL} characters; not expanding further")
        return word
    try:
        value = expand_word(word, st.env, escape=st.escape, keep=PLATFORM_VARS)
    except LexError as exc:
        st.fail(line, f"{_shorten(word)}: {exc}")
        return word
    st.expanded += len(value)
    return value


def _platform_flag(st: _State, ins: Instruction) -> str | None:
    platform = None
    for flag in ins.flags:
        key, eq, value = flag.partition("=")
        if key != "--platform":
            st.fail(ins.line, f"unknown flag: {key}")
        elif not eq:
            st.fail(ins.line, f"missing a value on flag: {key}")
        else:
            platform = value
    return platform


def _on_from(st: _State, ins: Instruction) -> None:
    words = tuple(ins.args.split())
    name = None
    if len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
        if not _STAGE_NAME_RE.fullmatch(name):
            st.fail(
                ins.line,
                f'invalid name for build stage: "{words[2]}", name can\'t start with a number or contain symbols',
            )
    elif len(words) != 1:
        st.fail(ins.line, "FROM requires either one or three arguments")
        if not words:
            return
    platform = _platform_flag(st, ins)
    base = _expand(st, words[0], ins.line)
    index = len(st.stages)
    if not base:
        st.fail(ins.line, f"base name ({words[0]}) should not be blank")
    # BuildKit looks the expanded name up as written among the lower-cased stage names (convert.go addState)
    from_stage = base in st.names or (base.isdigit() and int(base) < index)
    stage = Stage(
        index=index, line=ins.line, base=base, base_raw=words[0], name=name, platform=platform, from_stage=from_stage
    )
    st.stages.append(_StageDraft(stage))
    if name is not None and name not in st.names:
        st.names[name] = index


def _shorten(text: str, *, around: re.Pattern[str] | None = None) -> str:
    """At most TEXT_LIMIT characters; with `around`, the window keeps its first match in view."""
    text = " ".join(text.split())
    if len(text) <= TEXT_LIMIT:
        return text
    match = around.search(text) if around is not None else None
    start = max(0, min(match.start() - TEXT_LIMIT // 2, len(text) - TEXT_LIMIT + 6)) if match else 0
    if start == 0:
        return text[: TEXT_LIMIT - 3] + "..."
    return "..." + text[start : start + TEXT_LIMIT - 6] + "..."


def _full_text(ins: Instruction) -> str:
    return ins.original + "".join("\n" + h.content for h in ins.heredocs)


def arch_tokens(text: str) -> tuple[str, ...]:
    """The normalized architectures named as whole tokens (x64 -> amd64, armhf -> arm), in order, once each."""
    seen: list[str] = []
    for m in _ARCH_TOKEN_RE.finditer(text):
        token = (m.group(1) or m.group(2)).lower()
        arch = normalize_arch(_ARCH_ALIASES.get(token, token))[0]
        if arch not in seen:
            seen.append(arch)
    return tuple(seen)


def _on_stage_instruction(st: _State, ins: Instruction) -> None:
    draft = st.stages[-1]
    draft.runs = draft.runs or ins.cmd == "run"
    text = _full_text(ins)
    used = {m.group(1) for m in _TARGET_USE_RE.finditer(text)}
    if used & draft.declared:
        draft.uses_target = True
    if ins.cmd not in ("run", "add", "copy") or used or _ARCH_PROBE_RE.search(text):
        return
    arches = arch_tokens(text)
    if len(arches) == 1:  # several arches in one instruction is a choice between them, not a pinned download
        draft.arch.append(ArchSpecific(ins.line, arches[0], _shorten(text, around=_ARCH_TOKEN_RE)))


def _dispatch(st: _State, ins: Instruction) -> None:
    if ins.cmd == "arg":
        if st.stages:
            _on_stage_instruction(st, ins)
        _on_arg(st, ins)
    elif ins.cmd == "from":
        _on_from(st, ins)
    elif ins.cmd not in _INSTRUCTIONS:
        st.fail(ins.line, f"unknown instruction: {ins.original.split()[0]}")
    elif not st.stages:
        st.fail(ins.line, "no build stage in current context")
    else:
        _on_stage_instruction(st, ins)


def _finish(st: _State) -> tuple[Stage, ...]:
    last = len(st.stages) - 1
    out = []
    for draft in st.stages:
        s = draft.stage
        out.append(
            Stage(
                s.index,
                s.line,
                s.base,
                s.base_raw,
                s.name,
                s.platform,
                s.from_stage,
                final=s.index == last,
                uses_target_vars=draft.uses_target,
                arch_specific=tuple(draft.arch),
                runs=draft.runs,
            )
        )
    return tuple(out)


def parse_dockerfile(text: str, *, path: str, build_args: Mapping[str, str] = _NO_ARGS) -> DockerfileFacts:
    """Parse a Dockerfile's text; never raises: a syntax problem becomes `error`, with the stages read before it."""
    result = scan(text)
    st = _State(path, build_args, result.escape, env={k: v for k, v in build_args.items() if k in PLATFORM_VARS})
    for ins in result.instructions:
        _dispatch(st, ins)
    errors = [e for e in (result.error, st.error) if e is not None]
    error = min(errors) if errors else None
    problem = None if error is None else ProbeError("project", ProbeErrorKind.PARSE, f"{path}:{error[0]}: {error[1]}")
    return DockerfileFacts(path=path, stages=_finish(st), args=tuple(st.args), error=problem)
