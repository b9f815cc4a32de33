"""Host facts from recorded outputs (fixtures/recorded/host, headers name their public sources) and this machine."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support.recorded import read_recording

from dockdoctor.platforms import amd64_level
from dockdoctor.probes.host import parse_cpu_flags, parse_cpu_model, parse_dmi, parse_sw_vers, probe_host

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded" / "host"


def body(name: str) -> str:
    return read_recording(RECORDED / name)[1]


def test_every_host_recording_has_a_source_header() -> None:
    for path in RECORDED.glob("*.txt"):
        fields, text = read_recording(path)
        assert {"source", "date", "flavour", "cues", "command"} <= set(fields), path.name
        assert fields["source"].split()[-1].startswith("https://"), path.name
        assert text.strip()


def test_sw_vers() -> None:
    assert parse_sw_vers(body("sw-vers.macos-15-arm64.1.txt")) == "15.0.1"
    assert parse_sw_vers("12.7.6\n") == "12.7.6"  # `sw_vers -productVersion`
    assert parse_sw_vers("") == ""


@pytest.mark.parametrize(
    ("name", "model", "level"),
    [
        ("cpuinfo.qemu-virtual-cpu-kvm-guest.1.txt", "QEMU Virtual CPU version 1.5.3", 1),
        ("cpuinfo.sandy-bridge-kvm-guest.1.txt", "Intel Xeon E312xx (Sandy Bridge)", 2),
    ],
)
def test_cpuinfo_of_kvm_guests(name: str, model: str, level: int) -> None:
    text = body(name)
    flags = parse_cpu_flags(text)
    assert parse_cpu_model(text) == model
    assert amd64_level(flags) == level
    assert "hypervisor" in flags


def test_dmi_names_hypervisors() -> None:
    # values as public reports give them: "QEMU" (boot2docker/boot2docker#449), "Standard PC (i440FX + PIIX, 1996)"
    # (ansible/ansible#9381), Nutanix "AHV" (uyuni-project/uyuni#2112)
    assert parse_dmi("QEMU\n", "Standard PC (i440FX + PIIX, 1996)\n") == (
        True,
        "QEMU Standard PC (i440FX + PIIX, 1996)",
    )
    assert parse_dmi("Nutanix", "AHV")[0]
    assert parse_dmi("Dell Inc.", "PowerEdge R640") == (False, "Dell Inc. PowerEdge R640")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads this Linux machine")
def test_this_machine() -> None:
    host = probe_host()
    cpuinfo = Path("/proc/cpuinfo").read_text()
    assert host.cpu_model == parse_cpu_model(cpuinfo)
    assert host.virtual_machine is (
        "hypervisor" in parse_cpu_flags(cpuinfo)
        or parse_dmi(
            *(
                Path(f"/sys/class/dmi/id/{n}").read_text() if Path(f"/sys/class/dmi/id/{n}").exists() else ""
                for n in ("sys_vendor", "product_name")
            )
        )[0]
    )
    assert host.macos_version == "" and host.rosetta_installed is None


def test_mac_probe_with_recorded_sw_vers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A Mac cannot run here: the commands answer with the recorded sw_vers and sysctl values."""
    from dockdoctor.probes import host as host_probe
    from dockdoctor.probes._run import Completed

    answers = {
        ("sw_vers",): body("sw-vers.macos-15-arm64.1.txt").split("\n", 1)[1],  # without the prompt line
        ("sysctl", "-n", "hw.optional.arm64"): "1\n",
        ("sysctl", "-n", "sysctl.proc_translated"): "0\n",
    }
    monkeypatch.setattr(host_probe, "_os_name", lambda: "darwin")
    monkeypatch.setattr(host_probe, "_uname", lambda: ("arm64", "24.0.0"))
    monkeypatch.setattr(host_probe, "run", lambda probe, argv, timeout: Completed(argv, 0, answers[argv], ""))
    monkeypatch.setattr(host_probe, "ROSETTA_RUNTIME", str(tmp_path / "libRosettaRuntime"))
    facts = probe_host()
    assert (facts.macos_version, facts.os_release, facts.apple_silicon, facts.rosetta_translated) == (
        "15.0.1",
        "macOS 15.0.1",
        True,
        False,
    )
    assert facts.rosetta_installed is False
    (tmp_path / "libRosettaRuntime").write_text("")
    assert probe_host().rosetta_installed is True
