"""The fix plan (pure): findings with fixes, in report order, identical fixes offered once, with what each needs."""

from __future__ import annotations

from dataclasses import dataclass

from dockdoctor.model import Finding, Fix, Need, Report, Safety


@dataclass(frozen=True, slots=True)
class Option:
    """One fix offered for a finding, with the consent it needs."""

    fix: Fix
    runnable: bool  # it has steps dockdoctor can execute (not display-only)
    needs_own_consent: bool  # unsafe or privileged: `--yes` alone does not accept it


@dataclass(frozen=True, slots=True)
class Item:
    """A finding and the fixes offered for it, the first acceptable one to be applied."""

    number: int
    finding: Finding
    options: tuple[Option, ...]


def option(fix: Fix) -> Option:
    runnable = fix.safety is not Safety.DISPLAY_ONLY and any(step.kind != "manual" for step in fix.steps)
    own = fix.safety is Safety.UNSAFE or Need.PRIVILEGED in fix.needs
    return Option(fix=fix, runnable=runnable, needs_own_consent=own)


def plan(report: Report) -> tuple[Item, ...]:
    """Every finding that has fixes; a fix already offered for an earlier finding is not offered again."""
    seen: set[tuple[object, ...]] = set()
    items: list[Item] = []
    for finding in report.findings:
        options = []
        for fix in finding.fixes:
            key = fix.steps
            if key in seen:
                continue
            seen.add(key)
            options.append(option(fix))
        if options:
            items.append(Item(number=len(items) + 1, finding=finding, options=tuple(options)))
    return tuple(items)


def key(finding: Finding) -> tuple[str, str, str | None]:
    """What identifies a finding across two runs."""
    return finding.id, finding.subject, finding.target
