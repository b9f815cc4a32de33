"""Dev container definitions (devcontainer.json): JSON with comments, and the fields that decide the platform."""

from __future__ import annotations

import json
import re

from dockdoctor.model import DevcontainerFacts, ProbeError, ProbeErrorKind

_PLATFORM_ARG = re.compile(r"--platform(?:[= ]\s*(.+))?$")


def parse_devcontainer(text: str, *, path: str) -> DevcontainerFacts:
    """The image, Dockerfile, compose files, service and `--platform` run argument of a devcontainer.json.

    Never raises: a file that is not JSON gets error kind "parse"; one nested too deeply to parse, kind "nesting".
    """
    try:
        data = json.loads(strip_jsonc(text))
    except RecursionError:
        return _error(path, ProbeErrorKind.NESTING, f"{path}: nested too deeply to parse")
    except json.JSONDecodeError as error:
        return _error(path, ProbeErrorKind.PARSE, f"{path}:{error.lineno}: {error.msg}")
    except ValueError as error:
        return _error(path, ProbeErrorKind.PARSE, f"{path}:{error}")
    if not isinstance(data, dict):
        return _error(path, ProbeErrorKind.CONFIG, f"{path}:1: a dev container definition must be a JSON object")
    build = data.get("build")
    build = build if isinstance(build, dict) else {}
    return DevcontainerFacts(
        path=path,
        image=_text(data.get("image")),
        dockerfile=_text(build.get("dockerfile"))
        or _text(build.get("dockerFile"))
        or _text(data.get("dockerFile"))
        or _text(data.get("dockerfile")),
        compose_files=_strings(data.get("dockerComposeFile")),
        service=_text(data.get("service")),
        run_args_platform=_run_args_platform(data.get("runArgs")),
    )


def strip_jsonc(text: str) -> str:
    """`text` as plain JSON: comments blanked (line breaks kept, so lines still match) and trailing commas dropped.

    One pass that skips strings; a comma is blanked when only blanks and comments stand between it and `}` or `]`.
    Raises ValueError("LINE: unterminated comment") for a `/*` without `*/`.
    """
    text = text.removeprefix("\ufeff")
    out: list[str] = []
    comma: int | None = None  # index in `out` of a comma that may turn out to be trailing
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
            comma, i = None, end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError(f"{text.count(chr(10), 0, i) + 1}: unterminated /* comment")
            out.append("".join(c if c == "\n" else " " for c in text[i : end + 2]))
            i = end + 2
        else:
            if char in "}]" and comma is not None:
                out[comma] = " "
            if not char.isspace():
                comma = len(out) if char == "," else None
            out.append(char)
            i += 1
    return "".join(out)


def _string_end(text: str, start: int) -> int:
    """Index just past the JSON string starting at `start` (or the end of the line if it never closes)."""
    i, n = start + 1, len(text)
    while i < n:
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in '"\n':
            return i + 1 if text[i] == '"' else i
        i += 1
    return n


def _run_args_platform(run_args: object) -> str | None:
    if not isinstance(run_args, list):
        return None
    args = [str(arg) for arg in run_args]
    for index, arg in enumerate(args):
        match = _PLATFORM_ARG.match(arg.strip())
        if match and match.group(1):
            return match.group(1).strip()
        if match and index + 1 < len(args):
            return args[index + 1].strip()
    return None


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list):
        return tuple(str(item) for item in value if isinstance(item, str) and item)
    return ()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _error(path: str, kind: ProbeErrorKind, detail: str) -> DevcontainerFacts:
    return DevcontainerFacts(path=path, error=ProbeError(probe="project", kind=kind, detail=detail))
