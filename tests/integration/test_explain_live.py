"""Real failures on the test engine, explained from their real logs (`explain-error`) and from the probes (`check`).

Images are tiny FROM scratch builds around the test environment's static busybox: a script without `#!`, a script
with CRLF line endings, an aarch64 program whose loader is missing (run under QEMU), a shell that kills itself with
SIGSEGV under QEMU (exit 139), and the arm64 busybox without emulation (a real `exec format error`).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from clirun import dockdoctor, isolated_env
from integration.env import binfmt_state
from test_schema import validator


def _docker(testenv: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [testenv["docker_cli"], "-H", testenv["docker_host"], *args], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0 or not check, proc.stderr
    return proc


def _aarch64_dynamic_elf(interpreter: bytes = b"/lib/ld-linux-aarch64.so.1") -> bytes:
    """A minimal aarch64 ELF executable that names a dynamic loader (PT_INTERP) and does nothing else."""
    base, interp = 0x400000, interpreter + b"\0"
    off = 64 + 2 * 56
    total = off + len(interp)
    header = (
        b"\x7fELF\x02\x01\x01"
        + b"\0" * 9
        + struct.pack("<HHIQQQIHHHHHH", 2, 0xB7, 1, base + total, 64, 0, 0, 64, 56, 2, 0, 0, 0)
    )
    ph_interp = struct.pack("<IIQQQQQQ", 3, 4, off, base + off, base + off, len(interp), len(interp), 1)
    ph_load = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, total, total, 0x1000)
    return header + ph_interp + ph_load + interp


def _build(testenv: dict, tmp: Path, tag: str, platform: str, files: dict[str, bytes], entrypoint: str) -> str:
    ctx = tmp / tag.replace(":", "-").replace("/", "-")
    ctx.mkdir()
    arch = platform.split("/")[1]
    shutil.copy(testenv[f"busybox_{arch}"], ctx / "busybox")
    lines = ["FROM scratch", "COPY busybox /bin/busybox", "COPY busybox /bin/sh"]
    for name, data in files.items():
        (ctx / name).write_bytes(data)
        os.chmod(ctx / name, 0o755)
        lines.append(f"COPY {name} /{name}")
    lines.append(f"ENTRYPOINT {entrypoint}")
    (ctx / "Dockerfile").write_text("\n".join(lines) + "\n")
    env = dict(os.environ, DOCKER_BUILDKIT="1", DOCKER_CONFIG=testenv["docker_config"])
    proc = subprocess.run(
        [testenv["buildkit_cli"], "-H", testenv["docker_host"], "build", "--platform", platform, "-t", tag, str(ctx)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tag


def _evidence(finding: dict[str, Any], field: str) -> str | None:
    return next((e["value"] for e in finding["evidence"] if e["field"] == field), None)


def _causes(finding: dict[str, Any]) -> dict[str, str]:
    return {e["field"].split(".", 2)[2]: e["value"] for e in finding["evidence"] if e["field"].startswith("cause.")}


def _explain(testenv: dict, tmp: Path, name: str, *, emulation: bool) -> tuple[dict, dict, str]:
    """The container's real log explained from the text alone, and `check` with the probes (emulation as it ran)."""
    logs = _docker(testenv, "logs", name)
    log = tmp / f"{name}.log"
    log.write_text(logs.stdout + logs.stderr)
    env = isolated_env(tmp, DOCKER_HOST=testenv["docker_host"], DOCKDOCTOR_CACHE_DIR=str(tmp / "cache"))
    alone = dockdoctor("explain-error", "--no-probe", "--json", "--file", str(log), env=env)
    assert alone.code == 0, (log.read_text(), alone.stdout, alone.stderr)
    with binfmt_state(enabled_aarch64=emulation):
        probed = dockdoctor("check", "--no-project", "--json", env=env)
    assert "Traceback" not in probed.stderr, probed.stderr
    report = probed.json()
    validator("report").validate(report)
    (finding,) = [f for f in report["findings"] if f["id"] == "DKD321" and f["subject"] == f"container {name}"]
    return alone.json(), finding, log.read_text()


@pytest.fixture()
def cleanup(testenv: dict):
    names: list[str] = []
    yield names
    for name in names:
        _docker(testenv, "rm", "-f", name, check=False)


def _run(testenv: dict, name: str, *args: str, emulation: bool | None = None) -> None:
    if emulation is None:
        _docker(testenv, "run", "--name", name, "--network", "none", *args, check=False)
        return
    with binfmt_state(enabled_aarch64=emulation):
        _docker(testenv, "run", "--name", name, "--network", "none", *args, check=False)


def test_arm64_without_emulation_is_the_architecture(testenv: dict, tmp_path: Path, cleanup: list) -> None:
    cleanup.append("dd-explain-arm64")
    _run(testenv, "dd-explain-arm64", "--platform", "linux/arm64", testenv["images"]["local_arm64"], emulation=False)
    alone, finding, log = _explain(testenv, tmp_path, "dd-explain-arm64", emulation=False)
    assert "exec format error" in log
    assert _evidence(alone["findings"][0], "error.blames_architecture") == "possible"
    assert _causes(finding)["foreign-architecture"] == "confirmed"
    assert _evidence(finding, "error.blames_architecture") == "confirmed"
    assert any(
        "docker pull --platform linux/amd64" in " ".join(s.get("argv", []))
        for fix in finding["fixes"]
        for s in fix["steps"]
    )


def test_script_without_shebang_is_not_the_architecture(testenv: dict, tmp_path: Path, cleanup: list) -> None:
    tag = _build(
        testenv,
        tmp_path,
        "dockdoctor-test/noshebang:amd64",
        "linux/amd64",
        {"start.sh": b"echo started\n"},
        '["/start.sh"]',
    )
    cleanup.append("dd-explain-noshebang")
    _run(testenv, "dd-explain-noshebang", tag)
    alone, finding, log = _explain(testenv, tmp_path, "dd-explain-noshebang", emulation=False)
    assert "exec format error" in log
    causes = _causes(finding)
    assert (causes["script-without-shebang"], causes["foreign-architecture"]) == ("confirmed", "ruled out")
    assert _evidence(finding, "error.blames_architecture") == "no"
    assert "script-without-shebang" in _causes(alone["findings"][0])


def test_crlf_entrypoint_is_not_the_architecture(testenv: dict, tmp_path: Path, cleanup: list) -> None:
    tag = _build(
        testenv,
        tmp_path,
        "dockdoctor-test/crlf:amd64",
        "linux/amd64",
        {"start.sh": b"#!/bin/sh\r\necho started\r\n"},
        '["/start.sh"]',
    )
    cleanup.append("dd-explain-crlf")
    _run(testenv, "dd-explain-crlf", tag)
    alone, finding, log = _explain(testenv, tmp_path, "dd-explain-crlf", emulation=False)
    assert "no such file or directory" in log
    assert _causes(finding)["crlf-line-endings"] == "confirmed"
    assert _evidence(finding, "error.blames_architecture") == "no"
    assert _evidence(alone["findings"][0], "error.blames_architecture") == "no"


def test_foreign_loader_missing_under_qemu(testenv: dict, tmp_path: Path, cleanup: list) -> None:
    tag = _build(
        testenv, tmp_path, "dockdoctor-test/noloader:arm64", "linux/arm64", {"app": _aarch64_dynamic_elf()}, '["/app"]'
    )
    cleanup.append("dd-explain-noloader")
    _run(testenv, "dd-explain-noloader", "--platform", "linux/arm64", tag, emulation=True)
    alone, finding, log = _explain(testenv, tmp_path, "dd-explain-noloader", emulation=True)
    assert "Could not open '/lib/ld-linux-aarch64.so.1'" in log
    assert _evidence(alone["findings"][0], "error.signature") == "qemu-missing-loader"
    assert _evidence(finding, "error.signature") == "qemu-missing-loader"
    assert "qemu" in finding["message"]


def test_segv_under_qemu_exit_139(testenv: dict, tmp_path: Path, cleanup: list) -> None:
    cleanup.append("dd-explain-segv")
    _run(
        testenv,
        "dd-explain-segv",
        "--platform",
        "linux/arm64",
        "--entrypoint",
        "/bin/busybox",
        testenv["images"]["local_arm64"],
        "sh",
        "-c",
        "sh -c 'kill -SEGV $$'; exit $?",
        emulation=True,
    )  # not PID 1: the kernel does not deliver SIGSEGV sent to PID 1
    state = _docker(testenv, "inspect", "-f", "{{.State.ExitCode}}", "dd-explain-segv").stdout.strip()
    assert state == "139"
    alone, finding, log = _explain(testenv, tmp_path, "dd-explain-segv", emulation=True)
    assert "uncaught target signal 11" in log
    assert _causes(finding)["qemu-emulation-defect"] == "confirmed"
    assert "exited 139 = SIGSEGV" in finding["message"] and "emulated by qemu" in finding["message"]
    assert _evidence(alone["findings"][0], "error.signature") == "qemu-uncaught-signal"
