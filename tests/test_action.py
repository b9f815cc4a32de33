"""action.yml, run step by step the way the GitHub runner runs a composite action.

Each `run:` script goes to `bash --noprofile --norc -eo pipefail` (the runner's `shell: bash`) with its step's
`env:` (the `${{ }}` expressions evaluated here), GITHUB_OUTPUT / GITHUB_ENV files and RUNNER_TEMP; `if:` is
evaluated with the same few operators the action uses; a `uses:` step is recorded with its `with:` values (it
cannot run here). The install step runs once for real (pip, offline, from a copy of this repository).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from wheelhouse import local_wheel_dirs, offline_pip_env

ROOT = Path(__file__).resolve().parents[1]
ACTION = YAML(typ="safe").load((ROOT / "action.yml").read_text())
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Run:
    inputs: dict[str, str]
    env: dict[str, str]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    uses: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    stdout: str = ""
    failed: bool = False

    def value(self, name: str) -> str:
        parts = name.split(".")
        match parts:
            case ["inputs", key]:
                return self.inputs.get(key, str(ACTION["inputs"][key].get("default", "")))
            case ["steps", step, "outputs", key]:
                return self.outputs.get(step, {}).get(key, "")
            case ["github", "action_path"]:
                return self.env["ACTION_PATH_FOR_TEST"]
        raise AssertionError(f"action.yml uses an expression this test does not know: {name}")

    def expand(self, text: str) -> str:
        return EXPR.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, expression: str | None) -> bool:
        if expression is None:
            return not self.failed  # success()
        python = expression.replace("&&", " and ").replace("||", " or ").replace("always()", "True")
        python = re.sub(r"\b(inputs|steps|github)\.[\w.-]+", lambda m: repr(self.value(m.group(0))), python)
        assert re.fullmatch(r"[\s\w'./=!()-]*", python), python
        return bool(eval(python, {"__builtins__": {}}, {}))  # noqa: S307 - the action's own, checked above


def _read_kv(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def run_action(run: Run, tmp: Path, *, steps: list[dict[str, Any]] | None = None) -> Run:
    for number, step in enumerate(steps if steps is not None else ACTION["runs"]["steps"]):
        if not run.condition(step.get("if")):
            continue
        if "uses" in step:
            run.uses.append((step["uses"], {k: run.expand(str(v)) for k, v in step.get("with", {}).items()}))
            continue
        assert step["shell"] == "bash" and "${{" not in step["run"], "inputs reach scripts only through env:"
        files = {name: tmp / f"{name.lower()}-{number}" for name in ("GITHUB_OUTPUT", "GITHUB_ENV")}
        for path in files.values():
            path.write_text("")
        env = dict(run.env, **{k: run.expand(str(v)) for k, v in step.get("env", {}).items()})
        env.update({k: str(v) for k, v in files.items()})
        script = tmp / f"step-{number}.sh"
        script.write_text(step["run"])
        proc = subprocess.run(
            [*BASH, str(script)], env=env, cwd=run.env["GITHUB_WORKSPACE"], capture_output=True, text=True, timeout=900
        )
        run.stdout += proc.stdout
        if "id" in step:
            run.outputs[step["id"]] = _read_kv(files["GITHUB_OUTPUT"])
        run.env.update(_read_kv(files["GITHUB_ENV"]))
        if proc.returncode != 0:
            run.failed = True
            run.stdout += proc.stderr
    return run


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The action's install step, run for real: a venv in RUNNER_TEMP with dockdoctor from the action's path."""
    folders = local_wheel_dirs()
    if not folders:
        pytest.skip("this machine's pip names no local wheel folder: the install step would need the network")
    tmp = tmp_path_factory.mktemp("action")
    action_path = tmp / "action"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (action_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, action_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKDOCTOR_", "PYTHONPATH"))}
    env = offline_pip_env(env, folders)
    (tmp / "runner-temp").mkdir()
    env.update(
        RUNNER_TEMP=str(tmp / "runner-temp"),
        GITHUB_WORKSPACE=str(tmp),
        ACTION_PATH_FOR_TEST=str(action_path),
        DOCKER_HOST="unix:///nonexistent/docker.sock",
        NO_COLOR="1",
    )
    install = ACTION["runs"]["steps"][0]
    run = run_action(Run(inputs={"python": sys.executable}, env=env), tmp, steps=[install])
    assert not run.failed, run.stdout
    assert "DOCKDOCTOR" in run.env and "dockdoctor, version" in run.stdout
    return run.env


def _workspace(tmp: Path, installed: dict[str, str], files: dict[str, str]) -> dict[str, str]:
    for name, text in files.items():
        (tmp / name).write_text(text)
    (tmp / "runner-temp").mkdir()
    return dict(installed, GITHUB_WORKSPACE=str(tmp), RUNNER_TEMP=str(tmp / "runner-temp"))


TARGETARCH = (ROOT / "fixtures" / "example-projects" / "targetarch" / "Dockerfile").read_text()
CHECK_STEPS = ACTION["runs"]["steps"][1:]


@pytest.mark.slow
def test_sarif_is_written_uploaded_and_fails_on_warning(installed: dict[str, str], tmp_path: Path) -> None:
    env = _workspace(tmp_path, installed, {"Dockerfile": TARGETARCH})
    inputs = {"targets": "linux/amd64, linux/arm64", "fail-on": "warning"}
    run = run_action(Run(inputs=inputs, env=env), tmp_path, steps=CHECK_STEPS)
    check = run.outputs["check"]
    assert check["exit-code"] == "1" and run.failed
    sarif = json.loads(Path(check["sarif-file"]).read_text())
    results = sarif["runs"][0]["results"]
    location = results[0]["locations"][0]["physicalLocation"]
    assert results[0]["ruleId"] == "DKD604" and location["artifactLocation"]["uri"] == "Dockerfile"
    assert run.uses == [
        ("github/codeql-action/upload-sarif@v3", {"sarif_file": check["sarif-file"], "category": "dockdoctor"})
    ]
    assert "::error title=dockdoctor::findings" in run.stdout


@pytest.mark.slow
def test_fail_on_never_reports_only(installed: dict[str, str], tmp_path: Path) -> None:
    env = _workspace(tmp_path, installed, {"Dockerfile": TARGETARCH})
    run = run_action(Run(inputs={"fail-on": "never", "format": "sarif"}, env=env), tmp_path, steps=CHECK_STEPS)
    assert run.outputs["check"]["exit-code"] == "0" and not run.failed and len(run.uses) == 1
    strict = run_action(
        Run(inputs={"fail-on": "never", "targets": "linux/arm64"}, env=env), tmp_path, steps=CHECK_STEPS
    )
    assert not strict.failed


@pytest.mark.slow
def test_github_annotations_and_no_upload(installed: dict[str, str], tmp_path: Path) -> None:
    env = _workspace(tmp_path, installed, {"Dockerfile": TARGETARCH})
    run = run_action(Run(inputs={"format": "github"}, env=env), tmp_path, steps=CHECK_STEPS)
    assert not run.failed and run.uses == [] and run.outputs["check"]["exit-code"] == "0"
    assert re.search(r"^::warning file=Dockerfile,line=2\b", run.stdout, re.M), run.stdout


@pytest.mark.slow
def test_a_bad_input_fails_with_one_error_line(installed: dict[str, str], tmp_path: Path) -> None:
    env = _workspace(tmp_path, installed, {"Dockerfile": "FROM busybox\n"})
    run = run_action(Run(inputs={"fail-on": "sometimes"}, env=env), tmp_path, steps=CHECK_STEPS)
    assert run.failed and run.uses == [] and "::error title=dockdoctor::fail-on: 'sometimes'" in run.stdout
    bad_target = run_action(
        Run(inputs={"targets": "linux/amd64,linux/amd64/v9/x"}, env=env), tmp_path, steps=CHECK_STEPS
    )
    assert bad_target.failed and bad_target.outputs["check"]["exit-code"] == "2" and bad_target.uses == []


def test_the_action_declares_what_its_scripts_read() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) >= {"format", "targets", "fail-on"}
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            named = set(re.findall(r"\$\{?(INPUT_[A-Z_]+|ACTION_PATH|PYTHON)\b", step["run"]))
            assert named <= set(step.get("env", {})), step["name"]
