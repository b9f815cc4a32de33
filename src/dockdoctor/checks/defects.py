"""DKD53x: the installed releases against the knowledge base of known platform and emulation defects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dockdoctor.checks._emulator import engine_rosetta, runner_for
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev, native, platform_or_none, runs_natively, short_source
from dockdoctor.checks._versions import affects, installed_versions, known_defects
from dockdoctor.model import Facts, Fix, Fixable, Problem, Safety, Severity, manual
from dockdoctor.platforms import Platform, format_platform

# Compose releases have their own check (DKD403) that reads the same table.
_OWN_CHECK = {"compose": "DKD403"}


_MACOS = re.compile(r"^macOS (\d+(?:\.\d+)*)")
# requirements whose fact dockdoctor does not gather yet: a defect that needs one stays silent
UNKNOWN_YET = (
    "chip:",
    "vm:",
    "guest:",
    "kernel",
    "rosetta:not-installed",
    "mac:",
    "buildx:",
    "orbstack:",
    "cli:",
    "env:",
)


def requirement_met(facts: Facts, requirement: str) -> bool | None:
    """Whether the facts confirm one `requires` condition of a defect (None: the facts cannot tell)."""
    if requirement == "host:apple-silicon":
        return facts.host.apple_silicon
    if requirement.startswith("engine-arch:"):
        engine = native(facts)
        return None if engine is None else engine.architecture == requirement.split(":", 1)[1]
    if requirement in ("rosetta:on", "rosetta:off"):
        enabled = engine_rosetta(facts)
        return None if enabled is None else enabled is (requirement == "rosetta:on")
    if requirement.startswith("macos"):
        match = _MACOS.match(facts.host.os_release) if facts.host.os == "darwin" else None
        if facts.host.os not in ("darwin", ""):
            return False
        return affects(requirement.removeprefix("macos"), match.group(1)) if match else None
    return None


def _same(a: Platform, b: Platform) -> bool:
    return a.os == b.os and a.architecture == b.architecture


def _relevant(ctx: Context, defect: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether a defect matters for this engine and these targets, and the target it is about."""
    platforms = [p for p in (platform_or_none(x) for x in defect["platforms"]) if p is not None]
    if defect["emulator"]:
        for target in ctx.targets:
            if runs_natively(ctx.facts, target) or (platforms and not any(_same(p, target) for p in platforms)):
                continue
            runs_under = runner_for(ctx.facts, target).kind
            if defect["emulator"] in ("rosetta", "qemu") and runs_under in ("rosetta", "qemu"):
                if runs_under != defect["emulator"]:
                    continue  # the facts say another emulator runs this target
            return True, format_platform(target)
        return False, None
    if not platforms:
        return True, None
    engine = native(ctx.facts)
    for candidate in (*ctx.targets, *((engine,) if engine else ())):
        if any(_same(p, candidate) for p in platforms):
            return True, format_platform(candidate)
    return False, None


def _fix(defect: dict[str, Any]) -> Fix:
    title = {
        "upgrade": f"upgrade {defect['product']}" + (f" to {defect['fix_version']}" if defect["fix_version"] else ""),
        "downgrade": f"downgrade {defect['product']} to {defect['fix_version']}",
        "setting": "change a setting",
        "workaround": "work around it",
    }[defect["fix_kind"]]
    return Fix(title=title, safety=Safety.DISPLAY_ONLY, steps=(manual(defect["fix"]),))


@check("DKD530", "known-defect", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def known_defect(ctx: Context) -> Iterator[Problem]:
    """The installed engine, emulator or build tool release has a known defect that matters here

    ## What it checks
    Each product release the facts show (Docker Desktop from `/version` Platform.Name, Docker Engine, Podman,
    containerd, buildx; compose is DKD403's) against `knowledge/defects.toml`: every defect whose version range
    contains the release, and that matters for this project's targets. An emulation defect (Rosetta or QEMU)
    counts only for a target this engine runs emulated (and not when the facts show another emulator runs it);
    a defect tied to a platform counts when a target or the engine's own platform is that platform. A defect
    with conditions (`requires`: Apple Silicon, the macOS version, the engine's architecture) counts only when
    the facts confirm each one; conditions the facts do not show yet (chip model, VM type, guest kernel) keep
    it silent, and so do entries whose range is unknown.

    ## Why it matters
    The project is right and the tool is wrong: amd64 containers fail under an engine's Rosetta or QEMU
    (`rosetta error: Unable to open /proc/self/exe: 40`, `PR_SET_CHILD_SUBREAPER is unavailable`,
    `Fatal glibc error: CPU does not support x86-64-v2`) until the engine is upgraded, and users chase their
    Dockerfiles instead.

    ## Example
    `fixtures/checks/DKD530/bad-desktop-4-26-arm64.json` (Docker Desktop 4.26.1 on Apple Silicon, Rosetta on,
    target linux/amd64); `good-desktop-4-43-arm64.json`.

    ## Fix
    Display only, from the knowledge base: upgrade to the release that fixes it, change a setting (turn Rosetta
    off, switch the VM type), or a workaround. Each finding names the defect, the fixed release and the source
    (release notes or a maintainer's answer).

    ## Facts used
    `engine.evidence` (version.Platform.Name), `engine.server_version`, `engine.flavor`, `engine.components`,
    `buildx.version`, `engine.platform`, `emulation.emulated`, `emulation.rosetta`, `host.apple_silicon`,
    `host.os_release`, targets; `knowledge/defects.toml`.
    """
    for product, version, how in installed_versions(ctx.facts):
        if product in _OWN_CHECK:
            continue
        for defect in known_defects(product):
            if not affects(defect["affected"], version):
                continue
            if not all(requirement_met(ctx.facts, r) for r in defect["requires"]):
                continue
            relevant, target = _relevant(ctx, defect)
            if not relevant:
                continue
            fixed = (
                f"fixed in {defect['fix_version']}"
                if defect["fix_kind"] == "upgrade" and defect["fix_version"]
                else f"{defect['fix_kind']}: {defect['fix']}"
            )
            symptom = f" (`{defect['symptom']}`)" if defect["symptom"] else ""
            yield Problem(
                message=f"{product} {version}: {defect['title']}{symptom}; {fixed} ({short_source(defect['source'])})",
                subject=f"{product} {version}",
                target=target,
                evidence=(
                    ev(how, version),
                    ev("knowledge.defects.id", defect["id"]),
                    ev("knowledge.defects.affected", defect["affected"]),
                ),
                fixes=(_fix(defect),),
            )
