"""SARIF 2.1.0 (`check --format sarif`): the catalog as rules, the findings with a project file as results.

GitHub code scanning rejects a whole upload when one result has no location, so findings about the host, the
engine, an image or a service (no file and line) are left out here; the text and JSON reports keep them.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import quote

from dockdoctor.model import Finding, Report, Rule, Severity
from dockdoctor.render import RenderOptions

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
DOCS_URI = "https://dockdoctor.invalid/docs/checks.md"  # placeholder until the project has a public home
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
FINGERPRINT = "dockdoctor/v1"


def fingerprint(finding: Finding, uri: str) -> str:
    """Stable across runs and line moves: the check, the file, the target and the message with numbers masked."""
    message = re.sub(r"\d+", "#", finding.message)
    text = "\x00".join((finding.id, uri, finding.target or "", message))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _rules(rules: tuple[Rule, ...]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "name": r.slug,
            "shortDescription": {"text": r.title},
            "fullDescription": {"text": r.title},
            "help": {"text": r.help, "markdown": r.help},
            "helpUri": f"{DOCS_URI}#{r.id.lower()}",
            "defaultConfiguration": {"level": LEVELS[r.severity]},
            "properties": {"tags": ["docker", "platform"]},
        }
        for r in rules
    ]


def uri_of(file: str, prefix: str = "") -> str:
    """A project file as a relative URI reference (from the checkout root when `prefix` is the project folder)."""
    path = f"{prefix.rstrip('/')}/{file}" if prefix else file
    return quote(path, safe="/-._~", errors="surrogatepass")  # a name the file system could not decode too


def render(report: Report, options: RenderOptions) -> str:
    rules = _rules(options.rules)
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for finding in report.findings:
        loc = finding.location
        if loc is None:
            continue
        uri = uri_of(loc.file, options.path_prefix)
        result: dict[str, Any] = {
            "ruleId": finding.id,
            "level": LEVELS[finding.severity],
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": loc.line, "startColumn": loc.column},
                    }
                }
            ],
            "partialFingerprints": {FINGERPRINT: fingerprint(finding, uri)},
        }
        if finding.id in index:
            result["ruleIndex"] = index[finding.id]
        if finding.target:
            result["properties"] = {"target": finding.target}
        results.append(result)
    notes = [
        {"level": "note", "descriptor": {"id": s.id}, "message": {"text": f"{s.id} {s.slug} skipped: {s.reason}"}}
        for s in report.checks_skipped
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "dockdoctor",
                "version": report.dockdoctor_version,
                "semanticVersion": report.dockdoctor_version
                if re.fullmatch(r"\d+\.\d+\.\d+([-+].*)?", report.dockdoctor_version)
                else None,
                "informationUri": DOCS_URI,
                "rules": rules,
            }
        },
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notes}],
        "results": results,
    }
    if run["tool"]["driver"]["semanticVersion"] is None:
        del run["tool"]["driver"]["semanticVersion"]
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
