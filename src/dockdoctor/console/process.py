"""The process around the CLI: the one handler that turns errors into a line and an exit code, Ctrl-C, a closed
or full standard output, and an exit that never waits for a probe thread."""

from __future__ import annotations

import errno
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn

import click

from dockdoctor.console.terminal import GuardedStdout, OutputError, error, silence_stdout, tolerant_streams
from dockdoctor.errors import DockdoctorError, ExitCode


def main(group: click.Group, argv: Sequence[str] | None = None) -> int:
    """Run `group`; DockdoctorError becomes one line on stderr and its exit code.

    Standard output that is closed (`>&-`) or fails (`> /dev/full`) is a one-line error and exit 2; a reader that
    went away (`| head -1`) ends the run quietly with 141, as a program stopped by SIGPIPE does.
    """
    if sys.stdout is None:
        click.echo(
            "dockdoctor: standard output is closed: nothing could be printed (redirect it to a file or "
            "/dev/null instead)",
            err=True,
        )
        return ExitCode.USAGE
    tolerant_streams()
    real = sys.stdout
    sys.stdout = GuardedStdout(real)  # type: ignore[assignment, unused-ignore]
    try:
        try:
            code = _main(group, argv)
            sys.stdout.flush()
        except OutputError as err:
            silence_stdout(real)
            if err.errno == errno.EPIPE:
                return ExitCode.BROKEN_PIPE
            click.echo(f"dockdoctor: {err}", err=True)
            return err.exit_code
    finally:
        sys.stdout = real
    return code


def _main(group: click.Group, argv: Sequence[str] | None) -> int:
    try:
        code = group.main(args=list(argv) if argv is not None else None, prog_name="dockdoctor", standalone_mode=False)
    except OutputError:
        raise
    except DockdoctorError as err:
        error(f"dockdoctor: {err}")
        return err.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as err:
        from dockdoctor.redact import scrub
        from dockdoctor.render.safe import visible

        err.message = visible(scrub(err.message))  # type: ignore[misc, unused-ignore]  # it may quote user input
        err.show()
        return err.exit_code
    except click.exceptions.Abort as err:  # click turns Ctrl-C into Abort
        ctrl_c = isinstance(err.__cause__, KeyboardInterrupt)
        click.echo(f"dockdoctor: {'interrupted' if ctrl_c else 'aborted'}", err=True)
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        click.echo("dockdoctor: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except SystemExit as exc:  # shell completion ends with sys.exit
        return exc.code if isinstance(exc.code, int) else 0
    except (OSError, UnicodeError, RecursionError, MemoryError, ValueError) as err:
        # the last net: input that slipped past the checks at its door still gets one line, not a traceback
        if os.environ.get("DOCKDOCTOR_DEBUG"):
            raise
        error(f"dockdoctor: {type(err).__name__}: {err} (DOCKDOCTOR_DEBUG=1 shows where)")
        return ExitCode.USAGE
    except Exception:
        if not _signals["interrupted"]:
            raise
        # a Ctrl-C that came out as another error: one landing in a class being built by an import is a
        # RuntimeError (CPython 3.11 wraps what __set_name__ raises)
        click.echo("dockdoctor: interrupted", err=True)
        return ExitCode.INTERRUPTED
    return int(code) if isinstance(code, int) else 0


_signals = {"interrupted": False, "done": False, "deferred": False}
REDELIVER_AFTER = 0.02  # seconds: a Ctrl-C that landed in an import is given again this much later
WATCHDOG_AFTER = 10.0  # seconds after the first Ctrl-C: a run still going (the interrupt swallowed) ends, 130


def _on_sigint(signum: int, frame: object) -> None:
    """The first Ctrl-C stops the run (KeyboardInterrupt: main() reports it, exit 130); a second one, or one
    after main() returned, ends the process at once with 130.

    One landing in an import is not raised there: importlib swallows it in its module-lock callback ("Exception
    ignored in ... _get_module_lock"), and the run went on to its --timeout; in a class being built it comes out
    as a RuntimeError. It is delivered again a moment later, until it lands outside the import machinery.
    """
    if _signals["done"] or (_signals["interrupted"] and not _signals["deferred"]):
        try:
            os.write(2, b"dockdoctor: interrupted\n")
        finally:
            os._exit(ExitCode.INTERRUPTED)
    _signals["interrupted"] = True
    _signals["deferred"] = hasattr(signal, "setitimer") and _in_import(frame)
    if _signals["deferred"]:  # SIGALRM, which only the main thread takes (_run.signals_to_the_main_thread)
        signal.setitimer(signal.ITIMER_REAL, REDELIVER_AFTER)
        return
    if hasattr(signal, "setitimer"):  # far longer than unwinding takes (fix's cleanup: at most 6 s)
        signal.setitimer(signal.ITIMER_REAL, WATCHDOG_AFTER)
    raise KeyboardInterrupt


def _on_sigalrm(signum: int, frame: object) -> None:
    """A Ctrl-C that landed in an import, given again; or, WATCHDOG_AFTER after one that was raised, the end of a
    run that goes on all the same (some code swallowed the KeyboardInterrupt)."""
    if _signals["deferred"]:
        _on_sigint(signal.SIGINT, frame)
    elif _signals["interrupted"]:
        try:
            os.write(2, b"dockdoctor: interrupted\n")
        finally:
            os._exit(ExitCode.INTERRUPTED)


def _in_import(frame: object) -> bool:
    """Whether the main thread was interrupted inside the import machinery (importlib's frozen frames)."""
    while frame is not None:
        if getattr(getattr(frame, "f_code", None), "co_filename", "").startswith("<frozen importlib"):
            return True
        frame = getattr(frame, "f_back", None)
    return False


def exit_now(code: int) -> NoReturn:
    """End the process with code, without waiting for any thread still working.

    Probe threads are daemons and are never joined; should some library have left a thread that is not, the
    output is flushed and the process ends anyway (os._exit), so a run never outlives its report.

    An interrupted run ends with os._exit too: CPython 3.11 marks a KeyboardInterrupt that passes through any
    exec() of a string (dataclasses and namedtuple build their methods that way, on import) as unhandled, and
    then kills the process with SIGINT at exit however the exception was handled (1 Ctrl-C in 10 under load).
    """
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if others or _signals["interrupted"]:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


def run(main: Callable[[], int]) -> NoReturn:
    """The console script and `python -m dockdoctor`: main() in a process that ends with it.

    The cyclic garbage collector stays off and its objects are frozen before exit: a run makes little cyclic
    garbage, while the collector's passes over the many objects the imports create cost about 10 ms at start
    and 25 ms at exit (measured with bench/check_speed.py). Kept out of main(), which tests call in-process.
    Ctrl-C ends the run with 130 wherever it lands, also while main() is handling another error.
    """
    signal.signal(signal.SIGINT, _on_sigint)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _on_sigalrm)
    gc.disable()
    try:
        code = main()
        _signals["done"] = True  # from here on Ctrl-C ends the process (130) without unwinding anything
    except KeyboardInterrupt:  # it came while main() was handling another error
        _signals["done"] = True
        click.echo("dockdoctor: interrupted", err=True)
        code = ExitCode.INTERRUPTED
    gc.freeze()
    exit_now(code)
