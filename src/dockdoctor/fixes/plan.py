"""The fix plan (pure): findings with fixes, in report order, identical fixes offered once, with what each needs."""

from __future__ import annotations

from dockdoctor.model import Fix, FixItem, FixOption, Need, Report, Safety


def option(fix: Fix) -> FixOption:
    runnable = fix.safety is not Safety.DISPLAY_ONLY and any(step.kind != "manual" for step in fix.steps)
    own = fix.safety is Safety.UNSAFE or Need.PRIVILEGED in fix.needs
    return FixOption(fix=fix, runnable=runnable, needs_own_consent=own)


def plan(report: Report) -> tuple[FixItem, ...]:
    """Every finding that has fixes; a fix already offered for an earlier finding is not offered again.

    Nor are the alternatives after it: they are worse ways to the same end (the same tag edit offered by DKD301
    and DKD410 must not let DKD410 apply its second choice over the first one's edit).
    """
    seen: set[tuple[object, ...]] = set()
    items: list[FixItem] = []
    for finding in report.findings:
        options = []
        for fix in finding.fixes:
            key = fix.steps
            if key in seen:
                break
            seen.add(key)
            options.append(option(fix))
        if options:
            items.append(FixItem(number=len(items) + 1, finding=finding, options=tuple(options)))
    return tuple(items)
