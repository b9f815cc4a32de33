"""The head start of `check`'s fixed commands (probes/_prestart.py): claimed by the subprocess door exactly as if it
had started them itself, never run twice, and nothing left running when the run ends."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from dockdoctor.model import ProbeError
from dockdoctor.probes import _prestart
from dockdoctor.probes._run import Completed, run

PRINTS = (sys.executable, "-c", "import sys; print('out'); print('err \\xff', file=sys.stderr); sys.exit(3)")


@pytest.fixture(autouse=True)
def _nothing_left() -> object:
    yield
    _prestart.discard()


def test_a_claimed_command_answers_as_an_unclaimed_one() -> None:
    alone = run("t", PRINTS, timeout=30)
    with _prestart.head_start([PRINTS]):
        assert _prestart.unclaimed() == (PRINTS,)
        claimed = run("t", PRINTS, timeout=30)
        assert _prestart.unclaimed() == ()
    assert isinstance(claimed, Completed)
    assert claimed == alone
    assert (claimed.code, claimed.stdout) == (3, "out\n")


def test_each_start_is_claimed_once() -> None:
    counter = Path(os.environ.get("TMPDIR", "/tmp")) / f"dockdoctor-prestart-{os.getpid()}"
    counter.unlink(missing_ok=True)
    argv = (sys.executable, "-c", f"open({str(counter)!r}, 'a').write('x')")
    try:
        with _prestart.head_start([argv, argv]):  # the same command twice: one process
            assert run("t", argv, timeout=30) == run("t", argv, timeout=30)  # the second one runs anew
        assert counter.read_text() == "xx"
    finally:
        counter.unlink(missing_ok=True)


def test_a_command_that_cannot_start_is_the_same_probe_error() -> None:
    missing = ("dockdoctor-no-such-program", "version")
    alone = run("compose", missing, timeout=5)
    with _prestart.head_start([missing]):
        claimed = run("compose", missing, timeout=5)
    assert isinstance(claimed, ProbeError)
    assert claimed == alone
    assert claimed.kind == "not-found"


def test_another_environment_or_input_starts_its_own() -> None:
    with _prestart.head_start([PRINTS]):
        run("t", PRINTS, timeout=30, env=dict(os.environ))
        run("t", PRINTS, timeout=30, input="")
        assert _prestart.unclaimed() == (PRINTS,)  # neither took the one started with this environment, no stdin


def test_a_claimed_command_still_times_out_and_is_killed() -> None:
    slow = (sys.executable, "-c", "import time; time.sleep(60)")
    with _prestart.head_start([slow]):
        started = _prestart._started[slow]
        result = run("t", slow, timeout=0.5)
    assert isinstance(result, ProbeError)
    assert result.kind == "timeout"
    assert not isinstance(started, OSError)
    assert started.returncode is not None  # killed and reaped


def test_unclaimed_commands_are_killed_and_reaped_at_the_end() -> None:
    slow = (sys.executable, "-c", "import time; time.sleep(60)")
    begun = time.monotonic()
    with _prestart.head_start([slow]):
        started = _prestart._started[slow]
    assert _prestart.unclaimed() == ()
    assert not isinstance(started, OSError)
    assert started.returncode is not None
    assert time.monotonic() - begun < 30  # it did not wait for the sleep


@pytest.mark.parametrize(
    ("argv", "started"),
    [
        (["check"], True),
        (["check", "--json", "--project", "app", "--platform", "linux/arm64"], True),
        (["check", "--error", "exec format error"], True),
        (["check", "--from", "facts.json"], False),
        (["check", "--from=facts.json"], False),
        (["check", "--list-checks"], False),
        (["check", "--no-engine"], False),
        (["check", "--kube"], False),
        (["check", "--all-contexts"], False),
        (["check", "--context", "prod"], False),
        (["check", "-h"], False),
        (["inspect", "nginx"], False),
        (["fix", "--yes"], False),
        ([], False),
    ],
)
def test_what_the_entry_point_starts_for_a_command_line(argv: list[str], started: bool) -> None:
    assert _prestart.for_argv(argv) == (_prestart.CHECK_COMMANDS if started else ())


def test_the_head_start_imports_nothing_of_the_model() -> None:
    """It runs before the model is imported: the probes package and this module import none of it."""
    import subprocess

    code = "import sys, dockdoctor.probes._prestart; print(sorted(m for m in sys.modules if 'dockdoctor' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = [
        "dockdoctor",
        "dockdoctor._argv",
        "dockdoctor._help_text",
        "dockdoctor.probes",
        "dockdoctor.probes._prestart",
    ]
    assert out.stdout.strip() == repr(loaded)
