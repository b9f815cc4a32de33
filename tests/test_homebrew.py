"""The Homebrew formula packaging/homebrew/dockdoctor.rb: its structure, and resources that are exactly the lock.

There is no `brew` here (Homebrew's own `brew audit` and `brew test` run only where Homebrew is); `ruby -c` checks
the syntax where Ruby is installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from wheelhouse import local_wheel_dirs, offline_pip_env

from dockdoctor import __version__

ROOT = Path(__file__).resolve().parents[1]
HOMEBREW = ROOT / "packaging" / "homebrew"
FORMULA = (HOMEBREW / "dockdoctor.rb").read_text()


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("homebrew_resources", HOMEBREW / "resources.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


resources = _script()


def _archive(url: str) -> tuple[str, str]:
    """(canonical name, version) from a source archive's file name."""
    stem = url.rsplit("/", 1)[-1].removesuffix(".tar.gz")
    name, _, version = stem.rpartition("-")
    return resources.canonical(name), version


def test_the_formula_is_a_python_virtualenv_formula() -> None:
    assert re.search(r"^class Dockdoctor < Formula\n  include Language::Python::Virtualenv\n", FORMULA, re.M)
    assert re.search(r'^  desc "[^"]{10,80}"$', FORMULA, re.M) and 'homepage "https://' in FORMULA
    url = re.search(r'^  url "([^"]+)"$', FORMULA, re.M)
    assert url and url.group(1).endswith(f"/dockdoctor-{__version__}.tar.gz")
    assert re.search(r'^  sha256 "[0-9a-f]{64}"$', FORMULA, re.M)
    assert (
        '  license "Apache-2.0"\n' in FORMULA
        and 'license = { text = "Apache-2.0" }' in (ROOT / "pyproject.toml").read_text()
    )
    assert f'  depends_on "python@{resources.HOMEBREW_PYTHON}"\n' in FORMULA
    assert "  def install\n    virtualenv_install_with_resources\n  end\n" in FORMULA
    test_block = FORMULA[FORMULA.index("  test do\n") :]
    assert "--version" in test_block and '"check", "--no-engine"' in test_block


def test_the_resources_are_exactly_the_lock() -> None:
    found = resources.parse(FORMULA)
    assert found, "no resource blocks between the markers"
    assert [_archive(r.url) for r in found] == resources.read_lock()
    assert [r.name for r in found] == sorted(r.name for r in found)
    for resource in found:
        assert resource.url.startswith("https://files.pythonhosted.org/packages/") and resource.url.endswith(".tar.gz")
        assert resource.name == _archive(resource.url)[0] != "dockdoctor"
    assert resources.render(FORMULA, found) == FORMULA  # what the script writes is what is committed


def test_the_lock_pins_every_dependency_and_what_they_need() -> None:
    pins = dict(resources.read_lock())
    python = {"python_version": resources.HOMEBREW_PYTHON, "python_full_version": resources.HOMEBREW_PYTHON + ".0"}
    for line in resources.dependencies():
        req = Requirement(line)
        assert req.specifier.contains(pins[resources.canonical(req.name)], prereleases=True), line
    assert "tomli" not in pins  # only for Python 3.10; Homebrew's is newer
    for name in pins:  # what each needs, as far as the installed releases of this venv tell
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({**python, "extra": "", "sys_platform": "darwin"}):
                assert resources.canonical(req.name) in pins, f"{name} needs {line}"


def test_the_lock_step_reads_a_real_pip_report(tmp_path: Path) -> None:
    """`lock` takes its pins from pip's installation report: here one made offline, from the local wheels."""
    folders = local_wheel_dirs()
    if not folders:
        pytest.skip("this machine's pip names no local wheel folder")
    report = tmp_path / "report.json"
    env = offline_pip_env(dict(os.environ), folders)
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--report",
        str(report),
    ]
    proc = subprocess.run([*argv, *resources.dependencies()], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    install = json.loads(report.read_text())["install"]
    pins = resources.lock_lines(install)
    assert {p.partition("==")[0] for p in pins} == {name for name, _ in resources.read_lock()}
    with pytest.raises(SystemExit, match="Homebrew needs the sdist"):
        resources.resources_from_report(install)  # these are wheels


@pytest.mark.skipif(not shutil.which("ruby"), reason="no ruby here (apt-get install ruby)")
def test_the_formula_is_valid_ruby() -> None:
    proc = subprocess.run(["ruby", "-c", str(HOMEBREW / "dockdoctor.rb")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Syntax OK" in proc.stdout, proc.stderr
