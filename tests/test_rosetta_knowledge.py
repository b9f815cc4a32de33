"""knowledge/rosetta.toml: every requirement is well formed and names a public source."""

from __future__ import annotations

import re

from dockdoctor.knowledge import load

PRODUCTS = {"docker-desktop", "orbstack", "colima", "lima", "rancher-desktop", "podman", "any"}


def test_every_requirement_is_valid_and_sourced() -> None:
    rules = load("rosetta")["requirement"]
    assert rules
    for rule in rules:
        assert rule["product"] in PRODUCTS, rule
        assert "min_macos" not in rule or re.fullmatch(r"\d+\.\d+", rule["min_macos"]), rule
        assert rule["vm_types"] and all(isinstance(v, str) for v in rule["vm_types"]), rule
        assert re.match(r"https://\S+$", rule["source"]), rule
        assert rule["evidence"].strip(), rule
