"""The buildx probe: whether the plugin exists, its version, its builders and their platforms."""

from __future__ import annotations

import json
import re
import shutil

from dockdoctor.model import Builder, BuildxFacts, ProbeError, ProbeErrorKind
from dockdoctor.probes._pool import Pool
from dockdoctor.probes._run import run

_COLUMNS = ("NAME/NODE", "DRIVER/ENDPOINT", "STATUS", "BUILDKIT", "PLATFORMS")


def parse_buildx_version(text: str) -> str | None:
    """`github.com/docker/buildx v0.14.1-desktop.1 59ee...` -> "0.14.1-desktop.1"."""
    match = re.search(r"\bv?(\d+\.\d+\.\d+\S*)", text)
    return match.group(1) if match else None


def _platforms(text: str) -> tuple[str, ...]:
    """`linux/amd64 (+2), linux/arm64*, (4 more)` -> ("linux/amd64", "linux/arm64"): what is shown, unabridged."""
    items = [re.sub(r"\s*\(\+\d+\)$", "", p.strip()).rstrip("*") for p in text.split(",")]
    return tuple(p for p in items if "/" in p)


def parse_buildx_ls(text: str) -> tuple[Builder, ...]:
    """Builders from `docker buildx ls` text: the pre-0.13 indented layout and the 0.13+ tree layout.

    Both are tabwriter tables, so every cell starts under its header; node rows (indented, or `\\_`) carry the
    status and platforms of the builder row above them.
    """
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("NAME/NODE"):
        return ()
    header = lines[0]
    columns = [(col, header.index(col)) for col in _COLUMNS if col in header]

    def cells(line: str) -> dict[str, str]:
        out = {}
        for i, (col, start) in enumerate(columns):
            end = columns[i + 1][1] if i + 1 < len(columns) else len(line)
            out[col] = line[start:end].replace("\\_", "").strip()
        return out

    builders: list[Builder] = []
    for line in lines[1:]:
        if line.startswith(("WARNING", "ERROR")):
            continue
        row = cells(line)
        if line.startswith(" ") and builders:
            last = builders[-1]
            builders[-1] = Builder(
                name=last.name,
                driver=last.driver,
                current=last.current,
                status=last.status or row.get("STATUS", "").split(" ")[0],
                endpoint=last.endpoint or row.get("DRIVER/ENDPOINT", ""),
                platforms=last.platforms
                + tuple(p for p in _platforms(row.get("PLATFORMS", "")) if p not in last.platforms),
            )
            continue
        name, _, star = row.get("NAME/NODE", "").partition(" ")
        builders.append(
            Builder(
                name=name.rstrip("*"),
                driver=row.get("DRIVER/ENDPOINT", "").split(" ")[0],
                status="",
                current=star.strip() == "*" or name.endswith("*"),
            )
        )
    return tuple(builders)


def parse_buildx_ls_json(text: str) -> tuple[Builder, ...] | None:
    """Builders from `docker buildx ls --format json` (one JSON object a line); None if it is not that."""
    builders = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            return None
        nodes = item.get("Nodes") or []
        platforms: list[str] = []
        for node in nodes:
            for p in node.get("Platforms") or []:
                if isinstance(p, dict):
                    p = "/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)
                if p not in platforms:
                    platforms.append(str(p))
        builders.append(
            Builder(
                name=str(item.get("Name", "")),
                driver=str(item.get("Driver", "")),
                status=str(nodes[0].get("Status", "")) if nodes else "",
                platforms=tuple(platforms),
                current=bool(item.get("Current")),
                endpoint=str(nodes[0].get("Endpoint", "")) if nodes else "",
            )
        )
    return tuple(builders)


def probe_buildx(*, timeout: float = 10.0) -> BuildxFacts:
    """`docker buildx version` and `docker buildx ls` (JSON where this buildx supports it)."""
    if not shutil.which("docker"):
        return BuildxFacts(
            installed=False,
            error=ProbeError(probe="buildx", kind=ProbeErrorKind.NOT_FOUND, detail="docker: command not found"),
        )
    # `version` and `ls` at once (each starts the docker CLI and the plugin); `ls` only counts if `version` worked
    pool = Pool(1, "buildx")
    try:
        listing_f = pool.submit(run, "buildx", ("docker", "buildx", "ls", "--format", "json"), timeout=timeout)
        version = run("buildx", ("docker", "buildx", "version"), timeout=timeout)
        if isinstance(version, ProbeError):
            return BuildxFacts(installed=False, error=version)
        if version.code != 0:
            return BuildxFacts(installed=False)
        listing = listing_f.result()
    finally:
        pool.shutdown()
    builders = None
    if isinstance(listing, ProbeError):
        return BuildxFacts(installed=True, version=parse_buildx_version(version.stdout), error=listing)
    if listing.code == 0:
        builders = parse_buildx_ls_json(listing.stdout)
    if builders is None:
        listing = run("buildx", ("docker", "buildx", "ls"), timeout=timeout)
        if isinstance(listing, ProbeError):
            return BuildxFacts(installed=True, version=parse_buildx_version(version.stdout), error=listing)
        builders = parse_buildx_ls(listing.stdout)
    current = next((b.name for b in builders if b.current), None)
    return BuildxFacts(installed=True, version=parse_buildx_version(version.stdout), builders=builders, current=current)
