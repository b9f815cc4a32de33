"""The support bundle: one zip with the report, the facts, the raw probe answers and a manifest (pure, in memory).

The raw answers are redacted with the facts (they are `facts.raw`); their control characters are written as
escapes (line breaks and tabs kept), so that `cat raw/*.txt` on a support desk cannot drive its terminal.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import zipfile
import zlib
from typing import Any

from dockdoctor.codec import facts_to_json
from dockdoctor.errors import ReplayFileError
from dockdoctor.model import Report
from dockdoctor.render import Format, RenderOptions, renderer_for
from dockdoctor.render.safe import visible, visible_text

MANIFEST = "MANIFEST.json"
FACTS = "facts.json"
MAX_FACTS_BYTES = 64 << 20  # a facts.json larger than this, once inflated, is not one dockdoctor wrote


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:60] or "answer"


def build(
    report: Report, *, python_version: str, created_at: str, options: RenderOptions
) -> tuple[bytes, dict[str, Any]]:
    """The zip's bytes and its manifest: what is inside, each file's size, hash and meaning."""
    lean = dataclasses.replace(report, facts=dataclasses.replace(report.facts, raw=()))  # raw answers: own files
    files: list[tuple[str, str, str]] = [
        ("report.json", renderer_for(Format.JSON)(lean, options), "the JSON report (`dockdoctor check --json`)"),
        ("report.md", renderer_for(Format.MARKDOWN)(lean, options), "the report as Markdown, for a ticket"),
        (FACTS, facts_to_json(lean.facts), "the facts; `dockdoctor check --from` replays this bundle"),
    ]
    for i, answer in enumerate(report.facts.raw, 1):
        name = f"raw/{i:02d}-{answer.probe}-{_slug(answer.source)}.txt"
        body = f"# probe: {answer.probe}\n# source: {visible(answer.source)}\n\n{visible_text(answer.text)}"
        files.append((name, body, f"raw answer behind the {answer.probe} facts: {answer.source}"))
    manifest = {
        "dockdoctor_bundle_version": 1,
        "dockdoctor_version": report.dockdoctor_version,
        "python_version": python_version,
        "created_at": created_at,
        "redacted": report.facts.redacted,
        "files": [
            {
                "name": name,
                "bytes": len(text.encode()),
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "what": what,
            }
            for name, text, what in files
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
        for name, text, _ in files:
            archive.writestr(name, text)
    return buffer.getvalue(), manifest


def facts_text(data: bytes, *, source: str, limit: int = MAX_FACTS_BYTES) -> str:
    """The facts JSON inside a bundle's bytes, inflated to at most `limit` bytes (a zip bomb stops there)."""
    too_large = ReplayFileError(
        f"{source}: its {FACTS} inflates to more than {limit >> 20} MiB: not a bundle dockdoctor wrote"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if archive.getinfo(FACTS).file_size > limit:
                raise too_large
            with archive.open(FACTS) as member:  # the size in the header may lie: count what comes out
                text = member.read(limit + 1)
            if len(text) > limit:
                raise too_large
            return text.decode("utf-8")
    except KeyError:
        raise ReplayFileError(f"{source}: a zip without {FACTS}: not a dockdoctor bundle") from None
    except UnicodeDecodeError as err:
        raise ReplayFileError(f"{source}: {FACTS} in it is not UTF-8 text (byte {err.start})") from None
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
    ) as err:
        raise ReplayFileError(f"{source}: damaged bundle ({err})") from None


def is_bundle(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"
