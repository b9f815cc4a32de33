"""buildx for real (Debian unstable's docker-buildx as a CLI plugin in the test's own DOCKER_CONFIG): the builders the
probe reads, DKD502 against what a multi-platform build really does on each engine, and DKD502's fix executed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from integration.env import binfmt_state
from test_schema import validator


def with_buildx(testenv: dict, tmp_path: Path, host: str) -> dict[str, str]:
    """A user environment for the engine `host` names whose docker CLI has the buildx plugin."""
    env = isolated_env(tmp_path, DOCKER_HOST=testenv[host], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    plugins = Path(env["DOCKER_CONFIG"]) / "cli-plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "docker-buildx").symlink_to(testenv["buildx_plugin"])
    return env


def _docker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=180)


def _check(env: dict[str, str], *args: str) -> dict:
    result = dockdoctor("check", "--no-project", "--json", *args, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    report = result.json()
    validator("report").validate(report)
    return report


@pytest.fixture()
def context(testenv: dict, tmp_path: Path) -> Path:
    """A build context: the busybox of each architecture, picked by TARGETARCH (no RUN: the engines have no bridge)."""
    folder = tmp_path / "ctx"
    folder.mkdir()
    for arch in ("amd64", "arm64"):
        shutil.copy(testenv[f"busybox_{arch}"], folder / f"busybox-{arch}")
    (folder / "Dockerfile").write_text(
        "FROM scratch\nARG TARGETARCH\nCOPY busybox-${TARGETARCH} /bin/busybox\n"
        'ENTRYPOINT ["/bin/busybox", "echo", "hello"]\n'
    )
    return folder


@pytest.mark.parametrize("host", ["docker_host", "docker_host_c8d"])
def test_the_probe_reads_the_real_builders(testenv: dict, tmp_path: Path, host: str) -> None:
    env = with_buildx(testenv, tmp_path, host)
    buildx = _check(env)["facts"]["buildx"]
    assert buildx["installed"] is True
    assert buildx["version"] and buildx["version"] in _docker(env, "buildx", "version").stdout
    (default,) = [b for b in buildx["builders"] if b["name"] == "default"]
    assert (default["driver"], default["current"], buildx["current"]) == ("docker", True, "default")
    assert "linux/amd64" in default["platforms"]


@pytest.mark.parametrize("host, fires", [("docker_host", True), ("docker_host_c8d", False)])
def test_dkd502_says_what_a_multi_platform_build_does(
    testenv: dict, tmp_path: Path, context: Path, host: str, fires: bool
) -> None:
    env = with_buildx(testenv, tmp_path, host)
    report = _check(env, "--platform", "linux/amd64", "--platform", "linux/arm64", "--only", "DKD502")
    assert bool(report["findings"]) is fires, report["findings"]
    tag = f"dd-buildx-test-{tmp_path.name.lower()}:multi"
    built = _docker(env, "buildx", "build", "--platform", "linux/amd64,linux/arm64", "-t", tag, "--load", str(context))
    try:
        # the ground truth: the classic image store cannot take a multi-platform result from the docker driver
        assert (built.returncode == 0) is not fires, built.stderr[-2000:]
        if not fires:  # the containerd image store keeps both platforms under one tag
            found = dockdoctor("inspect", "--offline", tag, "--json", env=env).json()
            (local,) = found["facts"]["images"]["local"]
            assert sorted(m["platform"] for m in local["manifests"]) == ["linux/amd64", "linux/arm64"]
    finally:
        _docker(env, "rmi", "-f", tag)


def test_dkd502_fix_creates_and_selects_a_docker_container_builder(testenv: dict, tmp_path: Path) -> None:
    env = with_buildx(testenv, tmp_path, "docker_host")
    args = ("--project", str(tmp_path), "--platform", "linux/amd64", "--platform", "linux/arm64", "--only", "DKD502")
    plan = dockdoctor("fix", *args, "--dry-run", env=env)
    assert "$ docker buildx create --name dockdoctor --driver docker-container --use" in plan.stdout, plan.stdout
    try:
        result = dockdoctor("fix", *args, "--yes", env=env)
        assert "Traceback" not in result.stderr, result.stderr
        # the builder is created and selected; booting it pulls moby/buildkit from Docker Hub, which this
        # machine cannot reach, so the second step fails and says so
        assert "registry-1.docker.io" in result.stdout + result.stderr, result.stdout
        assert "DKD502 create a docker-container builder: fixed" in result.stdout, result.stdout
        assert result.code == 1
        listed = _docker(env, "buildx", "ls").stdout
        assert any(line.startswith("dockdoctor*") and "docker-container" in line for line in listed.splitlines()), (
            listed
        )
        after = _check(env, "--platform", "linux/amd64", "--platform", "linux/arm64")
        assert after["facts"]["buildx"]["current"] == "dockdoctor"
        assert "DKD502" not in {f["id"] for f in after["findings"]}
    finally:
        _docker(env, "buildx", "rm", "dockdoctor")


def test_build_steps_for_arm64_run_under_qemu_and_fail_without_it(testenv: dict, tmp_path: Path) -> None:
    """What DKD503 says of builds, with BuildKit through buildx: a RUN for linux/arm64 needs an emulator.

    The test engines have no bridge network (host networking stays untouched), so the build runs with
    `--network none`; on a user's machine the same build needs no flag.
    """
    env = with_buildx(testenv, tmp_path, "docker_host_c8d")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "Dockerfile").write_text(
        f'FROM {testenv["registry"]}/busybox:multi\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m > /arch"]\n'
    )
    tag = "dd-buildx-run:arm64"
    argv = ("buildx", "build", "--network", "none", "--platform", "linux/arm64", "-t", tag, "--load", str(folder))
    try:
        with binfmt_state(enabled_aarch64=False):
            refused = _docker(env, *argv, "--no-cache")
        with binfmt_state(enabled_aarch64=True):
            built = _docker(env, *argv, "--no-cache")
            arch = _docker(
                env,
                "run",
                "--rm",
                "--network",
                "none",
                "--platform",
                "linux/arm64",
                "--entrypoint",
                "/bin/busybox",
                tag,
                "cat",
                "/arch",
            )
    finally:
        _docker(env, "rmi", "-f", tag)
    assert refused.returncode != 0 and "exec format error" in refused.stderr, refused.stderr[-2000:]
    assert built.returncode == 0, built.stderr[-2000:]
    assert arch.stdout.strip() == "aarch64", arch.stderr
