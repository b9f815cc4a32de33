"""Fuzzing the parsers of outside input (hypothesis): no exception escapes but the documented one of each parser.

Bounded: every test has a fixed max_examples and no per-example deadline (a 2-core machine shared with other
runs makes per-example timing noise); the whole file takes well under a minute (the figure is in the report of
the change that added it). The examples come from grammar fragments of each format mixed with arbitrary text, so
they reach the parsers' inner branches, not only their first error.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dockdoctor.errors import DockdoctorError  # noqa: E402

# DOCKDOCTOR_FUZZ_EXAMPLES=5000 (and DOCKDOCTOR_FUZZ_RANDOM=1 for new seeds) explores longer, outside CI.
FUZZ = settings(
    max_examples=int(os.environ.get("DOCKDOCTOR_FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    derandomize=not os.environ.get("DOCKDOCTOR_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FIXTURES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "checks").glob("*/*.json"))

_ANY = st.text(max_size=40)


def _mix(fragments: list[str], *, max_size: int = 30) -> st.SearchStrategy[str]:
    """Texts made of format fragments and arbitrary characters."""
    return st.lists(st.one_of(st.sampled_from(fragments), _ANY), max_size=max_size).map("".join)


DOCKERFILE = _mix(
    [
        "FROM ",
        "--platform=",
        "$BUILDPLATFORM",
        "${TARGETARCH:-amd64}",
        " AS ",
        "ARG ",
        "=",
        "\n",
        "RUN ",
        "<<EOF",
        "EOF",
        "\\\n",
        "# escape=`",
        "# syntax=docker/dockerfile:1",
        "`",
        '"',
        "'",
        "${A/b/c}",
        "${A%%x}",
        "${A:?no}",
        "$",
        "{",
        "}",
        '["sh"]',
        "COPY --from=",
        "ONBUILD ",
        "alpine:3.20",
        "node",
        "x86_64",
        "aarch64",
        "linux/arm64",
        " ",
    ]
)
COMPOSE = _mix(
    [
        "services:\n",
        "  web:\n",
        "    image: ",
        "    platform: ",
        "linux/amd64",
        "    build:\n",
        "      platforms: [",
        "]",
        "      context: .\n",
        "      dockerfile: ",
        "    extends:\n",
        "      service: ",
        "      file: ",
        "x-a: &a\n",
        "  <<: *a\n",
        "*a",
        "&b ",
        "${VAR}",
        "${VAR:?err}",
        "${VAR:-d}",
        "$$",
        "version: '3'\n",
        "\n",
        "  ",
        "- ",
        ": ",
        "{",
        "}",
        "[",
        "'",
        '"',
        "!!str ",
        "? ",
        "---\n",
        "...\n",
        "\t",
    ]
)
DOTENV = _mix(
    [
        "A=",
        "export ",
        "B",
        "=",
        "'",
        '"',
        "\\n",
        "\\",
        "#",
        " # c",
        "\n",
        "${A}",
        "${A:-x}",
        "${A:?e}",
        "$",
        "\ufeff",
        "\r\n",
        " ",
        "\t",
        "=value",
    ]
)
DEVCONTAINER = _mix(
    [
        "{",
        "}",
        '"image"',
        '"build"',
        '"dockerfile"',
        '"dockerComposeFile"',
        '"service"',
        '"runArgs"',
        '["--platform", "linux/amd64"]',
        '"--platform=linux/arm64"',
        ":",
        ",",
        "[",
        "]",
        '"',
        "//",
        "/*",
        "*/",
        "\n",
        " ",
        "null",
        "true",
        "1e999",
        '"\\u0000"',
        "\\",
    ]
)
IGNORE = _mix(
    ["**", "*", "?", "/", "!", "[", "]", "^", "-", "\\", "a", "b", ".", "#", "\n", " ", "\ufeff"], max_size=20
)
TOML_VALUE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=10),
        st.sampled_from(["linux/amd64", "linux/arm64/v8", "error", "warning", "info", "DKD301", "a/b/c/d"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(["targets", "ignore", "severity", "strict", "DKD301", "x"]), st.text(max_size=5)),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
JSON_VALUE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=12),
        st.sampled_from(["linux/amd64", "arm64", "", "sha256:" + "0" * 64, "unknown/unknown", "linux/💥"]),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


@FUZZ
@given(text=DOCKERFILE)
def test_dockerfile_parser_never_raises(text: str) -> None:
    from dockdoctor.project.dockerfile import parse_dockerfile

    parse_dockerfile(text, path="Dockerfile")


@FUZZ
@given(text=COMPOSE, env=st.dictionaries(st.sampled_from(["VAR", "A", "COMPOSE_PROJECT_NAME"]), _ANY, max_size=3))
def test_compose_parser_never_raises(text: str, env: dict[str, str]) -> None:
    from dockdoctor.project.compose import from_config_json, parse_compose, service_lines

    parse_compose([("/p/compose.yaml", text)], env=env)
    service_lines("/p/compose.yaml", text)
    from_config_json(text, files=("/p/compose.yaml",))


@FUZZ
@given(text=DOTENV, lookup=st.dictionaries(st.sampled_from(["A", "B"]), _ANY, max_size=2))
def test_dotenv_parser_raises_only_dotenv_error(text: str, lookup: dict[str, str]) -> None:
    from dockdoctor.project.dotenv import DotenvError, parse_dotenv

    try:
        parse_dotenv(text, path=".env", lookup=lookup)
    except DotenvError:
        pass


@FUZZ
@given(text=DEVCONTAINER)
def test_devcontainer_parser_never_raises(text: str) -> None:
    from dockdoctor.project.devcontainer import parse_devcontainer

    parse_devcontainer(text, path=".devcontainer/devcontainer.json")


@FUZZ
@given(text=IGNORE, paths=st.lists(st.text(alphabet="ab/.x*?[]\\", max_size=12), max_size=4))
def test_dockerignore_raises_only_pattern_error(text: str, paths: list[str]) -> None:
    from dockdoctor.project.dockerignore import PatternError, matches, parse_dockerignore

    try:
        rules = parse_dockerignore(text)
    except PatternError:
        return
    for path in paths:
        matches(path, rules)


@FUZZ
@given(
    data=st.dictionaries(st.sampled_from(["targets", "ignore", "severity", "strict", "other"]), TOML_VALUE, max_size=4)
)
def test_settings_raise_only_config_error(data: dict) -> None:
    from dockdoctor.config import parse_settings

    try:
        parse_settings(data, source=".dockdoctor.toml")
    except DockdoctorError:
        pass


@FUZZ
@given(
    content=st.one_of(
        st.binary(max_size=60),
        _mix(
            [
                "targets = [",
                '"linux/amd64"',
                "]",
                "\n",
                "[tool]",
                "[tool.dockdoctor]",
                "dockdoctor = ",
                "strict = ",
                "true",
                "severity = {",
                "}",
                "=",
                '"',
                "'",
                "\xff",
            ]
        ).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ),
    name=st.sampled_from([".dockdoctor.toml", "pyproject.toml"]),
)
def test_settings_files_raise_only_config_error(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, name: str
) -> None:
    from dockdoctor.console.inputs import load_settings as _load_settings

    folder = tmp_path_factory.mktemp("settings")
    (folder / name).write_bytes(content)
    try:
        _load_settings(str(folder))
    except DockdoctorError:
        pass


@FUZZ
@given(
    text=st.one_of(
        _mix(
            [
                '{"schema_version": 1',
                "}",
                ',"host": {',
                '"os": "linux"',
                '"arch": "amd64"',
                ',"engine": {',
                '"platform": ',
                '"linux/arm64"',
                "[",
                "]",
                ":",
                ",",
                '"',
                "null",
            ]
        ),
        st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
    )
)
def test_facts_text_raises_only_replay_file_error(text: str) -> None:
    from dockdoctor.codec import facts_from_json

    try:
        facts_from_json(text, source="facts.json")
    except DockdoctorError:
        pass


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


@FUZZ
@given(st.data())
def test_replayed_facts_raise_only_dockdoctor_errors(data: st.DataObject) -> None:
    """Real facts files with a few values swapped for arbitrary JSON, replayed as `check --from` does."""
    from dockdoctor import app
    from dockdoctor.codec import facts_from_data

    fixture = data.draw(st.sampled_from(FIXTURES), label="fixture")
    facts = json.loads(fixture.read_text(encoding="utf-8"))
    mutated = copy.deepcopy(facts)
    paths = [p for p in _paths(facts) if p]
    for path in data.draw(st.lists(st.sampled_from(paths), max_size=3), label="paths"):
        node = mutated
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = data.draw(JSON_VALUE, label=str(path))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier swap replaced a parent
    try:
        replay = facts_from_data(mutated, source="facts.json")
    except DockdoctorError:
        return
    try:
        app.check(app.CheckOptions(), replay=replay, replayed_from="facts.json")
    except DockdoctorError:
        pass
