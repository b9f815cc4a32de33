"""Fix choice by intent, on the real engine with QEMU registered and without: each fix applied by
`dockdoctor fix --yes`, then the result brought up with `docker compose up` or run with `docker run`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from integration.env import binfmt_state
from integration.test_images_live import amd64_only  # noqa: F401  (pushes busybox:amd64-only-index)

PROJECTS = Path(__file__).resolve().parents[2] / "fixtures" / "projects"
pytestmark = pytest.mark.usefixtures("amd64_only")


def _env(testenv: dict, tmp_path: Path, **extra: str) -> dict[str, str]:
    return isolated_env(
        tmp_path,
        DOCKER_HOST=testenv["docker_host"],
        REGISTRY=testenv["registry"],
        DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
        **extra,
    )


def _copy(name: str, tmp_path: Path) -> Path:
    shutil.copytree(PROJECTS / name, tmp_path / name)
    return tmp_path / name


def _up(testenv: dict, project: Path, name: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGISTRY": testenv["registry"], "DOCKER_HOST": testenv["docker_host"]}
    try:
        return subprocess.run(
            ["docker", "compose", "-p", name, "up", "--no-color", "--pull", "never"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        subprocess.run(
            ["docker", "compose", "-p", name, "down"], cwd=project, env=env, capture_output=True, timeout=120
        )


def _findings(result, code: str) -> list[dict]:
    return [f for f in result.json()["findings"] if f["id"] == code]


def test_local_target_with_qemu_pins_and_the_service_runs(testenv: dict, tmp_path: Path) -> None:
    project = _copy("compose-app", tmp_path)
    with binfmt_state(enabled_aarch64=True):
        fixed = dockdoctor("fix", "--project", str(project), "--only", "DKD410", "--yes", env=_env(testenv, tmp_path))
        up = _up(testenv, project, "ddlocalqemu")
    assert fixed.code == 0, fixed.stdout + fixed.stderr
    assert "DKD410 set `platform: linux/arm64` on service app (it runs under qemu" in fixed.stdout
    assert ": fixed" in fixed.stdout
    assert "    platform: linux/arm64\n" in (project / "compose.yaml").read_text()
    assert up.returncode == 0 and up.stdout.count("hello") == 2, up.stdout + up.stderr


def test_local_target_without_qemu_offers_the_pin_only_with_emulation(testenv: dict, tmp_path: Path) -> None:
    project = _copy("compose-app", tmp_path)
    with binfmt_state(enabled_aarch64=False):
        check = dockdoctor(
            "check", "--json", "--project", str(project), "--only", "DKD410", env=_env(testenv, tmp_path)
        )
        fixed = dockdoctor("fix", "--project", str(project), "--only", "DKD410", "--yes", env=_env(testenv, tmp_path))
    (app,) = _findings(check, "DKD410")
    titles = [(f["title"], f["safety"], f["serves"]) for f in app["fixes"]]
    assert (
        "register QEMU handlers with a privileged container, then set `platform: linux/arm64` on service app",
        "unsafe",
        "local",
    ) in titles
    assert all(not (t.startswith("set `platform") and s == "safe") for t, s, _ in titles)  # no bare pin
    assert fixed.stdout.rstrip().endswith("no fix applied")  # --yes alone runs no privileged container
    assert (project / "compose.yaml").read_bytes() == (PROJECTS / "compose-app" / "compose.yaml").read_bytes()


@pytest.mark.parametrize("qemu", [True, False])
def test_deploy_target_the_image_lacks_gets_no_pin(testenv: dict, tmp_path: Path, qemu: bool) -> None:
    project = _copy("compose-app", tmp_path)
    with binfmt_state(enabled_aarch64=qemu):
        check = dockdoctor(
            "check",
            "--json",
            "--project",
            str(project),
            "--platform",
            "linux/arm64",
            "--only",
            "DKD410",
            env=_env(testenv, tmp_path),
        )
        fixed = dockdoctor(
            "fix",
            "--project",
            str(project),
            "--platform",
            "linux/arm64",
            "--only",
            "DKD410",
            "--yes",
            env=_env(testenv, tmp_path),
        )
    (db,) = _findings(check, "DKD410")
    assert [(f["title"], f["serves"]) for f in db["fixes"]] == [("use an image published for linux/arm64", "deploy")]
    assert fixed.stdout.rstrip().endswith("no fix applied")
    assert (project / "compose.yaml").read_bytes() == (PROJECTS / "compose-app" / "compose.yaml").read_bytes()


def test_pin_the_engine_cannot_run_is_an_error_and_unpinning_runs(testenv: dict, tmp_path: Path) -> None:
    project = _copy("pinned-web", tmp_path)
    with binfmt_state(enabled_aarch64=False):
        check = dockdoctor("check", "--json", "--project", str(project), env=_env(testenv, tmp_path))
        fixed = dockdoctor("fix", "--project", str(project), "--only", "DKD420", "--yes", env=_env(testenv, tmp_path))
        subprocess.run(
            [
                "docker",
                "-H",
                testenv["docker_host"],
                "pull",
                "--platform",
                "linux/amd64",
                f"{testenv['registry']}/busybox:multi",
            ],
            capture_output=True,
            timeout=120,
        )
        up = _up(testenv, project, "ddunpin")
    (web,) = _findings(check, "DKD420")
    assert web["severity"] == "error" and "cannot run it" in web["message"]
    assert fixed.code == 0 and "DKD420 remove the `platform:` pin of service web: fixed" in fixed.stdout, fixed.stdout
    assert "platform:" not in (project / "compose.yaml").read_text()
    assert up.returncode == 0 and "hello" in up.stdout, up.stdout + up.stderr


def test_pin_off_a_deploy_target_is_repinned_and_runs(testenv: dict, tmp_path: Path) -> None:
    project = _copy("pinned-web", tmp_path)
    with binfmt_state(enabled_aarch64=True):
        fixed = dockdoctor(
            "fix",
            "--project",
            str(project),
            "--platform",
            "linux/amd64",
            "--only",
            "DKD416",
            "--yes",
            env=_env(testenv, tmp_path),
        )
    subprocess.run(
        [
            "docker",
            "-H",
            testenv["docker_host"],
            "pull",
            "--platform",
            "linux/amd64",
            f"{testenv['registry']}/busybox:multi",
        ],
        capture_output=True,
        timeout=120,
    )
    up = _up(testenv, project, "ddrepin")
    assert fixed.code == 0 and "DKD416 set `platform: linux/amd64` on service web: fixed" in fixed.stdout, fixed.stdout
    assert up.returncode == 0 and "hello" in up.stdout, up.stdout + up.stderr


def test_no_repull_of_a_platform_the_registry_lacks(testenv: dict, tmp_path: Path) -> None:
    project = _copy("compose-app", tmp_path)
    docker = [testenv["docker_cli"], "-H", testenv["docker_host"]]
    subprocess.run([*docker, "pull", f"{testenv['registry']}/busybox:arm64"], capture_output=True, timeout=120)
    with binfmt_state(enabled_aarch64=False):
        check = dockdoctor(
            "check", "--json", "--project", str(project), "--only", "DKD304", env=_env(testenv, tmp_path)
        )
    found = [f for f in _findings(check, "DKD304") if f["subject"] == f"{testenv['registry']}/busybox:arm64"]
    assert found, check.stdout
    steps = [s for f in found for fix in f["fixes"] for s in fix["steps"]]
    assert not any(s["kind"] == "run" and "pull" in s["argv"] for s in steps)
    assert "DKD503" not in check.stdout  # no reference to a finding that is not in the report


def test_final_stage_from_a_buildplatform_stage_is_fixed_and_runs(testenv: dict, tmp_path: Path) -> None:
    project = _copy("stage-chain", tmp_path)
    fixed = dockdoctor("fix", "--project", str(project), "--only", "DKD603", "--yes", env=_env(testenv, tmp_path))
    assert fixed.code == 0 and "DKD603 drop the --platform flag on line 3: fixed" in fixed.stdout, fixed.stdout
    cli = testenv.get("buildkit_cli", "/usr/bin/docker")
    docker = [cli, "-H", testenv["docker_host"]]
    image = "dockdoctor-test/stage-chain:fixed"
    try:  # this engine has no bridge network: the classic builder with --network none runs the RUN step
        built = subprocess.run(
            [*docker, "build", "--network", "none", "-t", image, str(project)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
        )
        ran = subprocess.run(
            [*docker, "run", "--rm", "--network", "none", image], capture_output=True, text=True, timeout=60
        )
        arch = subprocess.run(
            [*docker, "image", "inspect", "-f", "{{.Architecture}}", image], capture_output=True, text=True
        ).stdout.strip()
    finally:
        subprocess.run([*docker, "rmi", image], capture_output=True)
    assert built.returncode == 0, built.stdout + built.stderr
    assert ran.stdout.strip() == "hello" and arch == "amd64"


def test_local_only_image_is_judged_by_its_local_platform(testenv: dict, tmp_path: Path) -> None:
    """Built here, never pushed, no registry part (Docker Hub unreachable from here): no DKD307, the pin's
    mismatch with the local amd64 copy is found, the re-pin is applied and the service runs."""
    docker = [testenv["docker_cli"], "-H", testenv["docker_host"]]
    local = "dockdoctor-local/api:dev"
    subprocess.run([*docker, "tag", testenv["images"]["local_amd64"], local], check=True, capture_output=True)
    project = tmp_path / "local-only"
    project.mkdir()
    (project / "compose.yaml").write_text(
        f"services:\n  api:\n    image: {local}\n    platform: linux/arm64\n"
        "  worker:\n    image: dockdoctor-nowhere/worker:1\n  cron:\n    image: dockdoctor-nowhere/cron:1\n"
    )
    try:
        with binfmt_state(enabled_aarch64=True):
            check = dockdoctor(
                "check", "--json", "--timeout", "5", "--project", str(project), env=_env(testenv, tmp_path)
            )
            fixed = dockdoctor(
                "fix",
                "--timeout",
                "30",
                "--project",
                str(project),
                "--only",
                "DKD411",
                "--yes",
                env=_env(testenv, tmp_path),
            )
        ran = subprocess.run(
            [*docker, "run", "--rm", "--network", "none", "--platform", "linux/amd64", local],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        subprocess.run([*docker, "rmi", local], capture_output=True)
    findings = check.json()["findings"]
    assert not [f for f in findings if f["id"] == "DKD307" and f["subject"] == local]
    (api,) = [f for f in findings if f["id"] == "DKD411"]
    assert "linux/amd64" in api["message"] and api["subject"] == "service api"
    unreached = [f for f in findings if f["id"] == "DKD307"]
    if unreached:  # Docker Hub cannot be reached from here: said once for both names without a registry part
        assert len(unreached) == 1 and unreached[0]["subject"] == "docker.io"
        assert "dockdoctor-nowhere/worker:1" in unreached[0]["message"]
        assert "dockdoctor-nowhere/cron:1" in unreached[0]["message"]
    assert "DKD411 set `platform: linux/amd64` on service api: fixed" in fixed.stdout, fixed.stdout
    assert "platform: linux/amd64" in (project / "compose.yaml").read_text()
    assert ran.returncode == 0 and "hello" in ran.stdout, ran.stdout + ran.stderr
