"""devcontainer.json: JSON with comments and trailing commas, and the fields that decide the platform."""

from __future__ import annotations

import json

import pytest

from dockdoctor.model import DevcontainerFacts
from dockdoctor.project.devcontainer import parse_devcontainer, strip_jsonc

PATH = ".devcontainer/devcontainer.json"

# (devcontainer.json text, expected facts without the path)
CASES: tuple[tuple[str, DevcontainerFacts], ...] = (
    (
        '{"image": "mcr.microsoft.com/devcontainers/python:3.12"}',
        DevcontainerFacts(path=PATH, image="mcr.microsoft.com/devcontainers/python:3.12"),
    ),
    (
        '// the default template\n{\n  "name": "app", // inline\n  /* block\n  comment */ "image": "node:20",\n}\n',
        DevcontainerFacts(path=PATH, image="node:20"),
    ),
    (
        '{"build": {"dockerfile": "Dockerfile", "context": "..",}, "runArgs": ["--platform=linux/amd64"]}',
        DevcontainerFacts(path=PATH, dockerfile="Dockerfile", run_args_platform="linux/amd64"),
    ),
    (
        '{"dockerFile": "../Dockerfile", "runArgs": ["--init", "--platform", "linux/arm64"]}',
        DevcontainerFacts(path=PATH, dockerfile="../Dockerfile", run_args_platform="linux/arm64"),
    ),
    (
        '{"dockerComposeFile": "../compose.yaml", "service": "app"}',
        DevcontainerFacts(path=PATH, compose_files=("../compose.yaml",), service="app"),
    ),
    (
        '{"dockerComposeFile": ["../compose.yaml", "compose.extend.yml",], "service": "web",}',
        DevcontainerFacts(path=PATH, compose_files=("../compose.yaml", "compose.extend.yml"), service="web"),
    ),
    (
        '{"image": "x", "runArgs": ["--platform linux/amd64"]}',
        DevcontainerFacts(path=PATH, image="x", run_args_platform="linux/amd64"),
    ),
    ('{"image": "x", "runArgs": ["--cap-add=SYS_PTRACE"]}', DevcontainerFacts(path=PATH, image="x")),
    # strings that look like comments or trailing commas stay as they are
    (
        '{"image": "registry.example.com//team/img:1", "name": "a /* b */ c,]", "service": "s\\"//"}',
        DevcontainerFacts(path=PATH, image="registry.example.com//team/img:1", service='s"//'),
    ),
    ('\ufeff{"image": "bom"}', DevcontainerFacts(path=PATH, image="bom")),
)

# (text, the error detail it must give)
ERRORS: tuple[tuple[str, str], ...] = (
    ('{\n  "image": "x"\n  "service": "y"\n}', f"{PATH}:3: Expecting ',' delimiter"),
    ("{\n  /* never closed\n", f"{PATH}:2: unterminated /* comment"),
    ('["image"]', f"{PATH}:1: a dev container definition must be a JSON object"),
    ("", f"{PATH}:1: Expecting value"),
)


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_fields(text: str, expected: DevcontainerFacts) -> None:
    assert parse_devcontainer(text, path=PATH) == expected


@pytest.mark.parametrize(("text", "detail"), ERRORS)
def test_errors_name_file_and_line(text: str, detail: str) -> None:
    facts = parse_devcontainer(text, path=PATH)
    assert facts.error is not None and facts.error.probe == "project"
    assert facts.error.detail == detail


def test_stripping_keeps_lines_and_plain_json() -> None:
    text = '{\n  // c\n  "a": [1, 2, /* x\n y */],\n  "b": "//not a comment",\n}\n'
    stripped = strip_jsonc(text)
    assert stripped.count("\n") == text.count("\n")
    assert json.loads(stripped) == {"a": [1, 2], "b": "//not a comment"}
