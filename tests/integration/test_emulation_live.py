"""Emulation facts from the real binfmt_misc of this machine and the real qemu-aarch64-static.

binfmt_misc is machine-global: every change happens inside `binfmt_state(...)`, which restores the state it found
(the handler re-registered without F and the global switch below are undone by that restore too).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from clirun import dockdoctor, isolated_env
from integration.env import binfmt_state

from dockdoctor.probes.emulation import engine_emulation, probe_emulation

BM = Path("/proc/sys/fs/binfmt_misc")


def _expected_version(testenv: dict) -> str:
    # "qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)" as the test environment recorded it
    return testenv["versions"]["qemu_aarch64"].split(" version ", 1)[1]


@contextlib.contextmanager
def aarch64_without_f() -> Iterator[None]:
    """qemu-aarch64 registered as Debian does, but without the F flag (inside binfmt_state, which restores)."""
    with binfmt_state(enabled_aarch64=True):
        line = next(
            x for x in Path("/usr/lib/binfmt.d/qemu-aarch64.conf").read_text().splitlines() if x.startswith(":")
        )
        head, _, flags = line.rpartition(":")
        (BM / "qemu-aarch64").write_text("-1")
        (BM / "register").write_text(f"{head}:{flags.replace('F', '')}")
        yield


def _check(testenv: dict, tmp_path: Path, *args: str) -> dict:
    result = dockdoctor(
        "check",
        "--json",
        "--no-project",
        *args,
        env=isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"]),
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.json()


def test_handler_with_f_flag_and_the_real_qemu_version(testenv: dict) -> None:
    with binfmt_state(enabled_aarch64=True):
        facts = probe_emulation(os_name="linux")
    handler = next(h for h in facts.handlers if h.name == "qemu-aarch64")
    assert handler.enabled and "F" in handler.flags and handler.platform == "linux/arm64"
    assert (handler.emulator, handler.installer) == ("qemu", "distribution")
    assert handler.version == _expected_version(testenv)
    assert handler.version_source == "/usr/bin/qemu-aarch64-static --version"
    assert facts.binfmt_enabled is True
    emulated = engine_emulation(
        host_os="linux",
        engine_platform="linux/amd64",
        engine_flavor="dockerd",
        engine_remote=False,
        handlers=facts.handlers,
        rosetta=(),
        builder_platforms=(),
        binfmt_enabled=facts.binfmt_enabled,
    )
    arm64 = next(e for e in emulated if e.platform == "linux/arm64")
    assert (arm64.emulator, arm64.version) == ("qemu", _expected_version(testenv))
    assert "flags " in arm64.known_by and "qemu-aarch64-static --version" in arm64.known_by


def test_handler_without_f_flag_is_reported(testenv: dict, tmp_path: Path) -> None:
    with aarch64_without_f():
        facts = probe_emulation(os_name="linux")
        report = _check(testenv, tmp_path, "--platform", "linux/arm64")
    handler = next(h for h in facts.handlers if h.name == "qemu-aarch64")
    assert handler.enabled and "F" not in handler.flags and handler.version == _expected_version(testenv)
    finding = next(f for f in report["findings"] if f["id"] == "DKD504")
    assert "lacks the F flag" in finding["message"]


def test_disabled_handler_and_global_switch(testenv: dict, tmp_path: Path) -> None:
    with binfmt_state(enabled_aarch64=True):
        with binfmt_state(enabled_aarch64=False):
            facts = probe_emulation(os_name="linux")
        assert not next(h for h in facts.handlers if h.name == "qemu-aarch64").enabled
        (BM / "status").write_text("0")
        off = probe_emulation(os_name="linux")
    assert off.binfmt_enabled is False
    assert (
        engine_emulation(
            host_os="linux",
            engine_platform="linux/amd64",
            engine_flavor="dockerd",
            engine_remote=False,
            handlers=off.handlers,
            rosetta=(),
            builder_platforms=(),
            binfmt_enabled=off.binfmt_enabled,
        )
        == ()
    )


def test_exec_format_error_with_a_registered_emulator(testenv: dict, tmp_path: Path) -> None:
    docker = [testenv["docker_cli"], "-H", testenv["docker_host"]]
    name = f"dd-emu-{tmp_path.name}"[:60]
    try:
        with binfmt_state(enabled_aarch64=True):
            (BM / "status").write_text("0")
            truth = subprocess.run(
                docker
                + [
                    "run",
                    "--name",
                    name,
                    "--network",
                    "none",
                    "--platform",
                    "linux/arm64",
                    testenv["images"]["local_arm64"],
                    "true",
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            report = _check(testenv, tmp_path)
    finally:
        subprocess.run(docker + ["rm", "-f", name], capture_output=True, timeout=60)
    assert "exec format error" in truth.stderr
    mine = [f for f in report["findings"] if name in f["subject"] and f["id"] != "DKD321"]  # DKD321: its log, apart
    assert [f["id"] for f in mine] == ["DKD507"], mine
    assert "binfmt_misc is switched off" in mine[0]["message"]


def test_fix_switches_a_disabled_handler_back_on(testenv: dict, tmp_path: Path) -> None:
    """DKD503's first fix for a registered but disabled handler, applied for real, then re-checked by `fix`."""
    with binfmt_state(enabled_aarch64=True):
        with binfmt_state(enabled_aarch64=False):  # registered, disabled (restored by the outer block)
            result = dockdoctor(
                "fix",
                "--project",
                str(tmp_path),
                "--platform",
                "linux/arm64",
                "--only",
                "DKD503",
                "--yes",
                "--allow-unsafe",
                env=isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"]),
                timeout=120,
            )
            enabled = (BM / "qemu-aarch64").read_text().splitlines()[0]
    assert "DKD503 enable the qemu-aarch64 handler: fixed" in result.stdout, result.stdout + result.stderr
    assert enabled == "enabled" and result.code == 0
