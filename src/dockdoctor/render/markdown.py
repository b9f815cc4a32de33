"""The ticket report in Markdown: a summary table, the findings with their fixes, the facts folded away."""

from __future__ import annotations

from dockdoctor.codec import to_data
from dockdoctor.model import EditFile, Finding, Manual, Report, RunCommand
from dockdoctor.render import RenderOptions
from dockdoctor.render.json import dumps
from dockdoctor.render.safe import code, fence
from dockdoctor.render.safe import markdown as md
from dockdoctor.render.text import area_lines, cause_lines

SIZE_CAP = 60_000  # characters: what a ticket system takes comfortably
_STATUS = {"ok": "ok", "info": "info", "warning": "**warning**", "error": "**ERROR**"}  # no emoji: not every
# ticket system has the fonts (seen as empty boxes in a headless Chromium rendering)


def _finding(finding: Finding) -> list[str]:
    head = f"### {finding.severity.value}: {md(finding.id)} {code(finding.slug)}"
    if finding.target:
        head += f" ({md(finding.target)})"
    lines = [head, "", md(finding.message), ""]
    causes = cause_lines(finding, indent="- ")
    if causes:
        lines += [md(line) if not line.startswith("- ") else "- " + md(line[2:]) for line in causes] + [""]
    for fix in finding.fixes:
        serves = {"deploy": ["for the deploy target"], "local": ["to run here"]}.get(fix.serves, [])
        notes = ", ".join(serves + [fix.safety.value] + [f"needs {n.value}" for n in fix.needs])
        lines.append(f"**Fix: {md(fix.title)}** ({notes})")
        lines.append("")
        commands = [step for step in fix.steps if isinstance(step, RunCommand)]
        for step in fix.steps:
            match step:
                case Manual(text=text):
                    lines.append(f"- {md(text)}")
                case EditFile(path=path, diff=diff):
                    lines += [f"Edit {code(path)}:", "", *fence("diff", diff.rstrip("\n"))]
        if commands:
            import shlex

            lines += fence("sh", "\n".join(shlex.join(step.argv) for step in commands))
        lines.append("")
    return lines


def render(report: Report, options: RenderOptions) -> str:
    summary = report.summary
    targets = ", ".join(f"{code(t.platform)} ({md(t.source)})" for t in report.targets)
    lines = [
        "## dockdoctor report",
        "",
        f"dockdoctor {md(report.dockdoctor_version)}; targets: {targets or 'none'}; "
        f"{summary.errors} error(s), {summary.warnings} warning(s), {summary.infos} info; "
        f"exit code {int(report.exit_code(options.threshold))}",
        "",
    ]
    if report.replayed_from:
        lines += [
            f"Replayed from {code(report.replayed_from)} (gathered by dockdoctor "
            f"{md(report.facts.dockdoctor_version or '?')} at {md(report.facts.gathered_at or '?')}).",
            "",
        ]
    lines += ["| area | status | details |", "|---|---|---|"]
    for name, status, text in area_lines(report):
        lines.append(f"| {name} | {_STATUS[status]} | {md(text, cell=True)} |")
    lines.append("")
    for reason in dict.fromkeys(s.reason for s in report.checks_skipped):
        ids = ", ".join(s.id for s in report.checks_skipped if s.reason == reason)
        lines += [f"Skipped ({md(reason)}): {md(ids)}", ""]
    for gone in report.suppressed:
        where = f"{gone.file}:{gone.line}"
        lines += [
            f"Suppressed {md(gone.finding.id)} {md(gone.finding.subject)} by {code(where)}: {md(gone.reason)}",
            "",
        ]
    for finding in report.findings:
        lines += _finding(finding)
    body = "\n".join(lines)
    facts = dumps(to_data(report.facts), indent=1)  # json.dumps' text, written faster (render/json.py)
    room = SIZE_CAP - len(body) - 200
    if len(facts) > room:
        facts = facts[: max(room, 0)] + f"\n... (facts clipped at {SIZE_CAP} characters; attach the JSON report)"
    note = "redacted" if report.facts.redacted else "NOT redacted"
    block = "\n".join(fence("json", facts))
    return body + f"\n<details><summary>Facts ({note})</summary>\n\n{block}\n</details>\n"
