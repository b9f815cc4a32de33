"""`dockdoctor fix` for real: plan, consent, edits, commands, verification, undo, refusals and Ctrl-C."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from clirun import SRC, dockdoctor, isolated_env
from integration.env import binfmt_state
from integration.test_images_live import amd64_only  # noqa: F401

PROJECTS = Path(__file__).resolve().parents[2] / "fixtures" / "projects"
pytestmark = pytest.mark.usefixtures("amd64_only")


def _env(testenv: dict, tmp_path: Path, **extra: str) -> dict[str, str]:
    settings = {
        "DOCKER_HOST": testenv["docker_host"],
        "REGISTRY": testenv["registry"],
        "DOCKDOCTOR_CACHE_DIR": str(tmp_path / "cache"),
        **extra,
    }
    return isolated_env(tmp_path, **settings)


PINNED = "    platform: linux/arm64\n"  # the db image offers linux/amd64 only: DKD411 re-pins it to the engine's own


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    shutil.copytree(PROJECTS / "compose-app", project)
    compose = project / "compose.yaml"
    compose.write_text(compose.read_text().replace("  # like mysql:5.7\n", "  # like mysql:5.7\n" + PINNED))
    return project


def _fix(testenv: dict, tmp_path: Path, project: Path, *args: str, **extra: str):
    result = dockdoctor(
        "fix", "--project", str(project), "--only", "DKD411", *args, env=_env(testenv, tmp_path, **extra)
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_dry_run_shows_exactly_what_yes_applies_then_idempotent_and_undo(testenv: dict, tmp_path: Path) -> None:
    project = _project(tmp_path)
    original = (project / "compose.yaml").read_bytes()
    dry = _fix(testenv, tmp_path, project, "--dry-run")
    assert dry.code == 0 and (project / "compose.yaml").read_bytes() == original
    applied = _fix(testenv, tmp_path, project, "--yes")
    assert applied.code == 0, applied.stdout
    assert applied.stdout.startswith(dry.stdout)  # the same plan, to the byte, then the outcomes
    assert "1. DKD411 set `platform: linux/amd64` on service db" in applied.stdout and ": fixed" in applied.stdout
    edited = (project / "compose.yaml").read_text()
    expected = original.decode().replace(PINNED, "    platform: linux/amd64\n")
    assert edited == expected  # comments, order, quoting and indentation survive byte for byte
    for cmd in (["docker", "compose"], ["docker-compose"]):
        proc = subprocess.run(
            [*cmd, "config"],
            cwd=project,
            capture_output=True,
            text=True,
            env={**os.environ, "REGISTRY": testenv["registry"]},
        )
        assert proc.returncode == 0 and "platform: linux/amd64" in proc.stdout, proc.stderr
    again = _fix(testenv, tmp_path, project, "--yes")
    assert again.code == 0 and (project / "compose.yaml").read_text() == edited
    undo = dockdoctor("fix", "--undo", "--project", str(project), env=_env(testenv, tmp_path))
    assert undo.stdout.strip() == f"{project / 'compose.yaml'}: restored"
    assert (project / "compose.yaml").read_bytes() == original


def test_fixed_project_comes_up_for_real(testenv: dict, tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert _fix(testenv, tmp_path, project, "--yes").code == 0
    env = {**os.environ, "REGISTRY": testenv["registry"], "DOCKER_HOST": testenv["docker_host"]}
    with binfmt_state(enabled_aarch64=True):  # the arm64 app runs under QEMU on this amd64 engine
        up = subprocess.run(
            ["docker", "compose", "-p", "ddshop", "up", "--no-color"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        subprocess.run(
            ["docker", "compose", "-p", "ddshop", "down"], cwd=project, env=env, capture_output=True, timeout=120
        )
    assert up.returncode == 0, up.stdout + up.stderr
    assert up.stdout.count("hello") == 2  # both services ran: db (amd64, as pinned) and app (arm64, emulated)


def test_no_terminal_without_yes_exits_at_once(testenv: dict, tmp_path: Path) -> None:
    project = _project(tmp_path)
    original = (project / "compose.yaml").read_bytes()
    result = _fix(testenv, tmp_path, project)
    assert result.code == 2 and "no terminal to ask on" in result.stderr
    assert result.seconds < 30 and "1. ERROR DKD411" in result.stdout
    assert (project / "compose.yaml").read_bytes() == original


def test_file_changed_between_plan_and_apply_is_refused(testenv: dict, tmp_path: Path) -> None:
    project = _project(tmp_path)
    compose = project / "compose.yaml"

    def user_edits_the_file() -> None:
        compose.write_text(compose.read_text() + "# edited while the plan was on screen\n")

    argv = [sys.executable, "-m", "dockdoctor", "fix", "--project", str(project), "--only", "DKD411"]
    code, output = _interactive(
        argv, {**_env(testenv, tmp_path), "PYTHONPATH": SRC}, [("apply fix 1", "y\n", user_edits_the_file)]
    )
    assert code == 1, output
    assert "changed since the plan was shown: nothing written" in output
    assert "platform: linux/amd64" not in compose.read_text() and compose.read_text().endswith("on screen\n")


def test_a_failing_step_is_reported_and_the_rest_of_the_plan_runs(testenv: dict, tmp_path: Path) -> None:
    project = _project(tmp_path)
    dead = tmp_path / "dead.sock"
    result = dockdoctor(
        "fix",
        "--project",
        str(project),
        "--only",
        "DKD201,DKD411",
        "--yes",
        env=_env(testenv, tmp_path, DOCKER_HOST=f"unix://{dead}", PATH="/usr/bin:/bin"),
    )
    assert result.code == 1, result.stdout
    assert "DKD201 start the Docker daemon: still present" in result.stdout
    assert "   failed: " in result.stdout
    assert "DKD411 set `platform: linux/amd64` on service db" in result.stdout
    assert "platform: linux/amd64" in (project / "compose.yaml").read_text()


def test_ctrl_c_in_the_middle_of_a_step(testenv: dict, tmp_path: Path) -> None:
    """Ctrl-C while a long command runs: the step's process group stops, finished edits stay whole."""
    project = _project(tmp_path)
    slow = tmp_path / "bin"
    slow.mkdir()
    # the first fix's command is a real program that takes its time: the `orb` start of a (missing) OrbStack
    (slow / "orb").write_text("#!/bin/sh\nsleep 60\n")
    (slow / "orb").chmod(0o755)
    orbstack = tmp_path / "home" / ".orbstack" / "run"
    orbstack.mkdir(parents=True)
    env = _env(
        testenv, tmp_path, DOCKER_HOST=f"unix://{orbstack}/docker.sock", PATH=f"{slow}:/usr/bin:/bin", PYTHONPATH=SRC
    )
    original = (project / "compose.yaml").read_bytes()
    argv = [sys.executable, "-m", "dockdoctor", "fix", "--project", str(project), "--only", "DKD201,DKD411", "--yes"]
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, start_new_session=True
    )
    time.sleep(8)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends to the foreground group on Ctrl-C
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted during fix 1 (stopped): fixes that ran: none; not run: [2]" in stderr
    assert "Traceback" not in stderr
    assert (project / "compose.yaml").read_bytes() == original
    assert not list(project.glob(".dockdoctor-*"))  # no temporary file left behind


def test_repull_replaces_a_wrong_platform_local_copy(testenv: dict, tmp_path: Path) -> None:
    ref = f"{testenv['registry']}/busybox:multi"
    project = tmp_path / "web"
    project.mkdir()
    (project / "compose.yaml").write_text(f"services:\n  web:\n    image: {ref}\n")
    docker = [testenv["docker_cli"], "-H", testenv["docker_host"]]
    subprocess.run([*docker, "tag", testenv["images"]["local_arm64"], ref], check=True, capture_output=True)
    try:
        result = dockdoctor("fix", "--project", str(project), "--only", "DKD303", "--yes", env=_env(testenv, tmp_path))
        arch = subprocess.run(
            [*docker, "image", "inspect", "-f", "{{.Architecture}}", ref], capture_output=True, text=True
        ).stdout.strip()
    finally:
        subprocess.run([*docker, "rmi", ref], capture_output=True)
    assert result.code == 0, result.stdout + result.stderr
    assert f"$ docker pull --platform linux/amd64 {ref}" in result.stdout
    assert "[DKD303]" in result.stdout  # the command's own output, streamed with the check's code
    assert "DKD303 pull the linux/amd64 variant: fixed" in result.stdout
    assert arch == "amd64"


def test_fix_json_is_one_document_that_validates(testenv: dict, tmp_path: Path) -> None:
    import json

    from test_schema import validator

    project = _project(tmp_path)
    dry = _fix(testenv, tmp_path, project, "--dry-run", "--json")
    validator("fix").validate(dry.json())
    assert dry.json()["applied"] == [] and dry.json()["plan"][0]["finding"]["id"] == "DKD411"
    done = _fix(testenv, tmp_path, project, "--yes", "--json")
    report = done.json()
    validator("fix").validate(report)
    assert done.code == 0 and report["exit_code"] == 0
    assert [(a["finding"]["id"], a["status"]) for a in report["applied"]] == [("DKD411", "fixed")]
    assert report["applied"][0]["outcomes"][0]["step"]["kind"] == "edit"
    assert json.loads(done.stdout)  # stdout is the document alone


def test_rebuild_for_arm64_then_it_runs_under_qemu(testenv: dict, tmp_path: Path) -> None:
    """The rebuild fix (Debian's docker CLI, which has BuildKit built in), the re-check, and the image itself."""
    project = tmp_path / "api"
    project.mkdir()
    image = "dockdoctor-test/api:fix-test"
    (project / "compose.yaml").write_text(f"services:\n  api:\n    build: .\n    image: {image}\n")
    (project / "Dockerfile").write_text(
        f'FROM {testenv["registry"]}/busybox:multi\nENTRYPOINT ["/bin/busybox", "uname", "-m"]\n'
    )
    cli = testenv.get("buildkit_cli", "/usr/bin/docker")
    docker = [cli, "-H", testenv["docker_host"]]
    env = _env(testenv, tmp_path, PATH=f"{Path(cli).parent}:/usr/bin:/bin", DOCKER_BUILDKIT="1")
    subprocess.run(
        [*docker, "build", "-q", "-t", image, str(project)],
        check=True,
        capture_output=True,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    try:
        result = dockdoctor(
            "fix", "--project", str(project), "--platform", "linux/arm64", "--only", "DKD415", "--yes", env=env
        )
        assert result.code == 0, result.stdout + result.stderr
        assert "DKD415 rebuild dockdoctor-test/api:fix-test for linux/arm64: fixed" in result.stdout
        arch = subprocess.run(
            [*docker, "image", "inspect", "-f", "{{.Architecture}}", image], capture_output=True, text=True
        ).stdout.strip()
        with binfmt_state(enabled_aarch64=True):
            ran = subprocess.run(
                [*docker, "run", "--rm", "--network", "none", image], capture_output=True, text=True, timeout=60
            )
            # a build step under QEMU too: this engine has no bridge network, so only a build with
            # `--network none` can RUN anything, and only the classic builder takes that flag here
            (project / "Dockerfile").write_text(
                f"FROM {testenv['registry']}/busybox:multi\n"
                'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox uname -m > /arch"]\n'
            )
            built = subprocess.run(
                [*docker, "build", "--network", "none", "--platform", "linux/arm64", "-t", image, str(project)],
                capture_output=True,
                text=True,
                timeout=300,
                env={**os.environ, "DOCKER_BUILDKIT": "0"},
            )
            built_arch = subprocess.run(
                [*docker, "run", "--rm", "--network", "none", "--entrypoint", "/bin/busybox", image, "cat", "/arch"],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout.strip()
    finally:
        subprocess.run([*docker, "rmi", image], capture_output=True)
    assert arch == "arm64"
    assert ran.stdout.strip() == "aarch64"  # the rebuilt image's own binary, run under QEMU
    assert built.returncode == 0, built.stderr
    assert built_arch == "aarch64"  # written by a RUN step that ran under QEMU during the build


def test_unsafe_and_privileged_fixes_need_their_own_flags(testenv: dict, tmp_path: Path) -> None:
    with binfmt_state(enabled_aarch64=False):
        result = dockdoctor(
            "fix",
            "--project",
            str(tmp_path),
            "--platform",
            "linux/arm64",
            "--only",
            "DKD503",
            "--yes",
            env=_env(testenv, tmp_path),
        )
    assert result.code == 0, result.stdout + result.stderr
    assert "(unsafe, needs sudo, needs network, needs its own consent)" in result.stdout  # apt-get
    assert "(unsafe, needs privileged, needs network, needs its own consent)" in result.stdout
    assert result.stdout.rstrip().endswith("no fix applied")  # --yes alone ran neither


def test_second_option_writes_default_platform_into_a_new_env_file(testenv: dict, tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(PROJECTS / "compose-app", project)
    argv = [sys.executable, "-m", "dockdoctor", "fix", "--project", str(project), "--only", "DKD410"]
    env = {**_env(testenv, tmp_path), "PYTHONPATH": SRC}
    with binfmt_state(enabled_aarch64=True):  # the local target: app's arm64 image runs under QEMU
        code, output = _interactive(
            argv,
            env,
            [("apply fix 1 (set `platform", "n\n", None), ("apply fix 1 (or set DOCKER_DEFAULT_PLATFORM", "y\n", None)],
        )
    assert code == 0, output
    assert "needs its own consent" in output and ": fixed" in output
    assert (project / ".env").read_text() == "DOCKER_DEFAULT_PLATFORM=linux/arm64\n"
    assert "platform:" not in (project / "compose.yaml").read_text()
    undo = dockdoctor("fix", "--undo", "--project", str(project), env=_env(testenv, tmp_path))
    assert "removed (dockdoctor had created it)" in undo.stdout and not (project / ".env").exists()


def _interactive(
    argv: list[str], env: dict[str, str], script: list[tuple[str, str, Callable[[], None] | None]], timeout: float = 120
) -> tuple[int, str]:
    """Run argv on a pseudo-terminal; at each prompt of the script call its hook (if any), then type its answer."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvpe(argv[0], argv, env)
    output, seen, step, deadline = b"", 0, 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if step < len(script) and (at := output.find(script[step][0].encode(), seen)) >= 0:
            prompt, answer, hook = script[step]
            if hook is not None:
                hook()
            os.write(fd, answer.encode())
            seen, step = at + len(prompt), step + 1
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("apt-get"), reason="installs a Debian package as root")
def test_installing_emulation_from_the_distribution(testenv: dict, tmp_path: Path) -> None:
    """The unsafe fix for real: apt-get installs binfmt-support, whose postinst registers QEMU; then undone."""
    if subprocess.run(["dpkg", "-s", "binfmt-support"], capture_output=True).returncode == 0:
        pytest.skip("binfmt-support is installed already: installing it again would register nothing")
    if subprocess.run(["apt-cache", "show", "binfmt-support"], capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600)  # package lists for apt-get install
    env = _env(testenv, tmp_path, DEBIAN_FRONTEND="noninteractive")
    with binfmt_state(enabled_aarch64=False):
        if Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
            # left disabled, not removed: DKD503 then switches it on, and update-binfmts would register nothing
            pytest.skip("a qemu-aarch64 entry is registered (disabled) on this machine")
        try:
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
                env=env,
                timeout=600,
            )
            registered = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists()
        finally:
            subprocess.run(
                ["apt-get", "purge", "-y", "binfmt-support"],
                capture_output=True,
                timeout=600,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
    assert "$ apt-get install -y qemu-user-static binfmt-support" in result.stdout
    assert "DKD503 install QEMU user emulation from your distribution: fixed" in result.stdout, result.stdout
    assert registered and result.code == 0


def test_ctrl_c_in_the_middle_of_a_rebuild(testenv: dict, tmp_path: Path) -> None:
    """A plan with an edit (done) and a rebuild (stuck on a registry that never answers): Ctrl-C mid-build."""
    from support.servers import hanging_server

    project = tmp_path / "shop"
    project.mkdir()
    image = "dockdoctor-test/api:ctrl-c"
    cli = testenv.get("buildkit_cli", "/usr/bin/docker")
    docker = [cli, "-H", testenv["docker_host"]]
    # db pins a platform its image lacks (DKD411: re-pin to the arm64 target, which runs here under QEMU)
    (project / "compose.yaml").write_text(
        f"services:\n  db:\n    image: {testenv['registry']}/busybox:multi\n"
        f"    platform: linux/arm/v7\n  api:\n    build: ./api\n    image: {image}\n"
    )
    (project / "api").mkdir()
    (project / "api" / "Dockerfile").write_text(f"FROM {testenv['registry']}/busybox:multi\n")
    subprocess.run(
        [*docker, "build", "-q", "-t", image, str(project / "api")],
        check=True,
        capture_output=True,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    with hanging_server() as port:
        (project / "api" / "Dockerfile").write_text(f"FROM 127.0.0.1:{port}/base:1\n")
        env = _env(testenv, tmp_path, PATH=f"{Path(cli).parent}:/usr/bin:/bin", DOCKER_BUILDKIT="1", PYTHONPATH=SRC)
        argv = [
            sys.executable,
            "-m",
            "dockdoctor",
            "fix",
            "--project",
            str(project),
            "--platform",
            "linux/arm64",
            "--only",
            "DKD411,DKD415",
            "--yes",
        ]
        qemu = binfmt_state(enabled_aarch64=True)
        qemu.__enter__()
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _running(f"build --platform linux/arm64 -t {image}"):
                time.sleep(0.5)  # until the rebuild is under way (stuck resolving FROM)
            time.sleep(2)
            os.killpg(proc.pid, signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            qemu.__exit__(None, None, None)
            subprocess.run([*docker, "rmi", image], capture_output=True)
    assert proc.returncode == 130, stdout + stderr
    assert "interrupted during fix 2 (stopped): fixes that ran: [1]; not run: none" in stderr
    assert "Traceback" not in stderr
    compose = (project / "compose.yaml").read_text()
    assert "    platform: linux/arm64\n" in compose and compose.endswith(f"    image: {image}\n")  # whole, not half
    assert not list(project.glob(".dockdoctor-*"))


def _running(command: str) -> bool:
    """Whether a process with this command line is running (the fix's own child)."""
    return any(
        command in line
        for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    )
