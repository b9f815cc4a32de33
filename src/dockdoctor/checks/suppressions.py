"""DKD719: inline suppression comments that suppress nothing (no reason given, or no such check)."""

from __future__ import annotations

from collections.abc import Iterator

import dockdoctor.checks as catalog  # the catalog itself (being imported when this is): read only when the check runs
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev
from dockdoctor.errors import UnknownCheckError
from dockdoctor.model import Location, Problem, Severity


@check("DKD719", "invalid-suppression", severity=Severity.INFO)
def invalid_suppression(ctx: Context) -> Iterator[Problem]:
    """An inline `# dockdoctor: ignore=...` comment gives no reason or names no check

    ## What it checks
    Every `# dockdoctor: ignore=CODE[,CODE...] reason` comment in a Dockerfile, compose file or CI workflow: it
    must name checks by code (`DKD605`) or slug (`arch-specific-download`) and give a reason after them. It
    suppresses the findings on its own line or the line below; in a Dockerfile it goes on the line above the
    instruction (a `#` after an instruction is part of the instruction). A compose service's findings are
    covered by a comment on, or above, one of that service's keys (`image:`, `platform:`, `build:`).

    ## Why it matters
    A suppression hides a finding from every later run and every reader of the report; the reason is what tells
    the next person whether it still holds. A comment without one, or with a misspelt code, suppresses nothing,
    so the finding stays in the report: `# dockdoctor: ignore=DKD605` alone is reported here.

    ## Example
    `fixtures/checks/DKD719/bad-suppression-without-reason.json` (a Dockerfile line with
    `# dockdoctor: ignore=DKD605` and no reason); `good-suppression-with-reason.json`.

    ## Fix
    In words: add the reason after the codes (`# dockdoctor: ignore=DKD605 the download is multi-arch`), or fix
    the code's spelling (`dockdoctor check --list-checks` lists them).

    ## Facts used
    `project.suppressions[]` (file, line, names, reason).
    """
    for item in ctx.facts.project.suppressions if ctx.facts.project else ():
        at = Location(file=item.file, line=item.line)
        where = str(at)
        unknown = []
        for name in item.names:
            try:
                catalog.lookup(name)
            except UnknownCheckError:
                unknown.append(name)
        problems = ([f"names no check: {', '.join(unknown)}"] if unknown else []) + (
            [] if item.reason else ["gives no reason after the codes"]
        )
        if not problems:
            continue
        yield Problem(
            message=f"{where}: `# dockdoctor: ignore={','.join(item.names)}` {' and '.join(problems)}, so it "
            + ("suppresses nothing" if not item.reason else "does not suppress those names"),
            subject=where,
            location=at,
            evidence=(
                ev("project.suppressions.names", ",".join(item.names)),
                ev("project.suppressions.reason", item.reason),
            ),
        )


__all__ = ["invalid_suppression"]
