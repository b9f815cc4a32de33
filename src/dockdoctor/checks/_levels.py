"""x86-64 levels (pure): what an image's amd64 entries need, and the knowledge base's base-image levels.

`required_level()` reads an image's platform variants (`linux/amd64/v2`); `base_level()` matches a reference against
`knowledge/emulation.toml` `[[base_image_level]]` (DKD308, DKD508 and DKD541 read both).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from dockdoctor.checks._util import platform_or_none
from dockdoctor.knowledge import load
from dockdoctor.model import RemoteImage
from dockdoctor.reference import ReferenceError, parse


def names(ref: str) -> tuple[str, ...]:
    """The forms a knowledge pattern may be written against: familiar and full names, with and without tag."""
    try:
        parsed = parse(ref)
    except ReferenceError:
        return (ref,)
    forms = (parsed.familiar_name, parsed.name)
    return forms + tuple(f"{n}:{parsed.tag}" for n in forms if parsed.tag)


def matches(ref: str, patterns: list[str]) -> bool:
    """Whether an image reference matches one of an entry's fnmatch patterns."""
    forms = names(ref)
    return any(fnmatchcase(form, pattern) for pattern in patterns for form in forms)


def required_level(image: RemoteImage) -> int | None:
    """The lowest x86-64 level among the image's amd64 entries, when every one of them needs v2 or more."""
    levels = []
    for entry in image.platforms:
        platform = platform_or_none(entry.platform)
        if platform is not None and platform.architecture == "amd64":
            levels.append(int(platform.variant[1:]) if platform.variant.startswith("v") else 1)
    return min(levels) if levels and min(levels) > 1 else None


def base_level(ref: str) -> dict[str, Any] | None:
    """The knowledge base's base-image-level entry with the highest level that matches an image (DKD308, DKD541)."""
    found = [e for e in load("emulation")["base_image_level"] if matches(ref, e["images"])]
    return max(found, key=lambda e: e["amd64_level"]) if found else None
