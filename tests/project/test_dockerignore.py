""".dockerignore matching: moby/patternmatcher's test tables (tests/data/moby_patternmatcher.json), no backtracking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockdoctor.project.dockerignore import (
    PatternError,
    compile_patterns,
    matches,
    parse_dockerignore,
    read_patterns,
    regexp_source,
)

TABLES = json.loads((Path(__file__).parents[1] / "data" / "moby_patternmatcher.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", TABLES["matches"], ids=lambda c: f"{c['pattern']}~{c['text']}")
def test_matches_or_parent_matches(case: dict) -> None:
    assert matches(case["text"], compile_patterns([case["pattern"]])) is case["pass"]


@pytest.mark.parametrize("case", TABLES["multi"], ids=lambda c: f"{c['patterns']}~{c['text']}")
def test_several_patterns(case: dict) -> None:
    assert matches(case["text"], compile_patterns(case["patterns"])) is case["pass"]


@pytest.mark.parametrize("case", TABLES["filepath_match"], ids=lambda c: f"{c['pattern']}~{c['text']}")
def test_filepath_match_table(case: dict) -> None:
    if case["err"]:
        with pytest.raises(PatternError):
            compile_patterns([case["pattern"]])
    else:
        assert matches(case["text"], compile_patterns([case["pattern"]])) is case["match"]


@pytest.mark.parametrize("case", TABLES["compile"], ids=lambda c: c["pattern"])
def test_compile_table(case: dict) -> None:
    (pattern,) = compile_patterns([case["pattern"]])
    assert pattern.kind == case["type"]
    if case["type"] == "regexp":
        assert regexp_source(pattern.tokens) == case["regexp"]


@pytest.mark.parametrize("case", TABLES["named"], ids=lambda c: c["test"])
def test_named_cases(case: dict) -> None:
    if case.get("error"):
        with pytest.raises(PatternError):
            compile_patterns(case["patterns"])
    else:
        assert matches(case["text"], compile_patterns(case["patterns"])) is case["pass"]


def test_read_all() -> None:
    assert read_patterns(TABLES["read_all"]["content"]) == TABLES["read_all"]["expected"]


def test_read_all_strips_a_bom_and_keeps_an_indented_hash() -> None:
    assert read_patterns("\ufeffa\n  # not a comment\n#comment\n") == ["a", "# not a comment"]


def test_stacked_double_stars_do_not_backtrack() -> None:
    """Python's re took 17 s on this pattern (each `**/` was `.*/?`); states stay few, so this is instant."""
    rules = parse_dockerignore("**/**/**/**/**/**/**/**/**/**/**/**/x\n")
    assert not matches("a/" * 200 + "y", rules)
    assert matches("a/" * 200 + "x", rules)
    stars = parse_dockerignore("*a*a*a*a*a*a*a*a*a*a*b\n")
    assert not matches("a" * 3000, stars)
