"""Fuzzing the lock, pyproject, pip.conf and Dockerfile-install parsers (hypothesis, fixed seeds): the lock parsers
raise only LockError, the others never raise."""

from __future__ import annotations

import os

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dockdoctor.project.locks import LockError, pipfile_lock, poetry_lock, pyproject_pins, uv_lock  # noqa: E402
from dockdoctor.project.pins import installs  # noqa: E402
from dockdoctor.project.pipconf import pip_conf, requirement_options, resolve  # noqa: E402

FUZZ = settings(
    max_examples=int(os.environ.get("DOCKDOCTOR_FUZZ_EXAMPLES", "200")),
    deadline=None,
    database=None,
    derandomize=not os.environ.get("DOCKDOCTOR_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_ANY = st.text(max_size=30)


def _mix(fragments: list[str]) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(fragments), _ANY), max_size=40).map("".join)


TOML = _mix(
    [
        "[[package]]\n", "[metadata]\n", "[package.source]\n", "[package.dev-dependencies]\n", "[project]\n",
        "[tool.poetry.dependencies]\n", 'name = "a"\n', 'name = "b"\n', 'version = "1.0"\n', "version = 1\n",
        'source = { registry = "https://i/simple" }\n', 'source = { virtual = "." }\n', "dependencies = [",
        '{ name = "b" }', '{ name = "a", marker = "sys_platform == \'win32\'" }', ', extra = ["x"] }', "]\n",
        'groups = ["main"]\n', 'markers = "python_version < \\"3.9\\""\n', "optional = true\n",
        'dev = [{ name = "b" }]\n',
        'dependencies = ["a==1", "b>=2"]\n', 'a = "1.2.3"\n', 'b = { version = "==2" }\n', "=", '"', "\n",
    ]
)  # fmt: skip
JSON = _mix(
    [
        "{", "}", '"default": {', '"develop": {', '"_meta": {"sources": [{"name": "p", "url": "u"}]}', '"a": {',
        '"version": "==1.0"', '"markers": "os_name == \'nt\'"', '"index": "p"', ",", ":", "[", "]", '"',
    ]
)  # fmt: skip
DOCKERFILE = _mix(
    [
        "FROM python:3.11-slim\n", "FROM ghcr.io/astral-sh/uv:python3.12-alpine\n", "WORKDIR /app\n", "COPY . .\n",
        "COPY poetry.lock pyproject.toml ./\n", "COPY pip.conf /etc/pip.conf\n", "ENV PIP_INDEX_URL=https://x/\n",
        "ARG PIP_EXTRA_INDEX_URL\n", "RUN ", "cd /srv && ", "poetry install --only main", "uv sync --no-dev",
        "pipenv install --dev", "pip install -i https://m/ ", "-r requirements.txt", " . ", "a==1", " && ", "\n",
        "--index-url=", "'", '"', "\\\n",
    ]
)  # fmt: skip


@FUZZ
@given(text=TOML, python=st.sampled_from(["3.9", "3.12", ""]))
def test_toml_locks_raise_only_lock_error(text: str, python: str) -> None:
    for parser in (poetry_lock, uv_lock, pyproject_pins):
        try:
            parser(text, python=python)
        except LockError:
            pass


@FUZZ
@given(text=JSON)
def test_pipfile_lock_raises_only_lock_error(text: str) -> None:
    try:
        pipfile_lock(text, python="3.11", dev=True)
    except LockError:
        pass


@FUZZ
@given(
    text=DOCKERFILE, conf=_mix(["[global]\n", "[install]\n", "index-url = ", "extra-index-url=", "no-index\n", "\n"])
)
def test_installs_and_pip_settings_never_raise(text: str, conf: str) -> None:
    for install in installs(text, path="Dockerfile"):
        resolve(install.index)
    resolve(pip_conf(conf, "pip.conf") + requirement_options(conf, "r.txt"))
