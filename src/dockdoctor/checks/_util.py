"""Small pure helpers the checks share: platform parsing that never raises, what the engine can run."""

from __future__ import annotations

import re

from dockdoctor.knowledge import load
from dockdoctor.model import EngineSettings, Evidence, Facts, Flavor
from dockdoctor.platforms import Platform, PlatformError, can_run, parse


def platform_or_none(text: str | None) -> Platform | None:
    """A parsed platform, or None for a missing or malformed value."""
    if not text:
        return None
    try:
        return parse(text)
    except PlatformError:
        return None


def native(facts: Facts) -> Platform | None:
    """The engine's native platform (None when the engine did not answer)."""
    return platform_or_none(facts.engine.platform)


def runs_natively(facts: Facts, target: Platform) -> bool:
    host = native(facts)
    return host is not None and can_run(host, target)


def emulation_for(facts: Facts, target: Platform) -> str | None:
    """What lets the engine run `target` under emulation (`qemu (binfmt qemu-aarch64)`), or None."""
    for item in facts.emulation.emulated:
        offered = platform_or_none(item.platform)
        if offered is not None and (offered == target or can_run(offered, target)):
            return item.via
    return None


def ev(field: str, value: object) -> Evidence:
    """Evidence of a fact path and its value."""
    return Evidence(field=field, value=str(value))


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    """`14.5` -> (14, 5); None for a missing or non-numeric version."""
    match = re.match(r"\s*(\d+(?:\.\d+)*)", text or "")
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def macos_version(facts: Facts) -> tuple[int, ...] | None:
    """The Mac's macOS release (`sw_vers`), else from `host.os_release` ("macOS 14.5") of older facts."""
    if facts.host.os != "darwin":
        return None
    return version_tuple(facts.host.macos_version) or version_tuple(facts.host.os_release.removeprefix("macOS "))


def rosetta_blockers(facts: Facts, product: str, vm_type: str = "") -> tuple[list[str], list[str]]:
    """What keeps `product` from using Rosetta here, from knowledge/rosetta.toml: (hard blockers that only a
    macOS upgrade removes, steps the user can take such as switching the VM type), each with its source."""
    hard: list[str] = []
    steps: list[str] = []
    rules = [r for r in load("rosetta")["requirement"] if r["product"] in (product, "any")]
    mac = macos_version(facts)
    for rule in rules:
        need = version_tuple(rule.get("min_macos"))
        if mac is not None and need is not None and mac < need:
            text = (
                f"Rosetta for Linux needs macOS {rule['min_macos']} or later, this Mac runs "
                f"{'.'.join(map(str, mac))} ({rule['source']})"
            )
            if text not in hard:
                hard.append(text)
        if vm_type and vm_type not in rule["vm_types"]:
            text = (
                f"Rosetta needs the VM type {' or '.join(rule['vm_types'])}, {product} uses {vm_type} "
                f"({rule['source']})"
            )
            if text not in steps:
                steps.append(text)
    return hard[:1], steps[:1]


def current_profile(facts: Facts, product: str) -> str | None:
    """The Colima profile or Lima instance the CLI's engine is, from /info Name (`colima`, `colima-work`, `lima-x`)."""
    name = facts.engine.name or ""
    if product == "colima" and facts.engine.flavor is Flavor.COLIMA:
        return "default" if name == "colima" else name.removeprefix("colima-")
    if product == "lima" and facts.engine.flavor is Flavor.LIMA:
        return name.removeprefix("lima-")
    return None


def engine_settings(facts: Facts, product: str) -> EngineSettings | None:
    """The settings of the engine the CLI uses: its Colima profile or Lima instance (from /info Name), else the
    product's only (or running) entry."""
    mine = [s for s in facts.emulation.settings if s.product == product]
    profile = current_profile(facts, product)
    return next((s for s in mine if profile is not None and s.profile == profile), None) or next(
        (s for s in mine if s.status.lower() in ("", "running") or len(mine) == 1), None
    )


def short_source(url: str) -> str:
    """`https://github.com/docker/compose/issues/5953` -> `docker/compose#5953`; other URLs as they are."""
    parts = url.removeprefix("https://github.com/").split("/")
    if url.startswith("https://github.com/") and len(parts) >= 4 and parts[2] in ("issues", "pull"):
        return f"{parts[0]}/{parts[1]}#{parts[3].split('#')[0]}"
    return url
