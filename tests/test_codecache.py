"""The kept byte code of dataclasses' methods (dockdoctor._codecache): the same classes, compiled once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clirun import SRC

# A process that installs the cache, builds a frozen slotted dataclass and reports what it can do.
PROBE = """if True:
    import dataclasses, json, sys
    from dockdoctor import _codecache
    _codecache.install()

    @dataclasses.dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 2
        tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)

    p = Point(1)
    try:
        p.x = 5
        frozen = False
    except dataclasses.FrozenInstanceError:
        frozen = True
    match p:
        case Point(1, 2):
            matched = True
        case _:
            matched = False
    print(json.dumps({
        "repr": repr(p),
        "eq": p == Point(1, 2, ()) and p != Point(2),
        "hash": hash(p) == hash(Point(1)),
        "frozen": frozen,
        "slots": not hasattr(p, "__dict__"),
        "fields": [f.name for f in dataclasses.fields(Point)],
        "replace": repr(dataclasses.replace(p, y=3)),
        "matched": matched,
        "annotations": str(Point.__init__.__annotations__.get("x")),
        "compiled": _codecache._State.new,
        "path": _codecache.cache_path(),
    }))
"""


def probe(tmp: Path, **env: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "DOCKDOCTOR_CACHE_DIR")}
    environ.update(PYTHONPATH=SRC, PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
    environ.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=environ)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_second_run_compiles_nothing_and_gets_the_same_class(tmp_path: Path) -> None:
    first = probe(tmp_path)
    assert first["compiled"] is True
    assert Path(str(first["path"])).is_file()
    assert str(first["path"]).startswith(str(tmp_path / "pycache"))  # beside the byte code, as importlib puts it
    second = probe(tmp_path)
    assert second["compiled"] is False  # every method's text was in the file
    assert {k: v for k, v in second.items() if k != "compiled"} == {k: v for k, v in first.items() if k != "compiled"}
    assert second["repr"] == "Point(x=1, y=2, tags=())"
    assert second["replace"] == "Point(x=1, y=3, tags=())"
    assert second["eq"] is second["hash"] is second["frozen"] is second["slots"] is second["matched"] is True
    assert second["fields"] == ["x", "y", "tags"]
    assert second["annotations"] == "<class 'int'>"  # evaluated, as dataclasses' own exec() gives them


def test_a_damaged_file_is_compiled_again_and_replaced(tmp_path: Path) -> None:
    path = Path(str(probe(tmp_path)["path"]))
    path.write_bytes(b"not byte code")
    again = probe(tmp_path)
    assert again["compiled"] is True
    assert again["repr"] == "Point(x=1, y=2, tags=())"
    assert probe(tmp_path)["compiled"] is False


def test_a_file_others_can_write_is_never_run(tmp_path: Path) -> None:
    path = Path(str(probe(tmp_path)["path"]))
    assert path.stat().st_mode & 0o777 == 0o644  # written so, whatever the umask
    path.chmod(0o666)  # a shared cache folder: anyone could have put code there
    assert probe(tmp_path)["compiled"] is True  # compiled from the text again, the file's code not run
    assert path.stat().st_mode & 0o022 == 0  # and replaced by one of this user's own


def test_an_install_the_user_cannot_write_to_keeps_it_in_the_cache_folder(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")  # no folder can be made under a file, whoever runs
    env = {"PYTHONPYCACHEPREFIX": str(blocked / "pycache"), "DOCKDOCTOR_CACHE_DIR": str(tmp_path / "cache")}
    first = probe(tmp_path, **env)
    assert str(first["path"]).startswith(str(tmp_path / "cache" / "bytecode") + os.sep)
    assert first["compiled"] is True and Path(str(first["path"])).is_file()
    assert probe(tmp_path, **env)["compiled"] is False


def test_nothing_is_written_without_byte_code(tmp_path: Path) -> None:
    result = probe(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert result["path"] == ""
    assert not (tmp_path / "pycache").exists() or not list((tmp_path / "pycache").rglob("*.dataclasses"))
    assert result["repr"] == "Point(x=1, y=2, tags=())"


def test_the_cli_writes_the_same_report_with_kept_byte_code(tmp_path: Path) -> None:
    """`check --from` (every check, the whole model) prints the same JSON whether the byte code was kept or not."""
    from clirun import dockdoctor, isolated_env

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "checks" / "DKD205" / "bad-amd64-default-on-arm64.json"
    plain = isolated_env(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    kept = {k: v for k, v in isolated_env(tmp_path).items() if k != "PYTHONDONTWRITEBYTECODE"}
    kept["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    args = ("check", "--from", str(fixture), "--json", "--no-project")
    outputs = [dockdoctor(*args, env=env) for env in (plain, kept, kept)]  # without, compiling, reusing
    assert list((tmp_path / "pycache").rglob("_codecache.*.dataclasses"))
    assert all(r.code == outputs[0].code and r.stdout == outputs[0].stdout for r in outputs), outputs[0].stderr
    assert json.loads(outputs[0].stdout)["findings"]
