"""The host-built folders probe and its pure helpers: npm os/cpu, extension module names, COPY lines, bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

import dockdoctor.probes.project as project_probe
from dockdoctor.model import Location, Place
from dockdoctor.probes.natives import MAX_NATIVES, probe_host_built
from dockdoctor.project.natives import copies, npm_platform, so_platform
from tests.test_natives_cli import COMPOSE, node_project


def test_npm_platform_and_extension_names() -> None:
    assert npm_platform(["darwin"], ["arm64"]) == "darwin/arm64"
    assert npm_platform(["linux"], ["x64"]) == "linux/amd64"
    assert npm_platform(["win32"], ["ia32"]) == "windows/386"
    assert npm_platform(["darwin", "linux"], ["x64"]) == ""  # several: not one platform
    assert npm_platform("darwin", ["x64"]) == npm_platform(None, None) == ""
    assert so_platform("_cffi_backend.cpython-312-darwin.so") == "darwin"
    assert so_platform("_multiarray_umath.cpython-311-aarch64-linux-gnu.so") == "linux/arm64"
    assert so_platform("_rust.abi3.so") == so_platform("libfoo.so") == ""


def test_which_copies_bring_the_folder() -> None:
    text = (
        "FROM node:20 AS deps\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
        "FROM node:20\nCOPY --from=deps /app /app\nCOPY web/ /srv/\n"
        "FROM node:20\nCOPY src ./src\nCOPY . /x\nRUN rm -rf /x/node_modules\n"
    )
    assert copies(text, "node_modules", "node_modules") == [(5, True)]  # line 11 is removed again by line 12
    assert copies(text, "web/node_modules", "node_modules") == [(5, True), (8, False)]
    assert copies("\x00 junk", "node_modules", "node_modules") == []


@pytest.fixture
def no_compose_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_probe.shutil, "which", lambda name: None)  # dockdoctor's own compose parser


def test_short_syntax_binds_resolved_by_dockdoctor(tmp_path: Path, no_compose_cli: None) -> None:
    proj = node_project(tmp_path, compose=COMPOSE.replace(".:/app", "./node_modules:/app/node_modules:ro"))
    (folder,) = probe_host_built(project_probe.probe_project(str(proj), env={}))
    assert folder.path == "node_modules" and folder.platforms == ("darwin/arm64",)
    assert folder.copied_by == (Place("Dockerfile", 5),) and folder.copied_by[0].location == Location("Dockerfile", 5)
    assert folder.reinstalled and folder.ignore_entry == "node_modules"
    (mount,) = folder.mounts
    assert (mount.service, mount.volume, mount.target) == (
        "web",
        "./node_modules:/app/node_modules",
        "/app/node_modules",
    )
    assert (mount.file, mount.line, mount.anchor, mount.indent) == ("compose.yaml", 4, "    volumes:", "      ")


def test_folders_without_native_code_are_not_reported(tmp_path: Path, no_compose_cli: None) -> None:
    proj = tmp_path / "p"
    (proj / "node_modules" / "left-pad").mkdir(parents=True)
    (proj / "node_modules" / "left-pad" / "package.json").write_text("{not json")
    (proj / "node_modules" / ".bin").mkdir()
    (proj / "Dockerfile").write_text("FROM node:20\nCOPY . .\n")
    assert probe_host_built(project_probe.probe_project(str(proj), env={})) == ()


def test_a_huge_node_modules_is_bounded(tmp_path: Path, no_compose_cli: None) -> None:
    proj = tmp_path / "p"
    for i in range(40):
        pkg = proj / "node_modules" / f"@scope{i % 3}" / f"native-{i}"
        pkg.mkdir(parents=True)
        (pkg / "binding.gyp").write_text("{}")
    assert probe_host_built(project_probe.probe_project(str(proj), env={})) == ()  # no Dockerfile, no compose
    (proj / "Dockerfile").write_text("FROM node:20\nCOPY . .\n")
    (folder,) = probe_host_built(project_probe.probe_project(str(proj), env={}))
    assert len(folder.natives) == MAX_NATIVES and folder.platforms == ()
