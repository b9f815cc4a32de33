"""`check --no-engine` and the CI formats (SARIF 2.1.0, GitHub workflow commands), run as a user runs them."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import jsonschema
import pytest
from clirun import dockdoctor, isolated_env

from dockdoctor.render.github import escape_data, escape_property

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = ROOT / "fixtures" / "projects"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())
ENGINE_CHECKS = ("DKD201", "DKD503", "DKD101", "DKD501")  # engine, emulation, host and buildx facts


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """stage-chain (a final stage built for $BUILDPLATFORM: DKD603 on Dockerfile:6) copied to be the checkout."""
    dest = tmp_path / "checkout"
    shutil.copytree(PROJECTS / "stage-chain", dest)
    return dest


@pytest.fixture
def trap(tmp_path: Path):
    """A listening unix socket as DOCKER_HOST: any probe that connects leaves a connection in its backlog."""
    path = tmp_path / "docker.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(16)
    sock.setblocking(False)
    yield f"unix://{path}", sock
    sock.close()


def _connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def test_no_engine_touches_no_socket_and_lists_the_engine_checks_as_skipped(
    project: Path, tmp_path: Path, trap
) -> None:
    host, sock = trap
    env = isolated_env(tmp_path, DOCKER_HOST=host)
    result = dockdoctor("check", "--no-engine", "--offline", "--json", env=env, cwd=project)
    assert result.code == 1, result.stderr  # DKD603 is an error
    assert _connections(sock) == 0, "a probe connected to DOCKER_HOST under --no-engine"
    report = result.json()
    ids = {f["id"] for f in report["findings"]}
    assert ids == {"DKD603"}
    skipped = {s["id"]: s["reason"] for s in report["checks_skipped"]}
    for code in ENGINE_CHECKS:
        assert code in skipped and "--no-engine" in skipped[code]
        assert code not in report["checks_run"]
    assert "DKD603" in report["checks_run"] and "DKD603" not in skipped
    assert report["findings"][0]["location"] == {"file": "Dockerfile", "line": 6, "column": 1}
    text = dockdoctor("check", "--no-engine", "--offline", env=env, cwd=project)
    assert _connections(sock) == 0
    assert re.search(r"^skipped \d+ check\(s\) \(--no-engine: .*DKD201", text.stdout, re.M), text.stdout
    assert "Engine" not in text.stdout and "DKD201" not in text.stdout.split("skipped", 1)[0]
    markdown = dockdoctor("check", "--no-engine", "--offline", "--format", "markdown", env=env, cwd=project)
    assert re.search(r"^Skipped \(--no-engine: .*DKD201", markdown.stdout, re.M)


def test_no_engine_takes_the_targets_from_the_deploy_files(tmp_path: Path, trap) -> None:
    host, sock = trap
    result = dockdoctor(
        "check",
        "--no-engine",
        "--offline",
        "--json",
        env=isolated_env(tmp_path, DOCKER_HOST=host),
        cwd=PROJECTS / "deploy-kubernetes",
    )
    assert _connections(sock) == 0
    assert [(t["platform"], t["intent"]) for t in result.json()["targets"]] == [
        ("linux/arm64", "deploy"),
        ("linux/amd64", "deploy"),
    ], result.stderr


def test_sarif_validates_against_the_official_schema_and_every_result_has_a_file_and_line(
    project: Path, tmp_path: Path, trap
) -> None:
    host, sock = trap
    env = isolated_env(tmp_path, DOCKER_HOST=host)
    result = dockdoctor("check", "--no-engine", "--offline", "--format", "sarif", env=env, cwd=project)
    assert result.code == 1, result.stderr
    assert _connections(sock) == 0
    sarif = json.loads(result.stdout)
    jsonschema.Draft4Validator.check_schema(SARIF_SCHEMA)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {"DKD201", "DKD603"} <= {r["id"] for r in rules}
    rule = next(r for r in rules if r["id"] == "DKD603")
    assert rule["name"] == "buildplatform-on-final-stage" and rule["defaultConfiguration"]["level"] == "error"
    assert rule["helpUri"].endswith("checks.md#dkd603") and "## What it checks" in rule["help"]["text"]
    assert run["results"], "stage-chain has a DKD603 finding"
    for res in run["results"]:
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] and not loc["artifactLocation"]["uri"].startswith("/")
        assert loc["region"]["startLine"] >= 1
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
    (res,) = run["results"]
    assert res["ruleId"] == "DKD603" and res["level"] == "error"
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Dockerfile"
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    skipped = {n["descriptor"]["id"] for n in run["invocations"][0]["toolExecutionNotifications"]}
    assert "DKD201" in skipped

    # the fingerprint is the same in the next run, and after a line is added above the finding
    dockerfile = project / "Dockerfile"
    dockerfile.write_text("# syntax=docker/dockerfile:1\n" + dockerfile.read_text())
    again = json.loads(
        dockdoctor("check", "--no-engine", "--offline", "--format", "sarif", env=env, cwd=project).stdout
    )["runs"][0]["results"][0]
    assert again["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert again["partialFingerprints"] == res["partialFingerprints"]


def test_sarif_paths_are_relative_to_the_checkout_and_host_findings_are_left_out(tmp_path: Path) -> None:
    """Run from the checkout with --project SUBDIR: the URI starts at the checkout; a replayed engine-less facts
    file's findings about the engine (no file) do not appear in the SARIF document."""
    checkout = tmp_path / "repo"
    shutil.copytree(PROJECTS / "stage-chain", checkout / "svc")
    result = dockdoctor(
        "check",
        "--no-engine",
        "--offline",
        "--format",
        "sarif",
        "--project",
        "svc",
        env=isolated_env(tmp_path),
        cwd=checkout,
    )
    sarif = json.loads(result.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]]
    assert uris == ["svc/Dockerfile"]
    replay = ROOT / "fixtures" / "checks" / "DKD201"
    bad = sorted(replay.glob("bad-*.json"))[0]
    engine = dockdoctor(
        "check", "--from", str(bad), "--format", "sarif", "--no-project", env=isolated_env(tmp_path), cwd=checkout
    )
    doc = json.loads(engine.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    assert doc["runs"][0]["results"] == []  # DKD201 is about the engine: no file, so not a SARIF result


GITHUB_LINE = re.compile(r"^::(error|warning|notice) (?:file=[^,:]+,line=\d+,col=\d+,)?title=[^,:]+::.*$")


def test_github_format_writes_one_workflow_command_per_finding(project: Path, tmp_path: Path) -> None:
    result = dockdoctor(
        "check", "--no-engine", "--offline", "--format", "github", env=isolated_env(tmp_path), cwd=project
    )
    assert result.code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert all(GITHUB_LINE.match(line) for line in lines), lines
    assert lines[0].startswith("::error file=Dockerfile,line=6,col=1,title=DKD603::")
    assert lines[-1].startswith("::notice title=dockdoctor::") and "DKD201" in lines[-1]


def test_github_escaping_is_the_toolkits() -> None:
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("dir:a,b%\n") == "dir%3Aa%2Cb%25%0A"


def test_no_engine_with_contexts_is_a_one_line_error(tmp_path: Path) -> None:
    """(`check --offline` alone is valid: registries and the package index answer from the cache only.)"""
    env = isolated_env(tmp_path)
    for args in (("--no-engine", "--all-contexts"), ("--format", "sarif", "--all-contexts")):
        result = dockdoctor("check", *args, env=env)
        assert result.code == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        assert re.search(r"^Error: --(no-engine|format) ", result.stderr, re.M), result.stderr


def test_the_engine_free_set_names_catalog_checks_only() -> None:
    from dockdoctor.checks import ALL_CHECKS, ENGINE_FREE, needs_engine

    assert ENGINE_FREE <= {s.id for s in ALL_CHECKS}
    assert {s.id for s in ALL_CHECKS if not needs_engine(s)} == ENGINE_FREE
    for spec in ALL_CHECKS:  # what an engine-free check reads: no engine, compose or buildx fact
        if spec.id in ENGINE_FREE and spec.id != "DKD001":
            used = spec.doc.split("## Facts used", 1)[1]
            assert not re.search(r"`(engine|compose|buildx|host)\.", used), (spec.id, used)


def test_a_location_is_a_project_file_and_line_never_an_image_reference() -> None:
    from dockdoctor.app import location_of
    from dockdoctor.model import DockerfileFacts, EndpointRule, EngineFacts, Facts, HostFacts, Location, ProjectFacts

    facts = Facts(
        host=HostFacts(os="", arch="", machine=""),
        engine=EngineFacts(endpoint="", endpoint_rule=EndpointRule.DEFAULT, context=None),
        project=ProjectFacts(root="/src/app", dockerfiles=(DockerfileFacts(path="build/Dockerfile"),)),
    )
    at = Location(file="build/Dockerfile", line=4)
    assert location_of("build/Dockerfile:4", facts, at) == at  # the check's own location, never its subject parsed
    assert location_of("build/Dockerfile:4", facts) is None
    absolute = Location(file="/src/app/build/Dockerfile", line=4, column=7)
    assert location_of("x", facts, absolute) == Location(file="build/Dockerfile", line=4, column=7)
    assert location_of("build/Dockerfile", facts) == Location(file="build/Dockerfile", line=1)
    for subject in ("redis:7", "engine", "service web", "Dockerfile:2", "../etc/passwd:1"):
        assert location_of(subject, facts) is None, subject
    for given in (Location("Dockerfile", 2), Location("../etc/passwd", 1), Location("/etc/passwd", 1)):
        assert location_of("x", facts, given) is None, given  # a file the project does not hold


def test_no_engine_asks_the_registry_and_offline_asks_nothing(tmp_path: Path, trap) -> None:
    from support.servers import OCI_INDEX, Answer, index_doc, registry_server, sha256

    amd64_only = index_doc(
        [(sha256(b"amd64"), "application/vnd.oci.image.manifest.v1+json", {"os": "linux", "architecture": "amd64"})]
    )

    def route(method: str, path: str) -> Answer:
        if path.startswith("/v2/x/app/manifests/"):
            return Answer(200, {"Content-Type": OCI_INDEX, "Docker-Content-Digest": sha256(amd64_only)}, amd64_only)
        return Answer(404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')

    host, sock = trap
    env = isolated_env(tmp_path, DOCKER_HOST=host, DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    app = tmp_path / "app"
    app.mkdir()
    with registry_server(route) as reg:
        (app / "Dockerfile").write_text(f"FROM {reg.host}/x/app:1.2\n")
        offline = dockdoctor(
            "check", "--no-engine", "--offline", "--platform", "linux/arm64", "--json", env=env, cwd=app
        )
        assert reg.seen == [] and offline.code == 0, offline.stderr
        online = dockdoctor("check", "--no-engine", "--platform", "linux/arm64", "--json", env=env, cwd=app)
    assert _connections(sock) == 0
    assert any(line.startswith("GET /v2/x/app/manifests/1.2") for line in reg.seen), reg.seen
    report = online.json()
    assert [t["platform"] for t in report["targets"]] == ["linux/arm64"]
    finding = next(f for f in report["findings"] if f["id"] == "DKD301")
    assert finding["location"] == {"file": "Dockerfile", "line": 1, "column": 1}  # the FROM line naming it


def test_no_engine_reads_a_compose_project_without_touching_the_socket(tmp_path: Path, trap) -> None:
    """The compose file is resolved (`docker compose config` when installed) without the engine."""
    host, sock = trap
    result = dockdoctor(
        "check",
        "--no-engine",
        "--offline",
        "--platform",
        "linux/arm64",
        "--format",
        "github",
        env=isolated_env(tmp_path, DOCKER_HOST=host),
        cwd=PROJECTS / "tag-app",
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert _connections(sock) == 0
    assert all(GITHUB_LINE.match(line) for line in result.stdout.splitlines()), result.stdout
