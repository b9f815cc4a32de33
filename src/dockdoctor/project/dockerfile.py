"""Pure Dockerfile parser after BuildKit's: stages, ARG defaults, target variables and arch-specific downloads."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from dockdoctor.model import ArchSpecific, ArgDefault, DockerfileFacts, ProbeError, ProbeErrorKind, Stage
from dockdoctor.platforms import TARGET_VARS, normalize_arch
from dockdoctor.project.dockerfile_lex import MAX_EXPANSION, MAX_NESTING, MAX_TRIM, LexError, expand_word, split_words
from dockdoctor.project.dockerfile_scan import (
    MAX_INSTRUCTIONS,
    MAX_LEXED_LINE,
    MAX_LINE,
    Heredoc,
    Instruction,
    Scan,
    parse_heredoc,
    scan,
)

__all__ = [  # the lexer and the scanner live in dockerfile_lex and dockerfile_scan; their API is here too
    "MAX_EXPANSION",
    "MAX_INSTRUCTIONS",
    "MAX_LEXED_LINE",
    "MAX_LINE",
    "MAX_NESTING",
    "MAX_TRIM",
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

MAX_EXPANSION_TOTAL = 4_000_000  # characters all the substitutions of one file may produce
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
