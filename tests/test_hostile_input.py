"""Hostile project folders and replay files, run through the real CLI: nothing leaks, blocks, walks the host or
ends in a traceback (issue 10, the scan and bad-input half)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from clirun import Result, dockdoctor, isolated_env

GUARD = 60  # seconds: a guard against a hang (a FIFO opened for reading blocks forever), not a speed goal
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "checks" / "DKD301" / "bad-amd64-only-index-on-arm64.json"
SECRET = "s3cr3t-line-that-must-never-reach-a-report"


def _env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")


def _check(project: Path, tmp_path: Path, *extra: str) -> Result:
    # a generous --timeout: on this shared machine the project probe must finish, not time out
    result = dockdoctor(
        "check",
        "--json",
        "--timeout",
        "30",
        "--project",
        str(project),
        "--only",
        "DKD601,DKD607,DKD609",
        *extra,
        env=_env(tmp_path),
        timeout=GUARD,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _skipped(result: Result) -> dict[str, str]:
    """path relative to the project -> reason, from facts.project.skipped."""
    project = result.json()["facts"]["project"]
    root = project["root"].rstrip("/") + "/"
    return {path.removeprefix(root): reason for path, reason in project["skipped"]}


def _one_line_error(result: Result, *needles: str) -> None:
    assert result.code == 2, (result.code, result.stdout[-500:], result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("dockdoctor: ") and result.stderr.count("\n") == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_links_out_of_the_project_are_neither_followed_nor_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text(f"{SECRET}\n")
    (outside / "Dockerfile").write_text(f"FROM {SECRET}\n")
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "Dockerfile.secret").symlink_to(outside / "secret")
    (project / "Dockerfile.shadow").symlink_to("/etc/shadow")
    (project / "sub" / "host").symlink_to("/")
    (project / "sub" / "elsewhere").symlink_to(outside)
    (project / "compose.yaml").symlink_to(outside / "secret")
    (project / "inside").mkdir()
    (project / "inside" / "Dockerfile").write_text("FROM alpine:3.20\n")
    (project / "again").symlink_to(project / "inside")  # a link that stays inside is followed
    (outside / "compose.yaml").write_text(f"services:\n  a:\n    image: {SECRET}\n")
    (project / ".devcontainer").mkdir()
    (project / ".devcontainer" / "devcontainer.json").write_text(
        '{"dockerComposeFile": "../../outside/compose.yaml", "service": "a"}'
    )
    result = _check(project, tmp_path)
    assert SECRET not in result.stdout and "root:" not in result.stdout
    skipped = _skipped(result)
    out = "a link to a file outside the project folder: not followed"
    assert skipped["Dockerfile.secret"] == skipped["Dockerfile.shadow"] == skipped["compose.yaml"] == out
    folder_out = "a link to a folder outside the project folder: not followed"
    assert skipped["sub/host"] == skipped["sub/elsewhere"] == folder_out
    assert not any(path.startswith(("sub/host/", "sub/elsewhere/")) for path in skipped), skipped  # no host walk
    assert skipped[str(outside / "compose.yaml")] == out  # a dev container's compose file: only inside the root
    dockerfiles = sorted(d["path"] for d in result.json()["facts"]["project"]["dockerfiles"])
    assert dockerfiles == ["again/Dockerfile"]  # read once, through the link that stays inside (sorted first)
    assert skipped["inside"].startswith("symlink loop: this folder was already visited")
    messages = [f["message"] for f in result.json()["findings"] if f["id"] == "DKD609"]
    assert any("Dockerfile.shadow: not read (a link to a file outside" in m for m in messages), messages
    assert not [f for f in result.json()["findings"] if f["id"] == "DKD601"]  # no first line of /etc/shadow


def test_a_dotenv_link_out_keeps_compose_config_from_reading_it(tmp_path: Path) -> None:
    """compose would read the linked .env itself and quote its lines in errors: dockdoctor's own parse is used."""
    (tmp_path / "secret").write_text(f"{SECRET}:x\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").symlink_to(tmp_path / "secret")
    (project / "compose.yaml").write_text("services:\n  a:\n    image: alpine\n")
    result = _check(project, tmp_path)
    assert SECRET not in result.stdout
    assert _skipped(result)[".env"] == "a link to a file outside the project folder: not followed"
    assert result.json()["facts"]["project"]["compose"]["resolved_by"] == "dockdoctor"


@pytest.mark.parametrize(
    "name", ["Dockerfile", ".devcontainer/devcontainer.json", ".env", "compose.yaml", ".dockerignore", "api.dockerfile"]
)
def test_a_fifo_project_file_is_reported_not_read(tmp_path: Path, name: str) -> None:
    project = tmp_path / "project"
    (project / ".devcontainer").mkdir(parents=True)
    os.mkfifo(project / name)
    result = _check(project, tmp_path)
    assert _skipped(result)[name] == "a FIFO, not a regular file"
    assert any(f["id"] == "DKD609" and name in f["message"] for f in result.json()["findings"])


def test_a_device_linked_by_name_with_f_is_not_read(tmp_path: Path) -> None:
    """-f names a file the user chose (read wherever it is), but still only a regular file: never /dev/zero."""
    project = tmp_path / "project"
    project.mkdir()
    result = _check(project, tmp_path, "-f", "/dev/zero")
    assert _skipped(result)["/dev/zero"] == "a character device, not a regular file"


@pytest.mark.parametrize("name", [".dockdoctor.toml", "pyproject.toml"])
def test_a_fifo_settings_file_is_a_one_line_error(tmp_path: Path, name: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    os.mkfifo(project / name)
    result = dockdoctor("check", "--project", str(project), env=_env(tmp_path), timeout=GUARD)
    _one_line_error(result, name, "a FIFO, not a regular file", "--no-project")


def test_a_settings_link_out_of_the_project_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.toml").write_text(f'[severity]\nx = "{SECRET}"\n')
    project = tmp_path / "project"
    project.mkdir()
    (project / ".dockdoctor.toml").symlink_to(tmp_path / "elsewhere.toml")
    result = dockdoctor("check", "--project", str(project), env=_env(tmp_path), timeout=GUARD)
    _one_line_error(result, ".dockdoctor.toml", "outside the project folder")
    assert SECRET not in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("pyproject.toml", b"[tool]\ndockdoctor = 5\n", "`tool.dockdoctor` must be a table"),
        ("pyproject.toml", b"[tool]\ndockdoctor = [1]\n", "not a list"),
        (".dockdoctor.toml", b'targets = ["linux/amd64"]\n\xff\n', "not UTF-8 text"),
        (".dockdoctor.toml", b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
        (".dockdoctor.toml", b"targets = [\n", "cannot read it as TOML"),
    ],
)
def test_broken_settings_are_a_one_line_error(tmp_path: Path, name: str, content: bytes, needle: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / name).write_bytes(content)
    result = dockdoctor("check", "--project", str(project), env=_env(tmp_path), timeout=GUARD)
    _one_line_error(result, str(project / name), needle)


def test_deep_nesting_is_one_dkd609_per_file_and_the_rest_still_runs(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".devcontainer").mkdir(parents=True)
    (project / "compose.yaml").write_text(
        "services:\n  a:\n    image: alpine\n    labels: " + "[" * 1000 + "]" * 1000 + "\n"
    )
    (project / ".devcontainer" / "devcontainer.json").write_text('{"image": ' + "[" * 20_000 + "]" * 20_000 + "}")
    (project / "Dockerfile").write_text("FROM alpine\nNOPE x\n")  # a DKD601 finding: the scan went on
    # the project probe finishes within the --timeout _check gives: no DKD001
    result = _check(project, tmp_path, "--only", "DKD001")
    findings = result.json()["findings"]
    dkd609 = [f["message"] for f in findings if f["id"] == "DKD609"]
    assert len(dkd609) == 2, dkd609
    assert any(m.startswith("compose.yaml") and "nested too deeply" in m for m in dkd609), dkd609
    assert any("devcontainer.json: not read (nested too deeply to parse)" in m for m in dkd609), dkd609
    assert [f["id"] for f in findings if f["id"] == "DKD601"] == ["DKD601"]
    assert not [f for f in findings if f["id"] == "DKD001"]


def test_pathological_dockerignore_pattern(tmp_path: Path) -> None:
    """`**/**/**/**/**/**/**/**/x` took 17 s per path with a backtracking regex; matching now follows moby."""
    project = tmp_path / "project"
    deep = project.joinpath(*"abcdef")
    deep.mkdir(parents=True)
    (project / ".dockerignore").write_text(
        "**/**/**/**/**/**/**/**/**/**/**/**/x\n**/ignored\n!**/ignored/Dockerfile.keep\n"
    )
    (deep / "Dockerfile").write_text("FROM alpine\n")
    (deep / "x").mkdir()
    (deep / "x" / "Dockerfile").write_text("FROM alpine\n")
    (project / "ignored").mkdir()
    (project / "ignored" / "Dockerfile").write_text("FROM alpine\n")
    (project / "ignored" / "Dockerfile.keep").write_text("FROM alpine\n")
    result = _check(project, tmp_path)
    paths = sorted(d["path"] for d in result.json()["facts"]["project"]["dockerfiles"])
    assert paths == ["a/b/c/d/e/f/Dockerfile", "ignored/Dockerfile.keep"]


def test_a_malformed_dockerignore_is_reported(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".dockerignore").write_text("[\n")
    (project / "Dockerfile").write_text("FROM alpine\n")
    result = _check(project, tmp_path)
    assert "docker build refuses this file too" in _skipped(result)[".dockerignore"]
    assert [d["path"] for d in result.json()["facts"]["project"]["dockerfiles"]] == ["Dockerfile"]


def test_running_from_a_deleted_folder(tmp_path: Path) -> None:
    env = _env(tmp_path)
    gone = tmp_path / "gone"
    for args, code in (
        (("check", "--only", "DKD001"), 2),
        (("check", "--no-project", "--only", "DKD001"), 0),
        (("report", "-o", str(tmp_path / "r.zip")), 2),
    ):
        gone.mkdir()
        result = dockdoctor(
            *args,
            env=env,
            timeout=GUARD,
            cwd=tmp_path,
            prefix=("sh", "-c", 'cd "$0" && rmdir "$0" && exec "$@"', str(gone)),
        )
        assert result.code == code, (args, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        if code == 2:
            _one_line_error(result, "the current folder no longer exists")


def _facts(**changes: object) -> dict:
    data = json.loads(FIXTURE.read_text())
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (json.dumps(_facts(schema_version=-5)), "schema_version -5 is not one dockdoctor ever wrote"),
        (json.dumps(_facts(schema_version=0)), "schema_version 0"),
        (json.dumps(_facts(engine__platform="linux/amd64/v8/x/y")), "$.engine.platform: invalid platform"),
        (json.dumps(_facts(engine__platform="\U0001f4a5")), "$.engine.platform: invalid platform"),
        (json.dumps(_facts(host__arch="a/b/c")), "$.host.arch"),
        ('{"schema_version": 1, "host": ' + "[" * 500 + "]" * 500 + "}", "$.host: expected an object"),
        ('{"schema_version": 1, "host": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
        ("1" * 5000, "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8 text"),
    ],
)
def test_hostile_replay_files(tmp_path: Path, content: str | bytes, needle: str) -> None:
    path = tmp_path / "facts.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = dockdoctor("check", "--from", str(path), env=_env(tmp_path), timeout=GUARD)
    _one_line_error(result, str(path), needle)


def test_a_bundle_whose_facts_inflate_past_the_cap(tmp_path: Path) -> None:
    """A zip bomb: 65 MiB of zeros compress to about 64 KiB; dockdoctor stops inflating at 64 MiB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("facts.json", b"0" * (65 << 20))
    path = tmp_path / "bomb.zip"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 1 << 20
    result = dockdoctor("check", "--from", str(path), env=_env(tmp_path), timeout=GUARD)
    _one_line_error(result, str(path), "inflates to more than 64 MiB")


def test_bundle_reader_stops_at_the_limit_even_when_the_header_lies() -> None:
    from dockdoctor.bundle import facts_text
    from dockdoctor.errors import ReplayFileError

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("facts.json", b" " * 5000 + b"{}")
    data = buffer.getvalue()
    assert facts_text(data, source="b.zip", limit=10_000).strip() == "{}"
    with pytest.raises(ReplayFileError, match="inflates to more than"):
        facts_text(data, source="b.zip", limit=4096)
    size = (5002).to_bytes(4, "little")  # the local and central headers claim 2 bytes; the stream holds 5002
    forged = data.replace(size, (2).to_bytes(4, "little"))
    with pytest.raises(ReplayFileError):
        facts_text(forged, source="b.zip", limit=4096)
