"""Which emulator runs a platform on this engine: one small pure helper every emulation check asks.

`runner_for(facts, platform)` answers native | qemu | rosetta | unknown | none, with the fact that told it.
It reads only what the facts hold today (`emulation.emulated[].via`, `emulation.rosetta`, `buildx.builders`,
`host`); extend it here when the facts learn more (the emulator's version, the engine's VM type), and every
check that asks follows.
"""

from __future__ import annotations

from typing import NamedTuple

from dockdoctor.checks._util import emulation_for, native, runs_natively
from dockdoctor.checks._versions import installed_versions
from dockdoctor.model import Facts
from dockdoctor.platforms import Platform

# builder drivers whose platforms are those of this engine's own kernel (its binfmt handlers)
_LOCAL_DRIVERS = ("docker", "docker-container")


class Runner(NamedTuple):
    """What runs a platform here: `kind` and the fact path and value that told it."""

    kind: str  # native | qemu | rosetta | unknown (emulated, by what the facts do not say) | none (cannot run)
    how: str

    @property
    def emulated(self) -> bool:
        return self.kind in ("qemu", "rosetta", "unknown")


def _engine_rosetta(facts: Facts) -> bool | None:
    """The engine's own Rosetta setting (Docker Desktop, OrbStack, Colima), None when not recorded."""
    setting = next((r for r in facts.emulation.rosetta if r.source == facts.engine.flavor.value), None)
    return None if setting is None else setting.enabled


def runner_for(facts: Facts, platform: Platform) -> Runner:
    """Which emulator will run `platform` on this engine (pure; never guesses an emulator the facts do not show)."""
    engine = native(facts)
    if engine is None:
        return Runner("unknown", "engine.platform missing")
    if runs_natively(facts, platform):
        return Runner("native", f"engine.platform={facts.engine.platform}")
    via = emulation_for(facts, platform)
    if via is None:
        return Runner("none", "emulation.emulated has no entry for it")
    how = f"emulation.emulated.via={via}"
    lowered = via.lower()
    for kind in ("rosetta", "qemu"):
        if lowered.startswith(kind):
            return Runner(kind, how)
    builder = next((b for b in facts.buildx.builders if lowered == f"buildx builder {b.name}".lower()), None)
    if builder is None or builder.driver not in _LOCAL_DRIVERS:
        return Runner("unknown", how)  # a remote or cloud builder may run it natively on another node
    if platform.architecture != "amd64" or engine.architecture != "arm64":
        return Runner("qemu", how)  # Rosetta translates x86_64 on arm64 only; BuildKit emulates with QEMU
    rosetta = _engine_rosetta(facts)
    if rosetta is True:
        return Runner("rosetta", how + "; emulation.rosetta enabled")
    if rosetta is False:
        return Runner("qemu", how + "; emulation.rosetta disabled")
    if facts.host.os == "linux" and not facts.engine.remote:
        return Runner("qemu", how + "; a local Linux kernel (Rosetta runs only in macOS VMs)")
    return Runner("unknown", how + "; the engine's Rosetta setting is not recorded")


def qemu_version(facts: Facts) -> str | None:
    """The QEMU release that emulates here, when the facts show it (`qemu` or `tonistiigi-binfmt` releases)."""
    for item in installed_versions(facts):
        if item.product in ("qemu", "tonistiigi-binfmt"):
            return item.version
    return None
