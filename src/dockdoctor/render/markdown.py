"""The ticket report in Markdown: a summary table, the findings with their fixes, the facts folded away."""

from __future__ import annotations

import json

from dockdoctor.codec import to_data
from dockdoctor.model import EditFile, Finding, Manual, Report, RunCommand
from dockdoctor.render import RenderOptions
from dockdoctor.render.text import area_lines

SIZE_CAP = 60_000  # characters: what a ticket system takes comfortably
_STATUS = {"ok": "ok", "info": "info", "warning": "**warning**", "error": "**ERROR**"}  # no emoji: not every
# ticket system has the fonts (seen as empty boxes in a headless Chromium rendering)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _finding(finding: Finding) -> list[str]:
    head = f"### {finding.severity.value}: {finding.id} `{finding.slug}`"
    if finding.target:
        head += f" ({finding.target})"
    lines = [head, "", _cell(finding.message), ""]
    for fix in finding.fixes:
        serves = {"deploy": ["for the deploy target"], "local": ["to run here"]}.get(fix.serves, [])
        notes = ", ".join(serves + [fix.safety.value] + [f"needs {n.value}" for n in fix.needs])
        lines.append(f"**Fix: {fix.title}** ({notes})")
        lines.append("")
        commands = [step for step in fix.steps if isinstance(step, RunCommand)]
        for step in fix.steps:
            match step:
                case Manual(text=text):
                    lines.append(f"- {text}")
                case EditFile(path=path, diff=diff):
                    lines += [f"Edit `{path}`:", "", "```diff", diff.rstrip("\n"), "```"]
        if commands:
            import shlex

            lines += ["```sh", *[shlex.join(step.argv) for step in commands], "```"]
        lines.append("")
    return lines


def render(report: Report, options: RenderOptions) -> str:
    summary = report.summary
    targets = ", ".join(f"`{t.platform}` ({t.source})" for t in report.targets)
    lines = ["## dockdoctor report", "", f"dockdoctor {report.dockdoctor_version}; targets: {targets}; "
             f"{summary.errors} error(s), {summary.warnings} warning(s), {summary.infos} info; "
             f"exit code {int(report.exit_code(options.threshold))}", ""]
    if report.replayed_from:
        lines += [f"Replayed from `{report.replayed_from}` (gathered by dockdoctor "
                  f"{report.facts.dockdoctor_version or '?'} at {report.facts.gathered_at or '?'}).", ""]
    lines += ["| area | status | details |", "|---|---|---|"]
    for name, status, text in area_lines(report):
        lines.append(f"| {name} | {_STATUS[status]} | {_cell(text)} |")
    lines.append("")
    for finding in report.findings:
        lines += _finding(finding)
    body = "\n".join(lines)
    facts = json.dumps(to_data(report.facts), indent=1)
    room = SIZE_CAP - len(body) - 200
    if len(facts) > room:
        facts = facts[: max(room, 0)] + f"\n... (facts clipped at {SIZE_CAP} characters; attach the JSON report)"
    note = "redacted" if report.facts.redacted else "NOT redacted"
    return body + f"\n<details><summary>Facts ({note})</summary>\n\n```json\n{facts}\n```\n</details>\n"
