"""Table tests for the pure Dockerfile parser: BuildKit's and hadolint's tables as data, plus dockdoctor's own cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockdoctor.model import ArchSpecific, ArgDefault, DockerfileFacts, ProbeError, Stage
from dockdoctor.project import dockerfile_lex, dockerfile_scan
from dockdoctor.project.dockerfile import (
    MAX_INSTRUCTIONS,
    Heredoc,
    LexError,
    arch_tokens,
    expand_word,
    parse_dockerfile,
    parse_heredoc,
    scan,
    split_words,
)

DATA = Path(__file__).resolve().parent / "data"
BUILDKIT = "moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31"
HADOLINT = "hadolint/hadolint@8f936c5e975d3663b3cce4ac5b3baa3db26b8516"


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def parse(text: str, **build_args: str) -> DockerfileFacts:
    return parse_dockerfile(text, path="Dockerfile", build_args=build_args)


# ---------------------------------------------------------------- BuildKit parser testfiles
# moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31 frontend/dockerfile/parser/testfiles/*/Dockerfile + result,
# stored as data in data/buildkit_testfiles.json (each AST dump line reduced to command, flags and quoted values).

TESTFILES = load("buildkit_testfiles.json")["cases"]
_LIST_FORM = ("run", "cmd", "entrypoint", "shell")
_SPLIT_FORM = ("from", "copy", "add", "volume")


def _values(cmd: str, args: str, exec_form: tuple[str, ...] | None) -> list[str] | None:
    if cmd in _LIST_FORM:
        return list(exec_form) if exec_form is not None else [args]
    if cmd in _SPLIT_FORM:
        return list(exec_form) if exec_form is not None else args.split()
    return None


@pytest.mark.parametrize("case", TESTFILES, ids=[c["name"] for c in TESTFILES])
def test_buildkit_testfiles(case: dict) -> None:
    result = scan(case["dockerfile"])
    assert result.error is None
    assert [i.cmd for i in result.instructions] == [e["cmd"] for e in case["instructions"]]
    for ins, want in zip(result.instructions, case["instructions"], strict=True):
        assert list(ins.flags) == want["flags"], ins.original
        values = _values(ins.cmd, ins.args, ins.json)
        if values is not None:
            assert values == want["values"], ins.original


@pytest.mark.parametrize("case", TESTFILES, ids=[c["name"] for c in TESTFILES])
def test_buildkit_testfiles_never_raise(case: dict) -> None:
    facts = parse_dockerfile(case["dockerfile"], path=f"{case['name']}/Dockerfile")
    froms = sum(1 for i in case["instructions"] if i["cmd"] == "from")
    assert len(facts.stages) == froms
    if froms:
        assert facts.stages[-1].final
    else:  # the jeztah-* files hold a lone CMD, which BuildKit's instruction layer rejects
        assert facts.error is not None and "no build stage in current context" in facts.error.detail


# moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31 frontend/dockerfile/parser/testfiles-negative/*/Dockerfile
# (TestParseErrorCases); env_no_value and shykes-nested-json fail in BuildKit's instruction layer, which checks ENV
# and CMD arguments that dockdoctor does not read, so only the parser-level failures must be errors here.
MISC = load("buildkit_parser_misc.json")
NEGATIVE_PARSER_ERRORS = {"empty_dockerfile": "file with no instructions", "only_comments": "file with no instructions"}


@pytest.mark.parametrize("case", MISC["negative"], ids=[c["name"] for c in MISC["negative"]])
def test_buildkit_negative_testfiles(case: dict) -> None:
    facts = parse_dockerfile(case["dockerfile"], path="Dockerfile")
    if case["name"] in NEGATIVE_PARSER_ERRORS:
        assert facts.error is not None and NEGATIVE_PARSER_ERRORS[case["name"]] in facts.error.detail
    elif case["name"] == "shykes-nested-json":
        assert facts.error is not None and "no build stage" in facts.error.detail


def test_buildkit_line_numbers() -> None:
    # moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31 frontend/dockerfile/parser/testfile-line/Dockerfile,
    # TestParseIncludesLineNumbers in parser_test.go: children span lines 5-5, 11-12 and 17-31.
    result = scan(MISC["line_info"]["dockerfile"])
    assert [[i.line, i.end_line] for i in result.instructions] == MISC["line_info"]["expected"]


def test_buildkit_empty_continuation_lines() -> None:
    # moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31 parser_test.go TestParseWarnsOnEmptyContinutationLine.
    text = (
        "\nFROM alpine:3.6\n\nRUN valid \\\n    continuation\n\nRUN something \\\n\n    following \\\n\n"
        "    more\n\nRUN another \\\n\n    thing\n\nRUN non-indented \\\n# this is a comment\n   after-comment\n\n"
        "RUN indented \\\n    # this is an indented comment\n    comment\n\t"
    )
    lines = [i.original for i in scan(text).instructions]
    assert lines == [
        "FROM alpine:3.6",
        "RUN valid     continuation",
        "RUN something     following     more",
        "RUN another     thing",
        "RUN non-indented    after-comment",
        "RUN indented     comment",
    ]


def test_buildkit_line_too_long() -> None:
    # moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31 parser_test.go TestParseReturnsScannerErrors.
    facts = parse(f"\n\t\tFROM image\n\t\tLABEL test={'a' * 65536}\n")
    assert facts.error is not None
    assert facts.error.detail == "Dockerfile:3: dockerfile line greater than max allowed size of 65535"
    assert [s.base for s in facts.stages] == ["image"]


# ---------------------------------------------------------------- heredocs
# moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31 frontend/dockerfile/parser/parser_heredoc_test.go
# TestParseExtractsHeredoc: (instruction, heredocs as (name, content, expand, chomp, fd)).
HEREDOC_DOCKERFILE = """
FROM alpine:3.6

ENV NAME=me

RUN ls

USER <<INVALID
INVALID

RUN <<EMPTY
EMPTY

RUN 3<<EMPTY2
EMPTY2

RUN "<<NOHEREDOC"

RUN <<INDENT
\tfoo
\tbar
INDENT

RUN <<-UNINDENT
\tbaz
\tquux
UNINDENT

RUN <<-UNINDENT2
\tbaz
\tquux
\tUNINDENT2

RUN <<-EXPAND
\texpand $NAME
EXPAND

RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND

RUN <<COPY
echo hello world
echo foo bar
COPY

RUN <<COMMENT
# internal comment
echo hello world
echo foo bar # trailing comment
COMMENT

RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT

COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2

COPY <<EOF /quotes
"foo"
'bar'
EOF

COPY <<X <<Y /dest
Y
X
X
Y

RUN <<COMPLEX python3
print('hello world')
COMPLEX

COPY <<file.txt /dest
hello world
file.txt

RUN <<eo'f'
echo foo
eof

RUN <<eo\\'f
echo foo
eo'f

RUN <<'e'o\\'f
echo foo
eo'f

RUN <<'one two'
echo bar
one two

RUN <<$EOF
$EOF

RUN <<  EOF
EOF

RUN <<  EOF  > foo
EOF
\t"""
HEREDOC_EXPECTED: tuple[tuple[tuple[str, str, bool, bool, int], ...], ...] = (
    (),  # ENV NAME=me
    (),  # RUN ls
    (),  # USER <<INVALID
    (),  # INVALID
    (("EMPTY", "", True, False, 0),),
    (("EMPTY2", "", True, False, 3),),
    (),  # RUN "<<NOHEREDOC"
    (("INDENT", "\tfoo\n\tbar\n", True, False, 0),),
    (("UNINDENT", "\tbaz\n\tquux\n", True, True, 0),),
    (("UNINDENT2", "\tbaz\n\tquux\n", True, True, 0),),
    (("EXPAND", "\texpand $NAME\n", True, True, 0),),
    (("NOEXPAND", "\tdon't expand $NAME\n", False, True, 0),),
    (("COPY", "echo hello world\necho foo bar\n", True, False, 0),),
    (("COMMENT", "# internal comment\necho hello world\necho foo bar # trailing comment\n", True, False, 0),),
    (("MOUNT", "echo hello\n", True, False, 0),),
    (("FILE1", "content 1\n", True, False, 0), ("FILE2", "content 2\n", True, False, 0)),
    (("EOF", "\"foo\"\n'bar'\n", True, False, 0),),
    (("X", "Y\n", True, False, 0), ("Y", "X\n", True, False, 0)),
    (("COMPLEX", "print('hello world')\n", True, False, 0),),
    (("file.txt", "hello world\n", True, False, 0),),
    (("eof", "echo foo\n", False, False, 0),),
    (("eo'f", "echo foo\n", True, False, 0),),
    (("eo'f", "echo foo\n", False, False, 0),),
    (("one two", "echo bar\n", False, False, 0),),
    (("$EOF", "", True, False, 0),),
    (("EOF", "", True, False, 0),),
    (("EOF", "", True, False, 0),),
)


def test_buildkit_heredocs() -> None:
    result = scan(HEREDOC_DOCKERFILE)
    assert result.error is None
    got = [tuple((h.name, h.content, h.expand, h.chomp, h.fd) for h in i.heredocs) for i in result.instructions[1:]]
    assert got == list(HEREDOC_EXPECTED)


def test_buildkit_json_form_has_no_heredoc() -> None:
    # parser_heredoc_test.go TestParseJSONHeredoc
    result = scan('\nFROM alpine:3.6\n\nRUN ["whoami"]\nRUN ["<<EOF"]\nRUN ["<<\'EOF\'"]\n\t')
    assert [i.heredocs for i in result.instructions[1:]] == [(), (), ()]
    assert result.instructions[2].json == ("<<EOF",)


# parser_heredoc_test.go TestParseHeredocHelpers: valid (name EOF), invalid (lexer error), not heredocs.
VALID_HEREDOCS = ("<<EOF", "<<'EOF'", '<<"EOF"', "<<-EOF", "<<-'EOF'", '<<-"EOF"', '<<EO"F"', "<< EOF", "<<- EOF")
INVALID_HEREDOCS = ("<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"')
NOT_HEREDOCS = ("", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh")


@pytest.mark.parametrize("word", VALID_HEREDOCS)
def test_buildkit_heredoc_valid(word: str) -> None:
    doc = parse_heredoc(word)
    assert doc is not None and doc.name == "EOF"


@pytest.mark.parametrize("word", INVALID_HEREDOCS)
def test_buildkit_heredoc_invalid(word: str) -> None:
    with pytest.raises(LexError):
        parse_heredoc(word)


@pytest.mark.parametrize("word", NOT_HEREDOCS)
def test_buildkit_not_heredoc(word: str) -> None:
    assert parse_heredoc(word) is None


# parser_heredoc_test.go TestHeredocsFromLine: (line, heredoc names). The Go test only compares the heredocs it
# finds, so its "RUN <<- EOF" row passes with none: the line lexer splits "<<-" from "EOF", and so does this parser.
HEREDOCS_FROM_LINE = (
    ("RUN <<EOF", ("EOF",)),
    ("RUN <<-EOF", ("EOF",)),
    ("RUN <<- EOF", ()),
    ("RUN << -EOF", ("-EOF",)),
    ("RUN <<'EOF'", ("EOF",)),
    ("RUN 4<<EOF", ("EOF",)),
    ("RUN <<EOF <<EOF2", ("EOF", "EOF2")),
    ("RUN '<<EOF'", ()),
    ('RUN "<<EOF"', ()),
)


@pytest.mark.parametrize(("line", "names"), HEREDOCS_FROM_LINE)
def test_buildkit_heredocs_from_line(line: str, names: tuple[str, ...]) -> None:
    body = "".join(f"x\n{n}\n" for n in names)
    result = scan(f"FROM a\n{line}\n{body}")
    assert result.error is None
    assert tuple(h.name for h in result.instructions[1].heredocs) == names


# ---------------------------------------------------------------- word expansion
# moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31 frontend/dockerfile/shell/envVarTest, with the environment
# of lex_test.go TestShellParser4EnvVars; stored in data/buildkit_envvartest.json. W rows are Windows-only.
ENVVAR = load("buildkit_envvartest.json")
ENVVAR_ROWS = [r for r in ENVVAR["rows"] if r[0] in ("A", "U")]


@pytest.mark.parametrize(("tag", "source", "expected"), ENVVAR_ROWS, ids=[r[1] for r in ENVVAR_ROWS])
def test_buildkit_envvartest(tag: str, source: str, expected: str) -> None:
    if expected == "error":
        with pytest.raises(LexError):
            expand_word(source, ENVVAR["env"])
    else:
        assert expand_word(source, ENVVAR["env"]) == expected


# frontend/dockerfile/shell/lex_test.go TestShellParserMandatoryEnvVars: (word, env, result or error text).
MANDATORY = (
    ("${VAR:?message here$ARG}", {"VAR": "plain", "ARG": "x"}, "plain"),
    ("${VAR:?message here$ARG}", {"VAR": "", "ARG": "x"}, LexError("message herex")),
    ("${VAR:?message here$ARG}", {"ARG": "x"}, LexError("message herex")),
    ("${VAR?message here$ARG}", {"VAR": "plain", "ARG": "x"}, "plain"),
    ("${VAR?message here$ARG}", {"VAR": "", "ARG": "x"}, ""),
    ("${VAR?message here$ARG}", {"ARG": "x"}, LexError("message herex")),
)


@pytest.mark.parametrize(("word", "env", "expected"), MANDATORY)
def test_buildkit_mandatory_vars(word: str, env: dict[str, str], expected: str | LexError) -> None:
    if isinstance(expected, LexError):
        with pytest.raises(LexError, match=str(expected)):
            expand_word(word, env)
    else:
        assert expand_word(word, env) == expected


# dockdoctor: the trimming and replacing modifiers BuildKit supports in ${...}, and SkipUnsetEnv / keep.
MODIFIERS = (
    ("${V#*/}", {"V": "linux/arm64/v8"}, "arm64/v8"),
    ("${V##*/}", {"V": "linux/arm64/v8"}, "v8"),
    ("${V%/*}", {"V": "linux/arm64/v8"}, "linux/arm64"),
    ("${V%%/*}", {"V": "linux/arm64/v8"}, "linux"),
    ("${V/arm/ARM}", {"V": "arm/arm"}, "ARM/arm"),
    ("${V//arm/ARM}", {"V": "arm/arm"}, "ARM/ARM"),
    ("golang:${V:-1.22}", {}, "golang:1.22"),
    ("golang:${V:+x}1", {"V": "y"}, "golang:x1"),
)


@pytest.mark.parametrize(("word", "env", "expected"), MODIFIERS)
def test_substitution_modifiers(word: str, env: dict[str, str], expected: str) -> None:
    assert expand_word(word, env) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("img-$TARGETARCH", "img-$TARGETARCH"),
        ("img-${TARGETARCH}", "img-${TARGETARCH}"),
        ("img-${TARGETARCH:-amd64}", "img-${TARGETARCH:-amd64}"),
        ("img-$OTHER", "img-"),
    ],
)
def test_keep_leaves_unset_names_as_written(word: str, expected: str) -> None:
    assert expand_word(word, {}, keep=frozenset({"TARGETARCH"})) == expected


def test_split_words_respects_quotes() -> None:
    assert split_words("a 'b c' \"d e\"", {}) == ("a", "b c", "d e")
    assert split_words("a 'b c'", {}, raw_quotes=True) == ("a", "'b c'")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    word = "${A:-" * 5000 + "x" + "}" * 5000
    with pytest.raises(LexError):
        expand_word(word, {})


# ---------------------------------------------------------------- directives and escape
# dockdoctor cases after moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31 parser/directives_test.go and the
# escape-* testfiles: (text, directives, escape, instruction lines).
DIRECTIVES = (
    ("# syntax=docker/dockerfile:1\nFROM a\n", (("syntax", "docker/dockerfile:1"),), "\\", ("FROM a",)),
    (
        "# escape=`\nFROM a\nRUN echo \\\nRUN x `\n  y\n",
        (("escape", "`"),),
        "`",
        ("FROM a", "RUN echo \\", "RUN x   y"),
    ),
    ("#ESCAPE = `\n# check=skip=all\nFROM a\n", (("escape", "`"), ("check", "skip=all")), "`", ("FROM a",)),
    ("# hello\n# escape=`\nFROM a\nRUN a \\\n b\n", (), "\\", ("FROM a", "RUN a  b")),
    ("\n# escape=`\nFROM a\n", (), "\\", ("FROM a",)),
    ("# unknowndirective=x\n# escape=`\nFROM a\n", (), "\\", ("FROM a",)),
    ("FROM a\n# escape=`\nRUN a \\\n b\n", (), "\\", ("FROM a", "RUN a  b")),
    ("\ufeff# escape=`\nFROM a\n", (("escape", "`"),), "`", ("FROM a",)),
)


@pytest.mark.parametrize(("text", "directives", "escape", "lines"), DIRECTIVES)
def test_directives(text: str, directives: tuple[tuple[str, str], ...], escape: str, lines: tuple[str, ...]) -> None:
    result = scan(text)
    assert result.error is None
    assert result.directives == directives
    assert result.escape == escape
    assert tuple(i.original for i in result.instructions) == lines


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# escape=x\nFROM a\n", "Dockerfile:1: invalid escape token 'x' does not match ` or \\"),
        ("# syntax=a\n# syntax=b\nFROM a\n", "Dockerfile:2: only one syntax parser directive can be used"),
    ],
)
def test_directive_errors(text: str, message: str) -> None:
    facts = parse(text)
    assert facts.error == ProbeError("project", "parse", message)


# ---------------------------------------------------------------- instructions (moby/buildkit instructions)
# moby/buildkit@73ed6825c4b7569379ef89df0aedcdbe64473d31 frontend/dockerfile/instructions/parse_test.go TestErrorCases
# (the cases this parser checks) and parseBuildStageName in parse.go.
INSTRUCTION_ERRORS = (
    ("FROM a\nFOO bar\n", "Dockerfile:2: unknown instruction: FOO"),
    ("FROM a\nfoo bar\n", "Dockerfile:2: unknown instruction: foo"),
    ("FROM --boo a\n", "Dockerfile:1: unknown flag: --boo"),
    ("FROM --platform a\n", "Dockerfile:1: missing a value on flag: --platform"),
    ("FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments"),
    (
        "FROM a AS 1st\n",
        'Dockerfile:1: invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
    ),
    ("RUN x\nFROM a\n", "Dockerfile:1: no build stage in current context"),
    ("ARG E=\nFROM $E\n", "Dockerfile:2: base name ($E) should not be blank"),  # dockerfile2llb convert.go
    ("ARG V=${\nFROM a:$V\n", "Dockerfile:1: ${: syntax error: missing '}'"),
)


@pytest.mark.parametrize(("text", "message"), INSTRUCTION_ERRORS)
def test_instruction_errors(text: str, message: str) -> None:
    facts = parse(text)
    assert facts.error == ProbeError("project", "parse", message)


def test_comments_detection_args() -> None:
    # instructions/parse_test.go TestCommentsDetection: the same Dockerfile, checked for ARG defaults and scopes.
    text = (
        "# foo sets foo\nARG foo=bar\n\n# base defines first stage\nFROM busybox AS base\n# this is irrelevant\n"
        "ARG foo\n# bar defines bar\n# baz is something else\nARG bar baz=123\n"
    )
    facts = parse(text)
    assert facts.error is None
    assert facts.args == (ArgDefault("foo", "bar", 2, global_scope=True), ArgDefault("baz", "123", 10))
    assert facts.stages == (Stage(0, 5, "busybox", "busybox", name="base", final=True),)


# ---------------------------------------------------------------- FROM --platform (hadolint DL3029)
# hadolint/hadolint@8f936c5e975d3663b3cce4ac5b3baa3db26b8516 test/Hadolint/Rule/DL3029Spec.hs (rule in
# src/Hadolint/Rule/DL3029.hs): (Dockerfile, platform as written after flag unquoting, DL3029 catches it).
DL3029 = (
    ("FROM --platform=linux debian:jessie", "linux", True),
    ("FROM debian:jessie", None, False),
    ("FROM --platform=$BUILDPLATFORM debian:jessie", "$BUILDPLATFORM", False),
    ('FROM --platform="$BUILDPLATFORM" debian:jessie', "$BUILDPLATFORM", False),
    ("FROM --platform=${BUILDPLATFORM} debian:jessie", "${BUILDPLATFORM}", False),
    ("FROM --platform=${BUILDPLATFORM:-} debian:jessie", "${BUILDPLATFORM:-}", False),
    ('FROM --platform="${BUILDPLATFORM:-}" debian:jessie', "${BUILDPLATFORM:-}", False),
    ("FROM --platform=$TARGETPLATFORM debian:jessie", "$TARGETPLATFORM", False),
)


@pytest.mark.parametrize(("text", "platform", "pinned"), DL3029)
def test_hadolint_dl3029_platform(text: str, platform: str | None, pinned: bool) -> None:
    facts = parse(text)
    assert facts.error is None
    (stage,) = facts.stages
    assert stage.platform == platform
    assert stage.base == "debian:jessie"
    is_pinned = stage.platform is not None and not any(v in stage.platform for v in ("BUILDPLATFORM", "TARGETPLATFORM"))
    assert is_pinned is pinned


# ---------------------------------------------------------------- dockdoctor's own cases (the edge cases)

GO_CROSS = """\
# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM gcr.io/distroless/static
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
"""

NODE_X64 = """\
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y curl xz-utils \\
 && curl -fsSLO https://nodejs.org/dist/v20.11.0/node-v20.11.0-linux-x64.tar.xz \\
 && tar -xJf node-v20.11.0-linux-x64.tar.xz -C /usr/local --strip-components=1
CMD ["node"]
"""

UNTERMINATED = """\
FROM alpine:3.19 AS base
RUN echo ok

FROM base AS tools
RUN apk add curl

FROM tools
COPY <<EOF /etc/app.conf
key=value
"""


def test_go_cross_compile() -> None:
    facts = parse(GO_CROSS)
    assert facts.error is None
    build, final = facts.stages
    assert build == Stage(
        0, 2, "golang:1.22", "golang:1.22", name="build", platform="$BUILDPLATFORM", uses_target_vars=True, runs=True
    )
    assert final == Stage(1, 8, "gcr.io/distroless/static", "gcr.io/distroless/static", final=True)
    assert facts.args == ()


def test_node_download_is_arch_specific() -> None:
    facts = parse(NODE_X64)
    assert facts.error is None
    (stage,) = facts.stages
    (found,) = stage.arch_specific
    assert (found.line, found.arch) == (2, "amd64")
    assert "node-v20.11.0-linux-x64.tar.xz" in found.text  # the window keeps the architecture in view
    assert len(found.text) <= 120 and found.text.startswith("...") and found.text.endswith("...")


def test_unterminated_heredoc() -> None:
    facts = parse_dockerfile(UNTERMINATED, path="svc/Dockerfile")
    assert facts.error == ProbeError(
        "project", "parse", "svc/Dockerfile:8: unterminated heredoc <<EOF (started at line 8)"
    )
    assert [(s.base, s.name, s.from_stage) for s in facts.stages] == [
        ("alpine:3.19", "base", False),
        ("base", "tools", True),
        ("tools", None, True),
    ]
    assert facts.stages[-1].final


def test_pinned_platform_mysql() -> None:
    (stage,) = parse("FROM --platform=linux/amd64 mysql:5.7\n").stages
    assert stage == Stage(0, 1, "mysql:5.7", "mysql:5.7", platform="linux/amd64", final=True)


def test_targetarch_default_is_recorded() -> None:
    text = "ARG TARGETARCH=amd64\nFROM alpine\nARG TARGETARCH=amd64\nRUN echo $TARGETARCH\n"
    facts = parse(text)
    assert facts.args == (ArgDefault("TARGETARCH", "amd64", 1, global_scope=True), ArgDefault("TARGETARCH", "amd64", 3))
    assert facts.stages[0].uses_target_vars


def test_buildplatform_on_final_stage() -> None:
    facts = parse(
        "FROM golang AS build\nRUN go build\nFROM --platform=$BUILDPLATFORM alpine\nCOPY --from=build /a /a\n"
    )
    assert facts.stages[-1].platform == "$BUILDPLATFORM"
    assert facts.stages[-1].final and not facts.stages[0].final


# (Dockerfile, build args, (base, base_raw) per stage): ARG substitution in FROM.
FROM_SUBSTITUTION = (
    ("ARG V=1.22\nFROM golang:${V}\n", {}, (("golang:1.22", "golang:${V}"),)),
    ("ARG V=1.22\nFROM golang:$V\n", {"V": "1.21"}, (("golang:1.21", "golang:$V"),)),
    ("ARG V\nFROM golang:${V:-1.20}\n", {}, (("golang:1.20", "golang:${V:-1.20}"),)),
    ("ARG V=x\nFROM golang:1${V:+-alpine}\n", {}, (("golang:1-alpine", "golang:1${V:+-alpine}"),)),
    ("ARG V\nFROM golang:1${V:+-alpine}\n", {}, (("golang:1", "golang:1${V:+-alpine}"),)),
    ("FROM golang:$V\n", {"V": "1.21"}, (("golang:", "golang:$V"),)),  # build args need a global ARG
    ("ARG A=x\nARG B=${A}y\nFROM img:$B\n", {}, (("img:xy", "img:$B"),)),
    ("FROM img:$TARGETARCH\n", {}, (("img:$TARGETARCH", "img:$TARGETARCH"),)),
    ("ARG TARGETARCH=amd64\nFROM img:$TARGETARCH\n", {}, (("img:$TARGETARCH", "img:$TARGETARCH"),)),
    ("ARG TARGETARCH=amd64\nFROM img:$TARGETARCH\n", {"TARGETARCH": "arm64"}, (("img:arm64", "img:$TARGETARCH"),)),
    (
        "FROM img:${TARGETOS}-${TARGETARCH}\n",
        {"TARGETOS": "linux", "TARGETARCH": "arm64"},
        (("img:linux-arm64", "img:${TARGETOS}-${TARGETARCH}"),),
    ),
    ("FROM a AS one\nARG V=2\nFROM img:$V\n", {}, (("a", "a"), ("img:", "img:$V"))),  # stage ARGs don't reach FROM
    ("from a as One\nfrom ONE\n", {}, (("a", "a"), ("ONE", "ONE"))),
    ("ARG BASE=build\nFROM a AS build\nFROM ${BASE}\n", {}, (("a", "a"), ("build", "${BASE}"))),
)


@pytest.mark.parametrize(("text", "build_args", "bases"), FROM_SUBSTITUTION)
def test_from_substitution(text: str, build_args: dict[str, str], bases: tuple[tuple[str, str], ...]) -> None:
    facts = parse(text, **build_args)
    assert facts.error is None
    assert tuple((s.base, s.base_raw) for s in facts.stages) == bases


# (Dockerfile, from_stage per stage, name per stage)
FROM_STAGE = (
    ("FROM a AS build\nFROM build\n", (False, True), ("build", None)),
    ("FROM a AS Build\nFROM build\n", (False, True), ("build", None)),
    ("FROM a AS build\nFROM BUILD\n", (False, False), ("build", None)),  # BuildKit matches the name as written
    ("FROM a\nFROM 0\n", (False, True), (None, None)),
    ("FROM a\nFROM 1\n", (False, False), (None, None)),
    ("FROM build\nFROM a AS build\n", (False, False), (None, "build")),
    ("ARG S=build\nFROM a AS build\nFROM $S\n", (False, True), ("build", None)),
)


@pytest.mark.parametrize(("text", "from_stage", "names"), FROM_STAGE)
def test_from_stage(text: str, from_stage: tuple[bool, ...], names: tuple[str | None, ...]) -> None:
    facts = parse(text)
    assert tuple(s.from_stage for s in facts.stages) == from_stage
    assert tuple(s.name for s in facts.stages) == names
    assert tuple(s.final for s in facts.stages) == (False, True)


# (Dockerfile, uses_target_vars of the only stage)
TARGET_VARS = (
    ("FROM a\nARG TARGETARCH\nRUN echo $TARGETARCH\n", True),
    ("FROM a\nARG TARGETPLATFORM\nRUN echo ${TARGETPLATFORM}\n", True),
    ("FROM a\nARG TARGETOS TARGETVARIANT\nRUN echo ${TARGETVARIANT:-v7}\n", True),
    ("FROM a\nRUN echo $TARGETARCH\n", False),  # not declared in the stage: empty at build time
    ("FROM a\nARG TARGETARCH\nRUN echo hi\n", False),  # declared, never used
    ("ARG TARGETARCH\nFROM a\nRUN echo $TARGETARCH\n", False),  # global ARG needs redeclaring in the stage
    ("FROM a\nARG TARGETARCH\nRUN <<EOF\necho $TARGETARCH\nEOF\n", True),
    ("FROM a\nARG TARGETARCH\nENV ARCH=$TARGETARCH\n", True),
    ("FROM a\nARG TARGETARCHX\nRUN echo $TARGETARCHX\n", False),
)


@pytest.mark.parametrize(("text", "uses"), TARGET_VARS)
def test_uses_target_vars(text: str, uses: bool) -> None:
    facts = parse(text)
    assert facts.error is None
    assert facts.stages[0].uses_target_vars is uses


# (instruction after `FROM a`, the (line, arch) pairs found)
ARCH_SPECIFIC = (
    ("RUN curl -LO https://nodejs.org/dist/v20.11.0/node-v20.11.0-linux-x64.tar.xz", ((2, "amd64"),)),
    ("ADD https://github.com/x/y/releases/download/v1/y_1.0_linux_amd64.tar.gz /tmp/", ((2, "amd64"),)),
    ("RUN curl -L https://x.io/rustup/dist/aarch64-unknown-linux-gnu/rustup-init -o r", ((2, "arm64"),)),
    ("RUN wget https://x.io/tool-linux-arm64.zip", ((2, "arm64"),)),
    ("RUN wget https://x.io/tool-x86_64.AppImage", ((2, "amd64"),)),
    ("COPY bin/tool_linux_armv7 /usr/bin/tool", ((2, "arm"),)),
    ("RUN dpkg -i pkg_1.0_armhf.deb", ((2, "arm"),)),
    ("RUN curl -LO https://go.dev/dl/go1.22.0.linux-386.tar.gz", ((2, "386"),)),
    ("RUN apt-get install -y libc6:i386", ((2, "386"),)),
    ("RUN curl -LO https://x.io/tool-linux-${TARGETARCH}.tar.gz", ()),
    ("RUN curl -LO https://x.io/tool-linux-$TARGETARCH-amd64.tar.gz", ()),
    ("RUN curl -LO https://x.io/tool-$(uname -m)-x86_64.tar.gz", ()),
    ("RUN curl -LO https://x.io/tool-$(dpkg --print-architecture).deb  # amd64", ()),
    ("RUN curl -LO https://x.io/tool-`arch`-x86_64", ()),
    ("RUN case $ARCH in amd64) a;; arm64) b;; esac", ()),  # choosing between arches
    ("RUN echo sha256:8664a3bc4b4f", ()),
    ("RUN pip install x64dbg-like wheel-amd64ish", ()),  # not whole tokens
    ("RUN curl -LO https://x.io/v1.386.0/tool.tgz", ()),
    ("ENV URL=https://x.io/tool_linux_amd64.tgz", ()),  # only RUN/ADD/COPY
    ("RUN <<EOF\ncurl -LO https://x.io/tool_linux_amd64.tgz\nEOF", ((2, "amd64"),)),
)


@pytest.mark.parametrize(("instruction", "found"), ARCH_SPECIFIC)
def test_arch_specific(instruction: str, found: tuple[tuple[int, str], ...]) -> None:
    facts = parse(f"FROM a\n{instruction}\n")
    assert facts.error is None
    assert tuple((a.line, a.arch) for a in facts.stages[0].arch_specific) == found


def test_arch_specific_text_includes_heredoc_body() -> None:
    (found,) = parse("FROM a\nRUN <<EOF\ncurl -LO https://x.io/tool_linux_amd64.tgz\nEOF\n").stages[0].arch_specific
    assert found == ArchSpecific(2, "amd64", "RUN <<EOF curl -LO https://x.io/tool_linux_amd64.tgz")


def test_arch_specific_in_later_stage_and_text() -> None:
    facts = parse("FROM a AS one\nRUN true\nFROM b\nRUN   curl  -LO\thttps://x.io/t_linux_amd64.tgz\n")
    assert facts.stages[0].arch_specific == ()
    assert facts.stages[1].arch_specific == (ArchSpecific(4, "amd64", "RUN curl -LO https://x.io/t_linux_amd64.tgz"),)


@pytest.mark.parametrize(
    ("text", "arches"),
    [
        ("node-v20.11.0-linux-x64.tar.xz", ("amd64",)),
        ("_linux_amd64.tar.gz", ("amd64",)),
        ("-aarch64-unknown-linux", ("arm64",)),
        ("x86_64 and arm64 and X64", ("amd64", "arm64")),
        ("armv7l armhf", ("arm",)),
    ],
)
def test_arch_tokens(text: str, arches: tuple[str, ...]) -> None:
    assert arch_tokens(text) == arches


# (Dockerfile, instruction lines) case-insensitive instructions, JSON and shell forms, continuations
FORMS = (
    ('from a\nrun echo hi\nRuN ["echo", "hi"]\n', (("from", None), ("run", None), ("run", ("echo", "hi")))),
    ('FROM a\nCMD ["a", 1]\n', (("from", None), ("cmd", None))),  # not an array of strings: shell form
    ("FROM a\r\nRUN a \\\r\n  b\r\n", (("from", None), ("run", None))),
)


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_forms(text: str, expected: tuple[tuple[str, tuple[str, ...] | None], ...]) -> None:
    result = scan(text)
    assert result.error is None
    assert tuple((i.cmd, i.json) for i in result.instructions) == expected


def test_crlf_continuation_joins() -> None:
    assert scan("FROM a\r\nRUN a \\\r\n  b\r\n").instructions[1].original == "RUN a   b"


def test_heredoc_in_onbuild_and_chomped_terminator() -> None:
    result = scan("FROM a\nONBUILD RUN <<EOF\nx\nEOF\nRUN <<-END\n\tx\n\t\tEND\n")
    assert result.error is None
    assert [h.name for i in result.instructions for h in i.heredocs] == ["EOF", "END"]


def test_instruction_limit() -> None:
    text = "FROM a\n" + "RUN x\n" * (MAX_INSTRUCTIONS + 50) + "FROM b\n"
    facts = parse(text)
    assert len(scan(text).instructions) == MAX_INSTRUCTIONS
    assert [s.base for s in facts.stages] == ["a"]


_BIG = "x" * 60_000
PATHOLOGICAL = (
    "continuations",
    "FROM a\nRUN x \\\n" + "  && curl https://x.io/linux-amd64.tgz \\\n" * 50_000 + "  && true\n",
    "many-stages",
    "".join(f"FROM img{i} AS s{i}\n" for i in range(60_000)),
    "long-lines",
    "FROM a\n" + ("RUN " + "x" * 60_000 + "\n") * 34,
    "one-huge-line",
    "FROM a\nRUN " + "<<A " * 500_000 + "\n",
    "heredocs-continued",
    "FROM a\nRUN " + "<<A \\\n" * 300_000,
    "heredoc-body",
    "FROM a\nRUN <<EOF\n" + "curl https://x/linux-amd64.tgz\n" * 60_000 + "EOF\n",
    "dollars-continued",
    "FROM a\nRUN " + "$a \\\n" * 400_000,
    "quotes",
    "FROM a\nRUN <<EOF " + "'\"" * 30_000 + "\n" + "EOF\n" * 10 + "x\\\n" * 500_000,
    "quoted-words",
    "FROM a\nRUN <<EOF " + "'a' " * 16_000 + "\\\n" + ("'a' " * 16_000 + "\\\n") * 30 + "\nEOF\n",
    "nested-args",
    "ARG A=" + "${A:-" * 10_000 + "}" * 10_000 + "\nFROM a:$A\n" + "#\n" * 500_000,
    "trim",
    f"ARG V={_BIG}\nFROM a:${{V%%*x}}\n" + "#\n" * 500_000,
    "substitution-blowup",
    f"ARG V={_BIG}\n" + ("FROM a:" + "$V" * 30_000 + "\n") * 30,
    "arg-chain",
    f"ARG A={_BIG}\n" + "".join(f"ARG A{i}=$A$A\n" for i in range(100_000)) + "FROM a\n",
    "comments",
    "FROM a\n" + "#\n" * 1_000_000,
    "blank",
    "\n" * 2_000_000,
    "nul",
    "\x00" * 2_000_000,
)


@pytest.mark.parametrize(
    ("name", "text"), list(zip(PATHOLOGICAL[::2], PATHOLOGICAL[1::2], strict=True)), ids=list(PATHOLOGICAL[::2])
)
def test_pathological_input_is_bounded(name: str, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The work grows linearly: lexer steps, lines read and characters handed to a lexer stay within a few per
    input character (quadratic blow-up on 1 MB is a million per character). No clock: a busy machine cannot fail
    it; the parser's speed is measured by bench/dockerfile_speed.py."""
    assert len(text) >= 1_000_000
    work = {"lexer steps": 0, "lines read": 0, "characters lexed": 0}
    peek, read, init = dockerfile_lex._Lexer.peek, dockerfile_scan._Reader.read, dockerfile_lex._Lexer.__init__

    def counted_peek(self: dockerfile_lex._Lexer) -> str:
        work["lexer steps"] += 1
        return peek(self)

    def counted_read(self: dockerfile_scan._Reader) -> str | None:
        work["lines read"] += 1
        return read(self)

    def counted_init(self: dockerfile_lex._Lexer, text: str, *args: object, **kwargs: object) -> None:
        work["characters lexed"] += len(text)
        init(self, text, *args, **kwargs)

    monkeypatch.setattr(dockerfile_lex._Lexer, "peek", counted_peek)
    monkeypatch.setattr(dockerfile_scan._Reader, "read", counted_read)
    monkeypatch.setattr(dockerfile_lex._Lexer, "__init__", counted_init)
    facts = parse_dockerfile(text, path="Dockerfile")
    assert isinstance(facts, DockerfileFacts)
    assert sum(work.values()) <= 4 * len(text), f"{name}: {work} for {len(text)} characters"


def test_parse_never_raises_on_odd_input() -> None:
    for text in (
        "",
        "\x00",
        "FROM",
        "FROM --platform",
        "FROM a AS",
        "ARG",
        "RUN <<",
        "FROM a\nRUN <<'",
        "\\",
        "FROM a\nCOPY <<EOF",
        "FROM ${",
        "ARG x=${y:?boom}\nFROM a:$x",
        "FROM a\nARG =x\n",
    ):
        facts = parse_dockerfile(text, path="Dockerfile")
        assert isinstance(facts, DockerfileFacts)


def test_heredoc_dataclass() -> None:
    assert parse_heredoc("3<<-'E'") == Heredoc("E", "", expand=False, chomp=True, fd=3)
