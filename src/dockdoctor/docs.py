"""Check documentation generated from the checks themselves: `explain` text and the docs pages."""

from __future__ import annotations

from dockdoctor.checks import ALL_CHECKS, CheckSpec


def explain(spec: CheckSpec) -> str:
    """A header (code, slug, default severity, fixability) plus the check's docstring."""
    header = f"{spec.id} {spec.slug}\ndefault severity: {spec.default_severity.value}; fixable: {spec.fixable.value}\n"
    return f"{header}\n{spec.doc}\n"


def catalog_markdown() -> str:
    """docs/checks.md: the table of every check and each check's documentation."""
    lines = [
        "# dockdoctor checks",
        "",
        "Generated from the checks' docstrings by `dockdoctor explain --all`; do not edit by hand.",
        "",
        "| code | slug | severity | title |",
        "|---|---|---|---|",
    ]
    lines += [f"| [{s.id}](#{s.id.lower()}) | {s.slug} | {s.default_severity.value} | {s.title} |" for s in ALL_CHECKS]
    for spec in ALL_CHECKS:
        body = spec.doc.split("\n", 1)[1].strip() if "\n" in spec.doc else ""
        body = body.replace("\n## ", "\n#### ")
        if body.startswith("## "):
            body = "#### " + body[3:]
        lines += [
            "",
            f"## {spec.id}",
            "",
            f"**{spec.title}** (`{spec.slug}`, default severity "
            f"{spec.default_severity.value}, fixable: {spec.fixable.value})",
            "",
            body,
        ]
    return "\n".join(lines) + "\n"
