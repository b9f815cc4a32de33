"""A Ctrl-C wherever it lands during start-up ends the run with 130 and `dockdoctor: interrupted`, never a
traceback: the signal is sent by an audit hook at the moment a given module's import begins, so each case lands
at the same place every time (inspect's requests now leave during these imports, so this is where users press
it). `platform` is imported under click; its classes have a cached_property, and a KeyboardInterrupt raised while
such a class is built comes out as a RuntimeError in CPython 3.11."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from clirun import SRC, isolated_env

HOOK = """
import os, signal, sys
_at = os.environ["SIGINT_AT_IMPORT"]
def _hook(event, args):
    if event == "import" and args and args[0] == _at and not getattr(_hook, "sent", False):
        _hook.sent = True
        os.kill(os.getpid(), signal.SIGINT)
sys.addaudithook(_hook)
"""


@pytest.mark.parametrize(
    "module",
    [
        "dockdoctor._codecache",  # the entry point's own imports
        "dockdoctor.probes.early",  # the lookups being started
        "click",
        "platform",  # a class with a cached_property being built
        "dockdoctor.app",  # inside the command, after the CLI installed its own handler
        "dockdoctor.checks",
    ],
)
def test_ctrl_c_during_start_up_says_interrupted(tmp_path: Path, module: str) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(HOOK)
    env = isolated_env(
        tmp_path,
        PYTHONPATH=f"{hooks}:{SRC}",
        SIGINT_AT_IMPORT=module,
        DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock",
        DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "dockdoctor", "inspect", "--timeout", "5", "127.0.0.1:9/x/y:1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert (proc.returncode, proc.stderr.strip().splitlines()[-1:]) == (130, ["dockdoctor: interrupted"])


def test_a_ctrl_c_that_comes_out_as_another_error_is_still_an_interruption(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where the CLI's KeyboardInterrupt lands in a class being built, the run sees a RuntimeError instead."""
    import click

    from dockdoctor.console import process

    monkeypatch.setattr(process, "_signals", {"interrupted": False, "done": False})

    @click.group()
    def group() -> None:
        pass

    @group.command()
    def interrupted() -> None:
        process._signals["interrupted"] = True  # what the CLI's SIGINT handler records before it raises
        raise RuntimeError("Error calling __set_name__ on 'cached_property' instance 'processor' in 'uname_result'")

    @group.command()
    def broken() -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):  # without a Ctrl-C it is a bug, and shows as one
        process._main(group, ["broken"])
    assert process._main(group, ["interrupted"]) == 130
    assert capsys.readouterr().err == "dockdoctor: interrupted\n"


def test_a_ctrl_c_inside_an_import_is_given_again_outside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """importlib swallows a KeyboardInterrupt raised in its module-lock callback, and the run then went on to its
    --timeout; so one landing in the import machinery is delivered again a moment later."""
    import types

    from dockdoctor.console import process

    monkeypatch.setattr(process, "_signals", {"interrupted": False, "done": False, "deferred": False})
    armed: list[float] = []
    monkeypatch.setattr(process.signal, "setitimer", lambda which, after: armed.append(after))
    code = types.SimpleNamespace(co_filename="<frozen importlib._bootstrap>")
    inside = types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename="/x/cb.py"), f_back=None)
    inside.f_back = types.SimpleNamespace(f_code=code, f_back=None)
    process._on_sigint(2, inside)  # not raised: given again later
    assert armed == [process.REDELIVER_AFTER]
    assert process._signals == {"interrupted": True, "done": False, "deferred": True}
    outside = types.SimpleNamespace(f_code=types.SimpleNamespace(co_filename="/x/app.py"), f_back=None)
    with pytest.raises(KeyboardInterrupt):  # the redelivered one, outside: raised (not taken as a second Ctrl-C)
        process._on_sigint(2, outside)
    assert process._signals["deferred"] is False
