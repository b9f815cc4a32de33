"""DKD540/DKD541 and the runner_for helper: which emulator runs each workload, against the knowledge base."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env

from dockdoctor import codec
from dockdoctor.app import diagnose, resolve_targets
from dockdoctor.checks import emulated, lookup
from dockdoctor.checks._emulator import qemu_version, runner_for
from dockdoctor.checks._levels import matches
from dockdoctor.model import Builder, BuildxFacts, EmulatedPlatform, ImagePlatform, LocalImage, RemoteImage
from dockdoctor.platforms import parse

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "fixtures" / "checks"
DOTNET = FIX / "DKD540" / "bad-dotnet-sdk-stage-arm64-qemu.json"
MONGO = FIX / "DKD540" / "bad-mongo-pinned-amd64-rosetta.json"
MONGO_NATIVE = FIX / "DKD540" / "good-mongo-native-arm64.json"
UBI9_QEMU = FIX / "DKD541" / "bad-ubi9-amd64-under-qemu.json"
UBI10_ROSETTA = FIX / "DKD541" / "bad-ubi10-amd64-under-rosetta.json"
CHAINGUARD_V1 = FIX / "DKD308" / "bad-chainguard-on-v1-cpu.json"  # native: DKD308's, not DKD541's


def _facts(path: Path):
    return codec.facts_from_data(json.loads(path.read_text(encoding="utf-8")), source=str(path))


def _findings(facts, code: str, *targets: str):
    return diagnose(facts, targets=resolve_targets(facts, targets), checks=(lookup(code),)).findings


def _with_service(facts, **changes):
    compose = facts.project.compose
    service = dataclasses.replace(compose.services[0], **changes)
    return dataclasses.replace(
        facts, project=dataclasses.replace(facts.project, compose=dataclasses.replace(compose, services=(service,)))
    )


def _remote(ref: str, *platforms: str, kind: str = "index") -> RemoteImage:
    return RemoteImage(
        reference=ref,
        canonical=f"docker.io/library/{ref}",
        digest="sha256:" + "a" * 64,
        kind=kind,
        platforms=tuple(ImagePlatform(platform=p, digest="sha256:" + "b" * 64, media_type="") for p in platforms),
    )


# ------------------------------------------------------------------------------------------ runner_for


@pytest.mark.parametrize(
    ("path", "platform", "kind"),
    [
        (MONGO, "linux/amd64", "rosetta"),  # Docker Desktop, Rosetta setting on
        (MONGO, "linux/arm64", "native"),
        (MONGO, "linux/riscv64", "qemu"),  # the desktop-linux builder (docker driver) lists it: BuildKit's QEMU
        (UBI9_QEMU, "linux/amd64", "qemu"),  # Rosetta setting off: the builder's amd64 is QEMU
        (DOTNET, "linux/arm64", "qemu"),  # dockerd with the qemu-aarch64 binfmt handler
        (DOTNET, "linux/riscv64", "none"),  # no handler, no builder
        (DOTNET, "linux/amd64", "native"),
    ],
)
def test_runner_for_recorded_engines(path: Path, platform: str, kind: str) -> None:
    assert runner_for(_facts(path), parse(platform)).kind == kind


def test_runner_for_never_guesses_an_emulator() -> None:
    desktop = _facts(UBI9_QEMU)
    unknown_setting = dataclasses.replace(desktop, emulation=dataclasses.replace(desktop.emulation, rosetta=()))
    assert runner_for(unknown_setting, parse("linux/amd64")).kind == "unknown"
    cloud = dataclasses.replace(
        desktop,
        buildx=BuildxFacts(installed=True, builders=(Builder(name="desktop-linux", driver="cloud", status="running"),)),
    )
    assert runner_for(cloud, parse("linux/amd64")).kind == "unknown", "a cloud builder may run it natively"
    no_engine = dataclasses.replace(desktop, engine=dataclasses.replace(desktop.engine, platform=None))
    assert runner_for(no_engine, parse("linux/amd64")).kind == "unknown"
    via = dataclasses.replace(
        desktop,
        emulation=dataclasses.replace(
            desktop.emulation, emulated=(EmulatedPlatform("linux/amd64", "rosetta (binfmt rosetta)"),)
        ),
    )
    assert runner_for(via, parse("linux/amd64")).kind == "rosetta"


def test_qemu_version_is_not_in_the_facts_yet() -> None:
    assert qemu_version(_facts(UBI9_QEMU)) is None


@pytest.mark.parametrize(
    ("ref", "patterns", "expected"),
    [
        ("mongo:7.0", ["mongo"], True),
        ("docker.io/library/mongo:7.0", ["mongo"], True),
        ("bitnami/mongodb:6.0", ["bitnami/mongodb"], True),
        ("mongo-express:1", ["mongo"], False),
        ("mcr.microsoft.com/dotnet/sdk:8.0", ["mcr.microsoft.com/dotnet/*"], True),
        ("oraclelinux:9-slim", ["oraclelinux:9*"], True),
        ("oraclelinux:8", ["oraclelinux:9*"], False),
        ("registry.access.redhat.com/ubi9-minimal:9.4", ["registry.access.redhat.com/ubi9*"], True),
    ],
)
def test_image_patterns(ref: str, patterns: list[str], expected: bool) -> None:
    assert matches(ref, patterns) is expected


# ------------------------------------------------------------------------------------------ DKD540


@pytest.mark.parametrize(
    ("path", "targets", "entries"),
    [
        (DOTNET, ("linux/arm64",), {"dotnet-under-qemu", "dotnet-write-xor-execute-emulated"}),
        (MONGO, (), {"mongodb-needs-avx"}),
        (FIX / "DKD540" / "good-dotnet-sdk-stage-buildplatform.json", ("linux/arm64",), set()),
        (MONGO_NATIVE, (), set()),
    ],
    ids=["dotnet-bad", "mongo-bad", "dotnet-good", "mongo-good"],
)
def test_dkd540_replayed_through_the_cli(
    tmp_path: Path, path: Path, targets: tuple[str, ...], entries: set[str]
) -> None:
    args = [a for t in targets for a in ("--platform", t)]
    result = dockdoctor("check", "--from", str(path), "--only", "DKD540", *args, "--json", env=isolated_env(tmp_path))
    assert result.code in (0, 1), result.stderr
    findings = [f for f in result.json()["findings"] if f["id"] == "DKD540"]
    assert {
        e["value"] for f in findings for e in f["evidence"] if e["field"] == "knowledge.emulation.runtime.id"
    } == entries
    for finding in findings:
        assert finding["fixes"] and finding["message"].count("`") >= 2, "names the symptom and a fix"
        assert "#" in finding["message"], "names the source"


def test_dkd540_mongo_message_names_runtime_symptom_and_source() -> None:
    (finding,) = _findings(_facts(MONGO), "DKD540")
    assert finding.target == "linux/amd64" and finding.subject == "service db (compose.yaml:3)"
    assert "under Rosetta" in finding.message and "`Illegal instruction`" in finding.message
    assert "docker/for-mac#7137" in finding.message


def test_dkd540_silent_for_a_native_run_and_for_qemu_only_entries_under_rosetta() -> None:
    facts = _facts(MONGO)
    assert _findings(_with_service(facts, platform="linux/arm64"), "DKD540") == ()
    qemu_off = dataclasses.replace(
        facts,
        emulation=dataclasses.replace(
            facts.emulation,
            rosetta=(dataclasses.replace(facts.emulation.rosetta[0], enabled=False),),
            emulated=tuple(e for e in facts.emulation.emulated if e.platform != "linux/amd64")
            + (EmulatedPlatform("linux/amd64", "buildx builder desktop-linux"),),
        ),
    )
    assert runner_for(qemu_off, parse("linux/amd64")).kind == "qemu"
    assert _findings(qemu_off, "DKD540") == (), "the MongoDB entry is about Rosetta; QEMU is not claimed"


def test_dkd540_an_unnamed_emulator_matches_only_any_entries() -> None:
    facts = _facts(DOTNET)
    unknown = dataclasses.replace(
        facts,
        emulation=dataclasses.replace(
            facts.emulation, emulated=(EmulatedPlatform("linux/arm64", "buildx builder remote-arm"),)
        ),
        buildx=BuildxFacts(installed=True, builders=(Builder(name="remote-arm", driver="remote", status="running"),)),
    )
    ids = {
        e.value
        for f in _findings(unknown, "DKD540", "linux/arm64")
        for e in f.evidence
        if e.field == "knowledge.emulation.runtime.id"
    }
    assert ids == {"dotnet-write-xor-execute-emulated"}


def test_dkd540_offers_the_native_platform_when_the_image_has_it() -> None:
    facts = _facts(MONGO)
    offered = dataclasses.replace(
        facts, images=dataclasses.replace(facts.images, remote=(_remote("mongo:7.0", "linux/amd64", "linux/arm64/v8"),))
    )
    (finding,) = _findings(offered, "DKD540")
    assert finding.fixes[0].title == "run mongo:7.0 natively (linux/arm64)"
    assert "platform: linux/amd64 (compose.yaml:4)" in finding.fixes[0].steps[0].text
    amd64_only = dataclasses.replace(
        facts, images=dataclasses.replace(facts.images, remote=(_remote("mongo:7.0", "linux/amd64"),))
    )
    (finding,) = _findings(amd64_only, "DKD540")
    assert [f.title for f in finding.fixes] == [
        "the knowledge base's alternative",
        "run it under QEMU instead of Rosetta",
    ], "no native fix it lacks"


def test_dkd540_a_foreign_local_copy_gets_a_pull_fix() -> None:
    facts = _with_service(_facts(MONGO), platform=None)
    local = dataclasses.replace(
        facts,
        images=dataclasses.replace(
            facts.images,
            remote=(_remote("mongo:7.0", "linux/amd64", "linux/arm64/v8"),),
            local=(LocalImage(id="sha256:" + "c" * 64, platform="linux/amd64", repo_tags=("mongo:7.0",)),),
        ),
    )
    (finding,) = _findings(local, "DKD540")
    assert finding.fixes[0].steps[0].argv == ("docker", "pull", "--platform", "linux/arm64", "mongo:7.0")


# ------------------------------------------------------------------------------------------ DKD541


@pytest.mark.parametrize(
    ("path", "targets", "count"),
    [
        (UBI9_QEMU, ("linux/amd64",), 1),
        (UBI10_ROSETTA, ("linux/amd64",), 1),
        (CHAINGUARD_V1, (), 0),
        (FIX / "DKD541" / "good-ubi9-native-v4-cpu.json", (), 0),
        (FIX / "DKD541" / "good-ubi9-stage-buildplatform.json", ("linux/amd64",), 0),
    ],
    ids=["ubi9-qemu", "ubi10-rosetta", "chainguard-v1-native", "ubi9-v4", "ubi9-buildplatform"],
)
def test_dkd541_replayed_through_the_cli(tmp_path: Path, path: Path, targets: tuple[str, ...], count: int) -> None:
    args = [a for t in targets for a in ("--platform", t)]
    result = dockdoctor("check", "--from", str(path), "--only", "DKD541", *args, "--json", env=isolated_env(tmp_path))
    assert result.code in (0, 1), result.stderr
    findings = [f for f in result.json()["findings"] if f["id"] == "DKD541"]
    assert len(findings) == count, findings
    for finding in findings:
        assert "Fatal glibc error: CPU does not support x86-64-v" in finding["message"]
        assert finding["fixes"]


def test_dkd541_unknown_qemu_version_says_so_and_names_qemu_cpu_max() -> None:
    (finding,) = _findings(_facts(UBI9_QEMU), "DKD541", "linux/amd64")
    assert "QEMU's version is unknown here" in finding.message and "`qemu64` (x86-64-v1)" in finding.message
    assert finding.fixes[0].title == "emulate the `max` CPU (QEMU_CPU=max)"
    assert "ENV QEMU_CPU=max" in finding.fixes[0].steps[0].text
    assert "7.2" in finding.fixes[1].title


@pytest.mark.parametrize(("version", "count"), [("7.1.0", 1), ("7.2.0", 0), ("9.2.2", 0)])
def test_dkd541_with_a_known_qemu_version(monkeypatch: pytest.MonkeyPatch, version: str, count: int) -> None:
    # The facts hold no QEMU version yet (the emu branch adds it); runner_for's sibling is the one place to read it.
    monkeypatch.setattr(emulated, "qemu_version", lambda facts: version)
    findings = _findings(_facts(UBI9_QEMU), "DKD541", "linux/amd64")
    assert len(findings) == count
    if count:
        assert f"QEMU {version} emulates its default `qemu64` CPU, x86-64-v1" in findings[0].message


def test_dkd541_makes_no_claim_it_has_no_source_for() -> None:
    ubi9 = _facts(UBI9_QEMU)
    rosetta = _facts(MONGO)  # Docker Desktop with Rosetta on
    ubi9_under_rosetta = dataclasses.replace(rosetta, project=ubi9.project)
    assert _findings(ubi9_under_rosetta, "DKD541", "linux/amd64") == (), "no source says Rosetta lacks x86-64-v2"
    chainguard = _facts(CHAINGUARD_V1)
    remote = dataclasses.replace(chainguard, engine=dataclasses.replace(chainguard.engine, remote=True))
    assert _findings(remote, "DKD541") == (), "a remote engine's CPU is not this host's"
    unknown_level = dataclasses.replace(chainguard, host=dataclasses.replace(chainguard.host, amd64_level=None))
    assert _findings(unknown_level, "DKD541") == ()
    for_arm64 = _findings(_facts(UBI10_ROSETTA), "DKD541", "linux/arm64")
    assert for_arm64 == (), "the level is an amd64 matter"


# ------------------------------------------------------------------------------------------ DKD542

AVX_BAD = FIX / "DKD542" / "bad-mongo-amd64-desktop-4-26-qemu.json"
AVX_GOOD = FIX / "DKD542" / "good-mongo-amd64-desktop-4-33-qemu.json"


@pytest.mark.parametrize(("path", "count"), [(AVX_BAD, 1), (AVX_GOOD, 0)], ids=["desktop-4.26", "desktop-4.33"])
def test_dkd542_replayed_through_the_cli(tmp_path: Path, path: Path, count: int) -> None:
    result = dockdoctor("check", "--from", str(path), "--only", "DKD542", "--json", env=isolated_env(tmp_path))
    assert result.code in (0, 1), result.stderr
    findings = [f for f in result.json()["findings"] if f["id"] == "DKD542"]
    assert len(findings) == count, findings
    if count:
        assert "Docker Desktop 4.26.1 does not emulate AVX" in findings[0]["message"]
        assert "`Illegal instruction`" in findings[0]["message"]
        assert any("4.27.0" in f["title"] for f in findings[0]["fixes"])


def _plain_qemu(facts):
    """The same project on a plain Linux arm64 dockerd whose amd64 runs under a binfmt QEMU (no Desktop)."""
    from dockdoctor.model import Flavor

    return dataclasses.replace(
        facts,
        engine=dataclasses.replace(facts.engine, flavor=Flavor.DOCKERD, evidence=()),
        emulation=dataclasses.replace(
            facts.emulation, rosetta=(), emulated=(EmulatedPlatform("linux/amd64", "qemu (binfmt qemu-x86_64)"),)
        ),
    )


@pytest.mark.parametrize(
    ("version", "count", "says"),
    [
        (None, 1, "QEMU's version is unknown here"),
        ("7.0.0", 1, "QEMU 7.0.0 does not emulate AVX"),
        ("8.2.2", 0, ""),
    ],
)
def test_dkd542_plain_qemu_by_version(monkeypatch: pytest.MonkeyPatch, version, count: int, says: str) -> None:
    monkeypatch.setattr(emulated, "qemu_version", lambda facts: version)
    findings = _findings(_plain_qemu(_facts(AVX_BAD)), "DKD542")
    assert len(findings) == count
    if count:
        assert says in findings[0].message and "wiki.qemu.org/ChangeLog/7.2" in findings[0].message


def test_dkd542_leaves_rosetta_to_dkd540() -> None:
    assert _findings(_facts(MONGO), "DKD542") == ()
    assert len(_findings(_facts(MONGO), "DKD540")) == 1


def test_workload_platform_from_default_platform_and_containerd_store() -> None:
    facts = _with_service(_facts(MONGO), platform=None)
    assert _findings(facts, "DKD540") == (), "no pin: docker runs the engine's own platform"
    pinned_by_env = dataclasses.replace(facts, environment=(("DOCKER_DEFAULT_PLATFORM", "linux/amd64"),))
    (finding,) = _findings(pinned_by_env, "DKD540")
    assert any(e.value == "linux/amd64: environment DOCKER_DEFAULT_PLATFORM" for e in finding.evidence)
    store = dataclasses.replace(
        facts,
        images=dataclasses.replace(
            facts.images,
            local=(
                LocalImage(
                    id="sha256:" + "d" * 64,
                    platform="linux/amd64",
                    repo_tags=("mongo:7.0",),
                    manifests=(
                        ImagePlatform("linux/amd64", "sha256:" + "e" * 64, ""),
                        ImagePlatform("linux/arm64", "sha256:" + "f" * 64, ""),
                    ),
                ),
            ),
        ),
    )
    assert _findings(store, "DKD540") == (), "the containerd store holds the native platform: it runs natively"


def test_a_base_family_on_a_cpu_below_its_level_is_one_finding_from_one_table() -> None:
    """UBI 9 / Chainguard run natively on an x86-64-v1 CPU: DKD308 reports it (from emulation.toml), DKD541 does
    not; the same family under QEMU is DKD541's alone (DKD308 judges only the CPU that runs it natively)."""
    chainguard = _facts(CHAINGUARD_V1)
    assert [f.id for f in _findings(chainguard, "DKD308")] == ["DKD308"]
    assert _findings(chainguard, "DKD541") == ()
    (finding,) = _findings(chainguard, "DKD308")
    assert "Chainguard" in finding.message and "Fatal glibc error: CPU does not support x86-64-v2" in finding.message
    ubi9 = _facts(UBI9_QEMU)
    assert [f.id for f in _findings(ubi9, "DKD541", "linux/amd64")] == ["DKD541"]
    assert _findings(ubi9, "DKD308", "linux/amd64") == ()
