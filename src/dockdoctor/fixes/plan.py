"""The fix plan (pure): findings with fixes, in report order, identical fixes offered once, with what each needs."""

from __future__ import annotations

from dockdoctor.model import EditFile, Fix, FixItem, FixOption, Manual, Need, Report, RunCommand, Safety, Step
from dockdoctor.model.fixes import assert_never


def executable(step: Step) -> bool:
    """Whether dockdoctor can carry the step out (a command, an edit), or only the user can (words)."""
    match step:
        case RunCommand() | EditFile():
            return True
        case Manual():
            return False
        case _:
            assert_never(step)


def edited_paths(items: tuple[FixItem, ...]) -> tuple[str, ...]:
    """Every file an offered fix would edit, in plan order, once each."""
    paths: list[str] = []
    for item in items:
        for opt in item.options:
            for step in opt.fix.steps:
                match step:
                    case EditFile(path=path):
                        paths.append(path)
                    case RunCommand() | Manual():
                        pass
                    case _:
                        assert_never(step)
    return tuple(dict.fromkeys(paths))


def option(fix: Fix) -> FixOption:
    """A fix as the plan offers it: whether it can run here, and whether `--yes` alone may accept it."""
    runnable = fix.safety is not Safety.DISPLAY_ONLY and any(executable(step) for step in fix.steps)
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
