"""Pure ranking of a repository's tags as replacements for one tag: same suffix family and major first, nearest.

`1.2-alpine` splits into prefix "", version 1.2 and suffix `-alpine` (family `-alpine`: version digits inside
the suffix, as in `-alpine3.19`, do not make another family). The ranking, best first:

  tier 0: same prefix, same family, same major version;  tier 1: same major, another family;
  tier 2: same family, another major;  tier 3: another family and major;  tier 4: the family's tag with no
  version (`alpine` for `-alpine`, `latest` for the plain line: a vendor's moving line).

Within a tier, the nearest version (the later the first differing release component, the nearer; then the
smaller the difference there), then the newer one. A tag without a version (`latest`, `amd64-only`) has nothing
to be near: it gets no candidates. The tag itself, other families' unversioned tags, signature/attestation tags
(`.sig`, `.att`, `.sbom`, `sha256-...`) and tags outside the distribution grammar are never candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # packaging is imported where a tag has a version: most references' tags have none
    from packaging.version import Version

TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)  # the distribution grammar's tag
_SPLIT_RE = re.compile(
    r"^(?P<prefix>(?:[A-Za-z][A-Za-z0-9_]*[-_])*?)v?(?P<version>\d+(?:\.\d+){0,5})"
    r"(?P<suffix>(?:[-_+].*)?)$",
    re.ASCII,
)
_VERSION_IN_WORD_RE = re.compile(r"(?<=[A-Za-z])\d+(?:\.\d+)*", re.ASCII)  # alpine3.19 -> alpine
_SKIP_RE = re.compile(r"^sha256-|\.(?:sig|att|sbom)$", re.ASCII)


@dataclass(frozen=True, slots=True)
class TagParts:
    """A tag cut into what the ranking compares."""

    tag: str
    prefix: str  # before the version: "" for most tags, "jdk-" for `jdk-17.0.2`
    version: Version | None  # None for `latest`, `alpine`, `bookworm`
    family: str  # the suffix with the version numbers inside its words removed: `-alpine`, `-slim-bookworm`

    @property
    def major(self) -> int | None:
        return self.version.release[0] if self.version is not None else None


def split_tag(tag: str) -> TagParts:
    """prefix, version and suffix family of a tag; a tag with no leading version has only a family."""
    match = _SPLIT_RE.match(tag)
    if match is not None:
        from packaging.version import InvalidVersion, Version

        try:
            version = Version(match.group("version"))
        except InvalidVersion:  # pragma: no cover - the pattern admits only valid release numbers
            version = None
        if version is not None:
            return TagParts(tag, match.group("prefix"), version, family(match.group("suffix")))
    return TagParts(tag, "", None, "" if tag == "latest" else family("-" + tag))


def family(suffix: str) -> str:
    """`-alpine3.19` -> `-alpine`; `-slim-bookworm` stays; "" stays (the plain line)."""
    return _VERSION_IN_WORD_RE.sub("", suffix.lower())


def candidate(tag: str) -> bool:
    """Whether a listed tag may be offered at all (valid, not a signature or attestation tag)."""
    return TAG_RE.fullmatch(tag) is not None and _SKIP_RE.search(tag) is None


def _distance(a: Version, b: Version) -> tuple[int, int]:
    """(how early the release numbers differ, negated: nearer is smaller; the difference there)."""
    left, right = list(a.release), list(b.release)
    width = max(len(left), len(right))
    left += [0] * (width - len(left))
    right += [0] * (width - len(right))
    for index, (x, y) in enumerate(zip(left, right, strict=True)):
        if x != y:
            return -index, abs(x - y)
    return -width, 0


def rank_key(original: TagParts, other: TagParts) -> tuple[int, int, int, bool, int]:
    """The sort key of `other` as a replacement for `original` (smaller is better; ties keep the newer first)."""
    same_family = other.prefix == original.prefix and other.family == original.family
    if other.version is None or original.version is None:
        return (4, 0, 0, False, 0)
    same_major = other.major == original.major
    tier = 0 if same_family and same_major else 1 if same_major else 2 if same_family else 3
    index, delta = _distance(original.version, other.version)
    return (tier, index, delta, not other.version > original.version, -len(other.version.release))


def rank(tag: str, tags: Iterable[str], *, limit: int | None = None) -> tuple[str, ...]:
    """The listed tags that could replace `tag`, best first (at most `limit`)."""
    original = split_tag(tag)
    if original.version is None:
        return ()
    seen = {tag}
    parts = []
    for other in tags:
        if other in seen or not candidate(other):
            continue
        seen.add(other)
        split = split_tag(other)
        if split.version is not None or (split.family == original.family and not original.prefix):
            parts.append(split)
    parts.sort(key=lambda p: p.tag)
    from packaging.version import Version

    parts.sort(key=lambda p: p.version or Version("0"), reverse=True)  # ties: the newer, then by name
    parts.sort(key=lambda p: rank_key(original, p))
    chosen = parts if limit is None else parts[:limit]
    return tuple(p.tag for p in chosen)
