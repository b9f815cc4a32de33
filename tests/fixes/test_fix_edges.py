"""fixes/apply.py at its edges, without an engine: files gone or unreadable at --undo, a created file taken back
when the journal cannot be written, a take-back that fails, and Ctrl-C during a command step."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from dockdoctor.fixes.apply import Journal, apply_steps, sha256_of, undo_last
from dockdoctor.model import EditFile, RunCommand, StepOutcome


def _apply(step: EditFile | RunCommand, journal: Journal) -> StepOutcome:
    expected = {step.path: sha256_of(step.path)} if isinstance(step, EditFile) else {}
    [outcome] = apply_steps((step,), expected=expected, journal=journal, echo=lambda _: None, label="x", timeout=60)
    return outcome


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM a\nRUN x\n")
    return folder


def _pin(path: Path) -> EditFile:
    return EditFile(path=str(path), diff="@@ -1 +1 @@\n-FROM a\n+FROM --platform=linux/amd64 a\n")


def test_undo_refuses_a_file_deleted_after_the_fix(project: Path, tmp_path: Path) -> None:
    cache, dockerfile = str(tmp_path / "cache"), project / "Dockerfile"
    assert _apply(_pin(dockerfile), Journal(cache, str(project))).status == "applied"
    dockerfile.unlink()
    assert undo_last(cache, str(project)) == [
        (str(dockerfile), "not restored: it changed after dockdoctor edited it", False)
    ]
    assert not dockerfile.exists()  # nothing is brought back over the user's deletion


def test_undo_refuses_a_file_it_cannot_read(project: Path, tmp_path: Path) -> None:
    cache, dockerfile = str(tmp_path / "cache"), project / "Dockerfile"
    assert _apply(_pin(dockerfile), Journal(cache, str(project))).status == "applied"
    dockerfile.unlink()
    dockerfile.mkdir()  # a folder where the edited file was: not a regular file, so not read
    [(path, what, ok)] = undo_last(cache, str(project))
    assert (path, ok) == (str(dockerfile), False)
    assert what.startswith("not restored: cannot read it (")
    assert dockerfile.is_dir()


def test_a_created_file_whose_journal_cannot_be_written_is_removed(project: Path, tmp_path: Path) -> None:
    env = project / ".env"
    journal = Journal(str(tmp_path / "cache"), str(project))
    (journal.folder / "journal.json").mkdir(parents=True)  # the journal cannot be replaced: a folder is there
    step = EditFile(path=str(env), diff="--- /dev/null\n+++ b/.env\n@@ -0,0 +1 @@\n+DOCKER_DEFAULT_PLATFORM=x\n")
    outcome = _apply(step, journal)
    assert outcome.status == "failed" and outcome.detail.endswith("the edit was taken back")
    assert not env.exists()


class _RacedJournal(Journal):
    """A journal whose write fails while the user edits the file again: the edit cannot be taken back."""

    def record(self, path: str, target: str, backup: str, written: bytes) -> None:
        Path(path).write_text("FROM b\n# edited by the user meanwhile\n")
        raise OSError(28, "No space left on device")


def test_an_edit_neither_journaled_nor_taken_back_says_both(project: Path, tmp_path: Path) -> None:
    dockerfile = project / "Dockerfile"
    outcome = _apply(_pin(dockerfile), _RacedJournal(str(tmp_path / "cache"), str(project)))
    assert outcome.status == "failed"
    assert "edited, but the undo journal cannot be written (No space left on device)" in outcome.detail
    assert "nor the edit taken back" in outcome.detail
    assert dockerfile.read_text() == "FROM b\n# edited by the user meanwhile\n"  # the user's bytes are kept


def test_ctrl_c_during_a_command_stops_it_and_goes_on_up(project: Path, tmp_path: Path) -> None:
    """The step's process group gets the interrupt too; the KeyboardInterrupt reaches the caller (exit 130)."""
    pid_file = tmp_path / "child.pid"
    child = (
        "import os, signal, sys, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(0.2)\n"
        "os.kill(os.getppid(), signal.SIGINT)\n"  # Ctrl-C reaches dockdoctor while the step runs
        "time.sleep(120)\n"
    )
    step = RunCommand(argv=(sys.executable, "-c", child))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            _apply(step, Journal(str(tmp_path / "cache"), str(project)))
    finally:
        signal.signal(signal.SIGINT, previous)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped, not left running
