"""The published JSON Schemas: shipped, current, backward compatible within a version, and obeyed."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from dockdoctor.cli import cli
from dockdoctor.codec import FIX_VERSION
from dockdoctor.model import REPORT_VERSION, SCHEMA_VERSION
from dockdoctor.model.fleet import FLEET_VERSION
from dockdoctor.schema import SCHEMAS

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "src" / "dockdoctor" / "schemas"
HISTORY = Path(__file__).resolve().parent / "data" / "schema-history"  # frozen copies, never regenerated
VERSIONS = {"facts": SCHEMA_VERSION, "report": REPORT_VERSION, "fix": FIX_VERSION, "fleet": FLEET_VERSION}
OLD_FACTS = Path(__file__).resolve().parent / "data" / "facts-v1"  # real files of releases with facts schema 1
FACTS_FILES = sorted((ROOT / "fixtures" / "checks").glob("DKD*/*.json"))


def validator(which: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SHIPPED / f"{which}-v{VERSIONS[which]}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("which", ["facts", "report", "fix", "fleet"])
def test_shipped_schema_is_generated_from_the_model(which: str) -> None:
    shipped = json.loads((SHIPPED / f"{which}-v{VERSIONS[which]}.schema.json").read_text())
    assert shipped == SCHEMAS[which](), (
        f"the {which} schema changed: regenerate src/dockdoctor/schemas/{which}-v{VERSIONS[which]}.schema.json "
        "(if test_change_is_compatible fails too, bump the version first)"
    )


def _compatible(old: dict, new: dict, where: str = "$") -> list[str]:
    """Ways in which `new` breaks readers or writers of documents valid under `old`."""
    problems = []
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name, old_def in [("<root>", old), *old_defs.items()]:
        new_def = new if name == "<root>" else new_defs.get(name)
        if new_def is None:
            problems.append(f"{name} removed")
            continue
        for prop, old_schema in old_def.get("properties", {}).items():
            if prop not in new_def.get("properties", {}):
                problems.append(f"{name}.{prop} removed")
            elif new_def["properties"][prop] != old_schema:
                problems.append(f"{name}.{prop} changed type")
        added_required = set(new_def.get("required", [])) - set(old_def.get("required", []))
        problems += [f"{name}.{prop} became required" for prop in sorted(added_required)]
    return problems


@pytest.mark.parametrize("which", ["facts", "report", "fix", "fleet"])
def test_change_is_compatible_or_the_version_is_bumped(which: str) -> None:
    frozen = HISTORY / f"{which}-v{VERSIONS[which]}.schema.json"
    assert frozen.exists(), f"a new {which} schema version needs its frozen copy in {HISTORY}"
    problems = _compatible(json.loads(frozen.read_text()), SCHEMAS[which]())
    assert not problems, f"incompatible {which} schema change without a version bump: {problems}"


def test_compatibility_check_catches_removals() -> None:
    old = SCHEMAS["facts"]()
    new = json.loads(json.dumps(old))
    del new["$defs"]["HostFacts"]["properties"]["arch"]
    new["$defs"]["EngineFacts"]["required"].append("platform")
    assert _compatible(old, new) == ["HostFacts.arch removed", "EngineFacts.platform became required"]


@pytest.mark.parametrize("path", FACTS_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_facts_and_their_reports_validate(path: Path) -> None:
    validator("facts").validate(json.loads(path.read_text()))
    data = json.loads(path.read_text())
    args = ["check", "--json", "--from", str(path)] + [a for t in data.get("_targets", []) for a in ("--platform", t)]
    validator("report").validate(json.loads(CliRunner().invoke(cli, args).output))


def test_schema_command_prints_the_shipped_schema() -> None:
    for which in ("report", "facts", "fix"):
        printed = CliRunner().invoke(cli, ["schema", which]).output
        assert json.loads(printed) == json.loads((SHIPPED / f"{which}-v{VERSIONS[which]}.schema.json").read_text())


def test_facts_written_before_the_emulation_fields_replay_with_their_defaults(tmp_path: Path) -> None:
    """A facts file the previous release wrote (schema 1, before the emulation fields) replays: the v1 -> v2
    migration brings it up, and every new field takes its default ("not known"), never a guess."""
    from dockdoctor import codec

    path = OLD_FACTS / "5e05f43-pinned-project-no-emulation.json"
    old = json.loads(path.read_text())
    assert old["schema_version"] == 1 and "macos_version" not in old["host"]
    facts = codec.facts_from_data(old, source="old")
    assert facts.schema_version == SCHEMA_VERSION == 2
    assert facts.host.macos_version == "" and facts.host.cpu_model == "" and facts.host.virtual_machine is None
    assert all(c.live is None and c.resolved == "" for c in facts.engine.contexts)
    assert facts.emulation.settings == () and facts.emulation.binfmt_enabled is None and facts.error_texts == ()
    assert facts.project is not None and facts.project.deploy == ()
    validator("facts").validate(json.loads(codec.facts_to_json(facts)))  # written back: version 2, valid
    result = CliRunner().invoke(cli, ["check", "--json", "--from", str(path)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.output)
    assert report["schema_version"] == 2 and report["facts"]["host"]["macos_version"] == ""
    validator("report").validate(report)


def test_the_frozen_v1_copies_are_the_v1_schemas_and_v2_is_a_bump() -> None:
    """Version 1 stays readable: real files that version wrote validate against the frozen v1 schema."""
    v1 = jsonschema.Draft202012Validator(json.loads((HISTORY / "facts-v1.schema.json").read_text()))
    for path in sorted(OLD_FACTS.glob("1a16643-*.json")):
        v1.validate(json.loads(path.read_text()))
    assert SCHEMAS["facts"]()["$id"].endswith("/facts-v2.json")
