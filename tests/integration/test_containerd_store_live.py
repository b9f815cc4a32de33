"""The containerd image store, for real: a second engine (Debian unstable's dockerd, API >= 1.47) keeps each
pulled image as its whole index, with the content of some platforms held and of others only listed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from integration.env import binfmt_state
from integration.test_buildx_live import with_buildx
from test_schema import validator


def _docker(engine: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [engine["docker_cli"], "-H", engine["docker_host_c8d"], *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 or not check, proc.stderr
    return proc


@pytest.fixture()
def engine(testenv: dict) -> Iterator[dict]:
    """The containerd-store engine, emptied before and after (the buildx tests remove what they build)."""

    def empty() -> None:
        ids = _docker(testenv, "ps", "-aq").stdout.split()
        if ids:
            _docker(testenv, "rm", "-f", *ids)
        _docker(testenv, "image", "prune", "-af")  # removes the content too, so a later pull starts from nothing

    empty()
    yield testenv
    empty()


def _report(engine: dict, tmp_path: Path, *args: str) -> dict:
    env = isolated_env(tmp_path, DOCKER_HOST=engine["docker_host_c8d"], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    result = dockdoctor(*args, "--json", env=env)
    assert "Traceback" not in result.stderr, result.stderr
    report = result.json()
    validator("report").validate(report)
    return report


def _held(report: dict, ref: str) -> tuple[dict[str, str], dict[str, str]]:
    (local,) = [i for i in report["facts"]["images"]["local"] if ref in i["repo_tags"]]
    return (
        {m["platform"]: m["digest"] for m in local["manifests"]},
        {m["platform"]: m["digest"] for m in local["absent"]},
    )


def _index_digests(engine: dict, tag: str) -> dict[str, str]:
    return {m["platform"]: m["digest"] for m in engine["image_info"][tag]["manifests"]}


def test_engine_uses_the_containerd_image_store(engine: dict, tmp_path: Path) -> None:
    facts = _report(engine, tmp_path, "check", "--no-project")["facts"]
    assert facts["engine"]["containerd_snapshotter"] is True
    assert facts["engine"]["platform"] == "linux/amd64"


def test_held_and_absent_platforms_and_the_stale_copy(engine: dict, tmp_path: Path) -> None:
    multi, oci = engine["images"]["multi"], engine["images"]["multi_oci"]
    _docker(engine, "pull", "-q", multi)
    _docker(engine, "pull", "-q", "--platform", "linux/arm64", multi)  # both platforms held
    _docker(engine, "pull", "-q", "--platform", "linux/arm64", oci)  # arm64 held, amd64 only listed
    report = _report(engine, tmp_path, "inspect", multi, oci, "--platform", "linux/amd64", "--platform", "linux/arm64")

    assert _held(report, multi) == (_index_digests(engine, "multi"), {})
    oci_digests = _index_digests(engine, "multi-oci")
    assert _held(report, oci) == (
        {"linux/arm64": oci_digests["linux/arm64"]},
        {"linux/amd64": oci_digests["linux/amd64"]},
    )
    verdicts = {(v["reference"], v["target"]): v for v in report["images"]}
    assert [verdicts[(multi, t)]["local_platform"] for t in ("linux/amd64", "linux/arm64")] == [
        "linux/amd64",
        "linux/arm64",
    ]
    assert verdicts[(multi, "linux/arm64")]["local_platforms"] == ["linux/amd64", "linux/arm64"]
    assert (verdicts[(oci, "linux/amd64")]["local_platforms"], verdicts[(oci, "linux/amd64")]["local_absent"]) == (
        ["linux/arm64"],
        ["linux/amd64"],
    )
    env = isolated_env(tmp_path, DOCKER_HOST=engine["docker_host_c8d"], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    text = dockdoctor("inspect", multi, oci, "--offline", env=env).stdout
    assert "on linux/amd64: native; local copy linux/amd64 (holds linux/amd64, linux/arm64)" in text, text
    assert "on linux/amd64: native; local copy linux/arm64 (linux/amd64 listed, not pulled)" in text, text
    # the whole index is one image: its digest is the registry's index digest
    assert verdicts[(multi, "linux/amd64")]["local_digest_matches"] is True
    # only the arm64-only copy is stale, and only for amd64 (a plain `docker run` would use arm64 here)
    stale = [(f["subject"], f["target"]) for f in report["findings"] if f["id"] == "DKD303"]
    assert stale == [(oci, "linux/amd64")]
    warned = _docker(engine, "create", "--network", "none", oci)
    assert "does not match the detected host platform" in warned.stderr  # the engine's own word for it
    _docker(engine, "rm", warned.stdout.strip())  # an arm64 container: DKD304 would rightly name it below

    finding = next(f for f in report["findings"] if f["id"] == "DKD303")
    (argv,) = [s["argv"] for fix in finding["fixes"] for s in fix["steps"] if s["kind"] == "run"]
    assert argv == ["docker", "pull", "--platform", "linux/amd64", oci]
    # the fix through `dockdoctor fix`, for a project that uses the image: the store adds amd64 beside arm64
    project = tmp_path / "web"
    project.mkdir()
    (project / "compose.yaml").write_text(f"services:\n  web:\n    image: {oci}\n")
    fixed = dockdoctor("fix", "--project", str(project), "--only", "DKD303", "--yes", env=env)
    assert fixed.code == 0 and "DKD303 pull the linux/amd64 variant: fixed" in fixed.stdout, fixed.stdout
    after = _report(engine, tmp_path, "inspect", oci, "--platform", "linux/amd64", "--platform", "linux/arm64")
    assert _held(after, oci) == (oci_digests, {})
    assert not [f for f in after["findings"] if f["id"] in ("DKD303", "DKD304")]


def test_container_platform_is_the_manifest_it_runs(engine: dict, tmp_path: Path) -> None:
    """Two containers of one index image: each is reported with the platform of the manifest it was created from."""
    multi = engine["images"]["multi"]
    _docker(engine, "pull", "-q", multi)
    _docker(engine, "pull", "-q", "--platform", "linux/arm64", multi)
    _docker(engine, "create", "--name", "dd-c8d-amd64", "--network", "none", multi)
    with binfmt_state(enabled_aarch64=False):
        died = _docker(
            engine,
            "run",
            "--name",
            "dd-c8d-arm64",
            "--network",
            "none",
            "--platform",
            "linux/arm64",
            multi,
            check=False,
        )
    assert "exec format error" in died.stderr + died.stdout
    report = _report(engine, tmp_path, "check", "--no-project")
    platforms = {c["name"]: c["platform"] for c in report["facts"]["images"]["containers"]}
    assert platforms == {"dd-c8d-amd64": "linux/amd64", "dd-c8d-arm64": "linux/arm64"}
    # DKD305 when no aarch64 handler is registered at check time, DKD507 when one is (binfmt_misc is
    # machine-global and binfmt_state restores what it found before the check runs)
    (finding,) = [f for f in report["findings"] if f["id"] in ("DKD305", "DKD507")]
    assert f"({multi}, linux/arm64)" in finding["message"] and "exec format error" in finding["message"]


def test_built_service_image_counts_every_platform_it_holds(engine: dict, tmp_path: Path) -> None:
    """DKD415 with the containerd image store: the rebuild fix for real, then a multi-platform build it accepts."""
    project = tmp_path / "app"
    project.mkdir()
    for arch in ("amd64", "arm64"):
        shutil.copy(engine[f"busybox_{arch}"], project / f"busybox-{arch}")
    (project / "Dockerfile").write_text("FROM scratch\nARG TARGETARCH\nCOPY busybox-${TARGETARCH} /bin/busybox\n")
    image = "dd-c8d-app:dev"
    (project / "compose.yaml").write_text(f"services:\n  app:\n    build: .\n    image: {image}\n")
    env = with_buildx(engine, tmp_path, "docker_host_c8d")

    def build(platforms: str) -> None:
        built = subprocess.run(
            ["docker", "buildx", "build", "--platform", platforms, "-t", image, "--load", str(project)],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert built.returncode == 0, built.stderr[-2000:]

    def dkd415() -> list[dict]:
        result = dockdoctor(
            "check", "--project", str(project), "--platform", "linux/arm64", "--only", "DKD415", "--json", env=env
        )
        return result.json()["findings"]

    build("linux/amd64")
    assert [f["subject"] for f in dkd415()] == ["service app"]
    fixed = dockdoctor(
        "fix", "--project", str(project), "--platform", "linux/arm64", "--only", "DKD415", "--yes", env=env
    )
    assert "DKD415 rebuild dd-c8d-app:dev for linux/arm64: fixed" in fixed.stdout, fixed.stdout + fixed.stderr
    build("linux/amd64,linux/arm64")  # one tag, both platforms; `docker run` here would pick amd64
    assert dkd415() == []


def test_a_container_running_emulated_from_an_image_that_holds_the_native_platform(
    engine: dict, tmp_path: Path
) -> None:
    """DKD304 for the container itself: its image runs natively by default, the container was created for arm64."""
    multi = engine["images"]["multi"]
    _docker(engine, "pull", "-q", multi)
    _docker(engine, "pull", "-q", "--platform", "linux/arm64", multi)
    with binfmt_state(enabled_aarch64=True):
        _docker(
            engine,
            "run",
            "-d",
            "--name",
            "dd-c8d-qemu",
            "--network",
            "none",
            "--platform",
            "linux/arm64",
            "--entrypoint",
            "/bin/busybox",
            multi,
            "sleep",
            "60",
        )
        report = _report(engine, tmp_path, "check", "--no-project")
        state = _docker(engine, "inspect", "-f", "{{.State.Status}}", "dd-c8d-qemu").stdout.strip()
    assert state == "running"
    (image,) = report["facts"]["images"]["local"]
    assert image["platform"] == "linux/amd64"  # what the image inspect says: the default platform
    (finding,) = [f for f in report["findings"] if f["id"] == "DKD304"]
    assert finding["subject"] == "container dd-c8d-qemu"
    assert "is linux/arm64: on this linux/amd64 engine it runs only under qemu" in finding["message"]
