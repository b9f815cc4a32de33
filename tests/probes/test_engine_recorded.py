"""The real engine probe (docker SDK over a unix socket) against answers derived from recorded real outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.recorded import client_from_info_text, client_from_version_text, engine_for, read_recording

from dockdoctor.model import EndpointRule, Flavor
from dockdoctor.probes.endpoint import Resolved
from dockdoctor.probes.engine import classify, probe_engine

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded" / "engines"

CASES = [
    # recording key, flavour, native platform, server version (/version wins; the two recordings of a key
    # come from different machines, so their versions differ)
    ("docker-desktop-mac-arm64", Flavor.DOCKER_DESKTOP, "linux/arm64", "27.1.1"),
    ("docker-desktop-mac-intel", Flavor.DOCKER_DESKTOP, "linux/amd64", "20.10.17"),
    ("docker-desktop-windows-wsl2", Flavor.DOCKER_DESKTOP, "linux/amd64", "29.2.1"),
    ("orbstack-mac-arm64", Flavor.ORBSTACK, "linux/arm64", "29.4.0"),
    ("colima-mac-arm64", Flavor.COLIMA, "linux/arm64", "23.0.6"),
    ("rancher-desktop-mac-intel", Flavor.RANCHER_DESKTOP, "linux/amd64", "20.10.20"),
    ("linux-amd64", Flavor.DOCKERD, "linux/amd64", "28.3.2"),
    ("linux-arm64-raspberrypi", Flavor.DOCKERD, "linux/arm64", "20.10.5+dfsg1"),
    ("podman-linux-amd64", Flavor.PODMAN, "linux/amd64", "4.5.1"),
]


def _recorded_context(key: str) -> str | None:
    for kind, reader in (("docker-info", client_from_info_text), ("docker-version", client_from_version_text)):
        path = RECORDED / f"{kind}.{key}.1.txt"
        if path.exists():
            context = reader(read_recording(path)[1]).get("Context")
            if context:
                return context
    return None


@pytest.mark.parametrize(("key", "flavor", "platform", "version"), CASES, ids=[c[0] for c in CASES])
def test_probe_reads_the_recorded_engine(key: str, flavor: Flavor, platform: str, version: str) -> None:
    context = _recorded_context(key)
    with engine_for(key) as engine:
        resolved = Resolved(endpoint=engine.base_url, rule=EndpointRule.CURRENT_CONTEXT, context=context, contexts=())
        facts = probe_engine(resolved, timeout=30)
    assert facts.reachable, facts.error
    assert facts.flavor is flavor, facts.evidence
    assert facts.platform == platform
    assert facts.server_version == version
    assert facts.evidence[0].suggests == flavor.value
    assert all(e.field and e.value for e in facts.evidence)


def test_orbstack_with_docker_desktop_plugins_is_still_orbstack() -> None:
    # The recording's client has Docker Desktop's CLI plugins installed; only the server's answers count.
    with engine_for("orbstack-mac-arm64") as engine:
        facts = probe_engine(Resolved(engine.base_url, EndpointRule.DEFAULT, "default", ()), timeout=30)
    assert facts.flavor is Flavor.ORBSTACK
    assert {e.field for e in facts.evidence} >= {"info.OperatingSystem", "info.KernelVersion", "info.Name"}


def test_unreachable_engine_is_classified_from_its_endpoint() -> None:
    flavor, evidence = classify(
        endpoint="unix:///Users/dev/.orbstack/run/docker.sock", context="orbstack", info=None, version=None
    )
    assert flavor is Flavor.ORBSTACK
    assert [e.field for e in evidence] == ["endpoint", "context"]
    assert classify(endpoint="unix:///var/run/docker.sock", context="default", info=None, version=None) == (
        Flavor.UNKNOWN,
        (),
    )


def test_server_answers_beat_the_context_name() -> None:
    # A context named "colima" whose socket is really Docker Desktop's engine.
    flavor, evidence = classify(
        endpoint="unix:///tmp/x.sock", context="colima", info={"OperatingSystem": "Docker Desktop"}, version=None
    )
    assert flavor is Flavor.DOCKER_DESKTOP
    assert {e.suggests for e in evidence} == {"docker-desktop", "colima"}


@pytest.mark.parametrize(("key", "flavor", "platform", "version"), CASES, ids=[c[0] for c in CASES])
def test_whole_report_from_each_recorded_engine_validates(
    tmp_path: Path, key: str, flavor: Flavor, platform: str, version: str
) -> None:
    from clirun import dockdoctor, isolated_env
    from test_schema import validator

    with engine_for(key) as engine:
        result = dockdoctor("check", "--json", env=isolated_env(tmp_path, DOCKER_HOST=engine.base_url))
    report = result.json()
    validator("report").validate(report)
    assert report["facts"]["engine"]["flavor"] == flavor.value
    assert report["targets"] == [{"platform": platform, "source": "engine", "intent": "local"}]
