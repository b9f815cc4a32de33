"""CI workflows as image jobs (pure): GitHub Actions workflows and .gitlab-ci.yml, read into CiWorkflow facts.

Each job keeps where it runs (`runs-on` labels, GitLab `tags`) and, in order, the steps that matter for image
platforms: docker/build-push-action, `docker buildx build` / `docker build` in a script, docker/setup-qemu-action,
a binfmt install in a script (tonistiigi/binfmt, multiarch/qemu-user-static, qemu-user-static packages) and
`docker manifest create`. Every step keeps its line and the text of the lines an edit fix would touch. YAML is read
as ruamel nodes, as the deploy-file parsers read it, so every value has its line.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from typing import TYPE_CHECKING

from dockdoctor.model import CiJob, CiStep, CiWorkflow, ProbeError, ProbeErrorKind
from dockdoctor.project.deploy import _documents, _get, _items, _line, _pairs, _platforms, _str, _strings

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

_BUILD = re.compile(r"\bdocker\s+(?:buildx\s+)?build\b")
_MANIFEST = re.compile(r"\bdocker\s+manifest\s+create\b")
_BINFMT = re.compile(
    r"(?P<image>(?:[\w.-]+/)?tonistiigi/binfmt(?::[\w.-]+)?(?:@sha256:[0-9a-f]{64})?)\s.*--install"
    r"|(?P<multiarch>multiarch/qemu-user-static|linuxkit/binfmt)"
    r"|(?P<package>\b(?:apt-get|apt|apk|dnf|yum)\b.*\bqemu-user-static\b|\bupdate-binfmts\b)"
)
# GitLab CI keywords that are not jobs (https://docs.gitlab.com/ci/yaml/)
GITLAB_KEYWORDS = frozenset(
    {"default", "include", "stages", "variables", "workflow", "image", "services", "cache", "before_script"}
    | {"after_script", "types", "spec"}
)


def _text(lines: list[str], number: int) -> str:
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _indent(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def _script_lines(node: Node | None, lines: list[str]) -> list[tuple[int, str]]:
    """(line, command) for each command of a `run:` block or a GitLab script list, continuation lines joined."""
    out: list[tuple[int, str]] = []
    values = [node] if _str(node) is not None else _items(node)
    for value in values:
        text = _str(value)
        if value is None or text is None:
            continue
        start = _line(value)
        commands = text.replace("\\\n", " ").splitlines() if getattr(value, "style", None) in ("|", ">") else [text]
        cursor = start
        for command in commands:
            if not command.strip():
                continue
            head = command.strip().split()[0] if command.strip() else ""
            found = next(
                (n for n in range(cursor, min(len(lines), cursor + 200) + 1) if head and head in _text(lines, n)),
                cursor,
            )
            out.append((found, " ".join(command.split())))
            cursor = found + 1
    return out


def _flag(words: list[str], name: str) -> str | None:
    """The value of `--name value` or `--name=value` among shell words, None when absent."""
    for i, word in enumerate(words):
        if word == name and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command, comments=True)
    except ValueError:
        return command.split()


def _script_step(line: int, command: str, lines: list[str]) -> CiStep | None:
    """A build, binfmt install or manifest creation in one script command, or None."""
    text = _text(lines, line)
    if _MANIFEST.search(command):
        return CiStep(kind="manifest-create", line=line, text=text)
    binfmt = _BINFMT.search(command)
    if binfmt and "docker" in command or binfmt and binfmt.group("package"):
        image = binfmt.group("image") or binfmt.group("multiarch") or ""
        return CiStep(kind="binfmt-install", line=line, text=text, image=image, image_line=line, image_text=text)
    if _BUILD.search(command):
        words = _words(command)
        platform = _flag(words, "--platform")
        output = _flag(words, "--output") or _flag(words, "-o") or ""
        return CiStep(
            kind="buildx-build",
            line=line,
            text=text,
            platforms=tuple(_platforms(platform or "")),
            platforms_given=platform is not None,
            push="--push" in words or "push=true" in output or "type=registry" in output,
            provenance=_flag(words, "--provenance") or "",
        )
    return None


def _action_step(step: Node, lines: list[str]) -> CiStep | None:
    uses = _str(_get(step, "uses")) or ""
    name = uses.split("@", 1)[0].lower()
    if name not in ("docker/build-push-action", "docker/setup-qemu-action"):
        return None
    line = _line(step)
    key_line = next((_line(k) for k, _ in step.value), line)
    key_indent = " " * (int(step.value[0][0].start_mark.column) if step.value else 0)
    inputs = _get(step, "with")
    with_key = next((k for k, v in step.value if getattr(k, "value", None) == "with"), None)
    pairs = _pairs(inputs)
    input_indent = " " * int(pairs[0][1].start_mark.column) if pairs else key_indent + "  "
    platforms = _get(inputs, "platforms")
    image = _get(inputs, "image")
    base = CiStep(
        kind="setup-qemu" if name == "docker/setup-qemu-action" else "build-push-action",
        line=key_line,
        text=_text(lines, key_line),
        uses=uses,
        platforms=tuple(_platforms(_str(platforms) or "")) if platforms is not None else (),
        platforms_given=platforms is not None,
        with_line=_line(with_key) if with_key is not None else 0,
        with_text=_text(lines, _line(with_key)) if with_key is not None else "",
        input_indent=input_indent,
        key_indent=key_indent,
    )
    if name == "docker/setup-qemu-action":
        return dataclasses.replace(
            base,
            image=_str(image) or "",
            image_line=_line(image) if image is not None else 0,
            image_text=_text(lines, _line(image)) if image is not None else "",
        )
    push = (_str(_get(inputs, "push")) or "").strip().lower() == "true"
    outputs = " ".join(_strings(_get(inputs, "outputs")))
    return dataclasses.replace(
        base,
        push=push or "push=true" in outputs or "type=registry" in outputs,
        provenance=(_str(_get(inputs, "provenance")) or "").strip(),
    )


def _runner(node: Node | None) -> tuple[tuple[str, ...], bool]:
    labels = _strings(node) or _strings(_get(node, "labels"))
    return tuple(labels), any("${{" in label for label in labels)


def _github(doc: Node, lines: list[str]) -> list[CiJob]:
    jobs = []
    for name, key, job in _pairs(_get(doc, "jobs")):
        steps: list[CiStep] = []
        for step in _items(_get(job, "steps")):
            action = _action_step(step, lines) if _get(step, "uses") is not None else None
            if action is not None:
                steps.append(action)
            for line, command in _script_lines(_get(step, "run"), lines):
                found = _script_step(line, command, lines)
                if found is not None:
                    steps.append(found)
        runs_on = _get(job, "runs-on")
        labels, expression = _runner(runs_on)
        jobs.append(
            CiJob(
                name=name,
                line=_line(key),
                runner=labels,
                runner_line=_line(runs_on) if runs_on is not None else 0,
                runner_expression=expression,
                steps=tuple(steps),
            )
        )
    return [j for j in jobs if j.steps]


def _gitlab(doc: Node, lines: list[str]) -> list[CiJob]:
    default = _get(doc, "default")
    shared = _get(default, "before_script") or _get(doc, "before_script")
    jobs = []
    for name, key, job in _pairs(doc):
        if name in GITLAB_KEYWORDS or name.startswith(".") or _get(job, "script") is None:
            continue  # `.name`: a hidden job, a template other jobs extend (their own tags decide their runner)
        before = _get(job, "before_script") or shared
        steps = [
            found
            for part in (before, _get(job, "script"))
            for line, command in _script_lines(part, lines)
            if (found := _script_step(line, command, lines)) is not None
        ]
        tags = _get(job, "tags")
        labels, _ = _runner(tags)
        jobs.append(
            CiJob(
                name=name,
                line=_line(key),
                runner=labels,
                runner_line=_line(tags) if tags is not None else 0,
                runner_expression=any("$" in label for label in labels),
                steps=tuple(steps),
            )
        )
    return [j for j in jobs if j.steps]


def parse_workflow(text: str, *, path: str, kind: str) -> CiWorkflow:
    """The image jobs of a workflow (`kind` github-actions or gitlab-ci); invalid YAML becomes an error value."""
    from ruamel.yaml.error import YAMLError

    lines = text.splitlines()
    try:
        jobs = [
            job for doc in _documents(text) for job in (_github if kind == "github-actions" else _gitlab)(doc, lines)
        ]
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        return CiWorkflow(
            path=path,
            kind=kind,
            error=ProbeError(probe="project", kind=ProbeErrorKind.PARSE, detail=f"{where}: {problem}"),
        )
    except RecursionError:
        return CiWorkflow(
            path=path,
            kind=kind,
            error=ProbeError(probe="project", kind=ProbeErrorKind.PARSE, detail=f"{path}: nested too deeply"),
        )
    return CiWorkflow(path=path, kind=kind, jobs=tuple(jobs))


def workflow_kind(rel: str) -> str | None:
    """github-actions for .github/workflows/*.yml|yaml at the project root, gitlab-ci for .gitlab-ci.yml; else None."""
    lower = rel.lower()
    if lower.startswith(".github/workflows/") and lower.count("/") == 2 and lower.endswith((".yml", ".yaml")):
        return "github-actions"
    if lower in (".gitlab-ci.yml", ".gitlab-ci.yaml"):
        return "gitlab-ci"
    return None
