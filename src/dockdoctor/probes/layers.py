"""Pure image-layer readers: a decompressing stream, a tar walker over it, and the merged view of the layers.

Nothing here touches the network or the disk: a layer is an iterator of compressed chunks handed in by the
caller (the registry client), and a scan reads it only until the entry it looks for is seen.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from dockdoctor.model import ProbeErrorKind
from dockdoctor.probes.elf import HEAD_BYTES

MAX_LINKS = 40  # symbolic links followed for one path (the kernel's ELOOP limit)
MAX_ENTRIES = 500_000  # tar entries read from one layer
KEPT_HEADS = 8 << 20  # bytes of executable heads kept per scan (hard links name files seen earlier in the stream)
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class LayerError(Exception):
    """A layer or image that cannot be read as asked: not gzip, truncated, a symlink loop, past the budget."""

    def __init__(self, kind: ProbeErrorKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass(slots=True)
class Budget:
    """Bytes one image may cost: compressed bytes read from the registry, and bytes they decompress to."""

    compressed: int
    uncompressed: int
    what: str = "the image"
    read: int = 0
    produced: int = 0

    def charge(self, compressed: int = 0, produced: int = 0) -> None:
        self.read += compressed
        self.produced += produced
        if self.read > self.compressed:
            raise LayerError(
                ProbeErrorKind.LIMIT,
                f"read {_mib(self.read)} of {self.what}'s layers, past the {_mib(self.compressed)} "
                "budget (DOCKDOCTOR_DEEP_BUDGET); stopped",
            )
        if self.produced > self.uncompressed:
            raise LayerError(
                ProbeErrorKind.LIMIT,
                f"{self.what}'s layers decompress past {_mib(self.uncompressed)} before the file was found; stopped",
            )


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


class Decompressed(io.RawIOBase):
    """A readable stream of a layer's tar bytes, from its compressed chunks (gzip, zstd or plain tar).

    The format comes from the first bytes, not from the media type alone: a layer whose media type says gzip
    but whose bytes are not is a `not-gzip` error naming both.
    """

    def __init__(self, chunks: Iterable[bytes], *, media_type: str, budget: Budget, what: str) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._budget = budget
        self._what = what
        self._media_type = media_type
        self._buffer = b""
        self._eof = False
        self._decoder: Callable[[bytes], bytes] | None = None
        self._flush: Callable[[], bytes] | None = None
        self._pending = b""  # compressed bytes not yet fed (gzip members after the first)
        self._gzip: zlib._Decompress | None = None

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes:
        for chunk in self._chunks:
            if chunk:
                self._budget.charge(compressed=len(chunk))
                return chunk
        return b""

    def _start(self, first: bytes) -> None:
        declared = self._media_type.lower()
        if first.startswith(GZIP_MAGIC):
            self._gzip = zlib.decompressobj(31)
            return
        if first.startswith(ZSTD_MAGIC):
            try:
                import zstandard  # optional: Python 3.11 has no zstd in its standard library
            except ImportError:
                raise LayerError(
                    ProbeErrorKind.UNSUPPORTED,
                    f"{self._what} is zstd-compressed; install the `zstandard` "
                    "package to read it (pip install zstandard)",
                ) from None
            obj = zstandard.ZstdDecompressor().decompressobj()
            self._decoder = obj.decompress
            return
        if "gzip" in declared or "zstd" in declared:
            kind = "gzip" if "gzip" in declared else "zstd"
            raise LayerError(
                ProbeErrorKind.NOT_GZIP,
                f"{self._what} is not {kind} although its media type "
                f"{self._media_type} says so (it starts with {first[:8].hex()})",
            )
        self._decoder = lambda data: data  # an uncompressed tar layer

    def _fill(self) -> None:
        while not self._buffer and not self._eof:
            chunk = self._pending or self._next_chunk()
            self._pending = b""
            if self._gzip is None and self._decoder is None:
                if not chunk:
                    self._eof = True
                    return
                self._start(chunk)
            if not chunk:
                if self._gzip is not None and not self._gzip.eof:
                    raise LayerError(ProbeErrorKind.TRUNCATED, f"{self._what} ends in the middle of its gzip stream")
                self._eof = True
                return
            try:
                if self._gzip is not None:
                    if self._gzip.eof:  # a second gzip member (pigz, concatenated layers)
                        self._gzip = zlib.decompressobj(31)
                    out = self._gzip.decompress(chunk)
                    if self._gzip.eof and self._gzip.unused_data:
                        self._pending = self._gzip.unused_data
                else:
                    assert self._decoder is not None
                    out = self._decoder(chunk)
            except zlib.error as err:
                raise LayerError(ProbeErrorKind.CORRUPT, f"{self._what}: bad gzip data ({err})") from None
            except Exception as err:  # noqa: BLE001 - zstandard.ZstdError has no common base to name here
                if type(err).__module__.startswith("zstandard"):
                    raise LayerError(ProbeErrorKind.CORRUPT, f"{self._what}: bad zstd data ({err})") from None
                raise
            self._budget.charge(produced=len(out))
            self._buffer = out

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        self._fill()
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


@dataclass(frozen=True, slots=True)
class Entry:
    """One tar entry of a layer, as far as resolving a path needs it."""

    path: str  # normalized, relative to the root, no leading "/" ("" is the root)
    kind: str  # file | dir | symlink | hardlink | whiteout | opaque | other
    link: str = ""  # symlink target as written, or the hard link's target path (normalized)
    size: int = 0
    mode: int = 0
    head: bytes | None = None  # the first bytes of a file, when they were asked for


def normalize(name: str) -> str:
    """A tar member name or an absolute path as a root-relative path: `./usr/bin/` -> `usr/bin`, `/` -> ``."""
    path = posixpath.normpath("/" + name.replace("\\", "/") if not name.startswith("/") else name)
    path = path.lstrip("/")
    return "" if path == "." else path


def ancestors(path: str) -> Iterator[str]:
    """`a/b/c` -> `a`, `a/b` (not the path itself, not the root)."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        yield "/".join(parts[:i])


def walk(stream: io.RawIOBase, *, want_head: Callable[[str], bool], what: str) -> Iterator[Entry]:
    """The entries of a tar stream, in order; whiteouts as `whiteout`/`opaque` entries naming what they hide.

    Heads (HEAD_BYTES) are read for the files want_head names, and kept for executables so that a hard link
    to one seen earlier carries its target's head. Malformed or truncated tar data is a LayerError.
    """
    heads: dict[str, bytes] = {}
    kept = 0
    count = 0
    try:
        with tarfile.open(fileobj=io.BufferedReader(stream, 1 << 16), mode="r|") as tar:
            for member in tar:
                count += 1
                if count > MAX_ENTRIES:
                    raise LayerError(
                        ProbeErrorKind.LIMIT, f"{what} has more than {MAX_ENTRIES} entries; dockdoctor reads no more"
                    )
                path = normalize(member.name)
                base = posixpath.basename(path)
                parent = posixpath.dirname(path)
                if base == OPAQUE:
                    yield Entry(path=parent, kind="opaque")
                    continue
                if base.startswith(WHITEOUT):
                    yield Entry(path=posixpath.join(parent, base[len(WHITEOUT) :]), kind="whiteout")
                    continue
                if member.isreg():
                    head = None
                    executable = bool(member.mode & 0o111)
                    if member.size and (want_head(path) or (executable and kept < KEPT_HEADS)):
                        fh = tar.extractfile(member)
                        head = fh.read(HEAD_BYTES) if fh is not None else b""
                        if executable and kept < KEPT_HEADS:
                            heads[path] = head
                            kept += len(head)
                    yield Entry(
                        path=path,
                        kind="file",
                        size=member.size,
                        mode=member.mode,
                        head=(head or b"") if want_head(path) or head is not None else None,
                    )
                elif member.isdir():
                    yield Entry(path=path, kind="dir", mode=member.mode)
                elif member.issym():
                    yield Entry(path=path, kind="symlink", link=member.linkname, mode=member.mode)
                elif member.islnk():
                    target = normalize(member.linkname)
                    yield Entry(path=path, kind="hardlink", link=target, mode=member.mode, head=heads.get(target))
                else:
                    yield Entry(path=path, kind="other", mode=member.mode)
    except LayerError:
        raise
    except (tarfile.TarError, EOFError, ValueError, OverflowError, UnicodeError) as err:  # all a malformed tar raises
        text = str(err) or type(err).__name__
        kind = (
            ProbeErrorKind.TRUNCATED
            if "unexpected end" in text or isinstance(err, EOFError)
            else ProbeErrorKind.CORRUPT
        )
        raise LayerError(kind, f"{what} is not a readable tar ({text})") from None


@dataclass(slots=True)
class LayerIndex:
    """What a scan of one layer has seen (all of it when `complete`)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    implied: set[str] = field(default_factory=set)  # directories that exist because something below them does
    whiteouts: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)
    complete: bool = False

    def add(self, entry: Entry) -> None:
        if entry.kind == "whiteout":
            self.whiteouts.add(entry.path)
        elif entry.kind == "opaque":
            self.opaque.add(entry.path)
            self.implied.add(entry.path)
        else:
            self.entries[entry.path] = entry
        for a in ancestors(entry.path):
            self.implied.add(a)

    def determined(self, path: str, *, head: bool = False) -> bool:
        """Whether this index answers `path` for this layer (with the file's head, when asked)."""
        entry = self.entries.get(path)
        if entry is not None:
            return not head or entry.kind not in ("file", "hardlink") or entry.head is not None
        return self.complete or path in self.whiteouts or path in self.implied


# scan(layer number, goal path, need head) -> an index of that layer that determines the goal (or is complete)
Scanner = Callable[[int, str, bool], LayerIndex]


@dataclass(frozen=True, slots=True)
class Found:
    """A path resolved in the merged view: the final path, the file's entry and the links followed on the way."""

    path: str
    entry: Entry | None  # None: not in the image
    links: tuple[str, ...] = ()  # "from -> to" for every symbolic link followed
    layer: int | None = None


class MergedView:
    """The image's filesystem as the container sees it: layers top-down, whiteouts respected, links followed."""

    def __init__(self, layers: int, scan: Scanner) -> None:
        self._layers = layers
        self._scan = scan
        self._memo: dict[tuple[str, bool], tuple[Entry | None, int | None]] = {}

    def lookup(self, path: str, *, head: bool = False, goal: str = "") -> tuple[Entry | None, int | None]:
        """The topmost entry for `path` (no link following) and its layer; (None, None) when absent.

        `goal` is the path being resolved below `path`: layers are scanned for it, so that one pass over a
        layer answers every directory on the way.
        """
        key = (path, head)
        if key in self._memo:
            return self._memo[key]
        result: tuple[Entry | None, int | None] = (None, None)
        if path == "":
            result = (Entry(path="", kind="dir"), None)
        else:
            for layer in range(self._layers - 1, -1, -1):
                index = self._scan(layer, goal or path, head)
                entry = index.entries.get(path)
                if entry is not None:
                    if entry.kind == "hardlink":
                        target = index.entries.get(entry.link)
                        entry = Entry(
                            path=path,
                            kind="file",
                            link=entry.link,
                            size=target.size if target else 0,
                            mode=target.mode if target else entry.mode,
                            head=entry.head,
                        )
                    result = (entry, layer)
                    break
                if path in index.implied:
                    result = (Entry(path=path, kind="dir"), layer)
                    break
                if path in index.whiteouts or any(a in index.opaque for a in ancestors(path)):
                    break
        self._memo[key] = result
        return result

    def resolve(self, path: str, *, head: bool = True) -> Found:
        """Follow `path` component by component through symbolic links (absolute ones from the image's root).

        A loop (more than MAX_LINKS links) is a `symlink-loop` LayerError.
        """
        parts = [p for p in normalize(path).split("/") if p]
        links: list[str] = []
        done: list[str] = []
        i = 0
        while i < len(parts):
            comp = parts[i]
            if comp == "..":
                if done:
                    done.pop()
                i += 1
                continue
            candidate = "/".join(done + [comp])
            last = i == len(parts) - 1
            entry, layer = self.lookup(candidate, head=head and last, goal="/".join(done + parts[i:]))
            if entry is None:
                return Found(path="/" + "/".join(done + parts[i:]), entry=None, links=tuple(links))
            if entry.kind == "symlink":
                if len(links) >= MAX_LINKS:
                    raise LayerError(
                        ProbeErrorKind.SYMLINK_LOOP,
                        f"/{normalize(path)}: more than {MAX_LINKS} symbolic links "
                        f"inside the image (a loop: {' , '.join(links[-3:])})",
                    )
                links.append(f"/{candidate} -> {entry.link}")
                base = "" if entry.link.startswith("/") else "/".join(done)
                parts = [p for p in normalize(posixpath.join("/" + base, entry.link)).split("/") if p] + parts[i + 1 :]
                done, i = [], 0
                continue
            if not last and entry.kind != "dir":
                return Found(path="/" + "/".join(done + parts[i:]), entry=None, links=tuple(links))
            done.append(comp)
            i += 1
            if last:
                return Found(path="/" + candidate, entry=entry, links=tuple(links), layer=layer)
        return Found(path="/" + "/".join(done), entry=Entry(path="/".join(done), kind="dir"), links=tuple(links))


def relevant(entry: Entry, goal: str) -> bool:
    """Whether a scan looking for `goal` may stop at this entry: the goal itself, or something above it that is
    not a directory (a link or file that decides the path), or a whiteout of either."""
    if entry.path == goal:
        return True
    if goal.startswith(entry.path + "/") or entry.path == "":
        return entry.kind in ("symlink", "file", "hardlink", "whiteout", "other")
    return False


__all__ = [
    "Budget",
    "Decompressed",
    "Entry",
    "Found",
    "LayerError",
    "LayerIndex",
    "MergedView",
    "Scanner",
    "ancestors",
    "normalize",
    "relevant",
    "walk",
]
