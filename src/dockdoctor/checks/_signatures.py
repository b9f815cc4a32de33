"""The error signatures of the knowledge base (pure): log lines cleaned of the noise tools add, known messages found.

`clean()` strips the noise of logs (ANSI colours, BuildKit step prefixes, timestamps, compose and kubectl prefixes);
`recognise()` finds every known message of knowledge/signatures.toml in a text. The checks that explain errors
(DKD32x in errors.py, DKD242 in kube.py) read the matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from dockdoctor.knowledge import load as load_knowledge

_NOISE = (
    re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]"),  # ANSI CSI, OSC, ESC x
    re.compile(r"\\x1b\[[0-9;?]*[A-Za-z]"),  # the same, escaped by the probes (container logs)
)
_PREFIXES = (
    re.compile(r"^#\d+ (?:\d+(?:\.\d+)? )?"),  # BuildKit plain progress: `#12 0.370 `
    re.compile(r"^\s*(?:=> )?\[[\w./ -]*\d+/\d+\] "),  # BuildKit tty step: `=> [builder 3/7] `
    re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\s+"),  # ISO timestamps
    re.compile(r"^\[\w{3} \d\d? \d\d:\d\d:\d\d\]\s+"),  # [Jan  2 15:04:05]
    re.compile(r"^##\[\w+\]"),  # GitHub Actions annotations
    re.compile(r"^\[(?:pod/)?[\w.-]+(?:/[\w.-]+)+\] "),  # kubectl logs --prefix: [pod/name/container]
    re.compile(r"^[\w.-]+(?:[-_]\d+)?\s+\|\s?"),  # compose: `web-1  | `, `web_1  | `
    re.compile(r"^\s*[│|]\s+"),  # k9s/table borders
)


def clean(line: str) -> str:
    """One log line without colours and the prefixes tools add; the message itself unchanged."""
    for pattern in _NOISE:
        line = pattern.sub("", line)
    line = line.replace("\r", "")
    changed = True
    while changed:  # prefixes nest: a timestamp inside a compose prefix inside BuildKit's
        changed = False
        for pattern in _PREFIXES:
            stripped = pattern.sub("", line, count=1)
            if stripped != line and stripped.strip():
                line, changed = stripped, True
    return line.strip()


@dataclass(frozen=True, slots=True)
class Signature:
    id: str
    cls: str
    patterns: tuple[re.Pattern[str], ...]
    happened: str
    source: str
    causes: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Match:
    """One known message found in a text: the signature, the cleaned line, what it named, how often it came."""

    signature: Signature
    text: str
    groups: tuple[tuple[str, str], ...]
    count: int = 1

    def group(self, name: str) -> str | None:
        return dict(self.groups).get(name)


@cache
def signatures() -> tuple[Signature, ...]:
    """The signatures of knowledge/signatures.toml, patterns compiled, in file order (specific ones first)."""
    return tuple(
        Signature(
            id=s["id"],
            cls=s["class"],
            patterns=tuple(re.compile(p) for p in s["patterns"]),
            happened=s["happened"],
            source=s["source"],
            causes=tuple(s.get("causes", ())),
        )
        for s in load_knowledge("signatures")["signature"]
    )


def recognise(text: str) -> tuple[Match, ...]:
    """Every known message in `text` (a paste, a log), once each (repeats counted), in order of appearance."""
    found: dict[tuple[str, str], Match] = {}
    for raw in text.splitlines():
        line = clean(raw)
        if not line:
            continue
        spans: list[tuple[int, int]] = []
        for sig in signatures():
            for pattern in sig.patterns:
                m = pattern.search(line)
                if m is None or any(m.start() < end and start < m.end() for start, end in spans):
                    continue
                spans.append(m.span())
                groups = tuple((k, v) for k, v in m.groupdict().items() if v)
                key = (sig.id, line)
                if key in found:
                    old = found[key]
                    found[key] = Match(old.signature, old.text, old.groups, old.count + 1)
                else:
                    found[key] = Match(sig, line, groups)
                break
    return tuple(found.values())
