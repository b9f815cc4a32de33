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
    """The facts schema grew (emulation versions, socket liveness, host CPU, deploy targets, container logs) only by
    optional fields, so it stays version 1: a file the previous release wrote replays, and every new field takes
    its default ("not known"), never a guess."""
    from dockdoctor import codec

    old = json.loads((ROOT / "fixtures" / "checks" / "DKD101" / "bad-rosetta-terminal.json").read_text())
    assert "macos_version" not in old["host"] and "live" not in json.dumps(old["engine"]["contexts"])
    facts = codec.facts_from_data(old, source="old")
    assert facts.schema_version == 1
    assert facts.host.macos_version == "" and facts.host.cpu_model == "" and facts.host.virtual_machine is None
    assert all(c.live is None and c.resolved == "" for c in facts.engine.contexts)
    assert facts.emulation.settings == () and facts.error_texts == ()
    assert facts.project is None or facts.project.deploy == ()
    saved = tmp_path / "old.json"
    saved.write_text(json.dumps(old))
    validator("facts").validate(json.loads(codec.facts_to_json(facts)))  # written back: today's fields, valid
    result = CliRunner().invoke(cli, ["check", "--json", "--from", str(saved)])
    assert result.exit_code in (0, 1) and json.loads(result.output)["facts"]["host"]["macos_version"] == ""
