"""Rosetta settings read from each Mac engine's own settings file, and what the engine can run with them."""

from __future__ import annotations

import json
from pathlib import Path

from dockdoctor.model import BinfmtHandler, RosettaSetting
from dockdoctor.probes.emulation import engine_emulation, rosetta_settings

# Key names as real configurations spell them: Docker Desktop's `useVirtualizationFrameworkRosetta` (settings.json,
# e.g. dudeofawesome/nix-config modules/defaults/home-manager/docker-desktop.nix) and
# `UseVirtualizationFrameworkRosetta`
# (settings-store.json, Docker Desktop 4.35 and later); Colima's top-level `rosetta:` in colima.yaml
# (`colima start --vz-rosetta` writes it); OrbStack's `rosetta` in ~/.orbstack/vmconfig.json.


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_each_engine_setting_is_read(tmp_path: Path) -> None:
    group = tmp_path / "Library" / "Group Containers" / "group.com.docker"
    _write(group / "settings-store.json", json.dumps({"UseVirtualizationFrameworkRosetta": True, "AutoStart": False}))
    _write(tmp_path / ".orbstack" / "vmconfig.json", json.dumps({"rosetta": False, "memory_mib": 8192}))
    _write(tmp_path / ".colima" / "default" / "colima.yaml", "cpu: 4\nvmType: vz\nrosetta: true\n")
    found, errors = rosetta_settings(str(tmp_path))
    assert errors == []
    assert [(s.source, s.enabled) for s in found] == [("docker-desktop", True), ("orbstack", False), ("colima", True)]


def test_older_desktop_settings_file_and_broken_json(tmp_path: Path) -> None:
    group = tmp_path / "Library" / "Group Containers" / "group.com.docker"
    _write(group / "settings.json", json.dumps({"useVirtualizationFrameworkRosetta": False}))
    _write(tmp_path / ".orbstack" / "vmconfig.json", "{not json")
    found, errors = rosetta_settings(str(tmp_path), {"COLIMA_HOME": str(tmp_path / "nowhere")})
    assert [(s.source, s.enabled) for s in found] == [("docker-desktop", False)]
    assert len(errors) == 1 and "vmconfig.json: invalid JSON" in errors[0].detail


def test_what_the_engine_can_run() -> None:
    qemu = BinfmtHandler("qemu-aarch64", True, "/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "POF", "linux/arm64")
    off = BinfmtHandler("qemu-riscv64", False, "/usr/bin/qemu-riscv64-static", "F", "linux/riscv64")
    local = engine_emulation(
        host_os="linux",
        engine_platform="linux/amd64",
        engine_flavor="dockerd",
        engine_remote=False,
        handlers=(qemu, off),
        rosetta=(),
        builder_platforms=(),
    )
    assert [(e.platform, e.via) for e in local] == [("linux/arm64", "qemu (binfmt qemu-aarch64)")]
    # the host's handlers say nothing about a remote engine or a VM's kernel
    assert (
        engine_emulation(
            host_os="linux",
            engine_platform="linux/amd64",
            engine_flavor="dockerd",
            engine_remote=True,
            handlers=(qemu,),
            rosetta=(),
            builder_platforms=(),
        )
        == ()
    )
    rosetta = (RosettaSetting("orbstack", True, "/Users/dev/.orbstack/vmconfig.json"),)
    mac = engine_emulation(
        host_os="darwin",
        engine_platform="linux/arm64",
        engine_flavor="orbstack",
        engine_remote=False,
        handlers=(),
        rosetta=rosetta,
        builder_platforms=(("default", ("linux/arm64", "linux/amd64", "linux/riscv64")),),
    )
    assert [(e.platform, e.via) for e in mac] == [
        ("linux/amd64", "rosetta (orbstack setting)"),
        ("linux/riscv64", "buildx builder default"),
    ]
