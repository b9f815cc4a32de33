"""Which product releases the facts show: one small pure mapping (product, version, how it was known).

Product names are those of knowledge/defects.toml. Extend `installed_versions` when the facts learn more
(OrbStack and Rancher Desktop versions are not probed yet; the tonistiigi/binfmt image's release is not visible
from the host); every check that matches releases against the knowledge base reads it from here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from dockdoctor.knowledge import load
from dockdoctor.model import Facts, Flavor

if TYPE_CHECKING:  # packaging is imported where a version is compared: `inspect`'s checks only list releases
    from packaging.version import Version


class Installed(NamedTuple):
    """A product release seen in the facts, and the fact path it was read from."""

    product: str
    version: str  # as reported, e.g. "4.38.0", "v0.11.2-desktop.1", "20.10.24+dfsg1"
    how: str  # e.g. "engine.evidence[version.Platform.Name]"


_DESKTOP = re.compile(r"^Docker Desktop (\d+\.\d+(?:\.\d+)?)\b")
_LEADING = re.compile(r"^v?(\d+(?:\.\d+)*)")


def release(text: str) -> Version | None:
    """The public release of a reported version (`v0.11.2-desktop.1` -> 0.11.2, `1.6.20~ds1` -> 1.6.20)."""
    from packaging.version import InvalidVersion, Version

    text = text.strip()
    try:
        return Version(Version(text.removeprefix("v")).public)
    except InvalidVersion:
        pass
    match = _LEADING.match(text)
    return Version(match.group(1)) if match else None


def affects(specifier: str, version: str) -> bool:
    """Whether a PEP 440 range contains a reported version; an empty or broken range never matches."""
    parsed = release(version)
    if not specifier or parsed is None:
        return False
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(specifier).contains(parsed, prereleases=True)
    except InvalidSpecifier:
        return False


def installed_versions(facts: Facts) -> tuple[Installed, ...]:
    """Every (product, version, how known) the facts show, in a stable order."""
    found: list[Installed] = []
    engine = facts.engine
    components = dict(engine.components)
    if engine.flavor is Flavor.DOCKER_DESKTOP and engine.product_version:
        found.append(Installed("docker-desktop", engine.product_version, "engine.product_version"))
    elif engine.flavor is Flavor.DOCKER_DESKTOP:
        for item in engine.evidence:
            match = _DESKTOP.match(item.value) if item.field == "version.Platform.Name" else None
            if match:
                found.append(Installed("docker-desktop", match.group(1), "engine.evidence[version.Platform.Name]"))
                break
    if engine.flavor is Flavor.PODMAN and (components.get("Podman Engine") or engine.server_version):
        found.append(
            Installed(
                "podman",
                components.get("Podman Engine") or engine.server_version or "",
                "engine.components[Podman Engine]" if "Podman Engine" in components else "engine.server_version",
            )
        )
    elif engine.server_version:
        found.append(Installed("docker-engine", engine.server_version, "engine.server_version"))
    if components.get("containerd"):
        found.append(Installed("containerd", components["containerd"], "engine.components[containerd]"))
    for tool, path in ((facts.compose.v1, "compose.v1.version"), (facts.compose.v2, "compose.v2.version")):
        if tool is not None and tool.version:
            found.append(Installed("compose", tool.version, path))
    if facts.buildx.version:
        found.append(Installed("buildx", facts.buildx.version, "buildx.version"))
    # the amd64 emulator of this engine: only the handler that really runs linux/amd64 (or, on an amd64 engine,
    # the first QEMU handler with a version); every QEMU handler of one installation shares its release
    qemu = sorted(
        (h for h in facts.emulation.handlers if h.emulator == "qemu" and h.version),
        key=lambda h: h.platform != "linux/amd64",
    )
    if qemu:
        found.append(Installed("qemu", qemu[0].version, f"emulation.handlers[{qemu[0].name}].version"))
    for setting in facts.emulation.settings:
        if (
            setting.product in ("colima", "lima")
            and setting.version
            and not any(i.product == setting.product for i in found)
        ):
            found.append(Installed(setting.product, setting.version, f"emulation.settings[{setting.product}].version"))
    if facts.host.macos_version:
        found.append(Installed("macos", facts.host.macos_version, "host.macos_version"))
    return tuple(found)


def known_defects(product: str) -> tuple[dict[str, Any], ...]:
    """The knowledge base's defects of one product."""
    return tuple(d for d in load("defects")["defect"] if d["product"] == product)
