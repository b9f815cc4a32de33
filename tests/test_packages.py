"""The packages: `python -m build` makes the sdist and the wheel; the wheel installs into a clean venv and runs.

Offline: the build backend and the dependencies come only from the local wheel folders this machine's pip
configuration names (tests/wheelhouse.py), never from an index. Built from a copy of the tracked files, so the
work tree gets no build/ or egg-info folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from wheelhouse import local_wheel_dirs, offline_pip_env

from dockdoctor import __version__

ROOT = Path(__file__).resolve().parents[1]
DOCKER = shutil.which("docker")

pytestmark = pytest.mark.slow


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(sdist, wheel, offline environment) from `python -m build` on a copy of the tracked files."""
    pytest.importorskip("build", reason="pip install -e '.[test]' brings `build`")
    folders = local_wheel_dirs()
    if not folders:
        pytest.skip("this machine's pip names no local wheel folder: building would need the network")
    tmp = tmp_path_factory.mktemp("packages")
    source = tmp / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "DOCKDOCTOR_", "PYTHONPATH"))}
    env = offline_pip_env(env, folders)
    proc = _run([sys.executable, "-m", "build", "--outdir", str(tmp / "dist"), str(source)], env, tmp)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sdists = list((tmp / "dist").glob("dockdoctor-*.tar.gz"))
    wheels = list((tmp / "dist").glob("dockdoctor-*-py3-none-any.whl"))
    assert len(sdists) == len(wheels) == 1, list((tmp / "dist").iterdir())
    return sdists[0], wheels[0], env


def test_the_packages_hold_the_data_and_the_entry_point(built: tuple[Path, Path, dict[str, str]]) -> None:
    sdist, wheel, _env = built
    assert sdist.name == f"dockdoctor-{__version__}.tar.gz"
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        entry_points = whl.read(f"dockdoctor-{__version__}.dist-info/entry_points.txt").decode()
    assert "dockdoctor/_entry.py" in names and "dockdoctor/py.typed" in names
    assert any(n.startswith("dockdoctor/schemas/") and n.endswith(".schema.json") for n in names)
    assert any(n.startswith("dockdoctor/knowledge/") and n.endswith(".toml") for n in names)
    assert "dockdoctor = dockdoctor._entry:main" in entry_points
    with tarfile.open(sdist) as tar:
        members = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "src/dockdoctor/_entry.py"} <= members


def test_the_wheel_installs_into_a_clean_venv_and_runs(
    built: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    _sdist, wheel, env = built
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], env, tmp_path).returncode == 0
    folders = env["PIP_FIND_LINKS"].split()
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index"]
    pip += [arg for folder in folders for arg in ("--find-links", folder)]
    installed = _run([*pip, str(wheel)], env, tmp_path)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

    home = tmp_path / "home"
    home.mkdir()
    user = dict(env, HOME=str(home), DOCKER_CONFIG=str(home / "docker"), NO_COLOR="1")
    user["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    exe = str(venv / "bin" / "dockdoctor")
    version = _run([exe, "--version"], user, home)
    assert version.returncode == 0 and version.stdout == f"dockdoctor, version {__version__}\n", version.stderr
    check = _run([exe, "check", "--no-engine", "--no-project", "--format", "json"], user, home)
    assert check.returncode == 0, check.stderr
    report = json.loads(check.stdout)
    assert report["dockdoctor_version"] == __version__ and report["checks_skipped"]
    meta = _run([exe, "docker-cli-plugin-metadata"], user, home)
    assert json.loads(meta.stdout)["Version"] == __version__

    plugin = _run([exe, "plugin", "install"], user, home)
    assert plugin.returncode == 0, plugin.stderr
    launcher = (home / "docker" / "cli-plugins" / "docker-doctor").read_text()
    assert str(venv / "bin" / "python") in launcher and "sys.path.insert" not in launcher  # no checkout path
    if DOCKER:
        via_docker = _run([DOCKER, "doctor", "--version"], user, home)
        assert via_docker.stdout == f"dockdoctor, version {__version__}\n", via_docker.stderr
