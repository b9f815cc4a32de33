"""GitHub Actions workflow commands (`check --format github`): one `::error`/`::warning`/`::notice` line per
finding, which the runner shows as an annotation on the file and line (no SARIF upload needed).

Escaping as GitHub's toolkit does (actions/toolkit, packages/core/src/command.ts): in the message `%`, CR and LF
become %25, %0D and %0A; in a property value also `:` and `,` become %3A and %2C.
"""

from __future__ import annotations

from dockdoctor.model import Report, Severity
from dockdoctor.render import RenderOptions

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, options: RenderOptions) -> str:
    lines = []
    for finding in report.findings:
        props = []
        if finding.location is not None:
            loc = finding.location
            path = f"{options.path_prefix.rstrip('/')}/{loc.file}" if options.path_prefix else loc.file
            props += [f"file={escape_property(path)}", f"line={loc.line}", f"col={loc.column}"]
        props.append(f"title={finding.id}")
        where = "" if finding.location is not None else f"{finding.subject}: "
        lines.append(f"::{COMMANDS[finding.severity]} {','.join(props)}::{escape_data(where + finding.message)}")
    if report.checks_skipped:
        skipped = ", ".join(s.id for s in report.checks_skipped)
        note = f"{len(report.checks_skipped)} checks skipped ({report.checks_skipped[0].reason}): {skipped}"
        lines.append(f"::notice title=dockdoctor::{escape_data(note)}")
    return "".join(line + "\n" for line in lines)
