"""Applying a confirmed plan: argv only, atomic file edits checked against what was shown, an undo log."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from dockdoctor.model import EditFile, Manual, RunCommand, Step
from dockdoctor.model import StepOutcome as Outcome

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class EditError(Exception):
    """An edit that cannot be applied as shown (the file changed, or the diff does not fit)."""


def sha256_of(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
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


def write_atomic(path: str, text: str) -> None:
    """Write through a temporary file in the same folder and rename it over the original (mode kept)."""
    folder = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(prefix=".dockdoctor-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Journal:
    """The undo log of one `fix` run: a backup of every file before its first edit, under the cache folder."""

    def __init__(self, root: str) -> None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        self.folder = Path(root) / "undo" / stamp
        self.entries: list[dict[str, str]] = []

    def backup(self, path: str, written: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        backup = self.folder / f"{len(self.entries):03d}-{os.path.basename(path)}"
        if not any(e["path"] == path for e in self.entries):
            shutil.copy2(path, backup)
            self.entries.append({"path": path, "backup": str(backup), "written": ""})
        entry = next(e for e in self.entries if e["path"] == path)
        entry["written"] = hashlib.sha256(written.encode("utf-8")).hexdigest()
        write_atomic(str(self.folder / "journal.json"), json.dumps(self.entries, indent=2))

    def created(self, path: str, written: str) -> None:
        """A file the fix creates: undo removes it (if nobody changed it since)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.entries.append({"path": path, "backup": "", "written": hashlib.sha256(written.encode()).hexdigest()})
        write_atomic(str(self.folder / "journal.json"), json.dumps(self.entries, indent=2))


def undo_last(root: str) -> list[tuple[str, str]]:
    """Restore the files of the last run that edited any; (path, what happened) per file."""
    runs = sorted((Path(root) / "undo").glob("*/journal.json"))
    if not runs:
        return []
    journal = runs[-1]
    results = []
    for entry in json.loads(journal.read_text(encoding="utf-8")):
        if sha256_of(entry["path"]) != entry["written"]:
            results.append((entry["path"], "not restored: it changed after dockdoctor edited it"))
            continue
        if entry["backup"]:
            write_atomic(entry["path"], Path(entry["backup"]).read_text(encoding="utf-8"))
            results.append((entry["path"], "restored"))
        else:
            os.unlink(entry["path"])
            results.append((entry["path"], "removed (dockdoctor had created it)"))
    journal.rename(journal.with_name("journal.undone.json"))
    return results


def _edit(step: EditFile, expected: dict[str, str | None], journal: Journal) -> Outcome:
    if sha256_of(step.path) != expected.get(step.path):
        return Outcome(step, "failed", f"{step.path} changed since the plan was shown: nothing written")
    try:
        creating = not os.path.exists(step.path) and "\n@@ -0,0 " in step.diff
        text = "" if creating else Path(step.path).read_text(encoding="utf-8")
        new = patched(text, step.diff)
    except (OSError, UnicodeDecodeError, EditError) as err:
        return Outcome(step, "failed", f"{step.path}: {err}")
    if new == text:
        return Outcome(step, "skipped", "already as planned")
    if creating:
        journal.created(step.path, new)
    else:
        journal.backup(step.path, new)
    write_atomic(step.path, new)
    expected[step.path] = sha256_of(step.path)
    return Outcome(step, "applied", step.path)


def _run(step: RunCommand, echo: Callable[[str], None], label: str, timeout: float) -> Outcome:
    try:
        proc = subprocess.Popen(step.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as err:
        return Outcome(step, "failed", f"{step.argv[0]}: {err.strerror or err}")
    assert proc.stdout is not None
    stream = proc.stdout
    reader = threading.Thread(target=lambda: [echo(f"[{label}] {line.rstrip()}") for line in stream], daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc)
        return Outcome(step, "failed", f"timed out after {timeout:g}s")
    except KeyboardInterrupt:
        _stop(proc)
        raise
    finally:
        reader.join(timeout=2)
    return Outcome(step, "applied" if code == 0 else "failed", f"exit {code}")


def _stop(proc: subprocess.Popen[str]) -> None:
    """End the step's whole process group: SIGINT first, as Ctrl-C would, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, 3.0), (signal.SIGKILL, 3.0)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


def apply_steps(steps: tuple[Step, ...], *, expected: dict[str, str | None], journal: Journal,
                echo: Callable[[str], None], label: str, timeout: float) -> list[Outcome]:
    """Run a fix's steps in order; the first failure skips the rest of that fix (they depend on it)."""
    outcomes: list[Outcome] = []
    for step in steps:
        if outcomes and outcomes[-1].status == "failed":
            outcomes.append(Outcome(step, "skipped", "an earlier step of this fix failed"))
            continue
        match step:
            case RunCommand():
                outcomes.append(_run(step, echo, label, timeout))
            case EditFile():
                outcomes.append(_edit(step, expected, journal))
            case Manual(text=text):
                outcomes.append(Outcome(step, "skipped", f"do it by hand: {text}"))
    return outcomes
