"""Facts schema 1 -> 2: real files of the releases before the emulation fields replay through `check --from`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from clirun import dockdoctor, isolated_env

from dockdoctor import codec
from dockdoctor.cli import cli
from dockdoctor.model import SCHEMA_VERSION
from dockdoctor.model.migrate import MIGRATIONS, migrate, v1_to_v2

ROOT = Path(__file__).resolve().parents[1]
OLD = sorted(p for p in (ROOT / "tests" / "data" / "facts-v1").glob("*.json") if "-report-" not in p.name)
OLD_REPORT = ROOT / "tests" / "data" / "facts-v1" / "5e05f43-report-no-project.json"
V2 = jsonschema.Draft202012Validator(json.loads((ROOT / "src/dockdoctor/schemas/facts-v2.schema.json").read_text()))


def test_every_older_version_has_one_step_up() -> None:
    assert SCHEMA_VERSION == 2 and sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION))
    assert OLD, "no recorded v1 facts files"


@pytest.mark.parametrize("path", OLD, ids=lambda p: p.stem)
def test_a_v1_file_replays_as_version_2(path: Path) -> None:
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    result = CliRunner().invoke(cli, ["check", "--json", "--from", str(path)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.output)
    assert report["schema_version"] == 2 and report["dockdoctor_report_version"] == 2
    V2.validate(report["facts"])
    facts = codec.facts_from_json(path.read_text(), source=str(path))
    assert codec.facts_from_json(codec.facts_to_json(facts)) == facts  # written back as v2, it reads the same


@pytest.mark.parametrize("path", [p for p in OLD if "qemu" in p.name], ids=lambda p: p.stem)
def test_the_migration_names_the_emulator_v1_data_already_shows(path: Path) -> None:
    facts = codec.facts_from_json(path.read_text(), source=str(path))
    (handler,) = facts.emulation.handlers
    assert (handler.interpreter, handler.emulator) == ("/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "qemu")
    assert handler.installer == "" and handler.version == ""  # not derivable from a v1 file: stays unknown
    (emulated,) = facts.emulation.emulated
    assert (emulated.platform, emulated.emulator, emulated.version) == ("linux/arm64", "qemu", "")
    for container in facts.images.containers:
        expected = "qemu (binfmt qemu-aarch64)" if container.platform == "linux/arm64" else None
        assert container.emulator == expected, container


def test_an_unknown_interpreter_and_a_builder_list_name_no_emulator() -> None:
    old = {
        "schema_version": 1,
        "engine": {"platform": "linux/amd64"},
        "emulation": {
            "handlers": [{"interpreter": "/opt/weird/runner"}, {"interpreter": "/mnt/lima-rosetta/rosetta"}],
            "emulated": [{"platform": "linux/riscv64", "via": "buildx builder b"}, {"platform": "x", "via": "rosetta"}],
        },
        "images": {"containers": [{"platform": "linux/riscv64"}, {"platform": "bogus//"}]},
    }
    new = v1_to_v2(old)
    assert [h["emulator"] for h in new["emulation"]["handlers"]] == ["", "rosetta"]
    assert [e["emulator"] for e in new["emulation"]["emulated"]] == ["", "rosetta"]
    # a builder's platform list does not run containers; a platform that does not parse is left alone
    assert new["images"]["containers"] == [{"platform": "linux/riscv64", "emulator": None}, {"platform": "bogus//"}]
    assert old["emulation"]["handlers"][0] == {"interpreter": "/opt/weird/runner"}  # the input is not changed
    assert migrate(old, 1, 1) is old


@pytest.mark.parametrize(
    "text",
    [
        '{"schema_version": 1, "host": {"os": "linux", "arch": "amd64", "machine": "x86_64"}, "emulation": "x"}',
        '{"schema_version": 1, "host": {"os": "linux", "arch": "amd64", "machine": "x86_64"}, "emulation": [1]}',
        '{"schema_version": 1, "engine": [], "images": {"containers": "x"}}',
    ],
)
def test_a_malformed_v1_file_is_a_one_line_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    result = dockdoctor("check", "--from", str(path), env=isolated_env(tmp_path))
    assert result.code == 2 and "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"dockdoctor: {path}: invalid facts file: ")


def test_a_v1_report_replays_from_the_facts_inside_it() -> None:
    old = json.loads(OLD_REPORT.read_text())
    assert (old["dockdoctor_report_version"], old["schema_version"], old["facts"]["schema_version"]) == (1, 1, 1)
    result = CliRunner().invoke(cli, ["check", "--json", "--from", str(OLD_REPORT)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.output)
    assert (report["dockdoctor_report_version"], report["schema_version"]) == (2, 2)
    assert report["replayed_from"] and report["gathered_by"] == old["dockdoctor_version"]
    V2.validate(report["facts"])
