"""`explain-error --json --no-probe` on every real message of tests/data/errors/corpus.toml, as a user runs it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from clirun import dockdoctor, isolated_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CORPUS = Path(__file__).resolve().parents[1] / "data" / "errors" / "corpus.toml"
CASES: list[dict[str, Any]] = tomllib.loads(CORPUS.read_text(encoding="utf-8"))["case"]
CLASSES = sorted({c["class"] for c in CASES})


def test_corpus_is_big_and_covers_every_class() -> None:
    from dockdoctor.checks._signatures import signatures

    assert len(CASES) >= 80
    assert sum(1 for c in CASES if c.get("lookalike")) >= 10
    assert {s.cls for s in signatures()} == set(CLASSES)  # every class has real messages
    for case in CASES:
        assert case["source"].startswith("https://") and len(case["date"]) == 10, case


def _cause_status(finding: dict[str, Any], cause: str) -> str | None:
    for e in finding["evidence"]:
        if e["field"].startswith("cause.") and e["field"].split(".", 2)[2] == cause:
            return e["value"]
    return None


def _evidence(finding: dict[str, Any], field: str) -> str | None:
    return next((e["value"] for e in finding["evidence"] if e["field"] == field), None)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, list[dict[str, Any]]]]:
    """Per case index: the exit code of its class's run and the findings about its file. One process per class."""
    tmp = tmp_path_factory.mktemp("corpus")
    out: dict[str, tuple[int, list[dict[str, Any]]]] = {}
    for cls in CLASSES:
        files = []
        for i, case in enumerate(CASES):
            if case["class"] == cls:
                path = tmp / f"case-{i}.log"
                path.write_text(case["text"], encoding="utf-8")
                files.append((i, path))
        args = [a for _, p in files for a in ("--file", str(p))]
        result = dockdoctor("explain-error", "--json", "--no-probe", *args, env=isolated_env(tmp))
        assert "Traceback" not in result.stderr, result.stderr
        report = result.json()
        for i, path in files:
            out[str(i)] = (result.code, [f for f in report["findings"] if f["subject"] == f"error (file {path})"])
    return out


@pytest.mark.parametrize("index", range(len(CASES)), ids=lambda i: f"{CASES[i]['class']}-{i}")
def test_case_is_explained_with_its_established_cause(results: dict, index: int) -> None:
    case = CASES[index]
    code, findings = results[str(index)]
    assert code == 0
    by_signature = {_evidence(f, "error.signature"): f for f in findings}
    for other in case.get("also", ()):
        assert other in by_signature, (case["source"], list(by_signature))
    finding = by_signature.get(case["signature"])
    assert finding is not None, (case["source"], list(by_signature))
    assert finding["id"] == "DKD320" and finding["message"]
    assert _cause_status(finding, case["cause"]) == "possible", (case["source"], finding["evidence"])
    blames = _evidence(finding, "error.blames_architecture")
    if case.get("lookalike"):
        assert blames == ("possible" if case.get("text_alone") == "ambiguous" else "no"), case["source"]
    for f in findings:  # no finding about a look-alike may claim the architecture as established
        assert _evidence(f, "error.blames_architecture") != "confirmed"


def test_no_known_message_exits_1_and_bad_usage_exits_2(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    nothing = dockdoctor("explain-error", "--no-probe", "--json", "all is well", env=env)
    assert nothing.code == 1 and nothing.json()["findings"] == []
    missing = dockdoctor("explain-error", "--no-probe", "--file", str(tmp_path / "nope.log"), env=env)
    assert missing.code == 2 and "nope.log: no such file" in missing.stderr and "Traceback" not in missing.stderr
    usage = dockdoctor("explain-error", "--no-probe", env=env)  # no text, and stdin is not a pipe with content
    assert usage.code in (1, 2) and "Traceback" not in usage.stderr


def test_noise_is_stripped_and_several_errors_in_one_paste(tmp_path: Path) -> None:
    paste = (
        "\x1b[31m#12 0.370 WARNING: The requested image's platform (linux/amd64) does not match the detected "
        "host platform (linux/arm64/v8) and no specific platform was requested\x1b[0m\n"
        "2024-05-01T10:00:00.123Z web-1  | exec /app/start.sh: exec format error\n"
        "[pod/api-5d8/api] exec /app/start.sh: exec format error\n"
        "##[error]docker: 'buildx' is not a docker command.\n"
    )
    path = tmp_path / "paste.log"
    path.write_text(paste, encoding="utf-8")
    report = dockdoctor("explain-error", "--no-probe", "--json", "--file", str(path), env=isolated_env(tmp_path)).json()
    texts = {_evidence(f, "error.signature"): _evidence(f, "error.text") for f in report["findings"]}
    assert set(texts) == {"requested-platform-mismatch", "exec-format-error", "buildx-not-a-command"}
    assert texts["exec-format-error"] == "exec /app/start.sh: exec format error (x2)"
    assert texts["requested-platform-mismatch"].startswith("WARNING: The requested image's platform")


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_text_and_markdown_show_the_causes(tmp_path: Path, fmt: str) -> None:
    result = dockdoctor(
        "explain-error",
        "--no-probe",
        "--format",
        fmt,
        "qemu: uncaught target signal 11 (Segmentation fault) - core dumped",
        env=isolated_env(tmp_path),
    )
    assert result.code == 0
    assert "cause 1 (possible): QEMU does not emulate" in result.stdout
    assert "https://github.com/docker/for-mac/issues/6657" in result.stdout


def test_stdin_dash(tmp_path: Path) -> None:
    import subprocess

    env = isolated_env(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "dockdoctor", "explain-error", "--no-probe", "--json", "-"],
        input="Fatal glibc error: CPU does not support x86-64-v2\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert '"error.signature"' in proc.stdout and "glibc-cpu-level" in proc.stdout
