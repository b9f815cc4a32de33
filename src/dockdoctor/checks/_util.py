"""Small pure helpers the checks share: platform parsing that never raises, what the engine can run."""

from __future__ import annotations

from dockdoctor.model import Evidence, Facts
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
