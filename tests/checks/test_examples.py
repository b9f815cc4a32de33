"""Each check's documented examples: `bad-*` facts make it fire, `good-*` facts keep it silent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dockdoctor import codec
from dockdoctor.app import diagnose, resolve_targets
from dockdoctor.checks import ALL_CHECKS, lookup

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "checks"
FILES = sorted(EXAMPLES.glob("DKD*/*.json"))


def _load(path: Path):
    data = json.loads(path.read_text(encoding="utf-8"))
    facts = codec.facts_from_data(data, source=str(path))
    return facts, resolve_targets(facts, data.get("_targets", ()))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example(path: Path) -> None:
    spec = lookup(path.parent.name)
    facts, targets = _load(path)
    report = diagnose(facts, targets=targets, checks=(spec,))
    ids = [f.id for f in report.findings]
    assert not any(f.message.startswith("internal error") for f in report.findings), report.findings
    if path.name.startswith("bad-"):
        assert ids and set(ids) == {spec.id}, ids
        assert all(f.message and f.subject for f in report.findings)
    else:
        assert ids == [], [f.message for f in report.findings]


@pytest.mark.parametrize("spec", ALL_CHECKS, ids=lambda s: s.id)
def test_documented_examples_exist(spec) -> None:
    example = spec.doc.split("## Example", 1)[1].split("## Fix", 1)[0]
    names = re.findall(r"`(?:fixtures/checks/DKD\d{3}/)?((?:bad|good)-[\w.-]+\.json)`", example)
    assert any(n.startswith("bad-") for n in names) and any(n.startswith("good-") for n in names), names
    for name in names:
        assert (EXAMPLES / spec.id / name).is_file(), f"{spec.id} names {name}, which does not exist"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_facts_round_trip(path: Path) -> None:
    facts, _ = _load(path)
    assert codec.facts_from_json(codec.facts_to_json(facts)) == facts


def test_colima_qemu_vm_is_recreated_for_rosetta() -> None:
    """Colima's VM type is fixed at creation: Rosetta on a qemu VM needs delete + start --vm-type vz."""
    facts, targets = _load(EXAMPLES / "DKD503" / "bad-colima-qemu-vm-amd64-target.json")
    report = diagnose(facts, targets=targets, checks=(lookup("DKD503"),))
    steps = [s.argv for f in report.findings for fix in f.fixes for s in fix.steps if hasattr(s, "argv")]
    assert steps == [("colima", "delete"), ("colima", "start", "--vm-type", "vz", "--vz-rosetta")]


def test_no_fix_pulls_a_platform_the_image_lacks() -> None:
    """The registry says 127.0.0.1:5555/busybox:arm64 is arm64 only: neither DKD304 nor DKD305 offers to pull amd64."""
    facts, targets = _load(EXAMPLES / "DKD305" / "bad-arm64-only-image.json")
    report = diagnose(facts, targets=targets, checks=(lookup("DKD304"), lookup("DKD305")))
    assert {f.id for f in report.findings} == {"DKD304", "DKD305"}
    argvs = [s.argv for f in report.findings for fix in f.fixes for s in fix.steps if hasattr(s, "argv")]
    assert argvs and not any(a[:2] == ("docker", "pull") for a in argvs), argvs
    assert ("docker", "run", "--privileged", "--rm", "tonistiigi/binfmt", "--install", "arm64") in argvs


def test_exec_format_error_of_a_native_container_is_no_architecture_finding() -> None:
    """A container of the engine's own platform that died of `exec format error` (a script without `#!`, an empty
    file) is a look-alike: DKD305 stays silent (DKD321 explains it from its log), never "no emulator for amd64"."""
    import dataclasses

    facts, targets = _load(EXAMPLES / "DKD305" / "bad-arm64-only-image.json")
    containers = tuple(dataclasses.replace(c, platform=str(facts.engine.platform)) for c in facts.images.containers)
    assert any(c.exec_format_error for c in containers)
    facts = dataclasses.replace(facts, images=dataclasses.replace(facts.images, containers=containers))
    report = diagnose(facts, targets=targets, checks=(lookup("DKD305"),))
    assert report.findings == ()
