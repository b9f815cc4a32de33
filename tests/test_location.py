"""Locations as data (model/location.py): the records, their wire strings, and the codec's round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockdoctor.codec import facts_from_json, facts_to_json, from_data, to_data
from dockdoctor.model import (
    DotenvEntry,
    EndpointRule,
    EngineFacts,
    Facts,
    HostFacts,
    Interpolated,
    Line,
    Location,
    Origin,
    Place,
    ProjectFacts,
)
from dockdoctor.model.location import parse_place, place_text
from dockdoctor.schema import facts_schema

ROOT = Path(__file__).resolve().parents[1]
ODD_FILES = (
    "compose.yaml",
    "my app/compose.yaml",  # a space
    "a:b.yaml",  # a colon
    "C:\\work\\shop\\compose.yaml",  # a Windows drive letter
    "D:/work/compose.override.yml",
    "deploy/x:1/compose.yaml",  # a folder that looks like a line
    "a via b/compose.yaml",  # the word that separates the variables
    "${X} from .env/compose.yaml",
    "x and ${Y} from y.yaml",
)


@pytest.mark.parametrize("file", ODD_FILES)
def test_a_place_reads_back_as_written_whatever_the_file_name(file: str) -> None:
    assert place_text(file, 12) == f"{file}:12"
    assert parse_place(f"{file}:12") == (file, 12)
    assert Place.from_wire(f"{file}:12").location == Location(file=file, line=12)


@pytest.mark.parametrize("text", ["compose.yaml", "x:07", "x:0", "x:", ":3x", "docker compose config", "", "x:3 y"])
def test_text_that_is_no_canonical_file_line_is_a_file_alone(text: str) -> None:
    assert parse_place(text) == (text, 0)
    assert place_text(*parse_place(text)) == text
    assert Place.from_wire(text).location is None or " " in text  # `x:3 y`: line 3 of x, and what is on it


@pytest.mark.parametrize("file", ODD_FILES)
def test_an_origin_reads_back_from_its_source_string(file: str) -> None:
    origins = (
        Origin("image", file, 3),
        Origin("image", file, 3, via=(Interpolated("TAG", ".env", 4),), text="    image: api:${TAG}"),
        Origin("platform", file, 9, via=(Interpolated("ARCH"), Interpolated("OS", ".env", 2))),
    )
    for origin in origins:
        wire = to_data(origin)
        assert set(wire) == {"key", "source", "text"}  # the facts file's shape, as before
        assert from_data(Origin, wire) == origin
        assert origin.location == Location(file=file, line=origin.line)


def test_origin_source_strings_are_the_ones_facts_files_hold() -> None:
    origin = Origin("image", "compose.yaml", 3, via=(Interpolated("TAG", ".env", 3), Interpolated("ARCH")))
    assert origin.source == "compose.yaml:3 via ${TAG} from .env:3 and ${ARCH} from environment"
    assert to_data(origin) == {"key": "image", "source": origin.source, "text": ""}
    config = Origin("service", resolved_by="docker compose config")
    assert config.source == "docker compose config" and config.location is None
    assert from_data(Origin, to_data(config)) == config


def test_a_name_built_like_a_via_list_reads_back_as_the_same_bytes() -> None:
    """The one ambiguity of the string: a `.env` path holding ` and ${`. The bytes stay; the split may differ."""
    odd = Origin("image", "c.yaml", 9, via=(Interpolated("A"), Interpolated("B", "x and ${Y} from y", 2)))
    back = from_data(Origin, to_data(odd))
    assert to_data(back) == to_data(odd)


@pytest.mark.parametrize(
    "source",
    [
        "environment",
        "compose.yaml:3 via ${TAG} from nowhere",  # a via that is no file line: kept as written
        "compose.yaml:3 via",
        "compose.yaml:03",
        "compose.yaml:3 via ${A} from .env:1 and",
        "",
    ],
)
def test_an_origin_no_reading_fits_is_kept_as_written(source: str) -> None:
    origin = from_data(Origin, {"key": "image", "source": source})
    assert origin.location is None and origin.resolved_by == source
    assert to_data(origin)["source"] == source


@given(st.text(alphabet="ab:$ {}/.\\1203vianderomt", max_size=40))
def test_every_source_string_is_written_back_byte_for_byte(source: str) -> None:
    origin = from_data(Origin, {"key": "k", "source": source, "text": "t"})
    assert to_data(origin) == {"key": "k", "source": source, "text": "t"}
    entry = from_data(DotenvEntry, ["N", "v", source])
    assert to_data(entry) == ["N", "v", source]


def test_dotenv_entries_and_the_last_line_keep_their_lists() -> None:
    entry = DotenvEntry("DOCKER_DEFAULT_PLATFORM", "linux/amd64", ".env", 3)
    assert to_data(entry) == ["DOCKER_DEFAULT_PLATFORM", "linux/amd64", ".env:3"]
    assert from_data(DotenvEntry, to_data(entry)) == entry
    assert entry.location == Location(".env", 3) and entry.source == ".env:3"
    assert to_data(Line(4, "X=1")) == [4, "X=1"] and from_data(Line, [4, "X=1"]) == Line(4, "X=1")
    assert to_data(Line()) == [0, ""]
    with pytest.raises(ValueError, match=r"\$: expected 3 items"):
        from_data(DotenvEntry, ["A", "b"])  # the list's shape is still checked


def _facts(project: ProjectFacts) -> Facts:
    engine = EngineFacts(endpoint="unix:///var/run/docker.sock", endpoint_rule=EndpointRule.DEFAULT, context=None)
    return Facts(host=HostFacts(os="linux", arch="amd64", machine="x86_64"), engine=engine, project=project)


def test_the_facts_file_round_trips_records_with_odd_names() -> None:
    from dockdoctor.model import ComposeProject, ServiceFacts

    origins = tuple(Origin("image", f, 3, via=(Interpolated("TAG", ".env", 1),)) for f in ODD_FILES)
    project = ProjectFacts(
        root="/p",
        compose=ComposeProject(
            files=ODD_FILES, resolved_by="dockdoctor", services=(ServiceFacts("s", origins=origins),)
        ),
        dotenv=(DotenvEntry("COMPOSE_FILE", "a:b.yaml", ".env", 1),),
        dotenv_end=Line(1, "COMPOSE_FILE=a:b.yaml"),
    )
    facts = _facts(project)
    text = facts_to_json(facts)
    assert facts_from_json(text) == facts
    assert facts_to_json(facts_from_json(text)) == text
    data = json.loads(text)["project"]
    assert data["dotenv"] == [["COMPOSE_FILE", "a:b.yaml", ".env:1"]] and data["dotenv_end"] == [
        1,
        "COMPOSE_FILE=a:b.yaml",
    ]
    assert (
        data["compose"]["services"][0]["origins"][3]["source"]
        == "C:\\work\\shop\\compose.yaml:3 via ${TAG} from .env:1"
    )


def test_facts_files_replay_and_are_written_back_unchanged() -> None:
    """Every fixture that has project origins or a .env: read into records, written as the same bytes."""
    seen = 0
    for path in sorted((ROOT / "fixtures").rglob("*.json")):
        text = path.read_text()
        if '"origins"' not in text and '"dotenv"' not in text:
            continue
        try:
            facts = facts_from_json(text, source=str(path))
        except Exception:  # noqa: BLE001, S112 - not a facts file (a registry answer, a config)
            continue
        again = facts_to_json(facts)
        assert json.loads(again) == json.loads(facts_to_json(facts_from_json(again)))
        if facts.project and facts.project.compose:
            for service in facts.project.compose.services:
                for origin in service.origins:
                    assert origin.location is not None or origin.resolved_by, (path, origin)
        seen += 1
    assert seen >= 20


def test_an_older_facts_file_replays_into_records() -> None:
    old = {
        "schema_version": 1,
        "host": {"os": "linux", "arch": "amd64", "machine": "x86_64"},
        "engine": {"endpoint": "unix:///var/run/docker.sock", "endpoint_rule": "default", "context": None},
        "project": {
            "root": "/p",
            "dotenv": [["DOCKER_DEFAULT_PLATFORM", "linux/amd64", ".env:2"]],
            "dotenv_end": [2, "DOCKER_DEFAULT_PLATFORM=linux/amd64"],
            "compose": {
                "files": ["compose.yaml"],
                "resolved_by": "dockdoctor",
                "services": [{"name": "db", "origins": [{"key": "image", "source": "compose.yaml:3"}]}],
            },
        },
    }
    facts = facts_from_json(json.dumps(old))
    assert facts.project is not None and facts.project.compose is not None
    assert facts.project.dotenv == (DotenvEntry("DOCKER_DEFAULT_PLATFORM", "linux/amd64", ".env", 2),)
    assert facts.project.dotenv_end == Line(2, "DOCKER_DEFAULT_PLATFORM=linux/amd64")
    assert facts.project.compose.services[0].origins == (Origin("image", "compose.yaml", 3),)


def test_the_schema_describes_the_strings_the_file_holds() -> None:
    defs = facts_schema()["$defs"]
    assert defs["Origin"]["properties"] == {
        "key": {"type": "string"},
        "source": {"type": "string"},
        "text": {"type": "string"},
    }
    assert defs["Origin"]["required"] == ["key", "source"]
    dotenv = defs["ProjectFacts"]["properties"]["dotenv"]
    assert dotenv == {
        "type": "array",
        "items": {"type": "array", "prefixItems": [{"type": "string"}] * 3, "minItems": 3, "maxItems": 3},
    }
    assert defs["ProjectFacts"]["properties"]["dotenv_end"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert not {"Line", "DotenvEntry", "Interpolated", "OriginWire"} & set(defs)


def test_a_hostile_source_costs_a_bounded_number_of_splits() -> None:
    source = "compose.yaml:1" + " via ${A} from x" * 20_000  # every split fails: 8 are tried, not 20 000
    origin = from_data(Origin, {"key": "image", "source": source})
    assert origin.resolved_by == source and to_data(origin)["source"] == source


@pytest.mark.parametrize("file", ODD_FILES)
def test_a_place_and_what_is_on_it_read_back_whatever_the_file_name(file: str) -> None:
    for place in (
        Place(file, 12),
        Place(file, 17, "nodeSelector"),
        Place(file, 3, "Cloud Run (runs linux/amd64 only)"),
    ):
        assert to_data(place) == str(place)
        assert from_data(Place, to_data(place)) == place
        assert place.location == Location(file=file, line=place.line) and place.at == f"{file}:{place.line}"
    assert to_data(Place(file, 17, "services.web.platform")) == f"{file}:17 services.web.platform"


@pytest.mark.parametrize(
    "text",
    [
        "docker compose config services.web.platform",
        "compose.yaml services.web.platform",
        "x:0",
        "poetry.lock:0",
        "x:07 y",
        "x:3 ",
        "x:",
        "",
        " services.web.platform",
    ],
)
def test_a_place_string_that_names_no_file_line_is_kept_as_written(text: str) -> None:
    place = from_data(Place, text)
    assert place == Place(text) and place.location is None and to_data(place) == text


@given(st.text(alphabet="ab: /.\\1203\n", max_size=30))
def test_every_place_string_is_written_back_byte_for_byte(text: str) -> None:
    assert to_data(from_data(Place, text)) == text


def test_deploy_pin_and_copy_places_replay_byte_for_byte() -> None:
    """The facts fields that held `file:line` strings and (number, text) lists: records, the same JSON."""
    from dockdoctor.model import DeployFile, DeployImage, DeployTarget, HostBuilt, PythonPin

    project = ProjectFacts(
        root="/p",
        deploy=(
            DeployFile(
                path="my k8s/api.yaml",
                kind="kubernetes",
                targets=(DeployTarget("linux/arm64", Place("my k8s/api.yaml", 17, "nodeSelector")),),
                images=(
                    DeployImage(
                        "app:1",
                        Place("my k8s/api.yaml", 21, "containers[api].image"),
                        pod_spec=Line(14, "      containers:"),
                    ),
                ),
            ),
        ),
        pins=(
            PythonPin(
                "six", "1.16.0", Place("a:b/requirements.txt", 3), "six==1.16.0", "Dockerfile", 4, "3.11", "glibc"
            ),
        ),
        host_built=(
            HostBuilt(
                "node_modules", "node_modules", copied_by=(Place("Dockerfile", 5),), dockerignore_end=Line(2, "x")
            ),
        ),
    )
    facts = _facts(project)
    text = facts_to_json(facts)
    assert facts_from_json(text) == facts and facts_to_json(facts_from_json(text)) == text
    data = json.loads(text)["project"]
    assert data["deploy"][0]["targets"][0]["source"] == "my k8s/api.yaml:17 nodeSelector"
    assert data["deploy"][0]["images"][0]["source"] == "my k8s/api.yaml:21 containers[api].image"
    assert data["deploy"][0]["images"][0]["pod_spec"] == [14, "      containers:"]
    assert data["pins"][0]["source"] == "a:b/requirements.txt:3"
    assert data["host_built"][0]["copied_by"] == ["Dockerfile:5"] and data["host_built"][0]["dockerignore_end"] == [
        2,
        "x",
    ]
    defs = facts_schema()["$defs"]
    assert defs["DeployTarget"]["properties"]["source"] == {"type": "string"}
    assert defs["HostBuilt"]["properties"]["copied_by"] == {"type": "array", "items": {"type": "string"}}
    assert "Place" not in defs


def test_facts_files_with_deploy_pins_and_copies_are_written_back_unchanged() -> None:
    seen = 0
    for path in sorted((ROOT / "fixtures").rglob("*.json")):
        text = path.read_text()
        if not any(k in text for k in ('"deploy"', '"pins"', '"host_built"')):
            continue
        try:
            facts = facts_from_json(text, source=str(path))
        except Exception:  # noqa: BLE001, S112 - not a facts file (a registry answer, a config)
            continue
        again = facts_to_json(facts)
        assert again == facts_to_json(facts_from_json(again)), path
        assert _places(json.loads(again)) == _places(json.loads(text)), path  # the strings and lists as read
        project = facts.project
        for place in [t.source for d in project.deploy for t in d.targets] if project else []:
            assert place.location is not None or " services." in place.file, (path, place)
        seen += 1
    assert seen >= 10


def _places(data: dict[str, object]) -> list[object]:
    project = data.get("project")
    if not isinstance(project, dict):
        return []
    out: list[object] = []
    for deploy in project.get("deploy") or []:
        out += [t["source"] for t in deploy.get("targets") or []]
        out += [(i["source"], i.get("pod_spec", [0, ""])) for i in deploy.get("images") or []]
    out += [p["source"] for p in project.get("pins") or []]
    out += [(h.get("copied_by", []), h.get("dockerignore_end", [0, ""])) for h in project.get("host_built") or []]
    return out


def test_compose_build_targets_name_their_line_or_what_resolved_them() -> None:
    """A compose target's source: the key's line with what it is; without a line, the text as written (which a
    facts file reads back as the same record)."""
    from dockdoctor.model import ComposeProject, ServiceBuild, ServiceFacts
    from dockdoctor.probes.project import _compose_build_targets

    services = (
        ServiceFacts(
            "api", platform="linux/arm64", build=ServiceBuild("."), origins=(Origin("platform", "c d.yaml", 5),)
        ),
        ServiceFacts(
            "web",
            build=ServiceBuild(".", platforms=("linux/amd64",)),
            origins=(Origin("build.platforms", resolved_by="docker compose config"),),
        ),
        ServiceFacts("db", platform="linux/arm64", build=ServiceBuild(".")),
    )
    deploy = _compose_build_targets(ComposeProject(files=("c d.yaml",), resolved_by="dockdoctor", services=services))
    assert deploy is not None
    assert [str(t.source) for t in deploy.targets] == [
        "c d.yaml:5 services.api.platform",
        "docker compose config services.web.build.platforms",
        "c d.yaml services.db.platform",
    ]
    assert [t.source.location for t in deploy.targets] == [Location("c d.yaml", 5), None, None]
    assert [from_data(Place, to_data(t.source)) for t in deploy.targets] == [t.source for t in deploy.targets]
