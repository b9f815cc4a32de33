"""fixes/apply.py without an engine: patched(), the changed-since-plan refusal, the journal and undo, run steps."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from dockdoctor.fixes.apply import (
    EditError,
    Journal,
    apply_steps,
    journal_folder,
    patched,
    sha256_of,
    undo_last,
)
from dockdoctor.model import EditFile, Manual, RunCommand, StepOutcome

# --------------------------------------------------------------------------- patched()


def test_patched_replaces_a_line_and_keeps_the_rest() -> None:
    text = "FROM a\nRUN x\nCMD y\n"
    diff = "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,2 +1,2 @@\n-FROM a\n+FROM --platform=linux/amd64 a\n RUN x\n"
    assert patched(text, diff) == "FROM --platform=linux/amd64 a\nRUN x\nCMD y\n"


def test_patched_refuses_a_context_mismatch() -> None:
    with pytest.raises(EditError, match=r"line 1 is not 'FROM b' any more"):
        patched("FROM a\n", "@@ -1 +1 @@\n-FROM b\n+FROM c\n")


def test_patched_refuses_a_removed_line_past_the_end() -> None:
    with pytest.raises(EditError, match="line 2 is not"):
        patched("FROM a\n", "@@ -1,2 +1,1 @@\n FROM a\n-RUN x\n")


def test_patched_keeps_crlf_line_ends() -> None:
    text = "services:\r\n  web:\r\n    image: nginx\r\n"
    diff = "@@ -2,2 +2,3 @@\n   web:\n+    platform: linux/amd64\n     image: nginx\n"
    assert patched(text, diff) == "services:\r\n  web:\r\n    platform: linux/amd64\r\n    image: nginx\r\n"


def test_patched_creates_a_file_from_nothing() -> None:
    diff = "--- /dev/null\n+++ b/.env\n@@ -0,0 +1,2 @@\n+DOCKER_DEFAULT_PLATFORM=linux/amd64\n+X=1\n"
    assert patched("", diff) == "DOCKER_DEFAULT_PLATFORM=linux/amd64\nX=1\n"


def test_patched_applies_several_hunks_in_order() -> None:
    text = "".join(f"line {i}\n" for i in range(1, 11))
    diff = "@@ -2 +2 @@\n-line 2\n+two\n@@ -9 +9 @@\n-line 9\n+nine\n"
    out = patched(text, diff).splitlines()
    assert out[1] == "two" and out[8] == "nine" and len(out) == 10


def test_patched_refuses_overlapping_hunks() -> None:
    text = "a\nb\nc\n"
    with pytest.raises(EditError, match="overlapping hunks"):
        patched(text, "@@ -1,2 +1,2 @@\n a\n-b\n+B\n@@ -2 +2 @@\n-b\n+B\n")


def test_patched_refuses_what_is_not_a_diff() -> None:
    with pytest.raises(EditError, match="not a unified diff line"):
        patched("a\n", "this is prose\n")


# --------------------------------------------------------------------------- edits through apply_steps


def _apply(steps: tuple[EditFile | RunCommand | Manual, ...], journal: Journal, **kw: object) -> list[StepOutcome]:
    expected = kw.pop("expected", None)
    if expected is None:
        expected = {s.path: sha256_of(s.path) for s in steps if isinstance(s, EditFile)}
    lines: list[str] = []
    outcomes = apply_steps(steps, expected=expected, journal=journal, echo=lines.append, label="DKD000", timeout=60.0)
    return outcomes


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM a\nRUN x\n")
    return folder


@pytest.fixture
def cache(tmp_path: Path) -> str:
    return str(tmp_path / "cache")


def _edit(path: Path) -> EditFile:
    return EditFile(path=str(path), diff="@@ -1 +1 @@\n-FROM a\n+FROM --platform=linux/amd64 a\n")


def test_an_edit_is_written_journaled_and_undone(project: Path, cache: str) -> None:
    dockerfile = project / "Dockerfile"
    journal = Journal(cache, str(project))
    [outcome] = _apply((_edit(dockerfile),), journal)
    assert (outcome.status, outcome.detail) == ("applied", str(dockerfile))
    assert dockerfile.read_text() == "FROM --platform=linux/amd64 a\nRUN x\n"
    data = json.loads((journal.folder / "journal.json").read_text())
    assert data["project"] == os.path.realpath(project)
    [entry] = data["entries"]
    assert entry["written"] == hashlib.sha256(dockerfile.read_bytes()).hexdigest()
    assert Path(entry["backup"]).read_text() == "FROM a\nRUN x\n"
    assert undo_last(cache, str(project)) == [(str(dockerfile), "restored", True)]
    assert dockerfile.read_text() == "FROM a\nRUN x\n"
    assert (journal.folder / "journal.undone.json").exists()
    assert undo_last(cache, str(project)) == []  # nothing left to undo


def test_a_file_changed_since_the_plan_is_not_touched(project: Path, cache: str) -> None:
    dockerfile = project / "Dockerfile"
    expected = {str(dockerfile): sha256_of(str(dockerfile))}
    dockerfile.write_text("FROM a\nRUN x\n# the user edited it meanwhile\n")
    journal = Journal(cache, str(project))
    [outcome] = _apply((_edit(dockerfile),), journal, expected=expected)
    assert outcome.status == "failed"
    assert outcome.detail == f"{dockerfile} changed since the plan was shown: nothing written"
    assert dockerfile.read_text().endswith("meanwhile\n")
    assert not journal.folder.exists()


def test_an_edit_already_made_is_skipped(project: Path, cache: str) -> None:
    step = EditFile(path=str(project / "Dockerfile"), diff="@@ -1 +1 @@\n FROM a\n")
    [outcome] = _apply((step,), Journal(cache, str(project)))
    assert (outcome.status, outcome.detail) == ("skipped", "already as planned")


def test_a_diff_that_does_not_fit_fails_and_skips_the_rest(project: Path, cache: str) -> None:
    bad = EditFile(path=str(project / "Dockerfile"), diff="@@ -1 +1 @@\n-FROM b\n+FROM c\n")
    outcomes = _apply((bad, RunCommand(argv=("true",)), Manual(text="restart")), Journal(cache, str(project)))
    assert [o.status for o in outcomes] == ["failed", "skipped", "skipped"]
    assert "line 1 is not 'FROM b' any more" in outcomes[0].detail
    assert outcomes[1].detail == "an earlier step of this fix failed"


def test_a_file_that_is_not_utf8_fails_with_its_name(project: Path, cache: str) -> None:
    dockerfile = project / "Dockerfile"
    dockerfile.write_bytes(b"FROM a\n\xff\n")
    [outcome] = _apply((_edit(dockerfile),), Journal(cache, str(project)))
    assert outcome.status == "failed" and outcome.detail.startswith(f"{dockerfile}: ")


def test_a_created_file_is_removed_by_undo(project: Path, cache: str) -> None:
    env = project / ".env"
    step = EditFile(
        path=str(env), diff="--- /dev/null\n+++ b/.env\n@@ -0,0 +1 @@\n+DOCKER_DEFAULT_PLATFORM=linux/amd64\n"
    )
    journal = Journal(cache, str(project))
    [outcome] = _apply((step,), journal)
    assert outcome.status == "applied"
    assert env.read_text() == "DOCKER_DEFAULT_PLATFORM=linux/amd64\n"
    [entry] = json.loads((journal.folder / "journal.json").read_text())["entries"]
    assert entry["backup"] == ""  # nothing to keep: it did not exist
    assert undo_last(cache, str(project)) == [(str(env), "removed (dockdoctor had created it)", True)]
    assert not env.exists()


def test_two_edits_of_one_file_keep_the_first_original(project: Path, cache: str) -> None:
    dockerfile = project / "Dockerfile"
    journal = Journal(cache, str(project))
    first = _edit(dockerfile)
    second = EditFile(path=str(dockerfile), diff="@@ -2 +2 @@\n-RUN x\n+RUN y\n")
    expected = {str(dockerfile): sha256_of(str(dockerfile))}
    assert [o.status for o in _apply((first,), journal, expected=expected)] == ["applied"]
    assert [o.status for o in _apply((second,), journal, expected=expected)] == ["applied"]  # expected follows
    [entry] = json.loads((journal.folder / "journal.json").read_text())["entries"]
    assert Path(entry["backup"]).read_text() == "FROM a\nRUN x\n"
    assert undo_last(cache, str(project)) == [(str(dockerfile), "restored", True)]
    assert dockerfile.read_text() == "FROM a\nRUN x\n"


def test_undo_refuses_all_when_one_file_changed_after_the_fix(project: Path, cache: str) -> None:
    dockerfile, compose = project / "Dockerfile", project / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: a\n")
    journal = Journal(cache, str(project))
    steps = (_edit(dockerfile), EditFile(path=str(compose), diff="@@ -3 +3 @@\n-    image: a\n+    image: b\n"))
    assert [o.status for o in _apply(steps, journal)] == ["applied", "applied"]
    compose.write_text("services: {}\n")
    results = undo_last(cache, str(project))
    assert results == [
        (
            str(dockerfile),
            "not restored: another file of this fix changed, so the undo restores none (the journal is kept)",
            False,
        ),
        (str(compose), "not restored: it changed after dockdoctor edited it", False),
    ]
    assert dockerfile.read_text().startswith("FROM --platform=linux/amd64 a")  # untouched: all or nothing
    assert (journal.folder / "journal.json").exists()


def test_undo_takes_the_last_run(project: Path, cache: str) -> None:
    dockerfile = project / "Dockerfile"
    first = Journal(cache, str(project))
    _apply((_edit(dockerfile),), first)
    second = Journal(cache, str(project))
    assert second.folder != first.folder
    _apply((EditFile(path=str(dockerfile), diff="@@ -2 +2 @@\n-RUN x\n+RUN y\n"),), second)
    assert undo_last(cache, str(project)) == [(str(dockerfile), "restored", True)]
    assert dockerfile.read_text() == "FROM --platform=linux/amd64 a\nRUN x\n"  # the first run's edit stays


def test_undo_of_a_project_without_a_journal_is_empty(tmp_path: Path, cache: str) -> None:
    assert undo_last(cache, str(tmp_path)) == []


def test_journal_folder_is_per_project(tmp_path: Path) -> None:
    a, b = journal_folder("/c", str(tmp_path / "a")), journal_folder("/c", str(tmp_path / "b"))
    assert a != b and a.parent == b.parent == Path("/c/undo")
    assert journal_folder("/c", str(tmp_path / "a" / ".." / "a")) == a  # by the real path


def test_a_backup_whose_edit_failed_is_forgotten(project: Path, cache: str) -> None:
    journal = Journal(cache, str(project))
    backup = journal.keep(str(project / "Dockerfile"), b"FROM a\n")
    assert Path(backup).read_bytes() == b"FROM a\n"
    assert oct(os.stat(backup).st_mode & 0o777) == "0o600"  # it may be a .env
    journal.forget(backup)
    assert not Path(backup).exists() and not journal.folder.exists()


def test_a_journal_that_cannot_be_kept_means_no_edit(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    dockerfile = project / "Dockerfile"
    [outcome] = _apply((_edit(dockerfile),), Journal(str(blocker), str(project)))
    assert outcome.status == "failed"
    assert "cannot keep its original for --undo" in outcome.detail and outcome.detail.endswith("nothing written")
    assert dockerfile.read_text() == "FROM a\nRUN x\n"


def test_sha256_of_a_missing_file_or_a_folder_is_none(tmp_path: Path) -> None:
    assert sha256_of(str(tmp_path / "nothing")) is None
    assert sha256_of(str(tmp_path)) is None


# --------------------------------------------------------------------------- run and manual steps


def test_a_command_runs_with_its_output_relayed(project: Path, cache: str) -> None:
    lines: list[str] = []
    step = RunCommand(argv=(sys.executable, "-c", "print('hello'); print('world')"))
    [outcome] = apply_steps(
        (step,), expected={}, journal=Journal(cache, str(project)), echo=lines.append, label="DKD501", timeout=60
    )
    assert (outcome.status, outcome.detail) == ("applied", "exit 0")
    assert lines == ["[DKD501] hello", "[DKD501] world"]


def test_a_failing_command_fails_with_its_exit_code(project: Path, cache: str) -> None:
    step = RunCommand(argv=(sys.executable, "-c", "raise SystemExit(3)"))
    outcomes = _apply((step, Manual(text="x")), Journal(cache, str(project)))
    assert [(o.status, o.detail) for o in outcomes] == [
        ("failed", "exit 3"),
        ("skipped", "an earlier step of this fix failed"),
    ]


def test_a_missing_program_fails_with_its_name(project: Path, cache: str) -> None:
    [outcome] = _apply((RunCommand(argv=("/nonexistent/dockdoctor-test",)),), Journal(cache, str(project)))
    assert outcome.status == "failed" and outcome.detail.startswith("/nonexistent/dockdoctor-test: ")


def test_a_command_past_its_timeout_is_stopped(project: Path, cache: str) -> None:
    step = RunCommand(argv=(sys.executable, "-c", "import time; time.sleep(120)"))
    [outcome] = apply_steps(
        (step,), expected={}, journal=Journal(cache, str(project)), echo=lambda _: None, label="x", timeout=0.5
    )
    assert (outcome.status, outcome.detail) == ("failed", "timed out after 0.5s")


def test_a_manual_step_is_left_to_the_user(project: Path, cache: str) -> None:
    [outcome] = _apply((Manual(text="restart Docker Desktop"),), Journal(cache, str(project)))
    assert (outcome.status, outcome.detail) == ("skipped", "do it by hand: restart Docker Desktop")


def test_an_edit_whose_journal_cannot_be_written_is_taken_back(project: Path, cache: str) -> None:
    dockerfile = project / "Dockerfile"
    journal = Journal(cache, str(project))
    (journal.folder / "journal.json").mkdir(parents=True)  # the journal cannot be replaced: a folder is there
    [outcome] = _apply((_edit(dockerfile),), journal)
    assert outcome.status == "failed"
    assert "cannot write the undo journal" in outcome.detail and outcome.detail.endswith("the edit was taken back")
    assert dockerfile.read_text() == "FROM a\nRUN x\n"


def test_an_undo_that_fails_midway_keeps_the_rest_for_another_undo(project: Path, cache: str) -> None:
    dockerfile, compose = project / "Dockerfile", project / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: a\n")
    journal = Journal(cache, str(project))
    steps = (_edit(dockerfile), EditFile(path=str(compose), diff="@@ -3 +3 @@\n-    image: a\n+    image: b\n"))
    assert [o.status for o in _apply(steps, journal)] == ["applied", "applied"]
    first = json.loads((journal.folder / "journal.json").read_text())["entries"][0]
    Path(first["backup"]).unlink()  # the original of the first file is lost
    results = undo_last(cache, str(project))
    assert [(path, ok) for path, _, ok in results] == [(str(dockerfile), False), (str(compose), False)]
    assert results[0][1].startswith("not restored: ")
    assert results[1][1] == "not restored: the undo stopped at the failure above"
    kept = json.loads((journal.folder / "journal.json").read_text())["entries"]
    assert [e["target"] for e in kept] == [first["target"], os.path.realpath(compose)]
