"""GitLab Code Quality JSON (`check --format gitlab`): one issue per finding with a project file and line.

The format is the subset of the Code Climate spec GitLab reads (docs.gitlab.com/ci/testing/code_quality,
"Implement a custom tool"): an array of objects with `description`, `check_name`, `fingerprint`, `severity`
(info, minor, major, critical or blocker), `location.path` (relative) and `location.lines.begin`; no byte order
mark. As in SARIF, findings with no file (the host, the engine, an image, a service) are left out, and the
fingerprint is stable across runs and line moves. GitLab shows findings with the same fingerprint as one entry, so
a second finding that would share one gets an ordinal suffix, in report order.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dockdoctor.model import Report, Severity
from dockdoctor.render import RenderOptions
from dockdoctor.render.sarif import fingerprint, uri_of

SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def render(report: Report, options: RenderOptions) -> str:
    issues: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for finding in report.findings:
        loc = finding.location
        if loc is None:
            continue
        path = f"{options.path_prefix.rstrip('/')}/{loc.file}" if options.path_prefix else loc.file
        base = fingerprint(finding, uri_of(loc.file, options.path_prefix))
        seen[base] = seen.get(base, 0) + 1
        print_ = base if seen[base] == 1 else hashlib.sha256(f"{base}#{seen[base]}".encode()).hexdigest()[:32]
        issues.append(
            {
                "description": f"{finding.id}: {finding.message}",
                "check_name": finding.id,
                "fingerprint": print_,
                "severity": SEVERITIES[finding.severity],
                "location": {"path": path, "lines": {"begin": loc.line}},
            }
        )
    return json.dumps(issues, indent=2) + "\n"
