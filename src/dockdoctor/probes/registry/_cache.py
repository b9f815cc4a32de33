"""On-disk registry cache: immutable documents by digest, and tag -> digest entries with a timestamp."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockdoctor.probes.registry._manifest import DocumentError, is_digest, verify_digest

if TYPE_CHECKING:
    from dockdoctor.reference import ImageRef

FORMAT = 1
CHALLENGE_TTL = 7 * 24 * 3600.0  # a registry's auth challenge rarely changes; a stale one is replaced on use
CHALLENGE_PARAMS = ("realm", "service")  # what is kept of a challenge: no scope, no error, never a token


@dataclass(frozen=True, slots=True)
class TagEntry:
    """What a tag pointed to when last seen: digest (as the registry names it) and the stored body's digest."""

    digest: str
    body_digest: str  # differs from digest only for signed schema 1 (the header digest is over the JWS payload)
    media_type: str
    fetched_at: float

    def fresh(self, ttl: float, now: float) -> bool:
        return 0 <= now - self.fetched_at < ttl


@dataclass(frozen=True, slots=True)
class Cache:
    """Files under root: blobs/<alg>/<hex> (+ .type), tags/<sha256 of canonical>.json, hosts/<sha256 of host>.json
    (the host's auth challenge). Never secrets."""

    root: Path

    def _blob(self, digest: str) -> Path | None:
        """blobs/<alg>/<hex> for a valid digest, resolved and inside blobs/; None for anything else.

        A registry names digests; only one that passes is_digest becomes a path, and a path that resolves
        outside the cache (a planted symlink) is never read, written or removed.
        """
        if not is_digest(digest):
            return None
        algorithm, _, hex_part = digest.partition(":")
        base = os.path.join(self.root, "blobs")
        try:
            path = os.path.realpath(os.path.join(base, algorithm, hex_part))
            inside = path.startswith(_real(base) + os.sep)
        except (OSError, RuntimeError):  # a symlink loop
            return None
        return Path(path) if inside and os.path.basename(path) == hex_part else None

    def _layer(self, digest: str) -> Path | None:
        """layers/<alg>/<hex>.json for a valid digest, inside layers/ (the same gate as _blob)."""
        if not is_digest(digest):
            return None
        algorithm, _, hex_part = digest.partition(":")
        base = self.root / "layers"
        try:
            path = (base / algorithm / (hex_part + ".json")).resolve()
            inside = path.is_relative_to(base.resolve())
        except (OSError, RuntimeError):
            return None
        return path if inside and path.name == hex_part + ".json" else None

    def get_layer_index(self, digest: str) -> bytes | None:
        """What an earlier --deep run saw of a layer (its entries, never its content but a few file heads)."""
        path = self._layer(digest)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def put_layer_index(self, digest: str, data: bytes) -> None:
        path = self._layer(digest)
        if path is None:
            return
        try:
            replace_own(path, data)
        except OSError:
            pass

    def _tag(self, canonical: str) -> Path:
        return self.root / "tags" / (hashlib.sha256(canonical.encode()).hexdigest() + ".json")

    def get_document(self, digest: str) -> tuple[bytes, str] | None:
        """(body, media type) stored under digest; a corrupt or tampered file counts as a miss and is removed."""
        path = self._blob(digest)
        if path is None:
            return None
        try:
            body = path.read_bytes()
        except OSError:
            return None
        try:
            verify_digest(body, digest)
        except DocumentError:
            _remove(path)
            return None
        try:
            media_type = path.with_name(path.name + ".type").read_text(encoding="utf-8").strip()
        except OSError:
            media_type = ""
        return body, media_type

    def has_document(self, digest: str) -> bool:
        """Whether a document is stored under digest (not read, nor verified: get_document does both)."""
        path = self._blob(digest)
        return path is not None and path.is_file()

    def answers(self, ref: ImageRef, *, refresh: bool, ttl: float) -> tuple[bool, TagEntry | None]:
        """Whether ref's lookup needs no request (its document stored; for a tag, an entry within the TTL), and
        the tag entry read. A hint for when to import the HTTP code (the lookup itself decides what it sends)."""
        if ref.digest:
            return self.has_document(ref.digest), None
        entry = self.get_tag(ref.canonical)
        fresh = entry is not None and not refresh and entry.fresh(ttl, now())
        return fresh and entry is not None and self.has_document(entry.body_digest), entry

    def put_document(self, digest: str, body: bytes, media_type: str) -> None:
        """Store body under digest after checking that it is that digest's content."""
        verify_digest(body, digest)
        path = self._blob(digest)
        if path is None:
            return
        try:
            if path.stat().st_size == len(body):
                return  # stored already (content-addressed; a damaged copy is removed when it is read)
        except OSError:
            pass
        try:
            if media_type:
                replace_own(path.with_name(path.name + ".type"), media_type.encode())
            replace_own(path, body)
        except OSError:
            pass  # a read-only or full cache must not fail the diagnosis

    def get_tag(self, canonical: str) -> TagEntry | None:
        try:
            data = json.loads(self._tag(canonical).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("reference") != canonical:
                return None
            if not is_digest(data["digest"]) or not is_digest(data.get("body_digest") or data["digest"]):
                return None  # a hand-edited or damaged entry names no document
            return TagEntry(
                digest=str(data["digest"]),
                body_digest=str(data.get("body_digest") or data["digest"]),
                media_type=str(data.get("media_type", "")),
                fetched_at=float(data["fetched_at"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None

    def put_tag(self, canonical: str, entry: TagEntry) -> None:
        data = {
            "format": FORMAT,
            "reference": canonical,
            "digest": entry.digest,
            "body_digest": entry.body_digest,
            "media_type": entry.media_type,
            "fetched_at": entry.fetched_at,
        }
        try:
            replace_own(self._tag(canonical), json.dumps(data, sort_keys=True).encode())
        except OSError:
            pass

    def _list(self, repository: str) -> Path:
        return self.root / "lists" / (hashlib.sha256(repository.encode()).hexdigest() + ".json")

    def get_tags(self, repository: str) -> tuple[list[str], float] | None:
        """(tags, fetched_at) of the repository's last complete tags list; a damaged entry is a miss."""
        try:
            data = json.loads(self._list(repository).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("repository") != repository:
                return None
            tags = data["tags"]
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                return None
            return tags, float(data["fetched_at"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None

    def put_tags(self, repository: str, tags: list[str]) -> None:
        data = {"format": FORMAT, "repository": repository, "tags": tags, "fetched_at": now()}
        try:
            replace_own(self._list(repository), json.dumps(data).encode())
        except OSError:
            pass

    def _host(self, host: str) -> Path:
        return self.root / "hosts" / (hashlib.sha256(host.encode()).hexdigest() + ".json")

    def get_challenge(self, host: str) -> tuple[str, dict[str, str]] | None:
        """(scheme, {realm, service}) of the challenge the host answered with in the last CHALLENGE_TTL."""
        try:
            data = json.loads(self._host(host).read_text(encoding="utf-8"))
            if (
                data.get("format") != FORMAT
                or data.get("host") != host
                or not 0 <= now() - float(data["seen_at"]) <= CHALLENGE_TTL
            ):
                return None
            params = {k: str(v) for k, v in dict(data["params"]).items() if k in CHALLENGE_PARAMS}
            return str(data["scheme"]), params
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None

    def put_challenge(self, host: str, scheme: str, params: dict[str, str]) -> None:
        data = {
            "format": FORMAT,
            "host": host,
            "scheme": scheme,
            "seen_at": now(),
            "params": {k: v for k, v in params.items() if k in CHALLENGE_PARAMS},
        }
        try:
            replace_own(self._host(host), json.dumps(data, sort_keys=True).encode())
        except OSError:
            pass

    def forget_challenge(self, host: str, scheme: str, params: dict[str, str]) -> None:
        """Remove the host's entry if it still holds this challenge (another run or thread may have replaced it)."""
        if self.get_challenge(host) == (scheme, {k: v for k, v in params.items() if k in CHALLENGE_PARAMS}):
            _remove(self._host(host))


@functools.lru_cache(maxsize=16)
def _real(folder: str) -> str:
    """The resolved cache folder, once per run (a lookup resolves only its own file's path)."""
    return os.path.realpath(folder)


def replace_own(path: Path, data: bytes) -> None:
    """dockdoctor.files.replace_own, imported on the first write: the writer thread pays for tempfile and
    shutil while the requests are in flight, not the lookup before its first request."""
    from dockdoctor.files import replace_own as write

    write(path, data)


def _remove(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except OSError:
        return False


def clear(root: Path) -> int:
    """Delete every cache file under root (only our blobs/, tags/, hosts/, lists/ and layers/ trees); returns how
    many were removed."""
    removed = 0
    for sub in ("blobs", "tags", "hosts", "lists", "layers"):
        base = root / sub
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base, topdown=False):
            removed += sum(_remove(Path(dirpath) / name) for name in filenames)
            for name in dirnames:
                try:
                    (Path(dirpath) / name).rmdir()
                except OSError:
                    pass
        try:
            base.rmdir()
        except OSError:
            pass
    return removed


def now() -> float:
    return time.time()
