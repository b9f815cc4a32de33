"""Helpers for integration tests that use the real test environment (scripts/testenv).

``load_env()`` reads the JSON written by ``scripts/testenv/start.sh`` (path in the
``DOCKDOCTOR_TESTENV`` environment variable). ``binfmt_state()`` switches the
machine-global qemu-aarch64 binfmt_misc handler on or off for the duration of a
``with`` block and then puts back exactly the state it found. ``access_log_lines()`` and ``wait_log_quiet()``
read a registry's access log. Stdlib only.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BINFMT_SH = REPO_ROOT / "scripts" / "testenv" / "binfmt.sh"


def load_env() -> dict | None:
    """The test environment description, or None if DOCKDOCTOR_TESTENV is unset or names no file."""
    path = os.environ.get("DOCKDOCTOR_TESTENV")
    if not path or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _binfmt(*args: str) -> str:
    proc = subprocess.run(
        ["bash", str(BINFMT_SH), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"binfmt.sh {' '.join(args)} failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc.stdout


def aarch64_state() -> str:
    """'enabled', 'disabled' or 'absent': can this machine run aarch64 binaries via qemu right now?"""
    return _binfmt("aarch64").strip()


@contextlib.contextmanager
def binfmt_state(enabled_aarch64: bool) -> Iterator[None]:
    """Run the block with qemu-aarch64 emulation on (True) or off (False); restore the prior state after.

    This changes machine-global state (/proc/sys/fs/binfmt_misc), so tests using it
    must not run in parallel with each other. Needs root.
    """
    fd, saved = tempfile.mkstemp(prefix="dockdoctor-binfmt-", suffix=".state")
    os.close(fd)
    try:
        _binfmt("save", saved)
        try:
            _binfmt("enable-aarch64" if enabled_aarch64 else "disable-aarch64")
            yield
        finally:
            _binfmt("restore", saved)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(saved)


def access_log_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.readlines()


def wait_log_quiet(path: str) -> int:
    """Line count once the access log stops growing (the registry writes it asynchronously)."""
    count = -1
    for _ in range(20):
        now = len(access_log_lines(path))
        if now == count:
            return now
        count = now
        time.sleep(0.05)
    return count
