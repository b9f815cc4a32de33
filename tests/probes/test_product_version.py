"""The product's own release from the engine's real answers (recorded /version of each flavour, served on a socket)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from support.recorded import engine_for


@pytest.mark.parametrize(
    ("key", "flavor", "product"),
    [
        ("docker-desktop-mac-arm64", "docker-desktop", "4.33.0"),  # Server: Docker Desktop 4.33.0 (160616)
        ("docker-desktop-mac-intel", "docker-desktop", "4.10.1"),
        ("podman-linux-amd64", "podman", "4.5.1"),  # the Podman Engine component
        ("orbstack-mac-arm64", "orbstack", None),  # OrbStack's /version is unbranded: no product version there
    ],
)
def test_product_version(tmp_path: Path, key: str, flavor: str, product: str | None) -> None:
    with engine_for(key) as engine:
        result = dockdoctor(
            "check", "--json", "--no-project", env=isolated_env(tmp_path, DOCKER_HOST=engine.base_url), timeout=60
        )
    facts = result.json()["facts"]["engine"]
    assert (facts["flavor"], facts["product_version"]) == (flavor, product)
