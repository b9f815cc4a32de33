"""The fleet document (`check --all-contexts`): a summary table, the fleet's findings, then a section per engine."""

from __future__ import annotations

import json

from dockdoctor.codec import fleet_to_data
from dockdoctor.model.fleet import FleetReport, FleetRow
from dockdoctor.render import Format, RenderOptions, assert_never
from dockdoctor.render.safe import clean, code
from dockdoctor.render.safe import markdown as md

_HEAD = ("context", "engine", "platform", "endpoint", "findings")


def _cells(row: FleetRow) -> tuple[str, str, str, str, str]:
    name = row.context + (" *" if row.current else "")
    if not row.answered:
        return name, "no answer", "-", row.endpoint, row.problem
    engine = f"{row.flavor} {row.server_version or '?'}"
    found = f"{row.errors} error(s), {row.warnings} warning(s), {row.infos} info"
    return name, engine, row.platform or "?", row.endpoint, found


def _text(fleet: FleetReport, options: RenderOptions) -> str:
    from dockdoctor.render import text

    rows = [_HEAD, *(_cells(r) for r in fleet.rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEAD) - 1)]
    lines = [
        f"dockdoctor {fleet.dockdoctor_version}  fleet of {len(fleet.rows)} docker context(s)"
        + ("  (* the current one)" if any(r.current for r in fleet.rows) else ""),
        "",
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1] for r in rows]
    if fleet.findings:
        lines += ["", "Across the fleet:"]
        for finding in fleet.findings:
            lines += ["", *text._finding(finding, options)]
    render = text.render
    for report in fleet.reports:
        name = report.facts.engine.context or "default"
        lines += ["", f"=== context {name} ===", render(report, options).rstrip("\n")]
    code_ = int(fleet.exit_code(options.threshold))
    lines += [
        "",
        f"Fleet: {'Problems' if code_ else 'OK'}: {len(fleet.reports)} engine(s) checked, "
        f"{len(fleet.unanswered)} did not answer, {len(fleet.findings)} fleet finding(s)",
    ]
    return "\n".join(lines) + "\n"


def _demoted(body: str) -> list[str]:
    """A report's Markdown one heading level down (outside code fences), to sit in its engine's section."""
    out, fenced = [], False
    for line in body.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        out.append("#" + line if line.startswith("#") and not fenced else line)
    return out


def _markdown(fleet: FleetReport, options: RenderOptions) -> str:
    from dockdoctor.render import markdown

    lines = [
        "# dockdoctor fleet",
        "",
        f"dockdoctor {md(fleet.dockdoctor_version)}; {len(fleet.rows)} docker "
        f"context(s); exit code {int(fleet.exit_code(options.threshold))}",
        "",
        "| " + " | ".join(_HEAD) + " |",
        "|" + "---|" * len(_HEAD),
    ]
    for row in fleet.rows:
        cells = _cells(row)
        lines.append(
            "| "
            + " | ".join(
                [
                    md(cells[0], cell=True),
                    md(cells[1], cell=True),
                    code(cells[2]),
                    code(cells[3]),
                    md(cells[4], cell=True),
                ]
            )
            + " |"
        )
    lines.append("")
    if fleet.findings:
        lines += ["## Across the fleet", ""]
        for finding in fleet.findings:
            lines += markdown._finding(finding)
    for report in fleet.reports:
        lines += [f"## context {md(report.facts.engine.context or 'default')}", ""]
        lines += _demoted(markdown.render(report, options)) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def render(fleet: FleetReport, fmt: Format, options: RenderOptions) -> str:
    """The fleet document in a format; text and Markdown see only sanitized strings (as renderer_for's)."""
    if fmt is Format.JSON:
        return json.dumps(fleet_to_data(fleet, threshold=options.threshold), indent=2) + "\n"
    if fmt is Format.TEXT:
        return _text(clean(fleet), options)
    if fmt is Format.MARKDOWN:
        return _markdown(clean(fleet), options)
    if fmt is Format.SARIF or fmt is Format.GITHUB:
        raise ValueError(f"--format {fmt.value} reports one project, not a fleet")  # the CLI refuses it first
    assert_never(fmt)


__all__ = ["render"]
