"""DKD530 known-defect and the product -> version mapping it reads, on facts of real shapes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env

from dockdoctor import codec
from dockdoctor.app import diagnose, resolve_targets
from dockdoctor.checks import lookup
from dockdoctor.checks._util import short_source
from dockdoctor.checks._versions import Installed, affects, installed_versions, known_defects, release
from dockdoctor.model import BuildxFacts, ComposeFacts, ComposeTool, EmulatedPlatform, Evidence, Flavor, RosettaSetting

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "fixtures" / "checks" / "DKD530" / "bad-desktop-4-26-arm64.json"
GOOD = ROOT / "fixtures" / "checks" / "DKD530" / "good-desktop-4-43-arm64.json"


def _facts(path: Path = BAD):
    return codec.facts_from_data(json.loads(path.read_text(encoding="utf-8")), source=str(path))


def _findings(facts, *targets: str):
    report = diagnose(facts, targets=resolve_targets(facts, targets), checks=(lookup("DKD530"),))
    return report.findings


def _ids(findings) -> set[str]:
    return {next(e.value for e in f.evidence if e.field == "knowledge.defects.id") for f in findings}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.38.0", "4.38.0"),
        ("v0.11.2-desktop.1", "0.11.2"),
        ("20.10.24+dfsg1", "20.10.24"),
        ("1.6.20~ds1", "1.6.20"),
        ("2.0.0-rc.0", "2.0.0rc0"),
        ("28.3.0-1", "28.3.0.post1"),
        ("dev", None),
    ],
)
def test_release_reads_reported_versions(text: str, expected: str | None) -> None:
    parsed = release(text)
    assert (str(parsed) if parsed else None) == expected


def test_affects_compares_ranges() -> None:
    assert affects(">=4.16.0,<4.26.0", "4.25.2")
    assert not affects(">=4.16.0,<4.26.0", "4.26.0")
    assert affects("==2.0.0rc0", "2.0.0-rc.0")
    assert affects("<0.10.2", "v0.10.1-desktop.1")
    assert not affects("", "1.0.0"), "an unknown range never matches"
    assert not affects("<1.0", "not-a-version")


def test_installed_versions_of_a_docker_desktop_mac() -> None:
    assert installed_versions(_facts()) == (
        Installed("docker-desktop", "4.26.1", "engine.evidence[version.Platform.Name]"),
        Installed("docker-engine", "27.1.1", "engine.server_version"),
        Installed("containerd", "1.7.19", "engine.components[containerd]"),
        Installed("compose", "2.29.1", "compose.v2.version"),
        Installed("buildx", "0.16.1-desktop.1", "buildx.version"),
    )


def test_installed_versions_of_podman_and_plain_dockerd() -> None:
    facts = _facts()
    podman = dataclasses.replace(
        facts,
        engine=dataclasses.replace(
            facts.engine,
            flavor=Flavor.PODMAN,
            evidence=(),
            server_version="5.1.1",
            components=(("Podman Engine", "5.1.1"),),
        ),
        compose=ComposeFacts(),
        buildx=BuildxFacts(),
    )
    assert installed_versions(podman) == (Installed("podman", "5.1.1", "engine.components[Podman Engine]"),)
    dockerd = dataclasses.replace(
        facts,
        engine=dataclasses.replace(
            facts.engine, flavor=Flavor.DOCKERD, evidence=(Evidence("version.Platform.Name", "Docker Desktop 4.1.0"),)
        ),
    )
    assert "docker-desktop" not in {i.product for i in installed_versions(dockerd)}, "the flavour decides"


ROSETTA_4_26 = {
    "docker-desktop-rosetta-php-huge-pages-segfault",
    "docker-desktop-rosetta-xvfb",
    "docker-desktop-rosetta-node-worker-exec-argv",
    "docker-desktop-rosetta-node-single-core",
    "docker-desktop-rosetta-php-fpm",
    "docker-desktop-rosetta-httpd",
}
ANY_4_26 = {"docker-desktop-qemu-no-avx", "docker-desktop-amd64-java-fatal-errors"}


def test_bad_example_names_version_defect_fix_and_source() -> None:
    findings = _findings(_facts(), "linux/amd64")
    assert _ids(findings) == ROSETTA_4_26 | ANY_4_26
    node = next(f for f in findings if "one core" in f.message)
    assert node.target == "linux/amd64"
    assert node.message == (
        "docker-desktop 4.26.1: Node.js uses only one core under Rosetta; fixed in 4.27.2 "
        "(https://docs.docker.com/desktop/release-notes/#4272)"
    )
    assert node.fixes[0].safety.value == "display-only"
    assert node.fixes[0].steps[0].text == "upgrade Docker Desktop to 4.27.2 or later"


def test_conditions_the_facts_cannot_confirm_keep_a_defect_silent() -> None:
    facts = _facts()
    on_4_33 = dataclasses.replace(
        facts,
        engine=dataclasses.replace(
            facts.engine, evidence=(Evidence("version.Platform.Name", "Docker Desktop 4.33.0 (160616)"),)
        ),
    )
    # 4.33.0 is inside the M3 (Rosetta) and M4 (Java SIGILL) ranges, but the facts do not know the chip
    assert _findings(on_4_33, "linux/amd64", "linux/arm64") == ()
    intel = dataclasses.replace(facts, host=dataclasses.replace(facts.host, apple_silicon=False))
    assert "docker-desktop-qemu-no-avx" not in _ids(_findings(intel, "linux/amd64"))
    macos_14_3 = dataclasses.replace(facts, host=dataclasses.replace(facts.host, os_release="macOS 14.3"))
    assert "docker-desktop-rosetta-macos-14-3-regression" in _ids(_findings(macos_14_3, "linux/amd64"))
    assert "docker-desktop-rosetta-macos-14-3-regression" not in _ids(_findings(facts, "linux/amd64"))


def test_rosetta_defects_do_not_count_when_qemu_runs_amd64() -> None:
    facts = _facts()
    off = dataclasses.replace(
        facts,
        emulation=dataclasses.replace(
            facts.emulation,
            rosetta=(RosettaSetting("docker-desktop", False, "settings-store.json"),),
            emulated=(EmulatedPlatform("linux/amd64", "qemu (binfmt qemu-x86_64)"),),
        ),
    )
    assert not _ids(_findings(off, "linux/amd64")) & ROSETTA_4_26
    assert _ids(_findings(off, "linux/amd64")) >= ANY_4_26 | {"docker-desktop-qemu-postgis"}
    older = dataclasses.replace(
        off,
        engine=dataclasses.replace(off.engine, evidence=(Evidence("version.Platform.Name", "Docker Desktop 4.13.0"),)),
    )
    assert "docker-desktop-qemu-7-child-subreaper" in _ids(_findings(older, "linux/amd64"))


def test_emulation_defects_need_an_emulated_target() -> None:
    facts = dataclasses.replace(
        _facts(),
        engine=dataclasses.replace(
            _facts().engine, evidence=(Evidence("version.Platform.Name", "Docker Desktop 4.20.0"),)
        ),
    )
    native_only = _ids(_findings(facts, "linux/arm64"))
    assert not any("rosetta" in i for i in native_only), native_only
    assert "docker-desktop-rosetta-proc-self-exe" in _ids(_findings(facts, "linux/amd64"))


def test_compose_releases_are_left_to_dkd403() -> None:
    facts = dataclasses.replace(
        _facts(GOOD), compose=ComposeFacts(v2=ComposeTool(command=("docker", "compose"), version="2.11.0", major=2))
    )
    assert _findings(facts, "linux/amd64") == ()
    assert {d["id"] for d in known_defects("compose")} >= {"compose-service-platform-with-default-platform-fails"}


def test_engine_release_is_matched_for_its_platform() -> None:
    good = _facts(GOOD)
    old = dataclasses.replace(good, engine=dataclasses.replace(good.engine, server_version="20.10.8"))
    # arm64 engine: the BuildKit Arm defect counts; the `--platform` one needs a fact dockdoctor lacks
    assert _ids(_findings(old, "linux/amd64")) == {"docker-engine-buildkit-local-image-arm-variant"}


def test_short_source() -> None:
    assert short_source("https://github.com/docker/compose/issues/5953") == "docker/compose#5953"
    assert short_source("https://github.com/moby/buildkit/pull/5808") == "moby/buildkit#5808"
    assert (
        short_source("https://docs.docker.com/desktop/release-notes/#4410")
        == "https://docs.docker.com/desktop/release-notes/#4410"
    )


@pytest.mark.parametrize(("path", "count"), [(BAD, 8), (GOOD, 0)], ids=["bad", "good"])
def test_replayed_through_the_cli(tmp_path: Path, path: Path, count: int) -> None:
    result = dockdoctor(
        "check",
        "--from",
        str(path),
        "--only",
        "DKD530",
        "--platform",
        "linux/amd64",
        "--json",
        env=isolated_env(tmp_path),
    )
    assert result.code in (0, 1), result.stderr
    findings = [f for f in result.json()["findings"] if f["id"] == "DKD530"]
    assert len(findings) == count, findings
    if count:
        assert all(f["fixes"] for f in findings)


def test_requirements_the_facts_can_confirm() -> None:
    from dockdoctor.checks.defects import requirement_met

    facts = _facts()  # Apple Silicon, macOS 14.5, arm64 engine, Docker Desktop's Rosetta on
    assert requirement_met(facts, "host:apple-silicon") is True
    assert requirement_met(facts, "engine-arch:arm64") is True
    assert requirement_met(facts, "engine-arch:amd64") is False
    assert requirement_met(facts, "rosetta:on") is True and requirement_met(facts, "rosetta:off") is False
    assert requirement_met(facts, "macos>=14") is True and requirement_met(facts, "macos<12.5") is False
    assert requirement_met(facts, "chip:m3") is None, "no fact tells the chip yet"
    linux = dataclasses.replace(
        facts,
        host=dataclasses.replace(facts.host, os="linux", os_release="Debian 12"),
        emulation=dataclasses.replace(facts.emulation, rosetta=()),
    )
    assert requirement_met(linux, "macos==14.3") is False
    assert requirement_met(linux, "rosetta:on") is None
