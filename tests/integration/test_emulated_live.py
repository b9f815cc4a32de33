"""DKD540 against the real engine: the emulator that runs a build stage is what the real binfmt_misc says."""

from __future__ import annotations

from pathlib import Path

from clirun import dockdoctor, isolated_env
from integration.env import binfmt_state

DOCKERFILE = """FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish -c Release -o /out

FROM mcr.microsoft.com/dotnet/aspnet:8.0
COPY --from=build /out /app
"""


def _check(testenv: dict, tmp_path: Path, project: Path) -> dict:
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"])
    result = dockdoctor(
        "check",
        "--json",
        "--project",
        str(project),
        "--platform",
        "linux/arm64",
        "--only",
        "DKD540",
        "--timeout",
        "5",
        env=env,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.json()


def test_dotnet_stage_under_real_qemu_and_without_it(testenv: dict, tmp_path: Path) -> None:
    project = tmp_path / "dotnet"
    project.mkdir()
    (project / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    with binfmt_state(enabled_aarch64=True):
        on = _check(testenv, tmp_path, project)
    with binfmt_state(enabled_aarch64=False):
        off = _check(testenv, tmp_path, project)
    findings = on["findings"]
    assert {e["value"] for f in findings for e in f["evidence"] if e["field"] == "knowledge.emulation.runtime.id"} == {
        "dotnet-under-qemu",
        "dotnet-write-xor-execute-emulated",
    }
    assert all(f["target"] == "linux/arm64" and f["subject"] == "Dockerfile:1 (stage build)" for f in findings)
    emulator = next(e["value"] for e in findings[0]["evidence"] if e["field"] == "emulator")
    assert emulator.startswith("qemu: emulation.emulated.via=qemu (binfmt "), emulator
    assert off["findings"] == [], "no emulator for arm64: the build cannot run at all (DKD503 says so), no DKD540"
