"""The fix flow without an engine: consent decides, `q` stops like Ctrl-C between fixes, and what is printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockdoctor import app, codec
from dockdoctor.errors import ExitCode
from dockdoctor.fixes.consent import Answer, Consent
from dockdoctor.fixes.plan import edited_paths, executable, plan
from dockdoctor.model import (
    Applied,
    EditFile,
    Finding,
    Fix,
    FixItem,
    FixOption,
    FixResult,
    Report,
    Safety,
    Severity,
    StepOutcome,
    manual,
    run,
)
from dockdoctor.render.plan import interruption, plan_lines, render_json, render_result, render_undo

MAC = Path(__file__).resolve().parents[2] / "fixtures" / "checks" / "DKD205" / "bad-amd64-default-on-arm64.json"
EDIT = EditFile(path="Dockerfile", diff="--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1 +1 @@\n-FROM a\n+FROM b\n")


def _finding(n: int, *fixes: Fix) -> Finding:
    return Finding(
        id=f"DKD60{n}", slug=f"s{n}", severity=Severity.ERROR, title="t", subject="x", message=f"m{n}", fixes=fixes
    )


def _report(*findings: Finding) -> Report:
    facts = codec.facts_from_json(MAC.read_text(), source=str(MAC))
    return Report(facts=facts, targets=(), findings=findings, checks_run=(), dockdoctor_version="0")


BEFORE = _report(
    _finding(1, Fix(title="edit it", steps=(EDIT,))),
    _finding(2, Fix(title="run it", steps=(run("false"),), safety=Safety.UNSAFE)),
    _finding(3, Fix(title="say it", steps=(manual("do it yourself"),))),
)


def test_steps_are_dispatched_by_their_class() -> None:
    assert executable(EDIT) and executable(run("true")) and not executable(manual("x"))
    items = plan(BEFORE)
    assert [i.number for i in items] == [1, 2, 3]
    assert [o.runnable for i in items for o in i.options] == [True, True, False]
    assert edited_paths(items) == ("Dockerfile",)


def test_the_plan_shows_every_step_kind() -> None:
    text = "\n".join(plan_lines(plan(BEFORE)))
    assert "   fix: edit it (safe)\n     edit Dockerfile:\n       --- a/Dockerfile" in text
    assert "   fix: run it (unsafe, needs its own consent)\n     $ false" in text
    assert "     - do it yourself" in text


def test_quit_stops_before_the_next_fix_and_reads_as_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKDOCTOR_CACHE_DIR", str(tmp_path))
    asked: list[int] = []

    def ask(item: FixItem, opt: FixOption) -> Answer:
        asked.append(item.number)
        return Answer.NO if item.number == 1 else Answer.QUIT

    options = app.CheckOptions(project_dir=str(tmp_path))
    result = app.fix(options, consent=Consent(ask=ask), echo=print, step_timeout=5, before=BEFORE)
    assert asked == [1, 2]  # the manual-only fix 3 is never asked about
    assert result.interrupted and result.applied == () and result.after is None
    assert result.exit_code is ExitCode.INTERRUPTED
    assert interruption(result) == "interrupted: fixes that ran: none; not run: [1, 2, 3]"
    assert render_result(result) == "\n"
    assert json.loads(render_json(result))["interrupted"] is True


def test_declining_everything_applies_nothing_and_checks_nothing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKDOCTOR_CACHE_DIR", str(tmp_path))
    consent = Consent(ask=lambda item, opt: Answer.NO)
    result = app.fix(
        app.CheckOptions(project_dir=str(tmp_path)), consent=consent, echo=print, step_timeout=5, before=BEFORE
    )
    assert result.applied == () and not result.interrupted and result.exit_code is ExitCode.OK
    assert render_result(result) == "\nno fix applied\n" and interruption(result) is None


def test_result_lines_name_each_fix_and_the_steps_that_did_not_apply() -> None:
    finding = BEFORE.findings[1]
    outcome = StepOutcome(step=run("false"), status="failed", detail="exit code 1\x1b[2J")
    result = FixResult(
        before=BEFORE,
        items=plan(BEFORE),
        applied=(Applied(2, finding, "run it", (outcome,)),),
        after=_report(finding),
    )
    assert render_result(result) == "\n2. DKD602 run it: still present\n   failed: exit code 1\\x1b[2J\n"
    assert result.exit_code is ExitCode.FINDINGS


def test_undo_lines() -> None:
    assert render_undo([], "proj") == "nothing to undo in proj\n"
    assert render_undo([("Dockerfile", "restored", True)], "proj") == "Dockerfile: restored\n"
