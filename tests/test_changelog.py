"""CHANGELOG.md: Keep a Changelog's shape, and a schema table that names the versions the code writes."""

from __future__ import annotations

import re
from pathlib import Path

from dockdoctor.codec import FIX_VERSION
from dockdoctor.model import REPORT_VERSION, SCHEMA_VERSION
from dockdoctor.model.fleet import FLEET_VERSION

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "CHANGELOG.md").read_text()
KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


def test_keep_a_changelog_shape() -> None:
    assert TEXT.startswith("# Changelog\n") and "keepachangelog.com/en/1.1.0/" in TEXT
    releases = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", TEXT, re.M)
    assert releases and releases[0][0] == "Unreleased"
    assert all(date for name, date in releases[1:]), "a released version has its date"
    for heading in re.findall(r"^### (.+)$", TEXT, re.M):
        assert heading in KINDS, heading


def test_the_schema_table_names_the_versions_written() -> None:
    versions = {"report": REPORT_VERSION, "facts": SCHEMA_VERSION, "fix": FIX_VERSION, "fleet": FLEET_VERSION}
    for which, version in versions.items():
        row = re.search(rf"^\| {which}\b.*\| (\d+) \| `schemas/{which}-v(\d+)\.schema\.json` \|$", TEXT, re.M)
        assert row and int(row.group(1)) == int(row.group(2)) == version, which
        assert (ROOT / "src" / "dockdoctor" / "schemas" / f"{which}-v{version}.schema.json").is_file()
