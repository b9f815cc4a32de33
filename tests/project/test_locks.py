"""Lock files and pyproject.toml pins on real files (tests/data/locks/SOURCES.md), which Dockerfile step installs
them, and which index pip is configured with (pip.conf, environment, command line, requirements files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockdoctor.project.locks import LockError, pipfile_lock, poetry_lock, pyproject_pins, uv_lock
from dockdoctor.project.pins import installs
from dockdoctor.project.pipconf import pip_conf, requirement_options, resolve

LOCKS = Path(__file__).resolve().parents[1] / "data" / "locks"


def _read(name: str) -> str:
    return (LOCKS / name).read_text()


def test_poetry_2_lock_groups_and_markers() -> None:
    text = _read("polylith-gcp.poetry.lock")
    on_312 = {p.name: p for p in poetry_lock(text, python="3.12")}
    assert on_312["functions-framework"].version == "3.10.2"
    assert "colorama" not in on_312  # markers = "platform_system == \"Windows\""
    assert "exceptiongroup" not in on_312  # markers = "python_version == \"3.10\""
    assert "exceptiongroup" in {p.name for p in poetry_lock(text, python="3.10")}
    line = on_312["anyio"]
    assert line.line == 4 and line.text == 'name = "anyio"'


def test_poetry_1_lock_categories() -> None:
    text = _read("txtar.poetry.lock")
    assert [p.name for p in poetry_lock(text, python="3.8", groups=["main"])] == ["pyfakefs"]
    every = poetry_lock(text, python="3.8")
    assert len(every) == 17 and {"black", "pytest", "pyfakefs"} <= {p.name for p in every}


def test_uv_lock_follows_the_project_edges() -> None:
    text = _read("boruvkas.uv.lock")
    runtime = {p.name: p.version for p in uv_lock(text, python="3.14", dev=False)}
    assert runtime["matplotlib"] == "3.10.8" and runtime["numpy"] == "2.4.1"
    assert "pytest" not in runtime and "boruvkas-algorithm" not in runtime  # a dev tool; the project itself
    with_dev = {p.name for p in uv_lock(text, python="3.14")}
    assert {"pytest", "ruff", "coverage"} <= with_dev
    assert "colorama" not in with_dev  # only reached through `marker = "sys_platform == 'win32'"`
    assert all(p.index == "https://pypi.org/simple" for p in uv_lock(text, python="3.14"))


def test_pipfile_lock_default_develop_markers_and_sources() -> None:
    text = _read("pipfile-example.Pipfile.lock")
    default = {p.name: p for p in pipfile_lock(text, python="3.6")}
    assert default["certifi"].version == "2020.4.5.1"
    assert "django" not in default  # a git entry: no index release
    assert "pywinusb" not in default  # markers: os_name == 'nt'
    assert default["certifi"].index == "https://pypi.python.org/simple"
    assert default["certifi"].text.strip().startswith('"certifi"')
    assert len(pipfile_lock(text, python="3.6", dev=True)) > len(default)


def test_pyproject_exact_pins_only() -> None:
    assert pyproject_pins(_read("boruvkas.pyproject.toml"), python="3.14") == []  # ranges
    assert pyproject_pins(_read("txtar.pyproject.toml"), python="3.8") == []  # ^5.3.2
    text = (
        '[project]\nname = "x"\ndependencies = [\n  "psycopg2-binary==2.8.6",\n  "requests>=2",\n'
        "  \"pywin32==306; sys_platform == 'win32'\",\n]\n"
        '[tool.poetry.dependencies]\npython = "^3.9"\nsix = "1.16.0"\nnumpy = { version = "==1.26.4" }\n'
        'flask = "^3"\n'
    )
    got = [(p.name, p.version, p.line) for p in pyproject_pins(text, python="3.9")]
    assert got == [("psycopg2-binary", "2.8.6", 4), ("six", "1.16.0", 10), ("numpy", "1.26.4", 11)]


@pytest.mark.parametrize(
    ("parser", "text"),
    [
        (poetry_lock, "[[package]\nname = "),
        (poetry_lock, '[[package]]\nname = "a"\nversion = "1"\n'),  # no [metadata]: not a poetry.lock
        (uv_lock, "\x00\x01binary"),
        (uv_lock, 'package = "not a list"\nversion = 1\n'),
        (pipfile_lock, "{not json"),
        (pipfile_lock, '{"_meta": {}}'),
        (pyproject_pins, "[project\n"),
    ],
)
def test_bad_lock_files_are_lock_errors(parser, text: str) -> None:  # noqa: ANN001
    with pytest.raises(LockError):
        parser(text, python="3.11")


def test_deeply_nested_toml_is_a_lock_error() -> None:
    with pytest.raises(LockError):
        uv_lock("version = 1\nx = " + "[" * 100_000, python="3.11")


def test_which_dockerfile_step_installs_which_file() -> None:
    text = (
        "FROM python:3.11-slim\nWORKDIR /app\n"
        "COPY pyproject.toml poetry.lock ./\nRUN pip install poetry && poetry install --no-root --only main\n"
        "COPY uv.lock pyproject.toml /app/\nRUN uv sync --frozen --no-dev\n"
        "COPY Pipfile Pipfile.lock ./\nRUN pipenv install --system --deploy\n"
        "COPY api /srv\nRUN cd /srv && poetry install --without dev\n"
        "RUN poetry install\n"  # poetry.lock is there (line 3)
        "FROM python:3.12\nRUN uv sync\n"  # nothing was copied into this stage: it installs nothing we can see
        "FROM python:3.12\nCOPY . /code\nWORKDIR /code\nRUN pip install --no-cache-dir .\n"
    )
    got = [(i.line, i.tool, [(u.kind, u.path, u.groups, u.dev) for u in i.locks]) for i in installs(text, path="D")]
    assert got == [
        (4, "poetry", [("poetry.lock", "poetry.lock", ("main",), False)]),
        (6, "uv-sync", [("uv.lock", "uv.lock", None, False)]),
        (8, "pipenv", [("Pipfile.lock", "Pipfile.lock", None, False)]),
        (10, "poetry", [("poetry.lock", "api/poetry.lock", ("main",), False)]),
        (11, "poetry", [("poetry.lock", "poetry.lock", None, False)]),
        (17, "pip", [("pyproject.toml", "pyproject.toml", None, True)]),
    ]


def test_what_the_image_says_about_the_index() -> None:
    text = (
        "FROM python:3.11-slim\nARG PIP_INDEX_URL\nENV PIP_EXTRA_INDEX_URL=https://u:tok@extra.example/simple\n"
        "WORKDIR /app\nCOPY conf/pip.conf /etc/pip.conf\nCOPY requirements.txt .\n"
        "RUN pip install -r requirements.txt && pip install -i https://mirror.example/simple six==1.16.0\n"
        "FROM ghcr.io/astral-sh/uv:python3.12-bookworm-slim\nENV UV_INDEX_URL=https://uv.example/simple\n"
        "ENV PIP_INDEX_URL=https://ignored-by-uv.example/simple\nRUN uv pip install --system numpy==1.26.4\n"
    )
    first, second, third = installs(text, path="Dockerfile")
    assert first.index == (
        ("config-file", "conf/pip.conf", "copied to /etc/pip.conf"),
        ("arg:index-url", "", "Dockerfile:2 ARG PIP_INDEX_URL"),
        ("extra-index-url", "https://u:tok@extra.example/simple", "Dockerfile:3 ENV PIP_EXTRA_INDEX_URL"),
    )
    assert second.index[-1] == ("index-url", "https://mirror.example/simple", "Dockerfile:7 --index-url")
    assert (third.python, third.libc, third.tool) == ("3.12", "glibc", "uv")
    assert third.index == (("index-url", "https://uv.example/simple", "Dockerfile:9 ENV UV_INDEX_URL"),)


def test_pip_conf_and_the_order_of_settings() -> None:
    conf = (
        "[global]\nindex-url = https://conf.example/simple\ntimeout = 5\n"
        "[install]\nextra-index-url =\n  https://a/\n  https://b/\n"
    )
    settings = pip_conf(conf, "pip.conf")
    assert [k for k, _v, _o in settings] == ["index-url", "extra-index-url"]
    chosen = resolve([*settings, ("index-url", "https://env.example/simple", "ENV PIP_INDEX_URL")])
    assert chosen.url == "https://env.example/simple" and chosen.source == "ENV PIP_INDEX_URL"
    assert chosen.extra == ("https://a/", "https://b/")
    assert resolve([]).url == "" and resolve([("no-index", "1", "x")]).no_index
    assert pip_conf("not [an ini", "x") == []
    req = "--index-url=https://req.example/simple\n-i https://later/\n--extra-index-url https://x/ # c\nsix==1\n"
    assert requirement_options(req, "requirements.txt") == [
        ("index-url", "https://req.example/simple", "requirements.txt:1"),
        ("index-url", "https://later/", "requirements.txt:2"),
        ("extra-index-url", "https://x/", "requirements.txt:3"),
    ]
