"""DKD209 beyond its examples: a named machine's commands carry its name; no amd64 target or an Intel Mac: silent."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from dockdoctor import codec
from dockdoctor.app import diagnose, resolve_targets
from dockdoctor.checks import lookup

BAD = Path(__file__).resolve().parents[2] / "fixtures" / "checks" / "DKD209" / "bad-podman-applehv-rosetta-off.json"


def _facts(**setting: object):
    data = json.loads(BAD.read_text(encoding="utf-8"))
    data["emulation"]["settings"][0].update(setting)
    return data, codec.facts_from_data(data, source=str(BAD))


def test_named_machine_commands_carry_its_name() -> None:
    data, facts = _facts(profile="dev", vm_type="libkrun")
    report = diagnose(facts, targets=resolve_targets(facts, data["_targets"]), checks=(lookup("DKD209"),))
    [finding] = report.findings
    assert "libkrun" in finding.message
    argvs = [getattr(step, "argv", None) for step in finding.fixes[0].steps]
    assert ("podman", "machine", "rm", "dev") in argvs
    assert ("podman", "machine", "init", "--provider", "applehv", "dev") in argvs


def test_silent_without_amd64_target_or_apple_silicon() -> None:
    data, facts = _facts()
    assert diagnose(facts, targets=resolve_targets(facts, ["linux/arm64"]), checks=(lookup("DKD209"),)).findings == ()
    intel = dataclasses.replace(facts, host=dataclasses.replace(facts.host, apple_silicon=False))
    assert diagnose(intel, targets=resolve_targets(intel, data["_targets"]), checks=(lookup("DKD209"),)).findings == ()
    _, unknown = _facts(rosetta=None)  # Podman before 5.1: no Rosetta field, nothing to say
    assert (
        diagnose(unknown, targets=resolve_targets(unknown, data["_targets"]), checks=(lookup("DKD209"),)).findings == ()
    )
