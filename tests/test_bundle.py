"""`dockdoctor report`: one zip with a manifest that lists exactly what is inside, replayable elsewhere."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from clirun import dockdoctor, isolated_env
from support.recorded import engine_for


def test_bundle_contents_and_replay_on_another_machine(tmp_path: Path) -> None:
    bundle = tmp_path / "ticket.zip"
    with engine_for("docker-desktop-mac-arm64") as engine:
        made = dockdoctor(
            "report",
            "-o",
            str(bundle),
            "--platform",
            "linux/amd64",
            env=isolated_env(tmp_path, DOCKER_HOST=engine.base_url),
        )
    assert made.code == 0, made.stderr
    assert made.stdout.startswith(f"wrote {bundle} (") and "nothing was uploaded" in made.stdout
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("MANIFEST.json"))
        assert sorted(f["name"] for f in manifest["files"]) == sorted(n for n in names if n != "MANIFEST.json")
        for item in manifest["files"]:
            assert hashlib.sha256(archive.read(item["name"])).hexdigest() == item["sha256"]
            assert item["name"] in made.stdout
        report = json.loads(archive.read("report.json"))
        markdown = archive.read("report.md").decode()
        raw = [n for n in names if n.startswith("raw/")]
    assert manifest["redacted"] is True and manifest["python_version"] and manifest["dockdoctor_version"]
    assert any("GET" in n and "version" in n for n in raw) and any("info" in n for n in raw)
    assert report["facts"]["engine"]["flavor"] == "docker-desktop"
    assert "\x1b[" not in markdown and markdown.startswith("## dockdoctor report")

    elsewhere = tmp_path / "support-desk"
    elsewhere.mkdir()
    replay = dockdoctor(
        "check",
        "--json",
        "--platform",
        "linux/amd64",
        "--from",
        str(bundle),
        env=isolated_env(elsewhere, DOCKER_HOST="unix:///nonexistent.sock"),
    )
    replayed = replay.json()
    assert replayed["findings"] == report["findings"]
    assert replayed["gathered_by"] == report["dockdoctor_version"]
    assert replayed["facts"] == report["facts"]


def test_damaged_bundle_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    result = dockdoctor("check", "--from", str(path), env=isolated_env(tmp_path))
    assert result.code == 2 and result.stderr.startswith(f"dockdoctor: {path}: damaged bundle")


def test_markdown_report_is_capped_and_plain(tmp_path: Path) -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "checks" / "DKD503" / "bad-arm64-target-no-qemu.json"
    result = dockdoctor(
        "check", "--format", "markdown", "--platform", "linux/arm64", "--from", str(fixture), env=isolated_env(tmp_path)
    )
    text = result.stdout
    assert result.code == 1
    assert "| Build & emulation | **ERROR** |" in text
    assert "### error: DKD503 `no-emulation-for-target` (linux/arm64)" in text
    assert "```sh\nsudo apt-get install -y qemu-user-static binfmt-support\n```" in text
    assert "<details><summary>Facts (redacted)</summary>" in text
    assert "\x1b[" not in text and len(text) < 60_000
