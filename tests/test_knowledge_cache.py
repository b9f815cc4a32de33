"""The kept knowledge tables (knowledge.load with the CLI's keeper, _codecache.kept_table): parsed once, then read
back exactly as tomllib parses them."""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib

from dockdoctor import _codecache, knowledge

FOLDER = Path(knowledge.__file__).parent


@pytest.fixture
def pycache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Byte code written under tmp_path (as PYTHONPYCACHEPREFIX puts it), load()'s per-process cache empty."""
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "pycache"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(knowledge, "keeper", _codecache.kept_table)  # as dockdoctor._entry sets it
    knowledge.load.cache_clear()
    yield tmp_path / "pycache"
    knowledge.load.cache_clear()


def parsed(name: str) -> object:
    return tomllib.loads((FOLDER / f"{name}.toml").read_bytes().decode("utf-8").replace("\r\n", "\n"))


def test_every_table_reads_back_as_tomllib_parses_it(pycache: Path) -> None:
    for name in knowledge.names():
        first = knowledge.load(name)  # parsed, then kept
        knowledge.load.cache_clear()
        kept = knowledge.load(name)  # read from the kept file
        assert kept is not first
        assert repr(kept) == repr(first) == repr(parsed(name)), name  # same values, types, key order
        knowledge.load.cache_clear()
    assert sorted(p.name.split(".")[0] for p in pycache.rglob(f"*{_codecache.TABLE_SUFFIX}")) == list(knowledge.names())


def test_dates_times_and_offsets_come_back(tmp_path: Path) -> None:
    raw = (
        b"a = 2023-11-17\nb = 1979-05-27T07:32:00-08:00\nc = 1979-05-27T00:32:00.999999\nd = 07:32:00\n"
        b'e = 1979-05-27T07:32:00Z\n[[t]]\nwhen = [2020-01-01, "x", {f = 2021-02-03}]\n'
    )
    data = tomllib.loads(raw.decode())
    kept = str(tmp_path / "k.toml-data")
    _codecache._write_table(kept, raw, data)
    back = _codecache._read_table(kept, raw)
    assert repr(back) == repr(data)
    assert back is not None and back["e"].tzinfo is datetime.UTC


def test_other_bytes_or_a_damaged_file_are_parsed_again(tmp_path: Path) -> None:
    raw = b"x = 1\n"
    kept = tmp_path / "k.toml-data"
    _codecache._write_table(str(kept), raw, {"x": 1})
    assert _codecache._read_table(str(kept), raw) == {"x": 1}
    assert _codecache._read_table(str(kept), b"x = 2\n") is None  # the file was edited: its bytes differ
    kept.write_bytes(kept.read_bytes()[:-3])
    assert _codecache._read_table(str(kept), raw) is None
    kept.write_bytes(b"junk")
    assert _codecache._read_table(str(kept), raw) is None
    assert _codecache._read_table(str(tmp_path / "missing"), raw) is None


def test_a_damaged_kept_table_is_parsed_and_written_again(pycache: Path) -> None:
    knowledge.load("defects")
    (kept,) = pycache.rglob(f"defects.*{_codecache.TABLE_SUFFIX}")
    kept.write_bytes(b"\0" * 40)
    knowledge.load.cache_clear()
    assert repr(knowledge.load("defects")) == repr(parsed("defects"))
    assert _codecache._read_table(str(kept), (FOLDER / "defects.toml").read_bytes()) is not None


def test_a_library_user_parses_and_writes_nothing(pycache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knowledge, "keeper", None)
    assert repr(knowledge.load("defects")) == repr(parsed("defects"))
    assert not pycache.exists() or not list(pycache.rglob(f"*{_codecache.TABLE_SUFFIX}"))


def test_nothing_is_written_without_byte_code(pycache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert repr(knowledge.load("signatures")) == repr(parsed("signatures"))
    assert not pycache.exists() or not list(pycache.rglob(f"*{_codecache.TABLE_SUFFIX}"))


def test_a_value_marshal_cannot_hold_is_not_kept(tmp_path: Path) -> None:
    kept = tmp_path / "k.toml-data"
    _codecache._write_table(str(kept), b"", {"x": {1, 2}})
    assert not kept.exists()


def test_the_cli_writes_the_same_report_with_kept_tables(tmp_path: Path) -> None:
    """`check --from` (defects, emulation, CPU models, signatures) and `explain --all` print the same bytes
    whether the tables were parsed, kept or read back."""
    from clirun import dockdoctor, isolated_env

    root = Path(__file__).resolve().parents[1]
    fixture = root / "fixtures" / "checks" / "DKD205" / "bad-amd64-default-on-arm64.json"
    plain = isolated_env(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    kept = {k: v for k, v in isolated_env(tmp_path).items() if k != "PYTHONDONTWRITEBYTECODE"}
    kept["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    for args in (("check", "--from", str(fixture), "--json", "--no-project"), ("explain", "--all")):
        outputs = [dockdoctor(*args, env=env) for env in (plain, kept, kept)]  # without, keeping, reading back
        assert all(r.code == outputs[0].code and r.stdout == outputs[0].stdout for r in outputs), outputs[0].stderr
    assert list((tmp_path / "pycache").rglob(f"defects.*{_codecache.TABLE_SUFFIX}"))
    assert json.loads(dockdoctor("check", "--from", str(fixture), "--json", "--no-project", env=kept).stdout)
