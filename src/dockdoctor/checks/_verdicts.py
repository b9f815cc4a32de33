"""Image verdicts (pure): how each looked-up image fares on each target, computed once per diagnosis.

The checks read them through `Context.verdict()` (app builds the context with `Context.build`, which computes
every image on every target once, and the report's `images` are the same values); a check asking about a
target outside the context's (a compose service's pinned platform) gets it computed on the spot.
"""

from __future__ import annotations

from dataclasses import replace

from dockdoctor.checks._util import emulation_for, platform_or_none
from dockdoctor.model import Facts, ImageKind, ImagePlatform, ImageVerdict, LocalImage, RemoteImage, Verdict
from dockdoctor.platforms import MatchKind, Platform, best_match, format_platform
from dockdoctor.reference import ReferenceError
from dockdoctor.reference import parse as parse_ref


def _same_ref(a: str, b: str) -> bool:
    try:
        return parse_ref(a).canonical == parse_ref(b).canonical
    except ReferenceError:
        return a == b


def local_copy(facts: Facts, reference: str) -> LocalImage | None:
    """The local image tagged as `reference`, if the engine has one (the first, in the engine's order)."""
    by_canonical, by_text = _tag_index(facts.images.local)
    try:
        canonical = parse_ref(reference).canonical
    except ReferenceError:
        return by_text.get(reference)  # as _same_ref: a reference that does not parse is compared as text
    return by_canonical.get(canonical)


_Index = tuple[dict[str, LocalImage], dict[str, LocalImage]]
_last_index: list[tuple[tuple[LocalImage, ...], _Index]] = []  # the last images indexed, held so `is` is sound


def _tag_index(local: tuple[LocalImage, ...]) -> _Index:
    """The local images by each tag's canonical reference and by each tag's text, the first image of each: every
    image and every check asks, and comparing each reference with every tag grew with references x tags."""
    last = _last_index[-1] if _last_index else None
    if last is not None and last[0] is local:
        return last[1]
    by_canonical: dict[str, LocalImage] = {}
    by_text: dict[str, LocalImage] = {}
    for image in local:
        for tag in image.repo_tags:
            by_text.setdefault(tag, image)
            try:
                by_canonical.setdefault(parse_ref(tag).canonical, image)
            except ReferenceError:
                continue
    _last_index[:] = [(local, (by_canonical, by_text))]
    return by_canonical, by_text


def _digest_matches(local: LocalImage, remote: RemoteImage) -> bool | None:
    if not remote.digest or not local.repo_digests:
        return None
    return any(d.endswith("@" + remote.digest) for d in local.repo_digests)


def held_platforms(local: LocalImage) -> list[Platform]:
    """Every platform the local image holds: its manifests with the containerd image store, else its one."""
    return [p for p in map(platform_or_none, [m.platform for m in local.manifests] or [local.platform]) if p]


def local_platform_for(local: LocalImage, target: Platform) -> str:
    """The local copy's platform that serves `target`: with the containerd image store, a held manifest that
    matches it; otherwise the one a plain `docker run` uses."""
    match = best_match(target, held_platforms(local))
    if match.platform is not None and match.kind in (MatchKind.EXACT, MatchKind.COMPATIBLE):
        return format_platform(match.platform)
    return local.platform


LOCAL_ONLY_MISSES = ("not-found", "denied", "auth-required", "unreachable", "timeout")


def local_only(facts: Facts, image: RemoteImage) -> LocalImage | None:
    """The local copy of an image no registry knows (never pushed, or the network is down): it is what runs."""
    if image.error is None or image.error.kind not in LOCAL_ONLY_MISSES:
        return None
    return local_copy(facts, image.reference)


def judged(facts: Facts, image: RemoteImage) -> RemoteImage:
    """The image as the checks judge it: a failed lookup of an image the engine holds becomes its local platforms."""
    local = local_only(facts, image)
    if local is None:
        return image
    held = [format_platform(p) for p in held_platforms(local)]
    return RemoteImage(
        reference=image.reference,
        canonical=image.canonical,
        kind=ImageKind.LOCAL,
        platforms=tuple(ImagePlatform(platform=p, digest=local.id, media_type="local") for p in held),
    )


def verdict(facts: Facts, image: RemoteImage, target: Platform) -> ImageVerdict:
    """How `image` fares on `target`: which platform would run, natively, compatibly, emulated or not at all."""
    image = judged(facts, image)
    local = local_copy(facts, image.reference)
    base = ImageVerdict(
        reference=image.reference,
        target=format_platform(target),
        verdict=Verdict.UNKNOWN,
        offered=tuple(p.platform for p in image.platforms),
        local_platform=local_platform_for(local, target) if local else None,
        local_platforms=tuple(m.platform for m in local.manifests) if local else (),
        local_absent=tuple(m.platform for m in local.absent) if local else (),
        local_digest_matches=_digest_matches(local, image) if local else None,
    )
    if image.error is not None:
        return replace(base, error=image.error.detail)
    offered = [p for p in (platform_or_none(x.platform) for x in image.platforms) if p is not None]
    emulated = [p for p in (platform_or_none(e.platform) for e in facts.emulation.emulated) if p is not None]
    match = best_match(target, offered, emulated=emulated)
    via = emulation_for(facts, match.platform) if match.kind is MatchKind.EMULATED and match.platform else None
    return replace(
        base,
        verdict=Verdict(match.kind.value),
        platform=format_platform(match.platform) if match.platform else None,
        via=via,
    )


def verdicts(facts: Facts, targets: tuple[Platform, ...]) -> tuple[ImageVerdict, ...]:
    """Every looked-up image on every target."""
    return tuple(verdict(facts, image, t) for image in facts.images.remote if not image.artifact_type for t in targets)
