"""The `.env` format: compose-go's dotenv tests and fixtures, ported as data."""

from __future__ import annotations

import pytest

from dockdoctor.project.dotenv import DotenvError, parse_dotenv

# Ported as data from compose-spec/compose-go@e70e961c3a3acebf0800b882f1afb3dbf1fb74a2:
# dotenv/godotenv_test.go, dotenv/parser_test.go, dotenv/godotenv_var_expansion_test.go and dotenv/fixtures/*.env.

FIXTURES: dict[str, str] = {
    "plain.env": "OPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n456 = ABC\nOPTION_F = \n"
    "OPTION_G=\nOPTION_H = my string # Inline comment\n",
    "exported.env": "export OPTION_A=2\nexport OPTION_B='\\n'\n",
    "equals.env": "export OPTION_A='postgres://localhost:5432/database?sslmode=disable'\n\n",
    "quoted.env": "OPTION_A='1'\nOPTION_B='2'\nOPTION_C=''\nOPTION_D='\\n'\nOPTION_E=\"1\"\nOPTION_F=\"2\"\n"
    'OPTION_G=""\nOPTION_H="\\n"\nOPTION_I = "echo \'asd\'" # Inline comment\n'
    "OPTION_J = 'first line\nsecond line\nthird line\nand so on'\nOPTION_K='Let\\'s go!'\n"
    'OPTION_Z = "last value"\n',
    "unquoted.env": 'OPTION_A = "some quoted phrase"\nOPTION_B=first one with an unquoted phrase\n'
    "OPTION_C = then another one with an unquoted phrase\n"
    "OPTION_D = then another one with an unquoted phrase special \u00e8 char\n"
    'OPTION_E = "then another one quoted phrase"\n',
    "substitutions.env": "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\n"
    "OPTION_E=${OPTION_NOT_DEFINED}\n",
    "substitutions-default.env": "OPTION_A=${OPTION_A:-1}\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\n"
    "OPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n",
    "utf8-bom.env": "\ufeffOPTION_A=1\nOPTION_B=2\nOPTION_C= 3\nOPTION_D =4\nOPTION_E = 5\n456 = ABC\nOPTION_F =\n"
    "OPTION_G=\nOPTION_H = my string # Inline comment\n",
    "special.env": "VAR.WITH.DOTS=dots\nVAR_WITH_UNDERSCORES=underscores\nVAR-WITH-DASHES=dashes\n",
    "inherited-multi-var.env": "foo=bar\nVAR_TO_BE_LOADED_FROM_OS_ENV\nbar=baz\n",
    "inherited-single-var.env": "VAR_TO_BE_LOADED_FROM_OS_ENV\n",
    "inherited-not-found.env": "VARIABLE_NOT_FOUND\n",
    "invalid1.env": '# some comments\nfoo="\n  a\n  multine\n  value\n"\nINVALID LINE\nzot=qix',
    "parser_test.env": "\na=b\na[1]=c\na.propertyKey=d\n"
    "\u00e1rv\u00edzt\u0171r\u0151-T\u00dcK\u00d6RF\u00daR\u00d3G\u00c9P="
    "\u00c1RV\u00cdZT\u0170R\u0150-t\u00fck\u00f6rf\u00far\u00f3g\u00e9p\n",
}
PLAIN = {
    "OPTION_A": "1",
    "OPTION_B": "2",
    "OPTION_C": "3",
    "OPTION_D": "4",
    "OPTION_E": "5",
    "456": "ABC",
    "OPTION_F": "",
    "OPTION_G": "",
    "OPTION_H": "my string",
}
SUBSTITUTED = {"OPTION_A": "1", "OPTION_B": "1", "OPTION_C": "1", "OPTION_D": "1_1", "OPTION_E": ""}
INHERITED = {"VAR_TO_BE_LOADED_FROM_OS_ENV": "SOME_RANDOM_VALUE"}

# (fixture, environment lookup, expected subset of the result) from TestReadPlainEnv ... TestDash
FIXTURE_CASES: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
    ("plain.env", {}, PLAIN),
    ("exported.env", {}, {"OPTION_A": "2", "OPTION_B": "\\n"}),
    ("equals.env", {}, {"OPTION_A": "postgres://localhost:5432/database?sslmode=disable"}),
    (
        "quoted.env",
        {},
        {
            "OPTION_A": "1",
            "OPTION_B": "2",
            "OPTION_C": "",
            "OPTION_D": "\\n",
            "OPTION_E": "1",
            "OPTION_F": "2",
            "OPTION_G": "",
            "OPTION_H": "\n",
            "OPTION_I": "echo 'asd'",
            "OPTION_J": "first line\nsecond line\nthird line\nand so on",
            "OPTION_K": "Let's go!",
            "OPTION_Z": "last value",
        },
    ),
    (
        "unquoted.env",
        {},
        {
            "OPTION_A": "some quoted phrase",
            "OPTION_B": "first one with an unquoted phrase",
            "OPTION_C": "then another one with an unquoted phrase",
            "OPTION_D": "then another one with an unquoted phrase special \u00e8 char",
            "OPTION_E": "then another one quoted phrase",
        },
    ),
    ("substitutions.env", {}, SUBSTITUTED),
    (
        "substitutions.env",
        {"OPTION_A": "5"},  # TestSubstitutionsWithEnvFilePrecedence
        {"OPTION_A": "1", "OPTION_B": "5", "OPTION_C": "5", "OPTION_D": "5_5", "OPTION_E": ""},
    ),
    (
        "substitutions-default.env",
        {"OPTION_A": "5"},
        {"OPTION_A": "5", "OPTION_B": "5", "OPTION_C": "5", "OPTION_D": "5_5", "OPTION_E": ""},
    ),
    ("substitutions-default.env", {}, SUBSTITUTED),
    ("utf8-bom.env", {}, PLAIN),
    ("special.env", {}, {"VAR-WITH-DASHES": "dashes", "VAR.WITH.DOTS": "dots", "VAR_WITH_UNDERSCORES": "underscores"}),
    ("inherited-multi-var.env", INHERITED, {**INHERITED, "foo": "bar", "bar": "baz"}),
    ("inherited-single-var.env", INHERITED, INHERITED),
    (
        "parser_test.env",
        {},
        {
            "a": "b",
            "a[1]": "c",
            "a.propertyKey": "d",
            "\u00e1rv\u00edzt\u0171r\u0151-T\u00dcK\u00d6RF\u00daR\u00d3G\u00c9P": (
                "\u00c1RV\u00cdZT\u0170R\u0150-t\u00fck\u00f6rf\u00far\u00f3g\u00e9p"
            ),
        },
    ),
)
EXACT_SIZE = {
    "plain.env": 9,
    "inherited-multi-var.env": 3,
    "inherited-single-var.env": 1,
    "inherited-not-found.env": 0,
    "substitutions.env": 5,
    "parser_test.env": 4,
}

# TestParsing: (line, key, value)
LINES: tuple[tuple[str, str, str], ...] = (
    ("FOO=bar", "FOO", "bar"),
    ("FOO =bar", "FOO", "bar"),
    ("FOO= bar", "FOO", "bar"),
    ('FOO="bar"', "FOO", "bar"),
    ("FOO='bar'", "FOO", "bar"),
    ('FOO="escaped\\"bar"', "FOO", 'escaped"bar'),
    ('FOO="\\"quoted\\""', "FOO", '"quoted"'),
    ("FOO=\"'d'\"", "FOO", "'d'"),
    ("OPTION_A: 1", "OPTION_A", "1"),
    ("OPTION_A: Foo=bar", "OPTION_A", "Foo=bar"),
    ("OPTION_A=1:B", "OPTION_A", "1:B"),
    ("export OPTION_A=2", "OPTION_A", "2"),
    ("export OPTION_B='\\n'", "OPTION_B", "\\n"),
    ("export exportFoo=2", "exportFoo", "2"),
    ("exportFOO=2", "exportFOO", "2"),
    ("export_FOO =2", "export_FOO", "2"),
    ("export.FOO= 2", "export.FOO", "2"),
    ("export\tOPTION_A=2", "OPTION_A", "2"),
    ("  export OPTION_A=2", "OPTION_A", "2"),
    ("\texport OPTION_A=2", "OPTION_A", "2"),
    ('export OPTION_A="export A"', "OPTION_A", "export A"),
    ('FOO="bar\\nbaz"', "FOO", "bar\nbaz"),
    ("FOO=a\\tb", "FOO", "a\\tb"),
    ('FOO="a\\tb"', "FOO", "a\tb"),
    ('KEY="Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z"', "KEY", "Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ"),
    ("FOO.BAR=foobar", "FOO.BAR", "foobar"),
    ("FOO=foobar=", "FOO", "foobar="),
    ("FOO=bar ", "FOO", "bar"),
    ("FOO=bar # this is foo", "FOO", "bar"),
    ("FOO=bar #this is foo", "FOO", "bar"),
    ("FOO=bar #", "FOO", "bar"),
    ("FOO=123#not-an-inline-comment", "FOO", "123#not-an-inline-comment"),
    ('FOO="bar#baz"', "FOO", "bar#baz"),
    ('FOO="bar#baz"#', "FOO", "bar#baz"),
    ('FOO="bar#baz" # comment', "FOO", "bar#baz"),
    ("FOO='bar#baz' # comment", "FOO", "bar#baz"),
    ('FOO="bar#baz#bang" # comment', "FOO", "bar#baz#bang"),
    ('FOO="ba#r"', "FOO", "ba#r"),
    ("FOO='ba#r'", "FOO", "ba#r"),
    ('FOO="bar\\n\\ b\\az"', "FOO", "bar\n\\ b\az"),
    ('FOO="bar\\\\\\n\\ b\\az"', "FOO", "bar\\\n\\ b\az"),
    ('FOO="bar\\\\r\\ b\\az"', "FOO", "bar\\r\\ b\az"),
    ('FOO="bar\\nbaz\\\\"', "FOO", "bar\nbaz\\"),
    ('="value"', "", "value"),
    (" KEY =value", "KEY", "value"),
    ("   KEY=value", "KEY", "value"),
    ("\tKEY=value", "KEY", "value"),
    ('KEY="\\0123"', "KEY", "S"),
    ('KEY="\\x07"', "KEY", "\\x07"),
    ('KEY="\\u12e4"', "KEY", "\\u12e4"),
    ('KEY="\\U00101234"', "KEY", "\\U00101234"),
    # TestParse, TestVariableStringValueSeparator
    ("ONE=1\nTWO='2'\nTHREE = \"3\"", "THREE", "3"),
    (
        'TEST_URLS="stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443"',
        "TEST_URLS",
        "stratum+tcp://stratum.antpool.com:3333\nstratum+tcp://stratum.antpool.com:443",
    ),
)

# TestExpanding and godotenv_var_expansion_test.go: (input, lookup, expected subset)
VAR_ENV = {"EMPTY_VAR": "", "TEST_VAR": "Test Value"}
EXPANDING: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
    ("FOO=test\nBAR=$FOO", {}, {"FOO": "test", "BAR": "test"}),
    ("FOO=test\nBAR=${FOO}bar", {}, {"FOO": "test", "BAR": "testbar"}),
    ("BAR=$FOO", {}, {"BAR": ""}),
    ('FOO=test\nBAR="quote $FOO"', {}, {"FOO": "test", "BAR": "quote test"}),
    ("BAR='quote $FOO'", {}, {"BAR": "quote $FOO"}),
    ('FOO="foo\\$BAR"', {}, {"FOO": "foo$BAR"}),
    ('FOO="foo\\${BAR}"', {}, {"FOO": "foo${BAR}"}),
    ('FOO=test\nBAR="foo\\${FOO} ${FOO}"', {}, {"FOO": "test", "BAR": "foo${FOO} test"}),
    ("TEST=$ME", {"ME": "YES"}, {"TEST": "YES"}),  # TestExpandingEnvironmentWithLookup
    ("RESULT=${UNSET_VAR:-Default Value}", VAR_ENV, {"RESULT": "Default Value"}),
    ("RESULT=${EMPTY_VAR:-Default Value}", VAR_ENV, {"RESULT": "Default Value"}),
    ("RESULT=${TEST_VAR:-Default Value}", VAR_ENV, {"RESULT": "Test Value"}),
    ("RESULT=${UNSET_VAR-Default Value}", VAR_ENV, {"RESULT": "Default Value"}),
    ("RESULT=${EMPTY_VAR-Default Value}", VAR_ENV, {"RESULT": ""}),
    ("RESULT=${TEST_VAR-Default Value}", VAR_ENV, {"RESULT": "Test Value"}),
    ("RESULT=${TEST_VAR:?Default Value}", VAR_ENV, {"RESULT": "Test Value"}),
    ("RESULT=${EMPTY_VAR?Test error}", VAR_ENV, {"RESULT": ""}),
    ("RESULT=${TEST_VAR?Default Value}", VAR_ENV, {"RESULT": "Test Value"}),
    # TestMultipleFiles (one file at a time; the environment wins over earlier keys)
    (
        'ENV_HOSTNAME=localhost\nENV_MY_URL="http://${ENV_HOSTNAME}"',
        {},
        {"ENV_HOSTNAME": "localhost", "ENV_MY_URL": "http://localhost"},
    ),
    (
        'ENV_HOSTNAME=localhost\nENV_MY_URL="http://${ENV_HOSTNAME}"',
        {"ENV_HOSTNAME": "host.local"},
        {"ENV_HOSTNAME": "localhost", "ENV_MY_URL": "http://host.local"},
    ),
)

# TestErrorIfEmptyOrUnset, TestErrorIfUnset, TestUnterminatedQuotes, TestParsing's bad line, TestParseVariable
ERRORS: tuple[tuple[str, str], ...] = (
    ("RESULT=${UNSET_VAR:?Test error}", "required variable UNSET_VAR is missing a value: Test error"),
    ("RESULT=${EMPTY_VAR:?Test error}", "required variable EMPTY_VAR is missing a value: Test error"),
    ("RESULT=${UNSET_VAR?Test error}", "required variable UNSET_VAR is missing a value: Test error"),
    ('KEY="', "unterminated quoted value"),
    ('KEY="value', "unterminated quoted value"),
    ('KEY="value\\"', "unterminated quoted value"),
    ("KEY=\"value'", "unterminated quoted value"),
    ("KEY='", "unterminated quoted value"),
    ("KEY='value", "unterminated quoted value"),
    ("KEY='value\\'", "unterminated quoted value"),
    ("KEY='value\"", "unterminated quoted value"),
    ("lol$wut", "unexpected character '$' in variable name 'lol$wut'"),
    ("%!(EXTRA string)=foo", "unexpected character '%' in variable name '%!(EXTRA string)=foo'"),
)

# TestLinesToIgnore
IGNORED: tuple[str, ...] = ("\n", "\r\n", "\t\t ", "# Comment", "\t # comment")


def _as_dict(text: str, lookup: dict[str, str] | None = None) -> dict[str, str]:
    return {name: value for name, value, _ in parse_dotenv(text, path=".env", lookup=lookup)}


@pytest.mark.parametrize(("fixture", "lookup", "expected"), FIXTURE_CASES)
def test_compose_go_fixtures(fixture: str, lookup: dict[str, str], expected: dict[str, str]) -> None:
    got = _as_dict(FIXTURES[fixture], lookup)
    assert {key: got.get(key) for key in expected} == expected
    if fixture in EXACT_SIZE:
        assert len(got) == EXACT_SIZE[fixture]


def test_inherited_not_found_is_left_undefined() -> None:
    assert _as_dict(FIXTURES["inherited-not-found.env"]) == {}


@pytest.mark.parametrize(("text", "key", "value"), LINES)
def test_compose_go_parsing(text: str, key: str, value: str) -> None:
    assert _as_dict(text)[key] == value


@pytest.mark.parametrize(("text", "lookup", "expected"), EXPANDING)
def test_compose_go_expanding(text: str, lookup: dict[str, str], expected: dict[str, str]) -> None:
    got = _as_dict(text, lookup)
    assert {key: got.get(key) for key in expected} == expected


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_compose_go_errors(text: str, message: str) -> None:
    with pytest.raises(DotenvError, match=r"^\.env:1: ") as caught:
        parse_dotenv(text, path=".env", lookup=VAR_ENV)
    assert message in str(caught.value)


@pytest.mark.parametrize("text", IGNORED)
def test_compose_go_lines_to_ignore(text: str) -> None:
    assert parse_dotenv(text, path=".env") == ()


def test_compose_go_error_line_after_multiline_value() -> None:  # TestErrorParsing
    with pytest.raises(DotenvError, match=r"^invalid1\.env:7: key 'INVALID LINE' cannot contain a space"):
        parse_dotenv(FIXTURES["invalid1.env"], path="invalid1.env")


def test_memory_and_time_are_linear() -> None:  # TestMemoryExplosion
    text = "\n".join(f"KEY{i}=VALUE{i}" for i in range(20000))
    assert len(parse_dotenv(text, path=".env")) == 20000


def test_lines_are_reported_and_the_last_definition_wins() -> None:
    text = "# header\nA=1\n\nB='x\ny'\nexport C=3 # c\nA=2\n"
    assert parse_dotenv(text, path=".env") == (("B", "x\ny", 4), ("C", "3", 6), ("A", "2", 7))
    text = "DOCKER_DEFAULT_PLATFORM=linux/amd64\nCOMPOSE_FILE=a.yaml:b.yaml\n"
    assert parse_dotenv(text, path=".env") == (
        ("DOCKER_DEFAULT_PLATFORM", "linux/amd64", 1),
        ("COMPOSE_FILE", "a.yaml:b.yaml", 2),
    )
