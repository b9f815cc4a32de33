"""Other tags of a repository that offer what a tag lacks: the tags list (paginated), ranked, candidates looked up.

The distribution API's `GET /v2/<name>/tags/list?n=N` answers `{"name": ..., "tags": [...]}` and, when there is
more, a `Link: </v2/<name>/tags/list?n=N&last=T>; rel="next"` header (distribution spec, "Listing Tags"). Every
failure here is a note on the search, never an error of the image: the image's own lookup already succeeded.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dockdoctor import tagrank
from dockdoctor.model import RemoteImage, TagCandidate, TagSearch
from dockdoctor.platforms import MatchKind, Platform, PlatformError, best_match, format_platform
from dockdoctor.platforms import parse as parse_platform
from dockdoctor.probes._pool import Pool
from dockdoctor.reference import ImageRef, ReferenceError, parse

if TYPE_CHECKING:
    from dockdoctor.probes.registry._client import _Client

PAGE_SIZE = 1000  # tags asked per page (`n`)
MAX_TAGS = 10_000  # tags read per repository: past it the search says the list was cut
MAX_PAGES = 30  # pages followed (a Link that loops ends earlier: a page seen twice)
MAX_PAGE_BYTES = 4 << 20
MAX_CANDIDATES = 40  # manifest requests per image: one per candidate looked up (plus a config for single ones)
HUB_CANDIDATES = 4  # Docker Hub counts every manifest GET as a pull (anonymous limits are per IP and small)
HUB_DOMAINS = ("docker.io",)
WAVE = 8  # candidates looked up at once, best ranked first
WANTED = 2  # covering candidates to offer
_LINK_RE = re.compile(r'<([^>]*)>\s*;[^,]*?\brel="?next"?', re.IGNORECASE)


def with_tag(written: str, tag: str) -> str | None:
    """`127.0.0.1:5555/app:1.2-alpine` with tag `1.3-alpine`; None for a reference pinned by digest."""
    if "@" in written:
        return None
    slash = written.rfind("/")
    colon = written.rfind(":")
    return (written[:colon] if colon > slash else written) + ":" + tag


def covers(platforms: Sequence[str], targets: Sequence[Platform]) -> bool:
    """Whether the offered platforms run every target natively (exactly or compatibly)."""
    offered = []
    for text in platforms:
        try:
            offered.append(parse_platform(text))
        except PlatformError:
            continue
    return bool(targets) and all(
        best_match(t, offered).kind in (MatchKind.EXACT, MatchKind.COMPATIBLE) for t in targets
    )


def lacking(image: RemoteImage, targets: Sequence[Platform]) -> bool:
    """A tag reference that looked up fine but does not run natively on some target: worth a search."""
    return (
        image.error is None
        and not image.artifact_type
        and image.kind in ("index", "manifest", "schema1")
        and "@" not in image.reference
        and not covers([p.platform for p in image.platforms], targets)
    )


@dataclass(slots=True)
class _Listing:
    tags: list[str]
    note: str = ""
    complete: bool = True


def list_tags(client: _Client, ref: ImageRef) -> _Listing:
    """Every tag of ref's repository, up to MAX_TAGS; a registry without a list, or a bad one, is a note."""
    from dockdoctor.probes.registry._failure import RegistryFailure

    tags: list[str] = []
    seen: set[str] = set()
    pages: set[str] = set()
    suffix = f"tags/list?n={PAGE_SIZE}"
    where = f"{ref.registry_host}/{ref.path}"
    for _ in range(MAX_PAGES):
        if suffix in pages:
            return _Listing(
                tags,
                f"{where}: the tags list's pagination loops (a page was offered twice); "
                f"searched the {len(tags)} tags read",
                complete=False,
            )
        pages.add(suffix)
        try:
            resp = client._request(ref, "GET", suffix, accept="application/json", max_bytes=MAX_PAGE_BYTES)
        except RegistryFailure as failure:
            return _Listing(tags, f"no tags list: {failure.error.detail}", complete=False)
        if resp.status != 200:
            return _Listing(tags, _status_note(where, resp.status), complete=False)
        page = _page(resp.body)
        if isinstance(page, str):
            return _Listing(tags, f"{where}: the tags list {page}", complete=False)
        fresh = [t for t in page if t not in seen]
        if page and not fresh:
            return _Listing(
                tags,
                f"{where}: the tags list's pagination loops (a page repeats the tags before "
                f"it); searched the {len(tags)} tags read",
                complete=False,
            )
        for tag in fresh:
            if len(tags) >= MAX_TAGS:
                return _Listing(
                    tags, f"{where} lists more than {MAX_TAGS} tags: searched the first {MAX_TAGS}", complete=False
                )
            seen.add(tag)
            tags.append(tag)
        following = _next(resp.header("link"), ref)
        if following is None:
            return _Listing(tags)
        if following == "":
            return _Listing(
                tags,
                f"{where}: the tags list's next page is elsewhere (a Link outside this "
                f"repository); searched the {len(tags)} tags read",
                complete=False,
            )
        suffix = following
    return _Listing(
        tags,
        f"{where}: the tags list has more than {MAX_PAGES} pages: searched the {len(tags)} tags read",
        complete=False,
    )


def _status_note(where: str, status: int) -> str:
    if status == 404:
        return f"{where}: the registry offers no tags list (HTTP 404)"
    if status in (401, 403):
        return f"{where}: the registry does not let this client list tags (HTTP {status})"
    if status == 429:
        return f"{where}: rate limited while listing tags (HTTP 429)"
    return f"{where}: the tags list answered HTTP {status}"


def _page(body: bytes) -> list[str] | str:
    """The tags of one page, or what is wrong with it (a phrase)."""
    if body.count(b"{") + body.count(b"[") > 1000:
        return "is not a tags list (too many JSON objects)"
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "is not JSON"
    if not isinstance(data, dict):
        return "is not a JSON object"
    tags = data.get("tags")
    if tags is None:
        return []  # a repository without tags: `"tags": null`
    if not isinstance(tags, list):
        return "has no `tags` list"
    return [t for t in tags if isinstance(t, str) and tagrank.TAG_RE.fullmatch(t)]


def _next(link: str, ref: ImageRef) -> str | None:
    """The next page's `tags/list?...` suffix; None when there is none, "" when it points outside the repo."""
    match = _LINK_RE.search(link)
    if match is None:
        return None
    parts = urlsplit(match.group(1))
    if (
        parts.netloc and parts.netloc.lower() != ref.registry_host.lower()
    ) or parts.path != f"/v2/{ref.path}/tags/list":
        return ""
    return "tags/list" + (f"?{parts.query}" if parts.query else "")


def search(
    client: _Client, image: RemoteImage, targets: Sequence[Platform], pool: Pool, deadline: float | None
) -> TagSearch:
    """The search for image's repository: tags listed, ranked, candidates looked up in waves until two cover."""
    names = tuple(format_platform(t) for t in targets)
    try:
        ref = parse(image.reference)
    except ReferenceError:
        return TagSearch(targets=names, note="the reference cannot be parsed", complete=False)
    if tagrank.split_tag(ref.tag or "latest").version is None:
        return TagSearch(
            targets=names,
            note=f"the tag {ref.tag or 'latest'} carries no version number to search near",
            complete=False,
        )
    listing = _cached_listing(client, ref)
    if listing is None and client.options.offline:
        return TagSearch(targets=names, note="offline: no tags list asked for", complete=False)
    if listing is None:
        listing = list_tags(client, ref)
        if listing.complete and client.cache is not None:
            client.cache.put_tags(_repository(ref), listing.tags)
    order = tagrank.rank(ref.tag or "latest", listing.tags)
    checked: list[TagCandidate] = []
    note = listing.note
    found_in: int | None = None
    budget = HUB_CANDIDATES if ref.domain in HUB_DOMAINS else MAX_CANDIDATES
    for wave, start in enumerate(range(0, min(len(order), budget), WAVE)):
        if deadline is not None and time.monotonic() >= deadline:
            note = _join(note, f"the run's deadline (--timeout) ended the search after {len(checked)} candidates")
            break
        batch = order[start : min(start + WAVE, budget)]
        futures = [(tag, pool.submit(_lookup, client, image.reference, tag)) for tag in batch]
        for tag, future in futures:
            checked.append(_result(tag, image.reference, future, deadline))
        found = [c for c in checked if not c.error and covers(c.platforms, targets)]
        if found and found_in is None:
            found_in = wave
        if any("rate limited" in c.error for c in checked):
            note = _join(note, "the registry rate-limited the lookups: the search stopped")
            break
        if len(found) >= WANTED or (found_in is not None and wave > found_in):
            break
    else:
        if len(order) > budget and not any(covers(c.platforms, targets) for c in checked):
            why = (
                "Docker Hub counts each manifest request as a pull"
                if budget == HUB_CANDIDATES
                else "the budget per image"
            )
            note = _join(note, f"looked up the {budget} best ranked of {len(order)} tags ({why})")
    return TagSearch(
        targets=names, tags_listed=len(listing.tags), candidates=tuple(checked), note=note, complete=listing.complete
    )


def _repository(ref: ImageRef) -> str:
    return f"{ref.registry_host}/{ref.path}"


def _cached_listing(client: _Client, ref: ImageRef) -> _Listing | None:
    """A complete tags list from the cache: within the tag TTL (unless --refresh), or any age when offline."""
    if client.cache is None:
        return None
    found = client.cache.get_tags(_repository(ref))
    if found is None:
        return None
    tags, fetched_at = found
    opts = client.options
    fresh = 0 <= time.time() - fetched_at < opts.tag_ttl and not opts.refresh
    if not (opts.offline or fresh):
        return None
    return _Listing([t for t in tags if tagrank.TAG_RE.fullmatch(t)][:MAX_TAGS])


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


def _lookup(client: _Client, written: str, tag: str) -> RemoteImage:
    text = with_tag(written, tag)
    if text is None:
        return RemoteImage(reference=written, canonical="")
    return client.inspect(parse(text))


def _result(tag: str, written: str, future: Future[RemoteImage], deadline: float | None) -> TagCandidate:
    reference = with_tag(written, tag) or written
    try:
        found = future.result(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()) + 0.5)
    except FutureTimeout:
        return TagCandidate(tag=tag, reference=reference, error="no answer before the deadline (--timeout)")
    except (ReferenceError, ValueError) as err:
        return TagCandidate(tag=tag, reference=reference, error=str(err))
    if found.error is not None:
        return TagCandidate(tag=tag, reference=reference, error=found.error.detail)
    if found.artifact_type:
        return TagCandidate(tag=tag, reference=reference, digest=found.digest, error="an artifact, not an image")
    return TagCandidate(
        tag=tag,
        reference=reference,
        digest=found.digest,
        platforms=tuple(dict.fromkeys(p.platform for p in found.platforms)),
    )


def search_all(
    client: _Client, images: Sequence[RemoteImage], targets: Sequence[str], *, workers: int, deadline: float | None
) -> dict[str, TagSearch]:
    """canonical -> the search, for every image that lacks a target; targets that do not parse are skipped."""
    parsed = []
    for text in targets:
        try:
            parsed.append(parse_platform(text))
        except PlatformError:
            continue
    wanted = {i.canonical: i for i in images if parsed and lacking(i, parsed)}
    if not wanted:
        return {}
    searches, lookups = Pool(min(workers, len(wanted)), "registry-tags"), Pool(max(1, workers), "registry-candidates")
    try:
        futures = {c: searches.submit(search, client, image, parsed, lookups, deadline) for c, image in wanted.items()}
        out: dict[str, TagSearch] = {}
        for canonical, future in futures.items():
            try:
                out[canonical] = future.result(
                    timeout=None if deadline is None else max(0.0, deadline - time.monotonic()) + 1.0
                )
            except FutureTimeout:
                out[canonical] = TagSearch(note="no answer before the deadline (--timeout)", complete=False)
        return out
    finally:
        searches.shutdown()
        lookups.shutdown()
