"""The pre-commit hook `dockdoctor-project`, run by the real `pre-commit try-repo` on fixture repositories.

pre-commit builds the hook's virtualenv from this repository (`pip install .`); the run is offline: pip gets no
index, only the local wheel folders this machine's pip configuration names (tests/wheelhouse.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from wheelhouse import local_wheel_dirs, offline_pip_env

ROOT = Path(__file__).resolve().parents[1]
PRE_COMMIT = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or shutil.which("pre-commit")
FIXTURES = ROOT / "fixtures" / "example-projects"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PRE_COMMIT, reason="pre-commit is not installed (pip install -e '.[test]')"),
]


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.email=test@example.invalid", "-c", "user.name=test", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    _git("init", "-q", cwd=path)
    _git("add", "-A", cwd=path)
    _git("commit", "-q", "-m", "fixture", cwd=path)
    return path


def _try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    folders = local_wheel_dirs()
    if not folders:
        pytest.skip("this machine's pip names no local wheel folder: pre-commit would need the network")
    env = offline_pip_env(dict(os.environ), folders)
    env = {k: v for k, v in env.items() if not k.startswith(("DOCKER_", "DOCKDOCTOR_", "PYTHONPATH"))}
    env.update(PRE_COMMIT_HOME=str(home), DOCKER_HOST="unix:///nonexistent/docker.sock", NO_COLOR="1")
    assert PRE_COMMIT
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(ROOT), "dockdoctor-project", "--all-files", "--verbose"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )


def test_the_hook_passes_a_clean_project_and_fails_a_strict_one(tmp_path: Path) -> None:
    home = tmp_path / "pre-commit-home"
    clean = _repo(tmp_path / "clean", {"Dockerfile": 'FROM busybox:1.36\nCMD ["true"]\n'})
    passed = _try_repo(clean, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout and "Project" in passed.stdout

    dockerfile = (FIXTURES / "targetarch" / "Dockerfile").read_text()
    strict = _repo(tmp_path / "strict", {"Dockerfile": dockerfile, ".dockdoctor.toml": "strict = true\n"})
    failed = _try_repo(strict, home)  # the same hook environment: built once
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Failed" in failed.stdout and "DKD604" in failed.stdout and "Dockerfile:2" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
