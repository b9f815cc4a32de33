"""`dockdoctor check` and `fix` on projects whose node_modules or .venv was built on the host (a Mac's esbuild, a
node-gyp addon, CPython extension modules), copied into images by `COPY . .` or bind-mounted by compose."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.clirun import dockdoctor, isolated_env
from tests.support.servers import closed_port

DATA = Path(__file__).resolve().parent / "data" / "natives"
DOCKERFILE = 'FROM node:20-slim\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nCMD ["node", "index.js"]\n'
COMPOSE = 'services:\n  web:\n    build: .\n    volumes:\n      - .:/app\n    ports:\n      - "3000:3000"\n'


def node_project(tmp: Path, *, dockerfile: str = DOCKERFILE, compose: str | None = COMPOSE) -> Path:
    proj = tmp / "proj"
    esbuild = proj / "node_modules" / "@esbuild" / "darwin-arm64"
    esbuild.mkdir(parents=True)
    shutil.copy(DATA / "esbuild-darwin-arm64.package.json", esbuild / "package.json")
    (proj / "node_modules" / "esbuild").mkdir()
    (proj / "node_modules" / "esbuild" / "package.json").write_text('{"name": "esbuild", "version": "0.17.1"}')
    (proj / "node_modules" / "left-pad").mkdir()
    (proj / "node_modules" / "left-pad" / "package.json").write_text('{"name": "left-pad"}')
    (proj / "package.json").write_text('{"name": "app", "dependencies": {"esbuild": "0.17.1"}}')
    (proj / "Dockerfile").write_text(dockerfile)
    if compose is not None:
        (proj / "compose.yaml").write_text(compose)
    return proj


def _env(tmp: Path) -> dict[str, str]:
    return isolated_env(tmp, DOCKER_HOST=f"tcp://127.0.0.1:{closed_port()}", DOCKDOCTOR_CACHE_DIR=str(tmp / "c"))


def _check(proj: Path, env: dict[str, str], *platforms: str) -> list[dict]:
    argv = ["check", "--project", str(proj), "--only", "DKD630,DKD631", "--json"]
    for platform in platforms:
        argv += ["--platform", platform]
    res = dockdoctor(*argv, env=env)
    assert "Traceback" not in res.stderr, res.stderr
    return res.json()["findings"]


def test_a_macs_esbuild_copied_and_mounted(tmp_path: Path) -> None:
    proj = node_project(tmp_path)
    findings = _check(proj, _env(tmp_path), "linux/amd64")
    by_id = {f["id"]: f for f in findings}
    assert sorted(by_id) == ["DKD630", "DKD631"]
    copied = by_id["DKD630"]
    assert copied["subject"] == "Dockerfile:5"
    assert "darwin/arm64" in copied["message"] and "@esbuild/darwin-arm64 (os darwin, cpu arm64)" in copied["message"]
    fix = copied["fixes"][0]
    assert fix["safety"] == "safe"  # `RUN npm ci` before the copy: the image has its own packages
    assert "+node_modules" in fix["steps"][0]["diff"]
    mounted = by_id["DKD631"]
    assert "service web mounts .:/app" in mounted["message"] and "/app/node_modules" in mounted["message"]
    assert "+      - /app/node_modules" in mounted["fixes"][0]["steps"][0]["diff"]


def test_fix_adds_the_ignore_line_and_the_finding_goes(tmp_path: Path) -> None:
    proj = node_project(tmp_path, compose=None)
    env = _env(tmp_path)
    res = dockdoctor("fix", "--project", str(proj), "--platform", "linux/amd64", "--only", "DKD630", "--yes", env=env)
    assert res.code == 0, res.stdout + res.stderr
    assert (proj / ".dockerignore").read_text() == "node_modules\n"
    assert _check(proj, env, "linux/amd64") == []


def test_ignored_or_covered_or_reinstalled_is_fine(tmp_path: Path) -> None:
    covered = COMPOSE.replace("      - .:/app\n", "      - .:/app\n      - /app/node_modules\n")
    proj = node_project(tmp_path, compose=covered)
    (proj / ".dockerignore").write_text(".git\nnode_modules\n")
    assert _check(proj, _env(tmp_path), "linux/amd64") == []
    other = node_project(tmp_path / "b", dockerfile="FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n", compose=None)
    assert _check(other, _env(tmp_path), "linux/amd64") == []  # npm ci removes the copied node_modules first


def test_without_its_own_install_the_fix_is_display_only(tmp_path: Path) -> None:
    proj = node_project(
        tmp_path, dockerfile='FROM node:20\nWORKDIR /app\nCOPY . .\nCMD ["node", "i.js"]\n', compose=None
    )
    (proj / ".dockerignore").write_text(".git\n")
    (finding,) = _check(proj, _env(tmp_path), "linux/arm64")
    fix = finding["fixes"][0]
    assert fix["safety"] == "display-only"
    assert "@@ -1,1 +1,2 @@\n .git\n+node_modules\n" in fix["steps"][0]["diff"]
    assert "npm ci" in json.dumps(fix["steps"][1])


def test_a_node_gyp_addon_is_built_for_the_host(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    (proj / "node_modules" / "bcrypt" / "build" / "Release").mkdir(parents=True)
    (proj / "node_modules" / "bcrypt" / "binding.gyp").write_text("{}")
    (proj / "Dockerfile").write_text("FROM node:20\nWORKDIR /app\nCOPY . .\n")
    host = f"linux/{ {'x86_64': 'amd64', 'aarch64': 'arm64'}.get(os.uname().machine, os.uname().machine) }"
    other = "linux/arm64" if host == "linux/amd64" else "linux/amd64"
    assert _check(proj, _env(tmp_path), host) == []  # built here, for here
    (finding,) = _check(proj, _env(tmp_path), other)
    assert "bcrypt (binding.gyp: built by node-gyp on this machine)" in finding["message"]


def test_a_virtual_environment_with_darwin_extension_modules(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    site = proj / ".venv" / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    (proj / ".venv" / "pyvenv.cfg").write_text("home = /opt/homebrew/opt/python@3.12/bin\n")
    (site / "_cffi_backend.cpython-312-darwin.so").write_bytes(b"\xcf\xfa\xed\xfe")
    (site / "six.py").write_text("")
    (proj / "Dockerfile").write_text('FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [".venv/bin/python"]\n')
    (finding,) = _check(proj, _env(tmp_path), "linux/amd64")
    assert finding["subject"] == "Dockerfile:3" and "built for darwin" in finding["message"]
    assert ".venv/lib/python3.12/site-packages/_cffi_backend.cpython-312-darwin.so" in finding["message"]
