"""Issue 11's measure: real emulation reports replayed as facts; the expected check names each cause.

`PYTHONPATH=src python bench/emulation_cases.py` prints the figure (cases named / total); this test holds every
case whose cause a check should name to it, through `check --json --from` as a user runs it, and every other
case to a written reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from support.emulation_cases import ROOT, cases, facts_data, named

from dockdoctor.checks import ALL_CHECKS

CASES = cases()


def test_cases_are_real_reports_on_existing_fixtures() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 17
    codes = {spec.id for spec in ALL_CHECKS}
    for case in CASES:
        assert case.source.startswith("https://") and case.report, case.id
        assert (ROOT / case.base).is_file(), case.base
        assert (case.expect in codes) if case.expect else case.why_not, case.id


@pytest.mark.parametrize("case", [c for c in CASES if c.expect], ids=lambda c: c.id)
def test_the_expected_check_names_the_cause(tmp_path: Path, case) -> None:
    path = tmp_path / f"{case.id}.json"
    path.write_text(json.dumps(facts_data(case)))
    args = [a for t in case.targets for a in ("--platform", t)]
    result = dockdoctor("check", "--json", "--from", str(path), *args, env=isolated_env(tmp_path))
    assert result.code in (0, 1) and "Traceback" not in result.stderr, result.stderr
    report = result.json()
    assert named(case, report), (case.expect, case.expect_text, [f["id"] for f in report["findings"]])
