"""Older facts files brought up to the current schema, one explicit step per version (plain JSON in, JSON out)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from dockdoctor.platforms import PlatformError, can_run, parse


def _handler_emulator(interpreter: str) -> str:
    """The emulator a v1 binfmt handler's interpreter path names (what the v2 probe records), or "" when unsure."""
    name = posixpath.basename(interpreter)
    if name.startswith("qemu-") or (interpreter.startswith("/usr/libexec/qemu-binfmt/") and name.endswith("-P")):
        return "qemu"
    if name == "rosetta":
        return "rosetta"
    return ""


def _via_emulator(via: str) -> str:
    """The emulator a v1 `via` ("qemu (binfmt qemu-aarch64)", "rosetta (docker-desktop setting)") names."""
    word = via.split(" ", 1)[0]
    return word if word in ("qemu", "rosetta") else ""


def _runs(engine: str | None, platform: str) -> bool | None:
    """Whether the engine's own platform runs `platform` natively; None when either does not parse."""
    try:
        return can_run(parse(engine), parse(platform)) if engine else None
    except PlatformError:
        return None


def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Facts schema 1 -> 2: the emulation fields.

    Version 2 added, all optional with a "not known" default: the host's macOS version, Rosetta runtime, CPU model
    and VM; each context's resolved socket, liveness and engine ID; the engine's product version and ID; each binfmt
    handler's emulator, installer and version; each emulated platform's emulator, version and how it was known; the
    Mac engines' settings and binfmt_misc's global switch; each container's emulator, error, log and entry file;
    deploy files, pins and errors the user pasted. A v1 file never saw any of them, so they stay at their defaults
    (an unknown is not a "no": a v1 context is not "dead" because it has no `live`), except what v1 data already
    says the same way the v2 probes derive it:

    - a handler's `emulator`, from its interpreter path (`/usr/bin/qemu-aarch64-static` -> qemu);
    - an emulated platform's `emulator`, from its `via` ("qemu (binfmt qemu-aarch64)" -> qemu);
    - a non-native container's `emulator`: the `via` of the emulated platform that runs it (not a builder's list),
      as `probes.images` records it.
    """
    out = dict(data, schema_version=2)
    emulated: list[Any] = []
    if isinstance(out.get("emulation"), dict):
        emulation = dict(out["emulation"])
        if isinstance(emulation.get("handlers"), list):
            emulation["handlers"] = [
                dict(h, emulator=_handler_emulator(str(h.get("interpreter", ""))))
                if isinstance(h, dict) and "emulator" not in h
                else h
                for h in emulation["handlers"]
            ]
        if isinstance(emulation.get("emulated"), list):
            emulation["emulated"] = emulated = [
                dict(e, emulator=_via_emulator(str(e.get("via", ""))))
                if isinstance(e, dict) and "emulator" not in e
                else e
                for e in emulation["emulated"]
            ]
        out["emulation"] = emulation
    engine = out.get("engine")
    native = engine.get("platform") if isinstance(engine, dict) else None
    runners = [
        (e["platform"], e["via"])
        for e in emulated
        if isinstance(e, dict) and isinstance(e.get("platform"), str) and isinstance(e.get("via"), str)
        if not e["via"].startswith("buildx")
    ]
    images = out.get("images")
    if isinstance(images, dict) and isinstance(images.get("containers"), list) and isinstance(native, str):
        containers = []
        for c in images["containers"]:
            if isinstance(c, dict) and "emulator" not in c and _runs(native, str(c.get("platform", ""))) is False:
                via = next((v for p, v in runners if _runs(p, str(c["platform"]))), None)
                c = dict(c, emulator=via)
            containers.append(c)
        out["images"] = dict(images, containers=containers)
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: v1_to_v2}
"""version -> the step that brings a file of that version to the next one."""


def migrate(data: dict[str, Any], version: int, target: int) -> dict[str, Any]:
    """`data` (a facts file of schema `version`) as schema `target`, one step at a time."""
    while version < target:
        data = MIGRATIONS[version](data)
        version += 1
    return data
