"""fixes/plan.py: the order, the de-duplication and the consent of fix options; fixes in every report format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockdoctor.codec import facts_from_json, fix_result_to_data
from dockdoctor.fixes.plan import option, plan
from dockdoctor.model import (
    Applied,
    EditFile,
    Finding,
    Fix,
    FixResult,
    Location,
    Need,
    Report,
    Safety,
    Severity,
    StepOutcome,
    manual,
    run,
)
from dockdoctor.render import Format, RenderOptions, renderer_for

FACTS = Path(__file__).resolve().parents[2] / "fixtures" / "checks" / "DKD301" / "bad-amd64-only-index-on-arm64.json"

PIN = Fix(
    title="pin the platform in compose.yaml",
    steps=(EditFile(path="compose.yaml", diff="@@ -3 +3,2 @@\n     image: mysql:5.7\n+    platform: linux/amd64\n"),),
)
TAG = Fix(title="use mysql:8.0", steps=(run("sed", "-i", "s/5.7/8.0/", "compose.yaml"),), needs=(Need.REBUILD,))
BINFMT = Fix(
    title="install QEMU handlers",
    steps=(run("docker", "run", "--privileged", "--rm", "tonistiigi/binfmt", "--install", "amd64"),),
    needs=(Need.PRIVILEGED,),
)
WORDS = Fix(title="switch the engine", steps=(manual("turn on Rosetta in Docker Desktop's settings"),))


def _finding(id: str, subject: str, *fixes: Fix, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(
        id=id,
        slug=f"slug-{id.lower()}",
        severity=severity,
        title=f"title of {id}",
        message=f"{subject}: something is wrong",
        subject=subject,
        target="linux/arm64",
        fixes=fixes,
        location=Location(file="compose.yaml", line=3),  # SARIF and annotations show located findings
    )


def _report(*findings: Finding) -> Report:
    facts = facts_from_json(FACTS.read_text(), source=str(FACTS))
    return Report(
        facts=facts, targets=(), findings=findings, checks_run=tuple(f.id for f in findings), dockdoctor_version="0"
    )


def test_items_follow_the_report_and_number_from_one() -> None:
    items = plan(_report(_finding("DKD301", "mysql:5.7", PIN, TAG), _finding("DKD501", "engine", BINFMT)))
    assert [(i.number, i.finding.id, [o.fix.title for o in i.options]) for i in items] == [
        (1, "DKD301", ["pin the platform in compose.yaml", "use mysql:8.0"]),
        (2, "DKD501", ["install QEMU handlers"]),
    ]


def test_findings_without_fixes_are_not_in_the_plan() -> None:
    assert plan(_report(_finding("DKD201", "engine"), _finding("DKD301", "a", TAG))) == plan(
        _report(_finding("DKD301", "a", TAG))
    )
    assert plan(_report(_finding("DKD201", "engine"))) == ()


def test_a_fix_offered_twice_is_offered_once_and_its_worse_alternatives_not_at_all() -> None:
    first = _finding("DKD301", "mysql:5.7", PIN)
    second = _finding("DKD410", "compose.yaml web", PIN, TAG)  # the same edit first, then a second choice
    third = _finding("DKD420", "other", Fix(title="same steps, other title", steps=PIN.steps))
    items = plan(_report(first, second, third))
    assert [(i.number, i.finding.id) for i in items] == [(1, "DKD301")]
    assert [o.fix for o in items[0].options] == [PIN]


def test_a_new_fix_after_a_repeated_one_is_not_offered_but_an_earlier_one_is() -> None:
    items = plan(_report(_finding("DKD301", "a", TAG), _finding("DKD302", "b", BINFMT, TAG, PIN)))
    assert [[o.fix.title for o in i.options] for i in items] == [["use mysql:8.0"], ["install QEMU handlers"]]


@pytest.mark.parametrize(
    ("fix", "runnable", "own_consent"),
    [
        (PIN, True, False),
        (TAG, True, False),
        (BINFMT, True, True),  # privileged: `--yes` alone does not accept it
        (Fix(title="t", steps=PIN.steps, safety=Safety.UNSAFE), True, True),
        (Fix(title="t", steps=PIN.steps, safety=Safety.DISPLAY_ONLY), False, False),
        (WORDS, False, False),  # words only: nothing dockdoctor can run
        (Fix(title="t", steps=(manual("first"), *TAG.steps)), True, False),
    ],
)
def test_what_an_option_needs(fix: Fix, runnable: bool, own_consent: bool) -> None:
    got = option(fix)
    assert (got.fix, got.runnable, got.needs_own_consent) == (fix, runnable, own_consent)


# --------------------------------------------------------------------------- fixes as the user sees them


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_shows_the_fixes(fmt: Format) -> None:
    report = _report(_finding("DKD301", "mysql:5.7", PIN, TAG, WORDS), _finding("DKD501", "engine", BINFMT))
    out = renderer_for(fmt)(report, RenderOptions(verbose=True))
    assert "DKD301" in out and "DKD501" in out
    if fmt in (Format.TEXT, Format.MARKDOWN, Format.JSON):
        for fix in (PIN, TAG, WORDS, BINFMT):
            assert fix.title in out, fmt
        assert "platform: linux/amd64" in out  # the diff itself
        assert "tonistiigi/binfmt" in out  # the argv
    if fmt in (Format.JSON, Format.SARIF):
        json.loads(out)


def test_the_json_of_a_step_names_its_kind() -> None:
    out = json.loads(renderer_for(Format.JSON)(_report(_finding("DKD301", "a", PIN, TAG, WORDS)), RenderOptions()))
    [finding] = out["findings"]
    assert [[s["kind"] for s in f["steps"]] for f in finding["fixes"]] == [["edit"], ["run"], ["manual"]]


def _result(*, fixed: bool) -> FixResult:
    finding = _finding("DKD301", "mysql:5.7", PIN, TAG)
    before = _report(finding)
    after = _report() if fixed else _report(finding)
    outcome = StepOutcome(step=PIN.steps[0], status="applied", detail="compose.yaml")
    return FixResult(
        before=before,
        items=plan(before),
        applied=(Applied(item=1, finding=finding, fix_title=PIN.title, outcomes=(outcome,)),),
        after=after,
    )


def test_a_fix_whose_finding_is_gone_is_ok() -> None:
    result = _result(fixed=True)
    assert result.ok and result.status(result.applied[0].finding) == "fixed" and result.new_findings == ()
    data = fix_result_to_data(result, exit_code=0)
    assert [a["status"] for a in data["applied"]] == ["fixed"]
    assert data["plan"][0]["options"][0]["fix"]["title"] == PIN.title
    assert data["after"]["findings"] == [] and data["interrupted"] is False


def test_a_fix_whose_finding_stays_is_not_ok() -> None:
    result = _result(fixed=False)
    assert not result.ok and result.status(result.applied[0].finding) == "still present"
    assert [a["status"] for a in fix_result_to_data(result, exit_code=1)["applied"]] == ["still present"]


def test_an_interrupted_fix_is_not_checked_again() -> None:
    finding = _finding("DKD301", "mysql:5.7", PIN)
    before = _report(finding)
    result = FixResult(before, plan(before), (), None, interrupted=True, interrupted_item=1)
    assert not result.ok and result.status(finding) == "not checked again"
    data = fix_result_to_data(result, exit_code=130)
    assert (data["after"], data["interrupted_item"], data["exit_code"]) == (None, 1, 130)
