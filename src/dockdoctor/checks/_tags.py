"""The nearest tag that offers what a tag lacks (pure): the offers, their edits of the project, the finding's note.

The probe ranked and looked up the candidates (`RemoteImage.alternatives`, best first); here the first one or
two that run natively on every target (so that no target is broken by the edit) become fixes: one edit per line
of the project that names the reference (compose `image:` lines, Dockerfile `FROM` lines), the same fix
whichever finding carries it, so that the fix plan offers it once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockdoctor.checks._edits import origin_line, replace_line
from dockdoctor.checks._spec import Context
from dockdoctor.model import EditFile, Fix, Need, RemoteImage, Safety, TagCandidate, manual
from dockdoctor.platforms import MatchKind, Platform, PlatformError, best_match, parse
from dockdoctor.reference import ReferenceError
from dockdoctor.reference import parse as parse_ref

OFFERED = 2


def _runs_everywhere(candidate: TagCandidate, targets: tuple[Platform, ...]) -> bool:
    offered = []
    for text in candidate.platforms:
        try:
            offered.append(parse(text))
        except PlatformError:
            continue
    return bool(targets) and all(
        best_match(t, offered).kind in (MatchKind.EXACT, MatchKind.COMPATIBLE) for t in targets
    )


def offers(ctx: Context, image: RemoteImage) -> tuple[TagCandidate, ...]:
    """The best one or two candidates that run natively on every target, best first."""
    search = image.alternatives
    if search is None:
        return ()
    good = [c for c in search.candidates if not c.error and _runs_everywhere(c, ctx.targets)]
    return tuple(good[:OFFERED])


def note(ctx: Context, image: RemoteImage) -> str:
    """What the finding says about other tags: the ones that offer the targets, or why none is named."""
    search = image.alternatives
    if search is None:
        return ""
    found = offers(ctx, image)
    if found:
        named = " and ".join(f"{c.reference} ({', '.join(c.platforms)})" for c in found)
        return f"; {named} " + ("offers" if len(found) == 1 else "offer") + " every target"
    why = f" ({search.note})" if search.note else ""
    if not search.candidates:
        return f"; no other tag of the repository to suggest{why}"
    return f"; none of the {len(search.candidates)} nearest tags checked offers every target{why}"


def _line_pattern(reference: str) -> re.Pattern[str]:
    """The reference as a whole word of a line (not the start of a longer reference)."""
    return re.compile(rf"(?<![\w./:@-]){re.escape(reference)}(?![\w.:@/-])")


def _places(ctx: Context, reference: str) -> Iterator[tuple[str, int, str]]:
    """(file, line, text) of every project line that names `reference` literally."""
    project = ctx.facts.project
    if project is None:
        return
    if project.compose is not None:
        for service in project.compose.services:
            origin = next((o for o in service.origins if o.key == "image"), None)
            where = origin_line(origin) if origin is not None and origin.text else None
            if service.image == reference and where is not None and origin is not None:
                yield where[0], where[1], origin.text
    for dockerfile in project.dockerfiles:
        for stage in dockerfile.stages:
            if not stage.from_stage and stage.base == reference and stage.text:
                yield dockerfile.path, stage.line, stage.text


def _tail(reference: str) -> str | None:
    """`app:1.2-alpine` of `${REGISTRY}/team/app:1.2-alpine`: what a line names when a variable holds the rest."""
    try:
        ref = parse_ref(reference)
    except ReferenceError:
        return None
    return f"{ref.path.rsplit('/', 1)[-1]}:{ref.tag}" if ref.tag and not ref.digest else None


def _replaced(text: str, reference: str, candidate: TagCandidate) -> str | None:
    """The line with the reference (or its `name:tag` tail) replaced once, or None when it is not there once."""
    whole = _line_pattern(reference)
    if len(whole.findall(text)) == 1:
        return whole.sub(lambda _: candidate.reference, text)
    tail = _tail(reference)
    if tail is None:
        return None
    part = re.compile(rf"(?<=[/\s\"'=]){re.escape(tail)}(?![\w.:@/-])")
    new_tail = f"{tail.rsplit(':', 1)[0]}:{candidate.tag}"
    return part.sub(lambda _: new_tail, text) if len(part.findall(text)) == 1 else None


def edits(ctx: Context, image: RemoteImage, candidate: TagCandidate) -> tuple[EditFile, ...]:
    """One edit per line that names the image, the reference replaced by the candidate's; () if any line cannot be."""
    root = ctx.facts.project.root if ctx.facts.project else ""
    steps = []
    for path, line, text in dict.fromkeys(_places(ctx, image.reference)):
        new = _replaced(text, image.reference, candidate)
        if new is None:
            return ()  # the tag comes from a variable, or the line names it twice: no exact edit
        steps.append(replace_line(root, path, line, text, new))
    return tuple(steps)


def fixes(ctx: Context, image: RemoteImage) -> tuple[Fix, ...]:
    """The tag fixes: an edit of the project where it names the image, else the reference to use, in words."""
    out = []
    for candidate in offers(ctx, image):
        title = f"use {candidate.reference} (it offers {', '.join(candidate.platforms)}; test the new version)"
        steps = edits(ctx, image, candidate)
        if steps:
            out.append(Fix(title=title, steps=steps, needs=(Need.NETWORK,)))
        else:
            out.append(
                Fix(
                    title=title,
                    safety=Safety.DISPLAY_ONLY,
                    needs=(Need.NETWORK,),
                    steps=(manual(f"replace {image.reference} with {candidate.reference} where you name it"),),
                )
            )
    return tuple(out)
