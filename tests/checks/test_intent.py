"""Fix choice by intent, on recorded facts: whom each fix serves, pins only for the local run, chains of stages,
references only to findings in the report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from dockdoctor import codec
from dockdoctor.app import diagnose, drop_dangling_references, resolve_targets
from dockdoctor.checks import ALL_CHECKS, lookup
from dockdoctor.model import Finding, Fix, ProjectFacts, Severity, manual
from dockdoctor.project.dockerfile import parse_dockerfile

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "checks"


def _load(name: str):
    data = json.loads((EXAMPLES / name).read_text())
    facts = codec.facts_from_data(data, source=name)
    return facts, resolve_targets(facts, data.get("_targets", ()))


def test_a_deploy_target_the_image_lacks_gets_no_pin() -> None:
    facts, targets = _load("DKD410/bad-amd64-only-db-on-arm64.json")  # --platform linux/arm64 on an amd64 engine
    report = diagnose(facts, targets=targets, checks=(lookup("DKD410"),))
    assert report.findings
    for finding in report.findings:
        assert [(f.title, f.serves) for f in finding.fixes] == [("use an image published for linux/arm64", "deploy")]


def test_the_local_target_gets_the_pin_only_with_emulation() -> None:
    facts, _ = _load("DKD410/bad-amd64-only-db-on-arm64.json")  # app is arm64 only; the engine is amd64
    for emulated, expected in ((False, "install QEMU"), (True, "set `platform: linux/arm64`")):
        if emulated:
            qemu, _ = _load("DKD420/good-arm64-pin-with-qemu.json")
            facts = dataclasses.replace(facts, emulation=qemu.emulation)
        report = diagnose(facts, targets=resolve_targets(facts, ()), checks=(lookup("DKD410"),))
        (app,) = [f for f in report.findings if f.subject == "service app"]
        first = app.fixes[0]
        assert first.title.startswith(expected) and "set `platform: linux/arm64`" in first.title
        assert first.serves == "local"
        assert first.safety.value == ("safe" if emulated else "unsafe")


def test_references_name_only_findings_in_the_report() -> None:
    def finding(code: str, other: str) -> Finding:
        return Finding(
            id=code,
            slug="x",
            severity=Severity.INFO,
            title="t",
            message=f"no emulation here ({other})",
            subject="s",
            fixes=(Fix(title=f"pin it (see {other})", steps=(manual(f"or emulate: see {other}"),)),),
        )

    kept, dropped = drop_dangling_references([finding("DKD503", "DKD503"), finding("DKD304", "DKD999")])
    assert kept.message == "no emulation here (DKD503)" and kept.fixes[0].title == "pin it (see DKD503)"
    assert kept.fixes[0].steps[0].text == "or emulate: see DKD503"
    assert dropped.message == "no emulation here" and dropped.fixes[0].title == "pin it"
    assert dropped.fixes[0].steps[0].text == "or emulate"


def test_a_stage_the_final_stage_is_built_from_is_never_told_to_use_buildplatform() -> None:
    facts, _ = _load("DKD603/bad-final-from-buildplatform-stage.json")
    text = "FROM --platform=linux/amd64 golang:1.22 AS base\nRUN go version\nFROM base AS final\n"
    from dockdoctor.probes.project import _with_lines

    project = ProjectFacts(root="/p", dockerfiles=(_with_lines(parse_dockerfile(text, path="Dockerfile"), text),))
    facts = dataclasses.replace(facts, project=project)
    report = diagnose(facts, targets=resolve_targets(facts, ["linux/arm64"]), checks=ALL_CHECKS)
    (pinned,) = [f for f in report.findings if f.id == "DKD602"]
    assert "shipped" in pinned.message and pinned.fixes[0].title == "drop the --platform flag on line 1"
    assert not [f for f in report.findings if f.id == "DKD606"]  # base ships: cross-compiling it would be wrong
