"""The package-index probe against a PEP 691 index on loopback: answers, cache, --offline, and bad indexes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dockdoctor.checks import lookup
from dockdoctor.checks._spec import Context
from dockdoctor.model import EngineFacts, Facts, HostFacts, Place, ProjectFacts, PythonPin
from dockdoctor.platforms import parse
from dockdoctor.probes.pypi import probe_index
from tests.support.pep691 import JSON_TYPE, pep691_index
from tests.support.servers import closed_port


def _pin(name: str, version: str, python: str = "3.9", libc: str = "glibc") -> PythonPin:
    return PythonPin(
        name=name,
        version=version,
        source=Place("requirements.txt", 1),
        text=f"{name}=={version}",
        dockerfile="Dockerfile",
        line=4,
        python=python,
        libc=libc,
    )


def _ask(pins: tuple[PythonPin, ...], url: str, cache: Path, **kw: object):  # noqa: ANN202
    return probe_index(
        pins,
        env={"PIP_INDEX_URL": url},
        cache_dir=cache,
        offline=bool(kw.get("offline")),
        refresh=bool(kw.get("refresh")),
        deadline=time.monotonic() + 60,  # ceilings for a loaded machine: the stand-in index answers at once
        timeout=30.0,
    )


def _findings(
    pins: tuple[PythonPin, ...], index: tuple, targets: tuple[str, ...], check: str = "DKD620", note: str = ""
) -> list:
    facts = Facts(
        host=HostFacts(os="linux", arch="x86_64", machine="x86_64"),
        engine=EngineFacts(endpoint="", endpoint_rule="default", context="default"),
        project=ProjectFacts(root="/p", pins=pins, index=index, index_note=note),
    )
    return list(lookup(check).func(Context(facts=facts, targets=tuple(parse(t) for t in targets))))


def test_asks_with_the_json_accept_header_and_finds_the_nearest_release(tmp_path: Path) -> None:
    pins = (_pin("psycopg2-binary", "2.8.6"),)
    with pep691_index() as (url, seen):
        index, note = _ask(pins, url, tmp_path)
    assert note == "" and seen == [f"/simple/psycopg2-binary/ accept={JSON_TYPE}"]
    assert [r.version for r in index[0].releases] == ["2.8.6", "2.9.2", "2.9.5"]
    arm = _findings(pins, index, ("linux/arm64",))
    assert len(arm) == 1 and "2.9.5 is the nearest release" in arm[0].message
    assert "needs a compiler and the library headers" in arm[0].message  # its wheels are all platform-specific
    assert "+psycopg2-binary==2.9.5" in arm[0].fixes[0].steps[0].diff
    assert _findings(pins, index, ("linux/amd64",)) == []  # cp39 manylinux1_x86_64


def test_cpython_version_and_musl_decide(tmp_path: Path) -> None:
    pins = (
        _pin("psycopg2-binary", "2.8.6", "3.11"),
        _pin("numpy", "1.26.4", "3.11", "musl"),
        _pin("six", "1.16.0", "3.12", "musl"),
    )
    with pep691_index() as (url, _seen):
        index, _note = _ask(pins, url, tmp_path)
    amd = _findings(pins[:1], index, ("linux/amd64",))
    assert "2.9.5 is the nearest" in amd[0].message  # 2.8.6 has no cp311 wheel; 2.9.5 has one
    musl = _findings(pins[1:2], index, ("linux/arm64",))
    assert "no sdist" in musl[0].message and "no later release" in musl[0].message and not musl[0].fixes
    assert _findings(pins[1:2], index, ()) == []
    assert _findings(pins[2:], index, ("linux/arm64", "linux/amd64")) == []  # a pure wheel fits everywhere


def test_cached_then_offline(tmp_path: Path) -> None:
    pins = (_pin("psycopg2-binary", "2.8.6"),)
    with pep691_index() as (url, seen):
        first, _ = _ask(pins, url, tmp_path)
        again, _ = _ask(pins, url, tmp_path)
        assert len(seen) == 1 and again == first  # the second run answers from the cache
    offline, note = _ask(pins, url, tmp_path, offline=True)
    assert offline == first and note == ""
    empty, note = _ask(pins, url, tmp_path / "other", offline=True)
    assert empty == () and note.startswith("--offline: the package index")
    assert "--offline" in _findings(pins, empty, (), "DKD621", note)[0].message


@pytest.mark.parametrize(("mode", "kind"), [("html", "not-json"), ("junk", "invalid"), ("huge", "too-large")])
def test_bad_indexes_are_errors(tmp_path: Path, mode: str, kind: str) -> None:
    pins = (_pin("psycopg2-binary", "2.8.6"),)
    with pep691_index(mode) as (url, _seen):
        index, _note = _ask(pins, url, tmp_path)
    assert index[0].error is not None and index[0].error.kind == kind and not index[0].releases
    assert _findings(pins, index, ("linux/arm64",)) == []
    assert len(_findings(pins, index, (), "DKD621")) == 1
    assert not list((tmp_path / "pypi").glob("*")) if (tmp_path / "pypi").exists() else True  # nothing cached


def test_down_index_and_unknown_project(tmp_path: Path) -> None:
    down, _ = _ask((_pin("six", "1.16.0"),), f"http://user:secret@127.0.0.1:{closed_port()}/simple", tmp_path)
    assert down[0].error.kind == "unreachable" and "secret" not in down[0].error.detail
    with pep691_index() as (url, _seen):
        missing, _ = _ask((_pin("no-such-project", "1.0"),), url, tmp_path)
    assert missing[0].error.kind == "not-found"
    assert _findings((_pin("no-such-project", "1.0"),), missing, (), "DKD621") == []


def test_the_debian_release_of_the_tag_sets_the_glibc_ceiling() -> None:
    from packaging.tags import Tag

    from dockdoctor.checks.pins import GLIBC_MAX, glibc_max, supported_tags
    from dockdoctor.project.pins import base_distro

    assert [base_distro(t) for t in ("python:3.11-slim-bookworm", "python:3.9-bullseye", "python:3.12-slim")] == [
        "bookworm",
        "bullseye",
        "",
    ]
    assert base_distro("ghcr.io/astral-sh/uv:python3.12-trixie-slim") == "trixie"
    assert (glibc_max("buster"), glibc_max("bookworm"), glibc_max(""), glibc_max("sid")) == (28, 36, GLIBC_MAX, 41)
    on_buster = supported_tags("3.14", "glibc", "arm64", glibc_max("buster"))
    assert Tag("cp314", "cp314", "manylinux_2_28_aarch64") in on_buster  # numpy 2.4.1's aarch64 wheel (a uv.lock)
    assert Tag("cp314", "cp314", "manylinux_2_31_aarch64") not in on_buster
    assert Tag("cp314", "cp314", "manylinux_2_31_aarch64") in supported_tags("3.14", "glibc", "arm64", 31)
