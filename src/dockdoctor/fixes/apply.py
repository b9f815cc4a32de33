"""Applying a confirmed plan: argv only, file edits checked against what was shown, a per-project undo log."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from dockdoctor.errors import WriteError
from dockdoctor.files import folder_owner, own_folders, read_regular, replace_own, write_file
from dockdoctor.model import EditFile, Manual, OutcomeStatus, RunCommand, Step
from dockdoctor.model import StepOutcome as Outcome
from dockdoctor.probes._run import signals_to_the_main_thread

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class EditError(Exception):
    """An edit that cannot be applied as shown (the file changed, or the diff does not fit)."""


def sha256_of(path: str) -> str | None:
    """The SHA-256 of a regular file's bytes; None when it is missing or not a regular file."""
    try:
        return hashlib.sha256(read_regular(path)).hexdigest()
    except OSError:
        return None


def patched(text: str, diff: str) -> str:
    """`text` with a unified diff applied strictly: every context and removed line must be exactly there."""
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if text.count("\r\n") > text.count("\n") / 2 else "\n"
    out: list[str] = []
    cursor = 0
    body = [line for line in diff.splitlines() if not line.startswith(("--- ", "+++ "))]
    i = 0
    while i < len(body):
        match = _HUNK.match(body[i])
        if not match:
            raise EditError(f"not a unified diff line: {body[i]!r}")
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        if start < cursor:
            raise EditError("overlapping hunks")
        out += lines[cursor:start]
        cursor = start
        i += 1
        while i < len(body) and not body[i].startswith("@@"):
            mark, content = body[i][:1], body[i][1:]
            if mark in (" ", "-"):
                if cursor >= len(lines) or lines[cursor].rstrip("\r\n") != content:
                    raise EditError(f"line {cursor + 1} is not {content!r} any more")
                if mark == " ":
                    out.append(lines[cursor])
                cursor += 1
            elif mark == "+":
                out.append(content + newline)
            i += 1
    out += lines[cursor:]
    return "".join(out)


def journal_folder(root: str, project: str) -> Path:
    """Where the undo journals of one project folder live: undo/<hash of its real path>/<run>/ in the cache."""
    key = hashlib.sha256(os.path.realpath(project).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return Path(root) / "undo" / key


class Journal:
    """The undo log of one `fix` run in one project: each file's original bytes, kept before its first edit.

    An entry is recorded only after the edit was written; an edit that failed leaves no entry (and no backup).
    """

    def __init__(self, root: str, project: str) -> None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        self.project = os.path.realpath(project)
        self.folder = journal_folder(root, project) / stamp
        self.entries: list[dict[str, str]] = []
        self._kept = 0

    def keep(self, target: str, old: bytes | None) -> str:
        """Save `old` (None: a file the fix creates) before `target` is written; the backup's path or ""."""
        entry = self._entry(target)
        if entry is not None or old is None:
            return entry["backup"] if entry is not None else ""
        own_folders(self.folder, mode=0o700)
        self._kept += 1
        backup = self.folder / f"{self._kept:03d}-{os.path.basename(target)}"
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)  # it may be a .env
        try:
            with os.fdopen(fd, "wb") as fh:
                owner = folder_owner(self.folder)
                if owner:
                    os.fchown(fh.fileno(), *owner)
                fh.write(old)
        except BaseException:
            backup.unlink(missing_ok=True)
            raise
        return str(backup)

    def forget(self, backup: str) -> None:
        """A backup whose edit failed: removed, unless an earlier edit of the same file still needs it."""
        if backup and not any(e["backup"] == backup for e in self.entries):
            Path(backup).unlink(missing_ok=True)
        if self.folder.is_dir() and not any(self.folder.iterdir()):
            self.folder.rmdir()

    def record(self, path: str, target: str, backup: str, written: bytes) -> None:
        """The edit of `target` succeeded: journal it (the first backup of a file stays, the last hash counts)."""
        entry = self._entry(target)
        if entry is None:
            entry = {"path": path, "target": target, "backup": backup, "written": ""}
            self.entries.append(entry)
        entry["written"] = hashlib.sha256(written).hexdigest()
        own_folders(self.folder, mode=0o700)
        replace_own(
            self.folder / "journal.json",
            json.dumps({"project": self.project, "entries": self.entries}, indent=2).encode("utf-8"),
            durable=True,
        )

    def _entry(self, target: str) -> dict[str, str] | None:
        return next((e for e in self.entries if e["target"] == target), None)


def _current(target: str) -> tuple[bytes | None, str]:
    """A journaled file's bytes now (None: it is gone), or why it cannot be read."""
    try:
        return read_regular(target), ""
    except FileNotFoundError:
        return None, ""
    except OSError as err:
        return None, err.strerror or str(err)


def undo_last(root: str, project: str) -> list[tuple[str, str, bool]]:
    """Restore the files of this project's last `fix` run; (path, what happened, ok) per file.

    All or nothing: when any file changed after dockdoctor edited it, nothing is restored and the journal stays
    as it was. A write that fails keeps the files not yet restored in the journal, for another `--undo`.
    """
    runs = sorted(journal_folder(root, project).glob("*/journal.json"))
    if not runs:
        return []
    journal = runs[-1]
    entries: list[dict[str, str]] = json.loads(journal.read_text(encoding="utf-8"))["entries"]
    now: list[bytes | None] = []
    refused: dict[str, str] = {}
    for entry in entries:
        data, why = _current(entry["target"])
        now.append(data)
        if why:
            refused[entry["target"]] = f"not restored: cannot read it ({why})"
        elif data is None or hashlib.sha256(data).hexdigest() != entry["written"]:
            refused[entry["target"]] = "not restored: it changed after dockdoctor edited it"
    if refused:
        return [
            (
                e["path"],
                refused.get(
                    e["target"],
                    "not restored: another file of this fix changed, so the undo restores none (the journal is kept)",
                ),
                False,
            )
            for e in entries
        ]
    results: list[tuple[str, str, bool]] = []
    for i, entry in enumerate(entries):
        try:
            if entry["backup"]:
                write_file(entry["target"], Path(entry["backup"]).read_bytes(), expect=now[i])
                results.append((entry["path"], "restored", True))
            else:
                os.unlink(entry["target"])
                results.append((entry["path"], "removed (dockdoctor had created it)", True))
        except (WriteError, OSError) as err:
            results.append((entry["path"], f"not restored: {err}", False))
            results += [
                (e["path"], "not restored: the undo stopped at the failure above", False) for e in entries[i + 1 :]
            ]
            data = json.loads(journal.read_text(encoding="utf-8"))
            replace_own(journal, json.dumps({**data, "entries": entries[i:]}, indent=2).encode("utf-8"), durable=True)
            return results
    journal.rename(journal.with_name("journal.undone.json"))
    return results


def _why(err: OSError | UnicodeDecodeError | EditError) -> str:
    return (err.strerror if isinstance(err, OSError) else None) or str(err)


def _edit(step: EditFile, expected: dict[str, str | None], journal: Journal) -> Outcome:
    if sha256_of(step.path) != expected.get(step.path):
        return Outcome(step, OutcomeStatus.FAILED, f"{step.path} changed since the plan was shown: nothing written")
    creating = not os.path.exists(step.path) and "\n@@ -0,0 " in step.diff
    try:
        old = b"" if creating else read_regular(step.path)
        text = old.decode("utf-8")
        new = patched(text, step.diff)
    except (OSError, UnicodeDecodeError, EditError) as err:
        return Outcome(step, OutcomeStatus.FAILED, f"{step.path}: {_why(err)}")
    if new == text:
        return Outcome(step, OutcomeStatus.SKIPPED, "already as planned")
    data, target = new.encode("utf-8"), os.path.realpath(step.path)
    try:
        backup = journal.keep(target, None if creating else old)
    except OSError as err:
        return Outcome(
            step,
            OutcomeStatus.FAILED,
            f"{step.path}: cannot keep its original for --undo in {journal.folder} ({_why(err)}): nothing written",
        )
    try:
        written = write_file(step.path, data, expect=None if creating else old, exclusive=creating)
    except WriteError as err:
        journal.forget(backup)
        return Outcome(step, OutcomeStatus.FAILED, str(err))
    try:
        journal.record(step.path, written, backup, data)
    except OSError as err:
        try:  # an edit that --undo cannot take back is not made
            if creating:
                os.unlink(written)
            else:
                write_file(written, old, expect=data)
        except (WriteError, OSError) as again:
            return Outcome(
                step,
                OutcomeStatus.FAILED,
                f"{step.path}: edited, but the undo journal cannot be written "
                f"({_why(err)}) nor the edit taken back ({again})",
            )
        return Outcome(
            step,
            OutcomeStatus.FAILED,
            f"{step.path}: cannot write the undo journal in {journal.folder} ({_why(err)}): the edit was taken back",
        )
    expected[step.path] = sha256_of(step.path)
    return Outcome(step, OutcomeStatus.APPLIED, step.path)


def _run(step: RunCommand, echo: Callable[[str], None], label: str, timeout: float) -> Outcome:
    try:
        proc = subprocess.Popen(
            step.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as err:
        return Outcome(step, OutcomeStatus.FAILED, f"{step.argv[0]}: {err.strerror or err}")
    assert proc.stdout is not None
    stream = proc.stdout

    def relay() -> None:
        signals_to_the_main_thread()
        for line in stream:
            echo(f"[{label}] {line.rstrip()}")

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return Outcome(step, OutcomeStatus.FAILED, f"timed out after {timeout:g}s")
    except KeyboardInterrupt:
        _stop(proc)
        raise
    finally:
        reader.join(timeout=2)
    return Outcome(step, OutcomeStatus.APPLIED if code == 0 else OutcomeStatus.FAILED, f"exit {code}")


def _stop(proc: subprocess.Popen[str]) -> None:
    """End the step's whole process group: SIGINT first, as Ctrl-C would, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, 3.0), (signal.SIGKILL, 3.0)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


def apply_steps(
    steps: tuple[Step, ...],
    *,
    expected: dict[str, str | None],
    journal: Journal,
    echo: Callable[[str], None],
    label: str,
    timeout: float,
) -> list[Outcome]:
    """Run a fix's steps in order; the first failure skips the rest of that fix (they depend on it)."""
    outcomes: list[Outcome] = []
    for step in steps:
        if outcomes and outcomes[-1].status is OutcomeStatus.FAILED:
            outcomes.append(Outcome(step, OutcomeStatus.SKIPPED, "an earlier step of this fix failed"))
            continue
        match step:
            case RunCommand():
                outcomes.append(_run(step, echo, label, timeout))
            case EditFile():
                outcomes.append(_edit(step, expected, journal))
            case Manual(text=text):
                outcomes.append(Outcome(step, OutcomeStatus.SKIPPED, f"do it by hand: {text}"))
    return outcomes
