"""The catalog's promises: stable unique codes in their ranges, kebab-case slugs, documented sections."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import SRC

from dockdoctor.checks import ALL_CHECKS, HOMES, RETIRED, home, lookup
from dockdoctor.docs import catalog_markdown, explain
from dockdoctor.errors import UnknownCheckError

SECTIONS = ("## What it checks", "## Why it matters", "## Example", "## Fix", "## Facts used")
RANGES = {
    "meta": "DKD0",
    "host": "DKD1",
    "engine": "DKD2",
    "images": "DKD3",
    "errors": "DKD32",
    "compose": "DKD4",
    "build": "DKD5",
    "defects": "DKD53",
    "emulated": "DKD54",
    "fleet": "DKD23",
    "kube": "DKD24",
    "deep": "DKD34",
    "project": "DKD6",
    "pins": "DKD62",
    "workflows": "DKD7",
    "suppressions": "DKD719",
    "natives": "DKD63",
}
ROOT = Path(__file__).resolve().parents[2]


def test_codes_are_unique_sorted_and_well_formed() -> None:
    ids = [s.id for s in ALL_CHECKS]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"DKD\d{3}", i) for i in ids)
    assert not set(ids) & set(RETIRED)


def test_slugs_are_unique_kebab_case() -> None:
    slugs = [s.slug for s in ALL_CHECKS]
    assert len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s) for s in slugs)


@pytest.mark.parametrize("spec", ALL_CHECKS, ids=lambda s: s.id)
def test_check_lives_in_its_range_and_is_documented(spec) -> None:
    module = spec.func.__module__.rsplit(".", 1)[-1]
    assert spec.id.startswith(RANGES[module])
    doc = spec.doc
    title = doc.splitlines()[0]
    assert title and not title.endswith(".")
    for section in SECTIONS:
        assert section in doc, f"{spec.id} lacks {section}"
    assert "fixtures/checks/" + spec.id in doc, f"{spec.id}'s example must name its fixture"


@pytest.mark.parametrize("spec", ALL_CHECKS, ids=lambda s: s.id)
def test_lookup_by_code_or_slug(spec) -> None:
    assert lookup(spec.id) is spec
    assert lookup(spec.slug) is spec
    assert lookup(spec.id.lower()) is spec


@pytest.mark.parametrize("spec", ALL_CHECKS, ids=lambda s: s.id)
def test_check_lives_where_homes_says(spec) -> None:
    assert home(spec.id) == spec.func.__module__.rsplit(".", 1)[-1]
    assert {module: prefix for prefix, module in HOMES} == RANGES


def test_lookup_by_code_imports_only_that_range() -> None:
    """`inspect` names its checks by code: it loads their modules, never the whole catalog."""
    code = """if True:
        import sys
        import dockdoctor.checks as checks
        from dockdoctor.app import IMAGE_CHECKS, select_checks
        chosen = select_checks(IMAGE_CHECKS, ())
        assert "ALL_CHECKS" not in vars(checks)
        loaded = sorted(m.rsplit(".", 1)[-1] for m in sys.modules if m.startswith("dockdoctor.checks."))
        print(" ".join(s.id for s in chosen))
        print(" ".join(m for m in loaded if not m.startswith("_")))
        assert all(s is next(a for a in checks.ALL_CHECKS if a.id == s.id) for s in chosen)
    """
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    ids, modules = out.splitlines()
    assert ids.split() == [s.id for s in ALL_CHECKS if s.id in ids.split()] == sorted(ids.split())
    assert modules.split() == ["deep", "engine", "images"]


def test_unknown_check_is_a_clear_error() -> None:
    with pytest.raises(UnknownCheckError, match="no check named 'DKD999'"):
        lookup("DKD999")


def test_explain_is_the_docstring_with_a_header() -> None:
    spec = lookup("DKD201")
    text = explain(spec)
    assert text.startswith("DKD201 engine-unreachable\ndefault severity: error; fixable: sometimes\n")
    assert spec.doc in text


def test_generated_docs_are_current() -> None:
    committed = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert committed == catalog_markdown(), "run `dockdoctor explain --all > docs/checks.md`"
