"""No string from outside can drive the terminal or inject markup: every fact field, every format, the real CLI."""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import pty
import re
import select
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from clirun import SRC, dockdoctor, isolated_env

from dockdoctor import codec
from dockdoctor.app import diagnose
from dockdoctor.checks import ALL_CHECKS
from dockdoctor.model import EditFile, Facts, FixItem, ImageVerdict, Manual, Report, RunCommand, Target
from dockdoctor.render import Format, RenderOptions, renderer_for
from dockdoctor.render.safe import clean, code, markdown, visible

HOSTILE = (
    "x\x1b]0;pwn\x07\x1b[2J\x1b[31m\r\nForged: 0 errors<script>alert(1)</script> | [link](http://e.x) `c`"
    "\x9b2J\u202eevil\u2028Forged: again\ud8ff\x00\x7f\ty"
)
# internal vocabulary the renderers look up (not text from outside)
VOCABULARY = {
    (ImageVerdict, "verdict"): "emulated",
    (RunCommand, "kind"): "run",
    (EditFile, "kind"): "edit",
    (Manual, "kind"): "manual",
}
_BAD_CHARS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def build(tp: Any, owner: type | None = None, name: str = "") -> Any:
    """A value of type `tp` with every string HOSTILE, every optional part present, one of each union member."""
    if (owner, name) in VOCABULARY:
        return VOCABULARY[(owner, name)]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is str:
        return HOSTILE
    if tp is bool:
        return True
    if tp is int:
        return 1
    if tp is float:
        return 1.5
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(iter(tp))
    if origin in (typing.Union, types.UnionType):
        return build(next(a for a in args if a is not type(None)), owner, name)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            member = args[0]
            if typing.get_origin(member) in (typing.Union, types.UnionType):
                return tuple(build(a, owner, name) for a in typing.get_args(member))
            return (build(member, owner, name),)
        return tuple(build(a, owner, name) for a in args)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: build(hints[f.name], tp, f.name) for f in dataclasses.fields(tp) if f.init})
    raise AssertionError(f"no builder for {tp!r}")


def _strings(value: Any) -> list[str]:
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    if isinstance(value, tuple):
        return [s for v in value for s in _strings(v)]
    return [value] if type(value) is str else []


def _hostile_facts() -> Facts:
    facts = build(Facts)
    return dataclasses.replace(facts, schema_version=1)


def _reports() -> dict[str, Report]:
    facts = _hostile_facts()
    diagnosed = diagnose(facts, targets=(Target(platform="linux/arm64", source=HOSTILE),), checks=ALL_CHECKS)
    return {"every model string": build(Report), "the checks' own messages": diagnosed}


def test_every_string_field_is_filled() -> None:
    facts = _hostile_facts()
    assert len(_strings(facts)) > 150 and set(_strings(facts)) == {HOSTILE}
    report = build(Report)
    assert {type(s) for f in report.findings for fix in f.fixes for s in fix.steps} == {RunCommand, EditFile, Manual}


def _check_text(out: str, *, color: bool) -> None:
    stripped = re.sub(r"\x1b\[\d+m", "", out) if color else out  # dockdoctor's own colour codes only
    assert not _BAD_CHARS.search(stripped), repr(_BAD_CHARS.search(stripped))
    assert "\x1b" not in stripped and "\r" not in stripped
    assert not any(line.lstrip().startswith("Forged") for line in stripped.splitlines())
    assert "\\x1b" in out  # shown, visibly


def _outside_code(md: str) -> str:
    """The Markdown text outside fenced blocks and code spans (where markup would be live)."""
    out, fence = [], None
    for line in md.splitlines():
        match = re.match(r"^(`{3,})", line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and line.startswith(fence) and not line[len(fence) :].strip():
            fence = None
        elif fence is None:
            out.append(re.sub(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", "", line))
    return "\n".join(out)


def _check_markdown(md: str) -> None:
    assert not _BAD_CHARS.search(md) and "\x1b" not in md
    assert not any(line.lstrip().startswith("Forged") for line in md.splitlines())
    prose = _outside_code(md)
    tags = set(re.findall(r"</?[a-zA-Z][^>]*>", prose))
    assert tags <= {"<details>", "<summary>", "</summary>", "</details>"}, tags
    assert "](" not in prose.replace("\\](", "")  # no live link
    for row in (line for line in prose.splitlines() if line.startswith("| ")):
        assert len(re.findall(r"(?<!\\)\|", row)) == 4, row  # three cells, whatever a cell holds


@pytest.mark.parametrize("which", ["every model string", "the checks' own messages"])
@pytest.mark.parametrize("verbose", [False, True])
def test_every_format_shows_hostile_strings_safely(which: str, verbose: bool) -> None:
    report = _reports()[which]
    for color in (False, True):
        text = renderer_for(Format.TEXT)(report, RenderOptions(color=color, verbose=verbose))
        _check_text(text, color=color)
        assert "\\x1b]0;pwn\\x07\\x1b[2J" in text and "\\r\\nForged" in text and "\\u202e" in text
        images = renderer_for(Format.TEXT)(report, RenderOptions(color=color, images_only=True))
        _check_text(images, color=color)
    _check_markdown(renderer_for(Format.MARKDOWN)(report, RenderOptions(verbose=verbose)))
    out = renderer_for(Format.JSON)(report, RenderOptions())
    assert out.isascii() and "\x1b" not in out
    data = json.loads(out)
    # lossless: the JSON holds the model's own strings, nothing escaped (a replay of these facts is refused, since
    # the platform fields hold no platform: that refusal is tested with the other hostile replay files)
    assert data["facts"] == codec.to_data(report.facts)
    # CI formats: SARIF is JSON (escapes its own); every GitHub annotation stays one workflow command
    sarif = renderer_for(Format.SARIF)(report, RenderOptions())
    assert sarif.isascii() and json.loads(sarif)["version"] == "2.1.0"
    annotations = renderer_for(Format.GITHUB)(report, RenderOptions())
    assert "\x1b" not in annotations and "\r" not in annotations
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in annotations.splitlines())


def test_fix_plan_lines_are_sanitized() -> None:
    from dockdoctor.render.plan import plan_lines as _plan_lines

    lines = _plan_lines(clean((build(FixItem),)))
    _check_text("\n".join(lines), color=False)


def test_visible_escapes() -> None:
    assert visible("a\x1b]0;t\x07b\nc\td\x9b\u202e\u2028\udcff") == "a\\x1b]0;t\\x07b\\nc\\td\\x9b\\u202e\\u2028\\udcff"
    assert visible("plain: linux/arm64, naïve 🐳 <none>") == "plain: linux/arm64, naïve 🐳 <none>"
    assert markdown("a <b> & `<c>` | [d](e)") == "a &lt;b&gt; &amp; `<c>` \\| \\[d\\](e)"
    assert markdown("`x|y`", cell=True) == "`x\\|y`"
    assert code("a``b") == "```a``b```" and code("`") == "`` ` ``"
    assert clean(("ok", "x\x1b")) == ("ok", "x\\x1b")
    diff = EditFile(path="Dockerfile\x1b", diff="--- a\n+++ b\n@@ -1 +1 @@\n-FROM a\x1b[2J\n+FROM b\n")
    assert clean(diff).diff == "--- a\n+++ b\n@@ -1 +1 @@\n-FROM a\\x1b[2J\n+FROM b\n"  # lines stay lines


# --------------------------------------------------------------------------- the real CLI


def _hostile_project(root: Path) -> Path:
    project = root / "hostile"
    project.mkdir()
    (project / "compose.yaml").write_text(
        "services:\n"
        '  "web\\e]0;pwn\\a\\e[2J\\nForged: 0 errors<script>":\n'
        '    image: "nginx\\e]0;img\\a<script>"\n'
        '    platform: "linux/amd64\\e[2J"\n'
        "  api:\n"
        '    image: "redis:7"\n'
        '    platform: "linux/s390x\\e]0;plat\\a"\n'
    )
    (project / "Dockerfile.\x1b[2Jx").write_text(
        "FROM node:20\nRUN curl -fsSL https://example.com/tool-x86_64.tar.gz # \x1b]0;pwn\x07 <script>\n"
    )
    return project


def _no_raw_escapes(out: str) -> None:
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out, repr(out[:2000])
    assert not any(line.lstrip().startswith("Forged") for line in out.splitlines())


def test_cli_shows_a_hostile_project_safely(tmp_path: Path) -> None:
    project = _hostile_project(tmp_path)
    env = isolated_env(tmp_path, DOCKER_HOST="unix:///nonexistent.sock")
    common = ("check", "--project", str(project), "--timeout", "30", "--platform", "linux/arm64", "-v")
    text = dockdoctor(*common, env=env)
    _no_raw_escapes(text.stdout + text.stderr)
    assert "Dockerfile.\\x1b[2Jx" in text.stdout and "\\x1b]0;pwn\\x07" in text.stdout
    markdown_out = dockdoctor(*common, "--format", "markdown", env=env)
    _check_markdown(markdown_out.stdout)
    _no_raw_escapes(markdown_out.stdout + markdown_out.stderr)
    data = dockdoctor(*common, "--json", env=env).json()
    assert any("\x1b" in df["path"] for df in data["facts"]["project"]["dockerfiles"])  # JSON keeps the value


def _on_a_terminal(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    """What the CLI writes to a pseudo-terminal (where colour and escapes would act)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env, cwd=cwd)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(
    ("extra", "coloured"),
    [
        ({"TERM": "xterm-256color", "NO_COLOR": ""}, True),
        ({"TERM": "dumb", "NO_COLOR": ""}, False),
        ({"TERM": "xterm-256color", "NO_COLOR": "1"}, False),
    ],
)
def test_terminal_gets_only_dockdoctors_own_colour(tmp_path: Path, extra: dict[str, str], coloured: bool) -> None:
    project = _hostile_project(tmp_path)
    env = isolated_env(tmp_path, DOCKER_HOST="unix:///nonexistent.sock", **extra)
    out = _on_a_terminal(
        [
            sys.executable,
            "-m",
            "dockdoctor",
            "check",
            "--project",
            str(project),
            "--timeout",
            "30",
            "--platform",
            "linux/arm64",
        ],
        env,
        tmp_path,
    )
    assert "Problems:" in out, out
    spinner = re.compile(r"\r([^\r\n]*)\x1b\[K")  # the spinner's line on stderr, redrawn and erased in place
    assert all(not _BAD_CHARS.search(frame) and "\x1b" not in frame for frame in spinner.findall(out))
    out = spinner.sub("", out)
    assert ("\x1b[" in out) is coloured
    _check_text(out.replace("\r\n", "\n"), color=True)


def test_emoji_file_name_under_a_latin1_terminal(tmp_path: Path) -> None:
    project = tmp_path / "emoji"
    project.mkdir()
    (project / "Dockerfile.🐳").write_text("FROM node:20\nRUN curl -fsSL https://example.com/tool-x86_64.tar.gz\n")
    env = isolated_env(tmp_path, DOCKER_HOST="unix:///nonexistent.sock", PYTHONIOENCODING="latin-1")
    result = dockdoctor("check", "--project", str(project), "--timeout", "30", "--platform", "linux/arm64", env=env)
    assert result.code == 1 and "Traceback" not in result.stderr, result.stderr
    assert "Dockerfile.\\U0001f433:2: downloads an artifact for amd64" in result.stdout


def test_one_line_errors_are_sanitized(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    missing = dockdoctor("check", "--from", str(tmp_path / "t\x1b]0;pwn\x07\nForged: 0 errors"), env=env)
    assert missing.code == 2 and missing.stderr.count("\n") == 1, missing.stderr
    _no_raw_escapes(missing.stderr)
    assert "t\\x1b]0;pwn\\x07\\nForged: 0 errors: no such file" in missing.stderr
    usage = dockdoctor("check", "--format", "x\x1b[2J\nForged", env=env)
    assert usage.code == 2
    _no_raw_escapes(usage.stderr)
    assert SRC  # the CLI ran from this worktree


def test_bundle_raw_answers_cannot_drive_a_terminal() -> None:
    import io
    import zipfile

    from dockdoctor import bundle
    from dockdoctor.model import RawAnswer

    report = build(Report)
    facts = dataclasses.replace(
        report.facts,
        raw=(RawAnswer(probe="engine", source="GET x\x1b]0;t\x07", text="processor\t: 0\nName: \x1b[2Jbox\n"),),
    )
    data, manifest = bundle.build(
        dataclasses.replace(report, facts=facts), python_version="3", created_at="now", options=RenderOptions()
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        texts = {name: archive.read(name).decode() for name in archive.namelist()}
    raw = next(text for name, text in texts.items() if name.startswith("raw/"))
    assert raw.endswith("processor\t: 0\nName: \\x1b[2Jbox\n") and "# source: GET x\\x1b]0;t\\x07\n" in raw
    _check_markdown(texts["report.md"])
    assert all("\x1b" not in text for text in texts.values())


def test_engine_strings_reach_the_text_report_escaped(tmp_path: Path) -> None:
    """The engine's version, OS and name (a hostile or broken engine), live and replayed from its facts file."""
    from support.recorded import FIXTURES, RecordedEngine, info_from_text, read_recording, version_from_text

    forged = "\x1b]0;pwn\x07\x1b[2J\r\nForged: 0 errors<script>"
    info = info_from_text(read_recording(FIXTURES / "docker-info.linux-amd64.1.txt")[1])
    version = version_from_text(read_recording(FIXTURES / "docker-version.linux-amd64.1.txt")[1])
    info.update(
        ServerVersion="24.0.7" + forged,
        OperatingSystem="Docker Desktop" + forged,
        Name="box" + forged,
        KernelVersion="6.1" + forged,
    )
    version["Version"] = "24.0.7" + forged
    for component in version.get("Components", []):
        component["Version"] = str(component.get("Version", "")) + forged
    saved = tmp_path / "facts.json"
    with RecordedEngine(info=info, version=version) as engine:
        env = isolated_env(tmp_path, DOCKER_HOST=engine.base_url)
        outputs = [
            dockdoctor("check", "--no-project", "-v", "--save-facts", str(saved), env=env),
            dockdoctor("check", "--no-project", "--format", "markdown", env=env),
            dockdoctor("inspect", "--offline", "busybox", env=env),
        ]
    outputs.append(dockdoctor("check", "--from", str(saved), "-v", env=env))
    outputs.append(dockdoctor("check", "--from", str(saved), "--format", "markdown", env=env))
    for result in outputs:
        assert result.code in (0, 1) and "Traceback" not in result.stderr, result.stderr
        _no_raw_escapes(result.stdout + result.stderr)
    _check_markdown(outputs[1].stdout)
    _check_markdown(outputs[4].stdout)
    assert "24.0.7\\x1b]0;pwn\\x07\\x1b[2J\\r\\nForged" in outputs[3].stdout, outputs[3].stdout


def test_an_engine_platform_that_is_none_is_unknown_not_a_dead_run(tmp_path: Path) -> None:
    """An engine whose /version Arch is `amd64\\x1b[2J` ended `check` with a one-line PlatformError and no report;
    now the engine's platform is unknown, the report is printed and its saved facts replay."""
    from support.recorded import FIXTURES, RecordedEngine, info_from_text, read_recording, version_from_text

    info = info_from_text(read_recording(FIXTURES / "docker-info.linux-amd64.1.txt")[1])
    version = version_from_text(read_recording(FIXTURES / "docker-version.linux-amd64.1.txt")[1])
    info["Architecture"] = "x86_64\x1b[2J"
    version["Arch"] = "amd64\x1b[2J"
    saved = tmp_path / "facts.json"
    with RecordedEngine(info=info, version=version) as engine:
        env = isolated_env(tmp_path, DOCKER_HOST=engine.base_url)
        live = dockdoctor("check", "--no-project", "--json", "--save-facts", str(saved), env=env)
    assert live.code in (0, 1), live.stderr
    assert live.json()["facts"]["engine"]["reachable"] and live.json()["facts"]["engine"]["platform"] is None
    replay = dockdoctor("check", "--from", str(saved), env=env)
    assert replay.code in (0, 1), replay.stderr
    _no_raw_escapes(replay.stdout + replay.stderr)
