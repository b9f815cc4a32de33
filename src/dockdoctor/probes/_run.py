"""The one door to subprocesses: an argv tuple and a timeout in, a Completed value or a ProbeError out."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dockdoctor.probes import _prestart

if TYPE_CHECKING:
    import subprocess  # (with selectors) imported by the first command run: `inspect` runs none

    # imported where an error or a raw answer is made: inspect's registry lookups start before the model
    from dockdoctor.model import ProbeError, RawAnswer

RAW_LIMIT = 64 * 1024  # per answer kept for a support bundle

_lock = threading.Lock()
_raw: list[RawAnswer] | None = None


@contextlib.contextmanager
def recording() -> Iterator[list[RawAnswer]]:
    """Keep every raw answer the doors see while the block runs (for `dockdoctor report`)."""
    global _raw
    with _lock:
        _raw = []
        answers = _raw
    try:
        yield answers
    finally:
        with _lock:
            _raw = None


def record(probe: str, source: str, text: str) -> None:
    """Keep one raw answer when recording is on; a no-op otherwise."""
    with _lock:
        if _raw is not None:
            from dockdoctor.model import RawAnswer

            clipped = text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + "\n[... clipped]\n"
            _raw.append(RawAnswer(probe=probe, source=source, text=clipped))


@dataclass(frozen=True, slots=True)
class Completed:
    """A finished process: its argv, exit code and decoded output."""

    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


def run(
    probe: str,
    argv: tuple[str, ...],
    *,
    timeout: float = 10.0,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    secret: bool = False,
) -> Completed | ProbeError:
    """Run argv without a shell; never raises for a missing program, a timeout or an OS error.

    `input` goes to the program's stdin (else it reads nothing); `secret` keeps the output out of raw recordings.
    """
    import subprocess

    try:
        started = _prestart.claim(argv) if env is None and input is None else None
        if started is not None:  # spawned before the imports (probes/_prestart.py): read it as run() would
            proc = _finish(started, timeout)
        else:
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                env=dict(env) if env is not None else None,
                input=input,
                stdin=subprocess.DEVNULL if input is None else None,
                check=False,
            )
    except FileNotFoundError:
        return _error(probe, "NOT_FOUND", f"{argv[0]}: command not found")
    except PermissionError as err:
        return _error(probe, "PERMISSION", f"{argv[0]}: {err.strerror}")
    except subprocess.TimeoutExpired:
        return _error(probe, "TIMEOUT", f"{' '.join(argv)}: no answer in {timeout:g}s")
    except OSError as err:
        return _error(probe, "ERROR", f"{argv[0]}: {err}")
    if not secret:
        record(probe, " ".join(argv), f"exit {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}")
    return Completed(argv=argv, code=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)


def _finish(proc: subprocess.Popen[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """A started process's outcome as subprocess.run returns it: killed (and TimeoutExpired) after `timeout`, killed
    on any other exception too."""
    import subprocess

    with proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        except BaseException:
            proc.kill()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def read_text(probe: str, path: str, *, limit: int = 1 << 20) -> str | ProbeError | None:
    """A small text file's content; None when it does not exist, a ProbeError when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(limit)
    except FileNotFoundError:
        return None
    except PermissionError:
        return _error(probe, "PERMISSION", f"{path}: permission denied")
    except OSError as err:
        return _error(probe, "ERROR", f"{path}: {err.strerror or err}")
    record(probe, path, text)
    return text


def unix_connect(probe: str, path: str, *, timeout: float = 2.0) -> bool | ProbeError:
    """Whether something listens on the unix socket at `path` (a connect() succeeds).

    False for a stale socket file (connection refused) or no file at all; a ProbeError for anything else
    (permission denied, a timeout), which says the socket exists but could not be tried.
    """
    import errno
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except (ConnectionRefusedError, FileNotFoundError, NotADirectoryError):
        return False
    except PermissionError:
        return _error(probe, "PERMISSION", f"{path}: permission denied")
    except TimeoutError:
        return _error(probe, "TIMEOUT", f"{path}: no connection in {timeout:g}s")
    except OSError as err:
        if err.errno in (errno.ECONNREFUSED, errno.ENOENT, errno.ENOTSOCK):
            return False
        return _error(probe, "ERROR", f"{path}: {err.strerror or err}")
    finally:
        sock.close()
    return True


def _error(probe: str, kind: Literal["NOT_FOUND", "PERMISSION", "TIMEOUT", "ERROR"], detail: str) -> ProbeError:
    """A door's failure as a value (the model imported here, not with this module: see the TYPE_CHECKING import)."""
    from dockdoctor.model import ProbeError, ProbeErrorKind

    return ProbeError(probe=probe, kind=ProbeErrorKind[kind], detail=detail)


def environ() -> Mapping[str, str]:
    """The process environment (the only place probes read it)."""
    return os.environ


def signals_to_the_main_thread() -> None:
    """Called first in every thread dockdoctor starts: Ctrl-C (SIGINT), and the SIGALRM that gives again a Ctrl-C
    that landed in an import, are blocked in it, so the kernel delivers them to the main thread.

    A SIGINT the kernel hands to another thread only sets CPython's flag; the main thread, blocked in a wait for
    the probes' answers, runs the handler only when that wait ends, up to the whole --timeout later (1 Ctrl-C in
    40 was lost so, in bench/registry_lifetime.py --sigint 40). Threads started here inherit the mask.
    """
    if hasattr(signal, "pthread_sigmask"):  # POSIX; Windows has no signal masks (and delivers no SIGINT so)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGALRM})  # SIGALRM: console/process.py
