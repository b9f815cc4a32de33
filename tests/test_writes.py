"""Files the user owns are written in place, never replaced; failed writes leave them whole (real CLI runs).

`fix` here edits a Dockerfile (DKD604: `ARG TARGETARCH=amd64`), a fix that needs no engine: DOCKER_HOST names a
socket that does not exist, and the edit, the re-check and `--undo` all run for real. The file-system cases
(read-only, full) mount their own small tmpfs and need root; they skip cleanly without it.
"""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import SRC, Result, dockdoctor, isolated_env

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REPLAY = FIXTURES / "checks" / "DKD413" / "bad-compose-1-26-platform.json"  # any complete facts file
DOCKERFILE = "FROM scratch\nARG TARGETARCH=amd64\nCOPY app /app\n"
FIXED = "FROM scratch\nARG TARGETARCH\nCOPY app /app\n"
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown to nobody, mount a tmpfs)")
NO_DAC = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")  # root that meets file permissions


def _env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(
        tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache")
    )


def _project(folder: Path, text: str = DOCKERFILE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(text)
    return folder


def _fix(tmp_path: Path, project: Path, *args: str, prefix: tuple[str, ...] = ()) -> Result:
    result = dockdoctor(
        "fix",
        "--project",
        str(project),
        "--only",
        "DKD604",
        "--platform",
        "linux/amd64",
        "--yes",
        *args,
        env=_env(tmp_path),
        prefix=prefix,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def _undo(tmp_path: Path, project: Path) -> Result:
    result = dockdoctor("fix", "--undo", "--project", str(project), env=_env(tmp_path))
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def _no_temporary_files(*folders: Path) -> None:
    for folder in folders:
        assert not list(folder.glob(".dockdoctor-*")), list(folder.iterdir())


def _one_line_error(result: Result, *words: str) -> None:
    assert result.code == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dockdoctor: "), result.stderr
    assert all(w in lines[0] for w in words), lines[0]


# -- fix and --undo: what the file is stays what it was --------------------------------------------------------


def test_symlinked_dockerfile_stays_a_link_and_its_target_is_edited_and_restored(tmp_path: Path) -> None:
    project = tmp_path / "app"
    shared = project / "shared"  # inside the project: the scan never reads a link that leaves it
    shared.mkdir(parents=True)
    target = shared / "build-file"  # a name the scan does not take for a Dockerfile of its own
    target.write_text(DOCKERFILE)
    (project / "Dockerfile").symlink_to(target)
    fixed = _fix(tmp_path, project)
    assert fixed.code == 0 and ": fixed" in fixed.stdout, fixed.stdout
    assert (project / "Dockerfile").is_symlink() and os.readlink(project / "Dockerfile") == str(target)
    assert target.read_text() == FIXED
    undo = _undo(tmp_path, project)
    assert undo.code == 0 and undo.stdout.strip() == f"{project / 'Dockerfile'}: restored", undo.stdout
    assert (project / "Dockerfile").is_symlink() and target.read_text() == DOCKERFILE
    _no_temporary_files(project, shared)


def test_hard_linked_dockerfile_keeps_its_links(tmp_path: Path) -> None:
    project = _project(tmp_path / "app")
    other = tmp_path / "Dockerfile.also"
    os.link(project / "Dockerfile", other)
    inode = (project / "Dockerfile").stat().st_ino
    assert _fix(tmp_path, project).code == 0
    assert (project / "Dockerfile").stat().st_ino == inode and other.stat().st_nlink == 2
    assert other.read_text() == FIXED  # the other name sees the edit: one file, edited in place
    assert _undo(tmp_path, project).code == 0
    assert other.read_text() == DOCKERFILE and (project / "Dockerfile").stat().st_ino == inode


@ROOT_ONLY
def test_file_owned_by_nobody_stays_nobodys_with_its_mode(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    project = _project(tmp_path / "app")
    dockerfile = project / "Dockerfile"
    os.chown(dockerfile, nobody.pw_uid, nobody.pw_gid)
    dockerfile.chmod(0o640)
    assert _fix(tmp_path, project).code == 0 and dockerfile.read_text() == FIXED
    after = dockerfile.stat()
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (nobody.pw_uid, nobody.pw_gid, 0o640)
    assert _undo(tmp_path, project).code == 0 and dockerfile.read_text() == DOCKERFILE
    after = dockerfile.stat()
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (nobody.pw_uid, nobody.pw_gid, 0o640)


@ROOT_ONLY
def test_a_new_file_in_a_users_folder_is_the_users(tmp_path: Path) -> None:
    """Under sudo, --save-facts into nobody's folder makes nobody's file (root's stays for root's folders)."""
    nobody = pwd.getpwnam("nobody")
    folder = tmp_path / "home-of-nobody"
    folder.mkdir()
    os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    result = dockdoctor("check", "--from", str(REPLAY), "--save-facts", str(folder / "facts.json"), env=_env(tmp_path))
    assert result.code in (0, 1), result.stderr
    made = (folder / "facts.json").stat()
    assert (made.st_uid, made.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    _no_temporary_files(folder)


@ROOT_ONLY
def test_under_sudo_dockdoctors_own_folders_in_the_users_home_are_the_users(tmp_path: Path) -> None:
    """sudo may keep the user's HOME: the cache and the undo journal dockdoctor makes there were root's, so the
    user's next run without sudo could neither cache nor `--undo`. Now everything made in the home is the user's."""
    from support.servers import OCI_INDEX, OCI_MANIFEST, Answer, index_doc, registry_server, sha256

    nobody = pwd.getpwnam("nobody")
    home = tmp_path / "home"
    project = _project(home / "app")
    for path in (home, project, project / "Dockerfile"):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    env = dict(
        _env(tmp_path),
        DOCKDOCTOR_CACHE_DIR=str(home / ".cache" / "dockdoctor"),
        SUDO_USER="nobody",
        SUDO_UID=str(nobody.pw_uid),
        SUDO_GID=str(nobody.pw_gid),
    )
    fixed = dockdoctor(
        "fix", "--project", str(project), "--only", "DKD604", "--platform", "linux/amd64", "--yes", env=env
    )
    assert fixed.code == 0, fixed.stdout + fixed.stderr
    index = index_doc([(sha256(b"a"), OCI_MANIFEST, {"os": "linux", "architecture": "amd64"})])
    with registry_server(
        lambda m, p: Answer(200, {"Content-Type": OCI_INDEX, "Docker-Content-Digest": sha256(index)}, index)
    ) as reg:
        looked_up = dockdoctor("inspect", "--json", f"{reg.host}/x/y:1", env=env)
    assert looked_up.json()["facts"]["images"]["remote"][0]["error"] is None, looked_up.stdout
    made = sorted(home.rglob("*"))
    assert any(p.name == "journal.json" for p in made) and any("tags" in p.parts for p in made), made
    assert {
        str(p.relative_to(home)): (p.lstat().st_uid, p.lstat().st_gid)
        for p in made
        if (p.lstat().st_uid, p.lstat().st_gid) != (nobody.pw_uid, nobody.pw_gid)
    } == {}
    assert _undo_with(env, project).code == 0 and (project / "Dockerfile").read_text() == DOCKERFILE


def _undo_with(env: dict[str, str], project: Path) -> Result:
    return dockdoctor("fix", "--undo", "--project", str(project), env=env)


@ROOT_ONLY
def test_file_without_write_permission_is_one_line_and_not_journaled(tmp_path: Path) -> None:
    project = _project(tmp_path / "app")
    dockerfile = project / "Dockerfile"
    dockerfile.chmod(0o444)
    result = _fix(tmp_path, project, prefix=NO_DAC)
    assert result.code == 1 and f"failed: {dockerfile}: cannot write it (Permission denied)" in result.stdout
    assert dockerfile.read_text() == DOCKERFILE
    undo = _undo(tmp_path, project)
    assert undo.code == 0 and undo.stdout.strip() == f"nothing to undo in {project}"


# -- read-only and full file systems ----------------------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs of the test's own, unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "mnt"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _read_only(mount: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True, capture_output=True)


def _fill(mount: Path) -> None:
    """Fill the file system to the last block."""
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    assert os.statvfs(mount).f_bavail == 0


def test_fix_on_a_read_only_file_system_leaves_the_file_and_no_journal(tmp_path: Path, tmpfs: Path) -> None:
    project = _project(tmpfs / "app")
    _read_only(tmpfs)
    result = _fix(tmp_path, project)
    assert result.code == 1, result.stdout
    assert f"failed: {project / 'Dockerfile'}: cannot write it (Read-only file system)" in result.stdout
    assert (project / "Dockerfile").read_text() == DOCKERFILE
    undo = _undo(tmp_path, project)  # nothing was journaled, so nothing is refused either
    assert undo.code == 0 and undo.stdout.strip() == f"nothing to undo in {project}"
    assert not list((tmp_path / "cache").rglob("journal*.json"))


def test_fix_on_a_full_file_system_leaves_the_file_whole_and_no_journal(tmp_path: Path, tmpfs: Path) -> None:
    project = _project(tmpfs / "app")
    _fill(tmpfs)
    result = _fix(tmp_path, project)
    assert result.code == 1, result.stdout
    assert f"failed: {project / 'Dockerfile'}: cannot write it (No space left on device)" in result.stdout
    assert (project / "Dockerfile").read_text() == DOCKERFILE
    _no_temporary_files(project)
    undo = _undo(tmp_path, project)
    assert undo.code == 0 and undo.stdout.strip() == f"nothing to undo in {project}"
    (tmpfs / "filler").unlink()  # room again: the same fix now works, and undoes
    assert _fix(tmp_path, project).code == 0 and (project / "Dockerfile").read_text() == FIXED
    assert _undo(tmp_path, project).code == 0 and (project / "Dockerfile").read_text() == DOCKERFILE


@pytest.mark.parametrize("how", ["read-only", "full"])
def test_fix_with_its_cache_on_a_read_only_or_full_file_system_writes_nothing(
    tmp_path: Path, tmpfs: Path, how: str
) -> None:
    """No room for the undo journal: the edit is not made (an edit --undo cannot take back is never made)."""
    project = _project(tmp_path / "app")
    cache = tmpfs / "cache"
    (_read_only if how == "read-only" else _fill)(tmpfs)
    env = dict(_env(tmp_path), DOCKDOCTOR_CACHE_DIR=str(cache))
    result = dockdoctor(
        "fix", "--project", str(project), "--only", "DKD604", "--platform", "linux/amd64", "--yes", env=env
    )
    assert result.code == 1 and "Traceback" not in result.stderr, result.stdout + result.stderr
    assert f"failed: {project / 'Dockerfile'}: cannot keep its original for --undo" in result.stdout, result.stdout
    assert "nothing written" in result.stdout and (project / "Dockerfile").read_text() == DOCKERFILE
    undo = dockdoctor("fix", "--undo", "--project", str(project), env=env)
    assert undo.code == 0 and undo.stdout.strip() == f"nothing to undo in {project}", undo.stdout + undo.stderr


def test_save_facts_and_report_on_read_only_and_full_file_systems(tmp_path: Path, tmpfs: Path) -> None:
    env = _env(tmp_path)
    old = tmpfs / "facts.json"
    old.write_text("old facts\n")
    _fill(tmpfs)
    full = dockdoctor("check", "--from", str(REPLAY), "--save-facts", str(old), env=env)
    _one_line_error(full, str(old), "No space left on device")
    assert old.read_text() == "old facts\n"
    _no_temporary_files(tmpfs)
    _read_only(tmpfs)
    for args, path in (
        (("check", "--from", str(REPLAY), "--save-facts"), old),
        (("check", "--from", str(REPLAY), "--save-facts"), tmpfs / "new.json"),
        (("report", "--project", str(tmp_path), "-o"), tmpfs / "bundle.zip"),
    ):
        result = dockdoctor(*args, str(path), env=env)
        _one_line_error(result, str(path), "Read-only file system")
    assert old.read_text() == "old facts\n" and not (tmpfs / "new.json").exists()


def test_growing_a_file_on_a_nearly_full_file_system_leaves_it_as_it_was(tmpfs: Path) -> None:
    """The temporary copy fits, the longer original does not: the write fails and the original is as it was."""
    sys.path.insert(0, SRC)
    from dockdoctor.errors import WriteError
    from dockdoctor.files import write_file

    target = tmpfs / "facts.json"
    target.write_bytes(b"x")
    page = os.statvfs(tmpfs).f_frsize
    new = b"y" * (page + 1)  # two pages: a two-page copy, then one more page for the original
    free = os.statvfs(tmpfs).f_bavail
    with open(tmpfs / "filler", "wb") as fh:
        fh.write(b"\0" * page * (free - 2))
    assert os.statvfs(tmpfs).f_bavail == 2
    with pytest.raises(WriteError, match="No space left on device.*it is as it was"):
        write_file(str(target), new)
    assert target.read_bytes() == b"x" and target.stat().st_size == 1
    _no_temporary_files(tmpfs)


# -- --save-facts and report -o: links, devices, FIFOs ------------------------------------------------------------


def test_save_facts_and_report_write_through_symlinks_and_keep_the_mode(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for args, name in (
        (("check", "--from", str(REPLAY), "--save-facts"), "facts.json"),
        (("report", "--project", str(tmp_path), "-o"), "bundle.zip"),
    ):
        target = tmp_path / "kept" / name
        target.parent.mkdir(exist_ok=True)
        target.write_text("old\n")
        target.chmod(0o600)
        link = tmp_path / f"link-{name}"
        link.symlink_to(target)
        result = dockdoctor(*args, str(link), env=env)
        assert result.code in (0, 1) and "Traceback" not in result.stderr, result.stderr
        assert link.is_symlink() and target.read_bytes()[:2] in (b"{\n", b"PK")
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    replay = dockdoctor("check", "--from", str(tmp_path / "link-bundle.zip"), "--json", env=env)
    assert replay.code in (0, 1), replay.stderr


def _device(tmp_path: Path, name: str, twin: str) -> str:
    """As root, a private node of the same device as `twin` (so a regression replaces that node, never the
    machine's /dev/full or /dev/null); otherwise `twin` itself, which a user cannot replace."""
    if os.geteuid() != 0:
        return twin
    node = tmp_path / name
    os.mknod(node, 0o666 | stat.S_IFCHR, os.stat(twin).st_rdev)
    return str(node)


@ROOT_ONLY
def test_save_facts_to_dev_full_as_root_leaves_the_device(tmp_path: Path) -> None:
    full = _device(tmp_path, "full", "/dev/full")
    before = os.stat(full)
    result = dockdoctor("check", "--from", str(REPLAY), "--save-facts", full, env=_env(tmp_path))
    _one_line_error(result, full, "No space left on device")
    after = os.stat(full)
    assert stat.S_ISCHR(after.st_mode) and (after.st_rdev, after.st_ino) == (before.st_rdev, before.st_ino)


def test_save_facts_to_dev_null_and_a_fifo_writes_without_replacing(tmp_path: Path) -> None:
    env = _env(tmp_path)
    null = _device(tmp_path, "null", "/dev/null")
    assert dockdoctor("check", "--from", str(REPLAY), "--save-facts", null, env=env).code in (0, 1)
    assert stat.S_ISCHR(os.stat(null).st_mode)
    fifo = tmp_path / "facts.fifo"
    os.mkfifo(fifo)
    nobody_reads = dockdoctor("check", "--from", str(REPLAY), "--save-facts", str(fifo), env=env, timeout=30)
    _one_line_error(nobody_reads, str(fifo), "FIFO that nobody reads")
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader that waits: the facts go through the FIFO
    try:
        result = dockdoctor("check", "--from", str(REPLAY), "--save-facts", str(fifo), env=env, timeout=30)
        assert result.code in (0, 1), result.stderr
        assert os.read(reader, 1 << 20).startswith(b"{")
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_save_facts_refuses_other_devices(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a device node")
    node = tmp_path / "kmsg"
    os.mknod(node, 0o600 | stat.S_IFCHR, os.makedev(1, 11))  # /dev/kmsg: writing there logs to the kernel
    result = dockdoctor("check", "--from", str(REPLAY), "--save-facts", str(node), env=_env(tmp_path))
    _one_line_error(result, str(node), "is a character device")
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_a_file_another_program_holds_locked_is_left_alone(tmp_path: Path) -> None:
    import fcntl

    target = tmp_path / "facts.json"
    target.write_text("being written by someone else\n")
    with open(target, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = dockdoctor("check", "--from", str(REPLAY), "--save-facts", str(target), env=_env(tmp_path))
    _one_line_error(result, str(target), "another program holds a lock on it")
    assert target.read_text() == "being written by someone else\n"


def test_save_facts_to_a_descriptor_of_its_own(tmp_path: Path) -> None:
    """`--save-facts /dev/fd/3` with `3>file`, the shell's way: written through the descriptor, nothing replaced."""
    out = tmp_path / "through-fd3.json"
    with open(out, "w") as fd3:
        argv = [
            sys.executable,
            "-m",
            "dockdoctor",
            "check",
            "--from",
            str(REPLAY),
            "--save-facts",
            f"/dev/fd/{fd3.fileno()}",
        ]
        proc = subprocess.run(
            argv, env=_env(tmp_path), capture_output=True, text=True, timeout=60, pass_fds=(fd3.fileno(),)
        )
    assert proc.returncode in (0, 1) and proc.stderr == "", proc.stderr
    assert out.read_text().startswith("{") and '"schema_version"' in out.read_text()


def test_save_facts_refuses_a_folder(tmp_path: Path) -> None:
    result = dockdoctor("check", "--from", str(REPLAY), "--save-facts", str(tmp_path), env=_env(tmp_path))
    _one_line_error(result, str(tmp_path), "is a folder")


# -- undo is per project, and a refused undo changes nothing -----------------------------------------------------


def _journals(tmp_path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tmp_path)): p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file()}


def test_undo_is_per_project_and_a_refused_undo_keeps_the_journal(tmp_path: Path) -> None:
    a, b = _project(tmp_path / "a"), _project(tmp_path / "b")
    assert _fix(tmp_path, a).code == 0 and _fix(tmp_path, b).code == 0
    (b / "Dockerfile").write_text(FIXED + "# edited by hand since\n")
    before = _journals(tmp_path)
    refused = _undo(tmp_path, b)
    assert refused.code == 1
    assert refused.stdout.strip() == f"{b / 'Dockerfile'}: not restored: it changed after dockdoctor edited it"
    assert _journals(tmp_path) == before  # the journal is as it was
    assert (a / "Dockerfile").read_text() == FIXED  # and A's file is not B's to restore
    (b / "Dockerfile").write_text(FIXED)  # the hand edit taken back: the undo now works
    assert _undo(tmp_path, b).code == 0 and (b / "Dockerfile").read_text() == DOCKERFILE
    again = _undo(tmp_path, b)
    assert again.code == 0 and again.stdout.strip() == f"nothing to undo in {b}"
    assert (a / "Dockerfile").read_text() == FIXED
    assert _undo(tmp_path, a).code == 0 and (a / "Dockerfile").read_text() == DOCKERFILE


# -- standard output ------------------------------------------------------------------------------------------------


def _check_json(tmp_path: Path, **popen: object) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "dockdoctor", "check", "--json", "--from", str(REPLAY)]
    return subprocess.run(argv, env=_env(tmp_path), stderr=subprocess.PIPE, text=True, timeout=60, **popen)


def test_output_to_dev_full_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = _check_json(tmp_path, stdout=full)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "dockdoctor: cannot write to standard output (No space left on device)\n"


def test_closed_stdout_is_an_error(tmp_path: Path) -> None:
    proc = _check_json(tmp_path, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
    assert proc.returncode == 2 and "standard output is closed" in proc.stderr and "Traceback" not in proc.stderr


def test_a_reader_that_went_away_ends_the_run_quietly(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # like `| head -1` after its line: nobody reads any more
    try:
        proc = _check_json(tmp_path, stdout=write)
    finally:
        os.close(write)
    assert proc.returncode == 141 and proc.stderr == "", proc.stderr
