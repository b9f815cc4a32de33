"""The fleet document without an engine: the model's table and exit code, the renderers, the JSON Schema, the
context environment, and the CLI's refusals; the live runs are in tests/integration/test_fleet_live.py."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner
from test_schema import SHIPPED, validator

from dockdoctor import codec
from dockdoctor.app import diagnose, resolve_targets
from dockdoctor.checks import ALL_CHECKS, lookup
from dockdoctor.cli import cli, main
from dockdoctor.model import Builder, BuildxFacts, Facts, ProbeError, Severity
from dockdoctor.model.fleet import FleetReport, Unanswered
from dockdoctor.probes import GatherOptions
from dockdoctor.probes.fleet import Member, _with_tools, context_env
from dockdoctor.render import Format, RenderOptions
from dockdoctor.render.fleet import render
from dockdoctor.schema import SCHEMAS

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "fixtures" / "checks" / "DKD230" / "bad-tag-arm64-and-amd64.json"


def _facts(context: str, platform: str) -> Facts:
    facts = codec.facts_from_json(BAD.read_text())
    engine = dataclasses.replace(facts.engine, context=context, platform=platform)
    return dataclasses.replace(facts, engine=engine, fleet=())


def _fleet(*, hostile: str = "") -> FleetReport:
    per_engine = tuple(s for s in ALL_CHECKS if s.id not in ("DKD230", "DKD231"))
    reports = []
    for context, platform in (("desktop-linux", "linux/arm64"), ("ci" + hostile, "linux/amd64")):
        facts = _facts(context, platform)
        reports.append(diagnose(facts, targets=resolve_targets(facts, ()), checks=per_engine))
    fleet_facts = codec.facts_from_json(BAD.read_text())
    findings = diagnose(fleet_facts, targets=(), checks=(lookup("DKD230"), lookup("DKD231"))).findings
    gone = Unanswered(
        context="old",
        endpoint="unix:///nowhere.sock",
        error=ProbeError(probe="engine", kind="not-found", detail="no socket at /nowhere.sock"),
    )
    return FleetReport(
        reports=tuple(reports),
        findings=findings,
        unanswered=(gone,),
        dockdoctor_version="0.1.0",
        current="desktop-linux",
        engines=fleet_facts.fleet,
    )


def test_the_table_lists_every_engine_and_the_ones_that_did_not_answer() -> None:
    rows = _fleet().rows
    assert [(r.context, r.answered, r.current) for r in rows] == [
        ("desktop-linux", True, True),
        ("ci", True, False),
        ("old", False, False),
    ]
    assert rows[0].platform == "linux/arm64" and rows[2].problem == "not-found: no socket at /nowhere.sock"


def test_exit_code_counts_the_fleet_findings_too() -> None:
    fleet = _fleet()
    assert {f.id for f in fleet.findings} == {"DKD230", "DKD231"}
    assert int(fleet.exit_code(Severity.WARNING)) == 1
    quiet = dataclasses.replace(fleet, reports=(), findings=())
    assert int(quiet.exit_code(Severity.WARNING)) == 0


def test_json_validates_against_the_shipped_fleet_schema() -> None:
    assert json.loads((SHIPPED / "fleet-v2.schema.json").read_text()) == SCHEMAS["fleet"]()
    data = json.loads(render(_fleet(), Format.JSON, RenderOptions()))
    validator("fleet").validate(data)
    assert list(data)[:4] == ["dockdoctor_fleet_version", "dockdoctor_version", "current_context", "summary"]
    assert [r["dockdoctor_report_version"] for r in data["reports"]] == [2, 2]
    assert data["exit_code"] == 0  # warnings only


def test_text_and_markdown_put_the_summary_first_and_show_outside_text_escaped() -> None:
    fleet = _fleet(hostile="\x1b]0;owned\x07")
    text = render(fleet, Format.TEXT, RenderOptions())
    assert "\x1b" not in text and "ci\\x1b]0;owned\\x07" in text
    assert text.index("desktop-linux *") < text.index("Across the fleet:") < text.index("=== context desktop-linux")
    md = render(fleet, Format.MARKDOWN, RenderOptions())
    assert "\x1b" not in md and md.startswith("# dockdoctor fleet\n")
    assert md.index("| context |") < md.index("## Across the fleet") < md.index("## context desktop-linux")
    assert "### dockdoctor report" in md and "\n## dockdoctor report" not in md


def test_context_env_names_the_context_and_keeps_docker_host_only_for_default() -> None:
    env = {"DOCKER_HOST": "tcp://h:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CONTEXT": "x", "HOME": "/h"}
    assert context_env(env, "ci") == {"DOCKER_CONTEXT": "ci", "HOME": "/h"}
    assert context_env(env, "default") == {
        "DOCKER_HOST": "tcp://h:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CONTEXT": "default",
        "HOME": "/h",
    }


def test_other_contexts_get_the_clis_buildx_with_their_own_builder_current() -> None:
    buildx = BuildxFacts(
        installed=True,
        version="0.16.1",
        current="desktop-linux",
        builders=(
            Builder(name="desktop-linux", driver="docker", status="running", current=True),
            Builder(name="ci", driver="docker", status="running"),
        ),
    )
    here = dataclasses.replace(_facts("desktop-linux", "linux/arm64"), buildx=buildx)
    there = dataclasses.replace(_facts("ci", "linux/amd64"), buildx=BuildxFacts())
    members = _with_tools((Member("desktop-linux", here, True), Member("ci", there, False)), GatherOptions())
    assert members[0].facts.buildx == buildx
    other = members[1].facts.buildx
    assert other.current == "ci" and [b.name for b in other.builders if b.current] == ["ci"]


def test_all_contexts_refuses_from_and_save_facts_in_one_line(capsys) -> None:
    assert main(["check", "--all-contexts", "--from", str(BAD)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--from replays one engine's facts" in err
    assert main(["check", "--context", "x", "--save-facts", "f.json", "--no-project"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--save-facts" in err


def test_schema_command_prints_the_fleet_schema() -> None:
    printed = CliRunner().invoke(cli, ["schema", "fleet"]).output
    assert json.loads(printed) == SCHEMAS["fleet"]()


def test_contexts_beyond_the_limit_are_listed_as_not_checked(tmp_path, monkeypatch) -> None:
    from dockdoctor.probes import fleet

    cfg = tmp_path / "cfg"
    for i in range(3):
        meta = cfg / "contexts" / "meta" / f"m{i}"
        meta.mkdir(parents=True)
        (meta / "meta.json").write_text(
            json.dumps(
                {
                    "Name": f"c{i}",
                    "Metadata": {},
                    "Endpoints": {"docker": {"Host": f"unix://{tmp_path}/absent{i}.sock"}},
                }
            )
        )
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")  # the default context: no engine either
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.setattr(fleet, "MAX_CONTEXTS", 2)
    found = fleet.gather_fleet(GatherOptions(timeout=5, tools=False, local_images=False))
    assert [m.context for m in found.members] == ["default", "c0", "c1", "c2"]
    last = found.members[-1].facts.engine
    assert not last.reachable and last.error is not None and "more than 2 contexts" in last.error.detail
    assert found.members[1].facts.engine.error.kind == "not-found"
