"""The registry client of one run: transport, token auth, the disk cache and the manifest walk (the probe's
entry points are in the package: inspect_remote, inspect_deep)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from dockdoctor.probes.registry import (
    MAX_DOCUMENTS,
    MAX_INDEX_DEPTH,
    PROBE,
    RegistryOptions,
    _subject,
    plain_http,
)
from dockdoctor.probes.registry import _manifest as mf
from dockdoctor.probes.registry._cache import Cache, TagEntry, now
from dockdoctor.probes.registry._failure import Kind, RegistryFailure
from dockdoctor.reference import ImageRef

if TYPE_CHECKING:
    # The model: imported where results are built (_found, _failed, _describe*), after a cold lookup's requests left.
    from dockdoctor.model import Attestation, ImageKind, ImagePlatform, RemoteImage

    # HTTP: imported by the first request (_Client.transport, _Client.auth), never by the cache's answers.
    from dockdoctor.probes.registry._auth import Authenticator, Challenge, Credentials
    from dockdoctor.probes.registry._http import Response, Stream, Transport


@dataclass(frozen=True, slots=True)
class _Doc:
    """A manifest-like document: its bytes, media type, digest, and whether it came from the disk cache."""

    body: bytes
    media_type: str
    digest: str
    from_cache: bool


@dataclass(slots=True)
class _Budget:
    """What one reference may still cost: documents followed and index entries read (a fan-out stops here)."""

    documents: int = MAX_DOCUMENTS
    entries: int = mf.MAX_INDEX_ENTRIES

    def document(self) -> None:
        self.documents -= 1
        if self.documents < 0:
            raise mf.DocumentError(
                Kind.LIMIT,
                f"more than {MAX_DOCUMENTS} manifests and configs for one reference; dockdoctor follows no more",
            )


@dataclass(frozen=True, slots=True)
class _Described:
    kind: ImageKind
    media_type: str
    platforms: tuple[ImagePlatform, ...] = ()
    attestations: tuple[Attestation, ...] = ()
    artifact_type: str = ""


def _registry_message(body: bytes) -> str:
    """`MANIFEST_UNKNOWN: manifest unknown` from an OCI error body, or ""."""
    import json

    try:
        data = json.loads(body[:65536])
        errors = data.get("errors") if isinstance(data, dict) else None
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        return ": ".join(str(x) for x in (first.get("code"), first.get("message")) if x)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return ""


class _Writer:
    """The run's cache writes, in one daemon thread, so no lookup waits for the disk between its requests.

    A lookup's next request (the config after the manifest) leaves as soon as the answer is parsed; the
    documents it fetched are in the client's memory for the rest of the run, and on disk once drain() returns.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., None], tuple[object, ...]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0

    def put(self, fn: Callable[..., None], *args: object) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="registry-cache", daemon=True)
                self._thread.start()
        self._queue.put((fn, args))

    def drain(self, deadline: float | None) -> None:
        """Wait until every queued write is done, or until the deadline; then let the thread end once the
        queue is empty (a process runs many clients: the tests, a fleet)."""
        self._idle.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)

    def _work(self) -> None:
        from dockdoctor.probes._run import signals_to_the_main_thread

        signals_to_the_main_thread()
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except OSError:
                pass  # a read-only or full cache must not fail the diagnosis (Cache says the same)
            finally:
                with self._lock:
                    self._pending -= 1
                    if not self._pending:
                        self._idle.set()


def _found(ref: ImageRef, doc: _Doc, described: _Described) -> RemoteImage:
    """A lookup's result (the model is imported here, by the first lookup to finish)."""
    from dockdoctor.model import RemoteImage

    return RemoteImage(
        reference=str(ref),
        canonical=ref.canonical,
        digest=doc.digest,
        kind=described.kind,
        media_type=described.media_type,
        platforms=described.platforms,
        attestations=described.attestations,
        artifact_type=described.artifact_type,
        from_cache=doc.from_cache,
    )


def _failed(ref: ImageRef, err: RegistryFailure | mf.DocumentError) -> RemoteImage:
    """A lookup that ended in a failure: the reference with its error."""
    from dockdoctor.model import ProbeError, RemoteImage

    if isinstance(err, RegistryFailure):
        error = err.error
    else:
        error = ProbeError(probe=PROBE, kind=err.kind, detail=f"{_subject(ref)}: {err.reason}")
    return RemoteImage(reference=str(ref), canonical=ref.canonical, error=error)


def _essence(challenge: Challenge) -> tuple[str, str, str]:
    """What identifies a host's challenge across requests (not the scope or error of one answer)."""
    return challenge.scheme, challenge.params.get("realm", ""), challenge.params.get("service", "")


class _Client:
    """One run's registry client: transport, authenticator and disk cache.

    Requests to a host go out at once, with no ping or first-request gate (as containerd's resolver does): a
    401 teaches the authenticator the host's challenge, and requests started after it carry the answer up
    front. A gate would cost every open registry a round trip and save an authenticating one nothing but
    the 401s of the first wave. The challenge (scheme, realm, service; never a token) is remembered in the
    cache, so later runs answer it up front from their first request.
    """

    def __init__(self, options: RegistryOptions) -> None:
        self.options = options
        self.cache = Cache(Path(options.cache_dir)) if options.cache_dir is not None else None
        self._lock = threading.Lock()
        self._inflight: dict[str, Future[_Doc]] = {}  # digest -> the one fetch under way
        self._docs: dict[str, tuple[bytes, str]] = {}  # digest -> (body, media type) fetched in this run
        self._writer = _Writer()
        self._disk_challenges: dict[str, Challenge | None] = {}  # host -> the challenge in the cache (this run)
        # Built by the first request (the properties below): a run answered from the cache imports no HTTP code.
        self._building = threading.Lock()
        self._transport: Transport | None = None
        self._auth: Authenticator | None = None
        self._closed = False  # close() ran: a Transport built later (a lookup past the deadline) starts closed
        self._entries: dict[str, TagEntry] = {}  # canonical -> its tag entry, read by prepare() (taken once)

    def prepare(self, refs: Sequence[ImageRef]) -> None:
        """Before the lookups start: read their tag entries, and build the HTTP side now if one of them needs it.

        Left to the first lookup that needs it, the import of http.client, ssl and email runs while the other
        lookups read the cache, and that costs more than the import: bench/inspect_cpu.py with 4 uncached
        references among 45 took 13 ms more CPU than building it here. A run answered from the cache builds
        nothing. Only a hint: a lookup that needs the network after all builds it then.
        """
        opts, cache = self.options, self.cache
        if opts.offline:
            return
        if cache is None:
            _ = self.auth  # no cache: every lookup asks the registry
            return
        network = False
        for ref in refs:
            answered, entry = cache.answers(ref, refresh=opts.refresh, ttl=opts.tag_ttl)
            network = network or not answered
            if entry is not None:
                self._entries[ref.canonical] = entry
        if network:
            _ = self.auth  # built now, with the transport under it

    @property
    def transport(self) -> Transport:
        """The run's one Transport, built when a lookup first needs the network (many may ask at once)."""
        built = self._transport
        if built is None:
            with self._building:
                if self._transport is None:
                    from dockdoctor.probes.registry._http import Transport

                    self._transport = Transport(
                        connect_timeout=self.options.timeout[0],
                        read_timeout=self.options.timeout[1],
                        per_host=max(1, self.options.per_registry),
                        observer=self.options.observer,
                        deadline=self.options.deadline,
                    )
                    if self._closed:
                        self._transport.close()  # as close() would have closed it, had it been built then
                built = self._transport
        return built

    @property
    def auth(self) -> Authenticator:
        """The run's one Authenticator (over the Transport), built as the Transport is."""
        built = self._auth
        if built is None:
            transport = self.transport  # first: it takes the same lock
            with self._building:
                if self._auth is None:
                    import os

                    from dockdoctor.probes.registry._auth import Authenticator, CredentialStore

                    options = self.options
                    config_dir = options.docker_config_dir or os.path.join(os.path.expanduser("~"), ".docker")
                    store = CredentialStore(config_dir, options.docker_auth_config, deadline=options.deadline)
                    self._auth = Authenticator(transport, store)
                built = self._auth
        return built

    def close(self) -> None:
        """End the run: connections closed, the cache writes finished (never past the run's deadline)."""
        with self._building:
            self._closed = True
            transport = self._transport  # none when every answer came from the cache
        if transport is not None:
            transport.close()
        self._writer.drain(self.options.deadline)

    def _keep(self, digest: str, body: bytes, media_type: str) -> None:
        """A fetched document: in memory for this run at once, in the disk cache through the writer."""
        with self._lock:
            self._docs[digest] = (body, media_type)
        if self.cache is not None:
            self._writer.put(self.cache.put_document, digest, body, media_type)

    # public entry ---------------------------------------------------------------------------------
    def inspect(self, ref: ImageRef) -> RemoteImage:
        try:
            doc = self._top(ref)
            described = self._describe(ref, doc, depth=0, budget=_Budget())
        except (RegistryFailure, mf.DocumentError) as err:
            return _failed(ref, err)
        return _found(ref, doc, described)

    # resolution -----------------------------------------------------------------------------------
    def _top(self, ref: ImageRef) -> _Doc:
        if ref.digest:
            return self._document(
                ref, mf.check_digest(ref.digest, "the reference's digest"), "manifests", mf.MAX_MANIFEST_BYTES
            )
        entry = self._entries.pop(ref.canonical, None)  # read by prepare(), else here
        if entry is None and self.cache is not None:
            entry = self.cache.get_tag(ref.canonical)
        opts = self.options
        if entry is not None and (opts.offline or (not opts.refresh and entry.fresh(opts.tag_ttl, now()))):
            cached = self._cached(entry.body_digest, entry.digest)
            if cached is not None:
                return cached
            if not opts.offline and entry.body_digest == entry.digest:
                return self._document(ref, entry.digest, "manifests", mf.MAX_MANIFEST_BYTES)  # evicted: 1 GET
        if opts.offline:
            raise self._not_cached(ref)
        if entry is not None:
            revalidated = self._revalidate(ref, entry)
            if revalidated is not None:
                return revalidated
        return self._get_by_tag(ref)

    def _not_cached(self, ref: ImageRef) -> Exception:
        return RegistryFailure(
            Kind.UNREACHABLE,
            f"{_subject(ref)}: not in cache (offline mode makes no network "
            "requests; run once without --offline to fill the cache)",
        )

    def _cached(self, body_digest: str, digest: str) -> _Doc | None:
        with self._lock:
            kept = self._docs.get(body_digest)
        if kept is not None:  # fetched earlier in this run: the same bytes, verified then
            return _Doc(kept[0], kept[1], digest, False)
        if self.cache is None:
            return None
        hit = self.cache.get_document(body_digest)
        return _Doc(hit[0], hit[1], digest, True) if hit is not None else None

    def _revalidate(self, ref: ImageRef, entry: TagEntry) -> _Doc | None:
        """TTL expired: one HEAD with the same Accept; an unchanged digest keeps the cached document."""
        resp = self._request(ref, "HEAD", f"manifests/{ref.tag}", accept=mf.ACCEPT)
        if resp.status in (405, 501):
            return None  # HEAD not supported: GET by tag
        self._check(ref, resp)
        digest = resp.header("docker-content-digest").strip()
        if not digest:
            return None  # older registries omit it on HEAD
        mf.check_digest(digest, "the Docker-Content-Digest header")
        if digest == entry.digest:
            cached = self._cached(entry.body_digest, entry.digest)
            if cached is not None:
                self._remember(ref, replace(entry, fetched_at=now()))
                return cached
        doc = self._document(ref, digest, "manifests", mf.MAX_MANIFEST_BYTES)
        self._remember(ref, TagEntry(digest, digest, doc.media_type, now()))
        return replace(doc, from_cache=False)

    def _get_by_tag(self, ref: ImageRef) -> _Doc:
        resp = self._request(ref, "GET", f"manifests/{ref.tag}", accept=mf.ACCEPT, max_bytes=mf.MAX_MANIFEST_BYTES)
        self._check(ref, resp)
        media_type = mf.strip_params(resp.header("content-type"))
        body_digest = mf.sha256_digest(resp.body)
        digest = body_digest
        header = resp.header("docker-content-digest").strip()
        if header:
            mf.check_digest(header, "the Docker-Content-Digest header")
        if header and header != body_digest and mf.classify(media_type, resp.body).media_type == mf.SCHEMA1_SIGNED:
            digest = header  # signed schema 1: the digest is over the JWS payload (ggcr fetcher.go)
        self._keep(body_digest, resp.body, media_type)
        self._remember(ref, TagEntry(digest, body_digest, media_type, now()))
        return _Doc(resp.body, media_type, digest, False)

    def _remember(self, ref: ImageRef, entry: TagEntry) -> None:
        if self.cache is not None:
            self._writer.put(self.cache.put_tag, ref.canonical, entry)

    def _document(self, ref: ImageRef, digest: str, kind: str, max_bytes: int) -> _Doc:
        """Content by digest: from the cache, else one GET however many lookups need it at once."""
        mf.check_digest(digest, "digest")  # already checked where it was read: the door checks again
        cached = self._cached(digest, digest)
        if cached is not None:
            return cached
        if self.options.offline:
            raise self._not_cached(ref)
        with self._lock:
            kept = self._docs.get(digest)  # fetched by another lookup since the check above
            pending = self._inflight.get(digest)
            if pending is None and kept is None:
                mine: Future[_Doc] = Future()
                self._inflight[digest] = mine
        if kept is not None:
            return _Doc(kept[0], kept[1], digest, False)
        if pending is not None:
            return self._pending(ref, pending)
        try:
            doc = self._fetch_document(ref, digest, kind, max_bytes)
        except BaseException as err:
            mine.set_exception(err)
            raise
        finally:
            with self._lock:
                self._inflight.pop(digest, None)
        mine.set_result(doc)
        return doc

    def _pending(self, ref: ImageRef, pending: Future[_Doc]) -> _Doc:
        """Another lookup's fetch of the same digest: its result, waited for no longer than the deadline."""
        deadline = self.options.deadline
        try:
            return pending.result(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise RegistryFailure(Kind.TIMEOUT, f"{_subject(ref)}: no answer before the deadline (--timeout)") from None

    def _fetch_document(self, ref: ImageRef, digest: str, kind: str, max_bytes: int) -> _Doc:
        accept = mf.ACCEPT if kind == "manifests" else ""
        resp = self._request(ref, "GET", f"{kind}/{digest}", accept=accept, max_bytes=max_bytes)
        self._check(ref, resp)
        mf.verify_digest(resp.body, digest)
        media_type = mf.strip_params(resp.header("content-type"))
        self._keep(digest, resp.body, media_type)
        return _Doc(resp.body, media_type, digest, False)

    # interpretation -------------------------------------------------------------------------------
    def _describe(self, ref: ImageRef, doc: _Doc, *, depth: int, budget: _Budget) -> _Described:
        classified = mf.classify(doc.media_type, doc.body)
        if classified.kind == "index":
            return self._describe_index(ref, classified, depth, budget)
        if classified.kind == "manifest":
            return self._describe_image(ref, classified, doc.digest, budget)
        if classified.kind == "schema1":
            from dockdoctor.model import ImageKind, ImagePlatform

            plat = mf.parse_schema1(classified.doc)
            platform = ImagePlatform(platform=plat, digest=doc.digest, media_type=classified.media_type)
            return _Described(ImageKind.SCHEMA1, classified.media_type, platforms=(platform,))
        raise mf.DocumentError(Kind.PROTOCOL, f"unsupported manifest media type {classified.media_type or '(none)'!r}")

    def _describe_index(self, ref: ImageRef, classified: mf.Classified, depth: int, budget: _Budget) -> _Described:
        contents = mf.parse_index(classified.doc, max_entries=budget.entries)
        budget.entries -= len(classified.doc["manifests"])  # type: ignore[arg-type]  # parse_index checked it
        platforms, attestations = list(contents.platforms), list(contents.attestations)
        if contents.children and depth >= MAX_INDEX_DEPTH:
            raise mf.DocumentError(
                Kind.LIMIT, f"indexes nested more than {MAX_INDEX_DEPTH} deep; dockdoctor follows no deeper"
            )
        for child in contents.children:
            budget.document()
            inner = self._describe(
                ref, self._document(ref, child, "manifests", mf.MAX_MANIFEST_BYTES), depth=depth + 1, budget=budget
            )
            platforms += inner.platforms
            attestations += inner.attestations
        from dockdoctor.model import ImageKind

        return _Described(ImageKind.INDEX, classified.media_type, tuple(platforms), tuple(attestations))

    def _describe_image(self, ref: ImageRef, classified: mf.Classified, digest: str, budget: _Budget) -> _Described:
        manifest = mf.parse_image_manifest(classified.doc)
        if manifest.is_artifact:
            from dockdoctor.model import ImageKind

            return _Described(
                ImageKind.ARTIFACT,
                classified.media_type,
                artifact_type=manifest.artifact_type or manifest.config_media_type,
            )
        budget.document()
        config = self._document(ref, manifest.config_digest, "blobs", mf.MAX_CONFIG_BYTES)
        plat, os_version = mf.parse_config(config.body)
        from dockdoctor.model import ImageKind, ImagePlatform

        platform = ImagePlatform(platform=plat, digest=digest, media_type=classified.media_type, os_version=os_version)
        return _Described(ImageKind.MANIFEST, classified.media_type, platforms=(platform,))

    # HTTP with authentication ---------------------------------------------------------------------
    def _url(self, ref: ImageRef, suffix: str) -> str:
        scheme = "http" if plain_http(ref, self.options.insecure_registries) else "https"
        return f"{scheme}://{ref.registry_host}/v2/{ref.path}/{suffix}"

    def _remembered(self, ref: ImageRef) -> Challenge | None:
        """The challenge an earlier run met at the host (read once per run), to answer before any 401.

        A remembered bearer realm only ever gets anonymous token requests: credentials go to a realm that a
        401 of this run named, never to one read from a file.
        """
        from dockdoctor.probes.registry._auth import Challenge

        host = ref.registry_host
        with self._lock:
            if host not in self._disk_challenges:
                found = self.cache.get_challenge(host) if self.cache is not None else None
                self._disk_challenges[host] = Challenge(found[0], found[1]) if found else None
            challenge = self._disk_challenges[host]
        if (
            challenge is not None
            and challenge.scheme == "bearer"
            and self.auth.credentials.lookup(ref.domain, ref.path)[0] is not None
        ):
            return None
        return challenge

    def _store_challenge(self, host: str, challenge: Challenge) -> None:
        """Keep a challenge a 401 named, once per run and only when it differs from the stored one."""
        if self.cache is None:
            return
        with self._lock:
            stored = self._disk_challenges.get(host)
            if stored is not None and _essence(stored) == _essence(challenge):
                return
            self._disk_challenges[host] = challenge
        self.cache.put_challenge(host, challenge.scheme, dict(challenge.params))

    def _drop_challenge(self, host: str, challenge: Challenge) -> None:
        with self._lock:
            if self._disk_challenges.get(host) == challenge:
                self._disk_challenges[host] = None
        if self.cache is not None:
            self.cache.forget_challenge(host, challenge.scheme, dict(challenge.params))

    @overload
    def _request(
        self,
        ref: ImageRef,
        method: str,
        suffix: str,
        *,
        accept: str,
        max_bytes: int = ...,
        stream: Literal[False] = ...,
    ) -> Response: ...

    @overload
    def _request(
        self, ref: ImageRef, method: str, suffix: str, *, accept: str, max_bytes: int = ..., stream: Literal[True]
    ) -> Response | Stream: ...

    def _request(
        self, ref: ImageRef, method: str, suffix: str, *, accept: str, max_bytes: int = 1 << 20, stream: bool = False
    ) -> Response | Stream:
        """One request with the registry's auth answered; `stream`: a 200 answer comes back as an open Stream."""
        from dockdoctor.probes.registry._auth import parse_www_authenticate, pick_challenge

        url, subject, host = self._url(ref, suffix), _subject(ref), ref.registry_host
        headers = {"Accept": accept} if accept else {}
        creds: Credentials | None = None
        known = self.auth.challenge(host)
        remembered = None if known is not None else self._remembered(ref)
        used = known or remembered
        if used is not None:  # answer it up front: no 401 round trip
            try:
                answer = self.auth.answer(host, ref.domain, ref.path, used, subject=subject, met=known is not None)
            except RegistryFailure as failure:
                if remembered is None or failure.error.kind in ("auth-failed", "auth-required"):
                    raise
                # a stale remembered challenge (its token server is gone): ask the registry afresh
                self._drop_challenge(host, remembered)
                answer, used = None, None
            if answer is not None:
                headers["Authorization"], creds = answer
        send = self.transport.open if stream else self.transport.request  # open: a 200 comes back as a Stream
        resp: Response | Stream = send(method, url, subject=subject, headers=headers, max_bytes=max_bytes)
        if resp.status != 401:
            return resp
        challenge = pick_challenge(parse_www_authenticate(resp.header("www-authenticate")))
        if challenge is None:
            raise self._unauthorized(ref, creds, "the registry answered 401 without a WWW-Authenticate challenge")
        sent = "Authorization" in headers
        if sent and used is not None and challenge.scheme == "basic" and _essence(used) == _essence(challenge):
            raise self._unauthorized(ref, creds, _registry_message(resp.body))
        self._store_challenge(host, challenge)
        # first 401, a changed challenge, or a bearer token the registry no longer accepts: answer it once
        answer = self.auth.answer(host, ref.domain, ref.path, challenge, subject=subject, fresh=sent)
        if answer is None:
            raise self._unauthorized(ref, None, "")
        headers["Authorization"], creds = answer
        resp = send(method, url, subject=subject, headers=headers, max_bytes=max_bytes)
        if resp.status != 401:
            return resp
        raise self._unauthorized(ref, creds, _registry_message(resp.body))

    def _unauthorized(self, ref: ImageRef, creds: Credentials | None, why: str) -> Exception:
        subject, host = _subject(ref), ref.domain
        if creds is not None:
            return RegistryFailure(
                Kind.AUTH_FAILED,
                f"{subject}: credentials rejected (from {creds.source}); run `docker login {host}` again",
            )
        note = self.auth.note(ref.domain, ref.path)
        return RegistryFailure(
            Kind.AUTH_REQUIRED,
            f"{subject}: authentication required (not found, or private: run "
            f"`docker login {host}`)" + (f"; {why}" if why else "") + (f"; {note}" if note else ""),
        )

    def _check(self, ref: ImageRef, resp: Response | Stream) -> None:
        """Turn a non-200 answer into a RegistryFailure with a message a person can act on."""
        from dockdoctor.probes.registry._http import ratelimit_note, retry_after

        if resp.status == 200:
            return
        subject, said = _subject(ref), _registry_message(resp.body)
        if resp.status == 404:
            raise RegistryFailure(
                Kind.NOT_FOUND,
                f"{subject}: not found (the repository or tag does not exist; a private repository also answers 401)",
            )
        if resp.status == 403:
            raise RegistryFailure(
                Kind.DENIED,
                f"{subject}: access denied (HTTP 403{'; ' + said if said else ''}); "
                "your account may lack pull permission or your IP is blocked",
            )
        if resp.status == 429:
            note = ratelimit_note(resp) or "no rate-limit headers"
            raise RegistryFailure(Kind.RATE_LIMITED, f"{ref.registry_host}/{ref.path}: rate limited ({note})")
        if resp.status >= 500:
            after = retry_after(resp)
            later = f"it asks to retry after {after:g} s" if after is not None else "try again later"
            raise RegistryFailure(Kind.UNREACHABLE, f"{subject}: the registry answered HTTP {resp.status}; {later}")
        if resp.status == 400 and "NAME_INVALID" in said:
            raise RegistryFailure(Kind.INVALID_REFERENCE, f"{subject}: the registry rejects this name ({said})")
        raise RegistryFailure(
            Kind.PROTOCOL, f"{subject}: unexpected HTTP {resp.status}" + (f" ({said})" if said else "")
        )
