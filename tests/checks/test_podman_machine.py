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


BAD210 = BAD.parents[1] / "DKD210" / "bad-podman-machine-no-amd64.json"


def _facts210(**setting: object):
    data = json.loads(BAD210.read_text(encoding="utf-8"))
    data["emulation"]["settings"][0].update(setting)
    return data, codec.facts_from_data(data, source=str(BAD210))


def _ids(facts, targets) -> list[str]:
    checks = (lookup("DKD209"), lookup("DKD210"))
    return [f.id for f in diagnose(facts, targets=resolve_targets(facts, targets), checks=checks).findings]


def test_dkd210_one_finding_per_machine_and_only_when_amd64_is_missing() -> None:
    data, facts = _facts210()
    assert _ids(facts, data["_targets"]) == ["DKD210"]
    _, off = _facts210(rosetta=False)  # Rosetta off and no amd64 handler: DKD210 alone (DKD209 would say QEMU runs it)
    assert _ids(off, data["_targets"]) == ["DKD210"]
    _, qemu = _facts210(rosetta=False, emulated_platforms=["linux/amd64"], version="5.6.2")
    assert _ids(qemu, data["_targets"]) == ["DKD209"]
    _, on = _facts210(rosetta=True)
    assert _ids(on, data["_targets"]) == []
    _, unknown = _facts210(emulated_platforms=None)  # `podman info` not asked or no list: not known, silent
    assert _ids(unknown, data["_targets"]) == []
    assert _ids(facts, ["linux/arm64"]) == []


def test_dkd210_upgrade_step_only_before_podman_5_1() -> None:
    data, facts = _facts210(version="5.1.0", profile="dev")
    report = diagnose(facts, targets=resolve_targets(facts, data["_targets"]), checks=(lookup("DKD210"),))
    [finding] = report.findings
    steps = finding.fixes[0].steps
    assert not any("upgrade" in getattr(s, "text", "") for s in steps)
    assert ("podman", "machine", "init", "--provider", "applehv", "dev") in [getattr(s, "argv", None) for s in steps]
    _, old = _facts210()
    [finding] = diagnose(old, targets=resolve_targets(old, data["_targets"]), checks=(lookup("DKD210"),)).findings
    assert "upgrade Podman 5.0.2" in getattr(finding.fixes[0].steps[0], "text", "")
