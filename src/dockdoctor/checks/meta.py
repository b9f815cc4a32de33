"""DKD0xx: dockdoctor's own problems (a probe that failed or timed out)."""

from __future__ import annotations

from collections.abc import Iterator

from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev
from dockdoctor.model import ProbeError, Problem, Severity


def _probe_errors(ctx: Context) -> Iterator[ProbeError]:
    facts = ctx.facts
    yield from facts.host.errors
    yield from facts.compose.errors
    yield from facts.emulation.errors
    yield from facts.images.errors
    yield from facts.engine.context_errors
    if facts.project is not None:
        yield from facts.project.errors
    if facts.buildx.error is not None:
        yield facts.buildx.error


@check("DKD001", "probe-failed", severity=Severity.WARNING)
def probe_failed(ctx: Context) -> Iterator[Problem]:
    """A probe could not gather its facts

    ## What it checks
    Every probe records what it could not read (a command that timed out, a file it may not read, output it
    could not parse) instead of failing the run. This check reports each such record. Engine failures are
    reported by DKD201 and CLI configuration failures by DKD207, not here.

    ## Why it matters
    Checks that need the missing facts stay silent, so a clean report with probe failures is not a clean bill
    of health: `docker buildx ls` timing out, for example, hides every builder problem.

    ## Example
    `fixtures/checks/DKD001/bad-buildx-timeout.json`: `docker buildx ls` gave no answer within the timeout.
    `good-all-probes-answered.json` has no probe errors.

    ## Fix
    None to apply: rerun with a longer `--timeout`, or run the command named in the message by hand to see
    its own error.

    ## Facts used
    `host.errors`, `compose.errors`, `buildx.error`, `emulation.errors`, `images.errors`, `project.errors`,
    `engine.context_errors`.
    """
    for error in _probe_errors(ctx):
        yield Problem(
            message=f"the {error.probe} probe failed ({error.kind}): {error.detail}",
            subject=error.probe,
            evidence=(ev(f"{error.probe}.error", error.detail),),
        )
