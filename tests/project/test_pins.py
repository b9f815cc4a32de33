"""The pure pin parsers: requirements files with -r includes, pip install lines per Dockerfile stage, base tags."""

from __future__ import annotations

import pytest

from dockdoctor.project.pins import MAX_INCLUDE_DEPTH, base_python, installs, pin_of, requirement_pins


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("python:3.11-slim", ("3.11", "glibc")),
        ("python:3.9", ("3.9", "glibc")),
        ("python:3.12.1-slim-bookworm", ("3.12", "glibc")),
        ("docker.io/library/python:3.10-alpine3.19", ("3.10", "musl")),
        ("python:3.11-windowsservercore", None),
        ("python:latest", None),
        ("pypy:3.10", None),
        ("ghcr.io/me/python:3.11", None),
    ],
)
def test_base_python(tag: str, expected: tuple[str, str] | None) -> None:
    assert base_python(tag) == expected


def test_pins_only_exact_and_markers_for_the_stage() -> None:
    assert pin_of("Django[argon2]==4.2.1", "r:1").name == "django"
    assert pin_of("requests>=2", "r:1") is None
    assert pin_of("numpy==1.*", "r:1") is None
    assert pin_of("pkg @ https://example.com/pkg.whl", "r:1") is None
    assert pin_of("pywin32==306 ; sys_platform == 'win32'", "r:1") is None
    assert pin_of("tomli==2.0.1 ; python_version < '3.11'", "r:1", "3.11") is None
    assert pin_of("tomli==2.0.1 ; python_version < '3.11'", "r:1", "3.9").version == "2.0.1"
    assert pin_of("not a requirement ==", "r:1") is None


def test_requirements_includes_stay_inside_and_end() -> None:
    files = {
        "requirements.txt": "# app\n-r base/common.txt\nsix==1.16.0  # pure\nrequests>=2\n"
        "psycopg2-binary==2.8.6 \\\n    --hash=sha256:00\n--index-url https://example.com\n",
        "base/common.txt": "numpy==1.26.4\n-r ../../etc/passwd\n-r ../requirements.txt\n",
    }
    pins, notes = requirement_pins("requirements.txt", files.get)
    assert [(p.name, p.version, str(p.source)) for p in pins] == [
        ("numpy", "1.26.4", "base/common.txt:1"),
        ("six", "1.16.0", "requirements.txt:3"),
        ("psycopg2-binary", "2.8.6", "requirements.txt:5"),
    ]
    assert pins[2].text == "psycopg2-binary==2.8.6 \\"  # the line an edit replaces
    assert notes == ["../etc/passwd: outside the project, not read"]


def test_requirements_include_depth_is_bounded() -> None:
    files = {f"r{i}.txt": f"-r r{i + 1}.txt\npkg{i}==1.0\n" for i in range(MAX_INCLUDE_DEPTH + 3)}
    pins, notes = requirement_pins("r0.txt", files.get)
    assert len(pins) == MAX_INCLUDE_DEPTH + 1
    assert "nested deeper" in notes[0]


def test_installs_per_stage() -> None:
    text = (
        "FROM python:3.11-slim AS base\nWORKDIR /app\nCOPY requirements.txt requirements-dev.txt ./\n"
        "RUN pip install --no-cache-dir -r requirements.txt && pip3 install 'uvicorn==0.29.0' flask\n"
        "FROM base AS dev\nRUN uv pip install --system -r /app/requirements-dev.txt\n"
        "FROM python:3.12-alpine\nCOPY deps/req.txt /tmp/\nRUN python -m pip install -r /tmp/req.txt\n"
        "FROM node:20\nRUN pip install x==1 -r requirements.txt\n"
    )
    got = [
        (i.line, i.python, i.libc, i.files, tuple(p.name for p in i.pins)) for i in installs(text, path="Dockerfile")
    ]
    assert got == [
        (4, "3.11", "glibc", ("requirements.txt",), ()),
        (4, "3.11", "glibc", (), ("uvicorn",)),
        (6, "3.11", "glibc", ("requirements-dev.txt",), ()),
        (9, "3.12", "musl", ("deps/req.txt",), ()),
    ]


def test_installs_of_junk_is_empty() -> None:
    assert installs("\x00\x01 not a dockerfile", path="Dockerfile") == []
    assert installs("FROM python:3.11\nRUN pip install 'unterminated", path="Dockerfile") == []
