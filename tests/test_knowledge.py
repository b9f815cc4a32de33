"""Every knowledge table: its schema, its version ranges, and that each entry has a public source."""

from __future__ import annotations

import datetime
import re

import pytest
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockdoctor import knowledge
from dockdoctor.checks.defects import UNKNOWN_YET

PRODUCTS = {
    "docker-desktop",
    "orbstack",
    "colima",
    "lima",
    "rancher-desktop",
    "podman",
    "qemu",
    "tonistiigi-binfmt",
    "rosetta",
    "buildx",
    "buildkit",
    "compose",
    "containerd",
    "docker-engine",
    "macos",
}
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
URL = re.compile(r"^https://[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$")

# table -> required keys of each entry (besides id, source, source_date, evidence, which every entry has)
REQUIRED: dict[str, dict[str, set[str]]] = {
    "defects": {
        "defect": {
            "product",
            "affected",
            "title",
            "breaks",
            "symptom",
            "platforms",
            "emulator",
            "when",
            "requires",
            "fix_kind",
            "fix_version",
            "fix",
        }
    },
    "emulation": {
        "runtime": {"name", "images", "emulator", "effect", "symptom", "alternative"},
        "rosetta_requirement": {"subject", "requirement", "min_macos", "min_version", "vm_type", "how"},
        "rosetta_gap": {"gap", "symptom"},
        "base_image_level": {"family", "images", "amd64_level", "symptom"},
        "qemu_fact": {"fact", "value", "since", "before"},
    },
    # error signatures: the message's public source is enough (the corpus in tests/data/errors holds the dated,
    # explained real messages); their schema in depth is tests/explain/test_signatures.py
    "signatures": {"signature": {"class", "patterns", "happened", "causes"}},
    "rosetta": {"requirement": {"product", "vm_types"}},
    "cpu_models": {"generic_model": {"model_name", "qemu_model", "max_level"}, "raise": {"how"}},
    "libc": {"debian_glibc": {"codename", "glibc"}},
}
COMMON = {"id", "source", "source_date", "evidence"}
OPTIONAL = {"related", "tags", "affected_note", "date_kind", "setting", "min_macos"}


def _entries() -> list[tuple[str, str, dict]]:
    out = []
    for name in knowledge.names():
        for kind, rows in knowledge.load(name).items():
            if isinstance(rows, list):  # tables of entries; single settings tables are tested below
                out += [(name, kind, row) for row in rows]
    return out


ENTRIES = _entries()


def _ids(value: object) -> str:
    return value["id"] if isinstance(value, dict) and "id" in value else str(value)


def test_every_table_is_known_and_has_entries() -> None:
    assert set(knowledge.names()) >= set(REQUIRED)
    for name, kinds in REQUIRED.items():
        data = knowledge.load(name)
        lists = {kind for kind, rows in data.items() if isinstance(rows, list)}  # settings tables: tested below
        assert lists == set(kinds), f"{name}.toml has tables {sorted(lists)}, expected {sorted(kinds)}"
        assert all(data[kind] for kind in lists)


def test_at_least_forty_defects() -> None:
    assert len(knowledge.load("defects")["defect"]) >= 40


@pytest.mark.parametrize(("table", "kind", "entry"), ENTRIES, ids=_ids)
def test_entry_schema(table: str, kind: str, entry: dict) -> None:
    required = REQUIRED[table][kind] | (COMMON if table != "signatures" else {"id", "source"})
    assert required <= set(entry), f"{entry.get('id')}: missing {sorted(required - set(entry))}"
    assert set(entry) <= required | OPTIONAL, (
        f"{entry.get('id')}: unknown keys {sorted(set(entry) - required - OPTIONAL)}"
    )
    assert KEBAB.match(entry["id"]), entry["id"]
    if table != "signatures":
        assert isinstance(entry["evidence"], str) and entry["evidence"].strip()


@pytest.mark.parametrize(("table", "kind", "entry"), ENTRIES, ids=_ids)
def test_entry_has_a_public_source(table: str, kind: str, entry: dict) -> None:
    for url in [entry["source"], *entry.get("related", [])]:
        assert URL.match(url), f"{entry['id']}: {url!r} is not an https URL"
    if table == "signatures":
        return
    assert isinstance(entry["source_date"], datetime.date), f"{entry['id']}: source_date must be a TOML date"
    assert datetime.date(2015, 1, 1) <= entry["source_date"] <= datetime.date(2027, 12, 31)
    assert entry.get("date_kind", "published") in ("published", "retrieved")


def test_ids_are_unique_in_every_table() -> None:
    seen: dict[tuple[str, str], str] = {}
    for table, kind, entry in ENTRIES:
        key = (table, entry["id"])
        assert key not in seen, f"{table}: id {entry['id']} is used twice"
        seen[key] = kind


@pytest.mark.parametrize("defect", knowledge.load("defects")["defect"], ids=_ids)
def test_defect_values(defect: dict) -> None:
    assert defect["product"] in PRODUCTS, defect["product"]
    try:
        spec = SpecifierSet(defect["affected"])
    except InvalidSpecifier as err:
        pytest.fail(f"{defect['id']}: affected {defect['affected']!r} does not parse: {err}")
    if not defect["affected"]:
        assert defect.get("affected_note"), f"{defect['id']}: an empty range must say why (affected_note)"
    assert defect["emulator"] in ("rosetta", "qemu", "any", "")
    assert defect["fix_kind"] in ("upgrade", "downgrade", "setting", "workaround")
    assert isinstance(defect["platforms"], list) and all(p.startswith("linux/") for p in defect["platforms"])
    if defect["fix_version"] and defect["fix_kind"] == "upgrade" and defect["affected"]:
        # the release that fixes it is outside the affected range
        assert defect["fix_version"] not in spec, f"{defect['id']}: fixed release {defect['fix_version']} is affected"
    assert defect["fix"].strip() and defect["title"].strip() and defect["breaks"].strip()
    for requirement in defect["requires"]:
        known = requirement in ("host:apple-silicon", "rosetta:on", "rosetta:off") or re.fullmatch(
            r"engine-arch:(amd64|arm64)", requirement
        )
        if requirement.startswith("macos"):
            SpecifierSet(requirement.removeprefix("macos"))  # a version range over macOS releases
            known = True
        assert known or requirement.startswith(UNKNOWN_YET), f"{defect['id']}: unknown requirement {requirement}"
    assert bool(defect["requires"]) <= bool(defect["when"]), f"{defect['id']}: say the requirements in `when`"


def test_emulation_values() -> None:
    data = knowledge.load("emulation")
    assert all(r["emulator"] in ("qemu", "rosetta", "any") for r in data["runtime"])
    assert all(r["effect"] in ("fails", "crawls", "unsupported") for r in data["runtime"])
    assert all(r["amd64_level"] in (1, 2, 3, 4) for r in data["base_image_level"])
    for req in data["rosetta_requirement"]:
        for field in ("min_macos", "min_version"):
            if req[field]:
                SpecifierSet(f">={req[field]}")  # parses as a version
    default = next(f for f in data["qemu_fact"] if f["id"] == "qemu-x86-64-default-cpu-max")
    assert (default["value"], default["since"], default["before"]) == ("max", "7.2.0", "qemu64")


SETTINGS_TABLES = [
    (name, kind, table)
    for name in knowledge.names()
    for kind, table in knowledge.load(name).items()
    if isinstance(table, dict)
]


@pytest.mark.parametrize(("table", "kind", "entry"), SETTINGS_TABLES, ids=lambda v: v if isinstance(v, str) else "")
def test_settings_tables_name_their_public_sources(table: str, kind: str, entry: dict) -> None:
    """A single table of facts (deploy.toml's Lambda default, Cloud Run's platform...) has its source(s) too."""
    urls = [entry["source"]] if "source" in entry else entry.get("sources", [])
    assert urls, f"{table}.{kind}: no source"
    for url in urls:
        assert URL.match(url), f"{table}.{kind}: {url!r} is not an https URL"
