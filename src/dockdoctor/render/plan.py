"""`dockdoctor fix` in the terminal: the plan it shows before asking, and what each applied fix did."""

from __future__ import annotations

import json
from enum import Enum

from dockdoctor.codec import fix_result_to_data
from dockdoctor.model import FixItem, FixResult
from dockdoctor.render.safe import clean, visible
from dockdoctor.render.text import step_lines


def _word(value: str) -> str:
    """A status as its word, whether it is a plain string or a str enum."""
    return str(value.value) if isinstance(value, Enum) else value


def plan_lines(items: tuple[FixItem, ...]) -> list[str]:
    """The numbered plan: each finding, then each fix offered for it with its safety, needs and steps."""
    lines = []
    for item in items:
        finding = item.finding
        lines.append(
            f"{item.number}. {finding.severity.value.upper()} {finding.id} {finding.slug}"
            + (f" [{finding.target}]" if finding.target else "")
        )
        lines.append(f"   {finding.message}")
        for opt in item.options:
            notes = [opt.fix.safety.value, *(f"needs {n.value}" for n in opt.fix.needs)]
            if opt.needs_own_consent:
                notes.append("needs its own consent")
            lines.append(f"   fix: {opt.fix.title} ({', '.join(notes)})")
            for step in opt.fix.steps:
                lines += step_lines(step, "     ")
    return lines


def render_plan(items: tuple[FixItem, ...]) -> str:
    """The plan as printed: every string made visible once (render/safe.py); paths as they are."""
    return "\n".join(plan_lines(clean(items))) + "\n"


def prompt(item: FixItem, *, title: str, own_consent: bool) -> str:
    """The question asked before one fix."""
    return f"apply fix {item.number} ({visible(title)})? [y]es/[n]o/[a]ll/[q]uit" + (
        " — it needs its own consent" if own_consent else ""
    )


def render_result(result: FixResult) -> str:
    """After the fixes (standard output): each applied fix and whether its finding is gone, the steps that did not
    apply, then the findings the check after them found new; "no fix applied" when none ran."""
    lines = [""]
    for done in result.applied:
        lines.append(f"{done.item}. {done.finding.id} {done.fix_title}: {result.status(done.finding)}")
        lines += [f"   {_word(o.status)}: {o.detail}" for o in done.outcomes if _word(o.status) != "applied"]
    if not result.interrupted:
        if not result.applied:
            lines.append("no fix applied")
        lines += [f"new: {finding.id} {finding.message}" for finding in result.new_findings]
    return "".join(visible(line) + "\n" for line in lines)


def interruption(result: FixResult) -> str | None:
    """The line for standard error when the run was interrupted (Ctrl-C, or `q`): what ran and what did not."""
    if not result.interrupted:
        return None
    ran = [a.item for a in result.applied]
    not_run = [i.number for i in result.items if i.number not in ran and i.number != result.interrupted_item]
    during = f" during fix {result.interrupted_item} (stopped)" if result.interrupted_item else ""
    return f"interrupted{during}: fixes that ran: {ran or 'none'}; not run: {not_run or 'none'}"


def render_json(result: FixResult) -> str:
    """`fix --json`: one JSON document (the fix schema), with the exit code the run ends with."""
    return json.dumps(fix_result_to_data(result, exit_code=int(result.exit_code)), indent=2) + "\n"


def render_undo(restored: list[tuple[str, str, bool]], project: str) -> str:
    """`fix --undo`: what happened to each file the last fix edited."""
    if not restored:
        return visible(f"nothing to undo in {project}") + "\n"
    return "".join(visible(f"{path}: {what}") + "\n" for path, what, _ in restored)
