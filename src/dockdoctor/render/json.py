"""The JSON report: one document, the support-ticket contract."""

from __future__ import annotations

import json

from dockdoctor.codec import report_to_data
from dockdoctor.model import Report
from dockdoctor.render import RenderOptions


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(report_to_data(report, exit_code=int(report.exit_code(options.threshold))), indent=2) + "\n"
