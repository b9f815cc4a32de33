"""The real emulation cases of issue 11 (tests/data/emulation-cases/cases.toml), built as facts files.

Each case is a public report of the layer below the manifests (an emulator crashing a workload, an engine release
that broke emulation, a VM set up so that amd64 cannot run or runs under QEMU, a CPU level below an image's),
replayed as facts of the reporter's machine: a check fixture of the same machine kind, with the edits the report
gives (`set`, dotted paths with list indexes). `expect` names the check that should name the cause, and
`expect_text` a string its finding must contain (the knowledge entry or the value that is the cause); an empty
`expect` is a case no check can name from the facts dockdoctor gathers (`why_not` says why).
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "data" / "emulation-cases" / "cases.toml"


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    report: str
    base: str
    targets: tuple[str, ...]
    expect: str
    expect_text: str
    why_not: str
    edits: dict[str, Any] = field(default_factory=dict)


def cases() -> list[Case]:
    data = tomllib.loads(CASES.read_text(encoding="utf-8"))
    return [
        Case(
            id=c["id"],
            source=c["source"],
            report=c["report"],
            base=c["base"],
            targets=tuple(c.get("targets", ())),
            expect=c.get("expect", ""),
            expect_text=c.get("expect_text", ""),
            why_not=c.get("why_not", ""),
            edits=c.get("set", {}),
        )
        for c in data["case"]
    ]


def _set(data: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def facts_data(case: Case, *, schema_version: int | None = None) -> dict[str, Any]:
    """The case's facts as a facts file's JSON data."""
    data = copy.deepcopy(json.loads((ROOT / case.base).read_text(encoding="utf-8")))
    for path, value in case.edits.items():
        _set(data, path, value)
    data["_about"] = f"emulation case {case.id}: {case.report} ({case.source})"
    data["_targets"] = list(case.targets)
    if schema_version is not None:
        data["schema_version"] = schema_version
    return data


def named(case: Case, report: dict[str, Any]) -> bool:
    """Whether a `check --json` report names the case's cause: the expected check, with the expected text."""
    if not case.expect:
        return False
    for finding in report.get("findings", ()):
        if finding["id"] != case.expect:
            continue
        text = json.dumps(finding)
        if not case.expect_text or case.expect_text in text:
            return True
    return False
