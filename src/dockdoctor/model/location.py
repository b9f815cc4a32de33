"""Locations as data: a place in a project file, where a compose value came from, a `.env` entry, a line as written.

The facts file keeps the strings it always had ("compose.yaml:12 via ${TAG} from .env:3", [name, value, ".env:3"],
"deploy/api.yaml:17 nodeSelector", [12, "  containers:"]):
each record here says how it is written (`WIRE`, `to_wire`) and read back (`from_wire`), and the codec and the schema
use exactly that, so the JSON is the one older dockdoctors wrote and read. Reading never fails: a string that is no
file line is kept as written (`Origin.resolved_by`, a `DotenvEntry` or a `Place` with line 0), so every file replays
as it was.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import ClassVar

_PATTERNS = {  # compiled on first use (_pattern): a run that reads no location (inspect) never needs them
    "place": r"(?P<file>.+):(?P<line>[1-9][0-9]*)",  # the last `:N` wins: `C:\p\a:b.yaml:12`
    "place_what": r"(?P<file>.+):(?P<line>[1-9][0-9]*) (?P<what>.+)",  # the last `:N ` wins
    "item": r"\$\{(?P<name>[^{}]*)\} from (?P<where>.+)",
}


@functools.cache
def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(_PATTERNS[name], re.DOTALL)


_MAX_SPLITS = 8  # ` via ` in a compose file's own name, at most this often
ENVIRONMENT = "environment"  # how a variable that no `.env` line set is written: the process environment


def place_text(file: str, line: int) -> str:
    """`file:line` as the facts file writes it; the file alone when the line is not known (0)."""
    return f"{file}:{line}" if line > 0 else file


def parse_place(text: str) -> tuple[str, int]:
    """(file, line) from `file:line`, the inverse of place_text(): the file may hold colons (a Windows drive
    letter, `a:b.yaml`) and spaces; text without a canonical line number (`:7`, not `:07`) is a file, line 0."""
    match = _pattern("place").fullmatch(text)
    return (match["file"], int(match["line"])) if match else (text, 0)


@dataclass(frozen=True, slots=True)
class Location:
    """Where in the project a finding points: a file relative to the project folder, 1-based line and column."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return place_text(self.file, self.line)


@dataclass(frozen=True, slots=True)
class Line:
    """A line of a file as written: its 1-based number and text; number 0: no such line (no file)."""

    number: int = 0
    text: str = ""

    WIRE: ClassVar[object] = tuple[int, str]

    def to_wire(self) -> tuple[int, str]:
        return (self.number, self.text)

    @classmethod
    def from_wire(cls, data: tuple[int, str]) -> Line:
        return cls(number=data[0], text=data[1])


@dataclass(frozen=True, slots=True)
class Place:
    """A project file line that facts name: `requirements.txt:3`, `Dockerfile:5`; with `what`, the key or command
    on that line: `deploy/api.yaml:17 nodeSelector`. Line 0: no file line is known, and `file` holds the text as
    written (`docker compose config services.web.platform`, or a facts file's string that names no line)."""

    file: str
    line: int = 0
    what: str = ""  # e.g. "nodeSelector", "containers[api].image", "services.web.platform"

    WIRE: ClassVar[object] = str  # "deploy/api.yaml:17 nodeSelector", as facts files always had it

    @property
    def location(self) -> Location | None:
        """The file line (column 1: facts files record lines only), or None."""
        return Location(file=self.file, line=self.line) if self.line > 0 else None

    @property
    def at(self) -> str:
        """The file line alone, `deploy/api.yaml:17` (the text as written when no line is known)."""
        return place_text(self.file, self.line)

    def __str__(self) -> str:
        return self.to_wire()

    def to_wire(self) -> str:
        return f"{self.at} {self.what}" if self.what else self.at

    @classmethod
    def from_wire(cls, data: str) -> Place:
        file, line = parse_place(data)  # `file:N` first: the last `:N` wins, as these strings were always read
        if line > 0:
            return cls(file=file, line=line)
        match = _pattern("place_what").fullmatch(data)
        if match is not None:
            place = cls(file=match["file"], line=int(match["line"]), what=match["what"])
            if place.to_wire() == data:
                return place
        return cls(file=data)


@dataclass(frozen=True, slots=True)
class DotenvEntry:
    """A DOCKER_*/COMPOSE_* variable the project's `.env` sets: its name, its value, and the file line that sets it."""

    name: str
    value: str
    file: str = ".env"
    line: int = 0  # 0: not known (a facts file whose third item is no `file:line`; `file` holds it as written)

    WIRE: ClassVar[object] = tuple[str, str, str]  # [name, value, ".env:3"], as facts files always had it

    @property
    def location(self) -> Location | None:
        return Location(file=self.file, line=self.line) if self.line > 0 else None

    @property
    def source(self) -> str:
        """As messages and facts files write it: `.env:3`."""
        return place_text(self.file, self.line)

    def to_wire(self) -> tuple[str, str, str]:
        return (self.name, self.value, self.source)

    @classmethod
    def from_wire(cls, data: tuple[str, str, str]) -> DotenvEntry:
        file, line = parse_place(data[2])
        return cls(name=data[0], value=data[1], file=file, line=line)


@dataclass(frozen=True, slots=True)
class Interpolated:
    """A variable interpolated into a compose value, and where it was set: a `.env` line, or the environment."""

    name: str
    file: str = ""  # "" with line 0: the process environment
    line: int = 0

    @property
    def where(self) -> str:
        return place_text(self.file, self.line) if self.file else ENVIRONMENT


@dataclass(frozen=True, slots=True)
class OriginWire:
    """Where a value came from: `compose.yaml:12`, `.env:3`, `environment`."""

    key: str  # e.g. "platform", "image", "build.platforms"
    source: str
    text: str = ""  # the line as written, when the source is a file line


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a compose service's value came from: the key's line in a compose file, the variables interpolated
    into it and where each was set; or, with no file line, what resolved it (`docker compose config`)."""

    key: str  # e.g. "platform", "image", "build.platforms"
    file: str = ""  # the compose file (relative to the project folder once scanned); "" when no line is known
    line: int = 0  # 1-based line of the key; 0 with `file` ""
    via: tuple[Interpolated, ...] = ()
    text: str = ""  # the line as written, when the origin is a file line
    resolved_by: str = ""  # no file line: what resolved the value, as written ("docker compose config")

    WIRE: ClassVar[object] = OriginWire

    @property
    def location(self) -> Location | None:
        """The key's file line (column 1: facts files record lines only), or None."""
        return Location(file=self.file, line=self.line) if self.file and self.line > 0 else None

    @property
    def source(self) -> str:
        """As messages and facts files write it: `compose.yaml:12 via ${TAG} from .env:3 and ${X} from environment`."""
        place = place_text(self.file, self.line) if self.file and self.line > 0 else self.resolved_by
        if not self.via:
            return place
        return f"{place} via " + " and ".join(f"${{{v.name}}} from {v.where}" for v in self.via)

    def to_wire(self) -> OriginWire:
        return OriginWire(key=self.key, source=self.source, text=self.text)

    @classmethod
    def from_wire(cls, data: OriginWire) -> Origin:
        parsed = _parse_origin(data.key, data.source, data.text)
        if parsed is None or parsed.source != data.source:  # no reading writes it back the same: kept as written
            return cls(key=data.key, text=data.text, resolved_by=data.source)
        return parsed


WIRED = (Line, Place, DotenvEntry, Origin)  # the records written in another form: the codec and the schema use `WIRE`


def _parse_origin(key: str, source: str, text: str) -> Origin | None:
    """The first split of `source` into a place and its `via` list that reads as both (None: no file line).

    At most _MAX_SPLITS splits are tried (a hostile facts file must not cost quadratic time): past them the
    whole text is the place, or it is kept as written."""
    start = 0
    for _ in range(_MAX_SPLITS):
        cut = source.find(" via ", start)
        if cut < 0:
            break
        file, line = parse_place(source[:cut])
        via = _via(source[cut + 5 :]) if line > 0 else None
        if via is not None:
            return Origin(key=key, file=file, line=line, via=via, text=text)
        start = cut + 1
    file, line = parse_place(source)
    return Origin(key=key, file=file, line=line, text=text) if line > 0 else None


def _via(text: str) -> tuple[Interpolated, ...] | None:
    items = []
    for part in re.split(r" and (?=\$\{)", text):
        match = _pattern("item").fullmatch(part)
        if match is None:
            return None
        where = match["where"]
        file, line = ("", 0) if where == ENVIRONMENT else parse_place(where)
        if where != ENVIRONMENT and line == 0:
            return None
        items.append(Interpolated(name=match["name"], file=file, line=line))
    return tuple(items)
