"""DKD32x: the errors users arrive with, recognised by the signatures in the knowledge base and explained by Facts.

`_signatures.clean()` strips the noise of logs, `_signatures.recognise()` finds every known message in a text
(DKD242 reads them too), and `explain()` turns one match into a Problem whose causes are
confirmed or ruled out by the facts (conditions named in signatures.toml, evaluated in CONDITIONS below). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dockdoctor.checks._signatures import Match, clean, recognise
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import emulation_for, native, platform_or_none
from dockdoctor.model import (
    ContainerFacts,
    Evidence,
    Facts,
    Fix,
    Fixable,
    Manual,
    Need,
    Problem,
    RunCommand,
    Safety,
    Severity,
)
from dockdoctor.platforms import can_run, format_platform

SIGNALS = {
    132: "SIGILL (illegal instruction)",
    134: "SIGABRT (aborted)",
    137: "SIGKILL (killed, often out of memory)",
    139: "SIGSEGV (segmentation fault)",
}

# ---- conditions: name[:arg] -> True (holds) | False (does not) | None (the facts do not say) --------------------


@dataclass(frozen=True, slots=True)
class Scene:
    """What a condition reads: the facts, the values the message named, the container it came from (if any)."""

    facts: Facts
    values: dict[str, str]
    container: ContainerFacts | None

    @property
    def probed(self) -> bool:
        return bool(self.facts.gathered_at)


def _platform_arg(scene: Scene, arg: str) -> str | None:
    return scene.values.get(arg) if "/" not in arg else arg


def _engine_runs(scene: Scene, arg: str) -> bool | None:
    engine, wanted = native(scene.facts), platform_or_none(_platform_arg(scene, arg))
    return None if engine is None or wanted is None else can_run(engine, wanted)


def _emulation_for(scene: Scene, arg: str) -> bool | None:
    wanted = platform_or_none(_platform_arg(scene, arg))
    if not scene.probed or wanted is None:
        return None
    return emulation_for(scene.facts, wanted) is not None


def _env_default(scene: Scene, arg: str) -> bool | None:
    if not scene.probed:
        return None
    value, wanted = (
        platform_or_none(scene.facts.env("DOCKER_DEFAULT_PLATFORM")),
        platform_or_none(_platform_arg(scene, arg)),
    )
    return value is not None and wanted is not None and format_platform(value) == format_platform(wanted)


def _local_copy(scene: Scene, arg: str) -> bool | None:
    wanted, image = platform_or_none(_platform_arg(scene, arg)), scene.values.get("image")
    for local in scene.facts.images.local:
        offered = platform_or_none(local.platform)
        if offered == wanted and (not image or any(image in tag for tag in local.repo_tags)):
            return True
    return None


def _container_native(scene: Scene, _: str) -> bool | None:
    if scene.container is None:
        return None
    engine, platform = native(scene.facts), platform_or_none(scene.container.platform)
    return None if engine is None or platform is None else can_run(engine, platform)


def _container_foreign_unemulated(scene: Scene, arg: str) -> bool | None:
    runs = _container_native(scene, arg)
    if runs is None or scene.container is None:
        return None
    platform = platform_or_none(scene.container.platform)
    return (
        not runs
        and scene.container.emulator is None
        and (platform is None or emulation_for(scene.facts, platform) is None)
    )


def _file_kinds(scene: Scene) -> set[str] | None:
    head = scene.container.entry_file if scene.container else None
    if head is None:
        return None
    kinds = {head.kind, "absent" if head.kind == "absent" else "present"}
    if head.kind in ("macho", "pe"):
        kinds.add("other-os")
    if head.executable is not None:
        kinds.add("executable" if head.executable else "not-executable")
    if head.kind == "elf":
        engine, platform = native(scene.facts), platform_or_none(head.elf_platform)
        if engine is not None and platform is not None and not can_run(engine, platform):
            kinds.add("elf-foreign")
        if head.interpreter and head.interpreter_present is False:
            kinds.add("elf-dynamic")
    return kinds


def _entry_file(scene: Scene, arg: str) -> bool | None:
    kinds = _file_kinds(scene)
    return None if kinds is None else arg in kinds


def _entry_file_is_not(scene: Scene, arg: str) -> bool | None:
    kinds = _file_kinds(scene)
    return None if kinds is None else arg not in kinds


def _emulated_by(scene: Scene, arg: str) -> bool | None:
    if scene.container is not None and scene.container.emulator is not None:
        return arg in scene.container.emulator
    if not scene.probed:
        return None
    return any(e.via.startswith(arg) for e in scene.facts.emulation.emulated)


def _engine_arch(scene: Scene, arg: str) -> bool | None:
    engine = native(scene.facts)
    return None if engine is None else engine.architecture == arg


def _host_level(below: bool) -> Callable[[Scene, str], bool | None]:
    def test(scene: Scene, arg: str) -> bool | None:
        level, wanted = scene.facts.host.amd64_level, scene.values.get(arg, arg)
        if level is None or not wanted.isdigit() or scene.facts.host.arch != "amd64":
            return None
        return (level < int(wanted)) == below

    return test


def _buildx(test: Callable[[Facts], bool | None]) -> Callable[[Scene, str], bool | None]:
    return lambda scene, _arg: test(scene.facts) if scene.probed else None


def _driver(facts: Facts) -> str | None:
    current = next((b for b in facts.buildx.builders if b.current or b.name == facts.buildx.current), None)
    return current.driver if current else None


CONDITIONS: dict[str, Callable[[Scene, str], bool | None]] = {
    "engine-runs": _engine_runs,
    "engine-cannot-run": lambda s, a: None if (r := _engine_runs(s, a)) is None else not r,
    "emulation-for": _emulation_for,
    "env-default-platform": _env_default,
    "local-copy-is": _local_copy,
    "container-native": _container_native,
    "container-foreign-unemulated": _container_foreign_unemulated,
    "entry-file": _entry_file,
    "entry-file-is-not": _entry_file_is_not,
    "emulated-by": _emulated_by,
    "engine-arch": _engine_arch,
    "host-level-below": _host_level(True),
    "host-level-at-least": _host_level(False),
    "buildx-installed": _buildx(lambda f: f.buildx.installed if f.buildx.error is None else None),
    "buildx-not-installed": _buildx(lambda f: not f.buildx.installed if f.buildx.error is None else None),
    "buildx-driver": lambda s, a: None if not s.probed or (d := _driver(s.facts)) is None else d == a,
    "buildx-driver-not": lambda s, a: None if not s.probed or (d := _driver(s.facts)) is None else d != a,
    "containerd-store": _buildx(lambda f: f.engine.containerd_snapshotter if f.engine.reachable else None),
}

_FACT_OF = {
    "engine-runs": "engine.platform",
    "engine-cannot-run": "engine.platform",
    "engine-arch": "engine.platform",
    "emulation-for": "emulation.emulated",
    "emulated-by": "emulation.emulated",
    "env-default-platform": "environment.DOCKER_DEFAULT_PLATFORM",
    "local-copy-is": "images.local.platform",
    "container-native": "images.containers.platform",
    "container-foreign-unemulated": "images.containers.platform",
    "entry-file": "images.containers.entry_file",
    "entry-file-is-not": "images.containers.entry_file",
    "host-level-below": "host.amd64_level",
    "host-level-at-least": "host.amd64_level",
    "buildx-installed": "buildx.installed",
    "buildx-not-installed": "buildx.installed",
    "buildx-driver": "buildx.builders.driver",
    "buildx-driver-not": "buildx.builders.driver",
    "containerd-store": "engine.containerd_snapshotter",
}


def _fact_value(scene: Scene, name: str) -> str:
    facts, c = scene.facts, scene.container
    match _FACT_OF[name]:
        case "engine.platform":
            return str(facts.engine.platform)
        case "emulation.emulated":
            if c is not None and c.emulator:
                return c.emulator
            return ", ".join(f"{e.platform} via {e.via}" for e in facts.emulation.emulated) or "none"
        case "environment.DOCKER_DEFAULT_PLATFORM":
            return facts.env("DOCKER_DEFAULT_PLATFORM") or "unset"
        case "images.containers.platform":
            return c.platform if c else "?"
        case "images.containers.entry_file":
            head = c.entry_file if c else None
            return (
                "?"
                if head is None
                else " ".join(
                    filter(
                        None,
                        (
                            head.path,
                            head.kind,
                            head.elf_platform,
                            f"{head.size} bytes",
                            "executable" if head.executable else ("not executable" if head.executable is False else ""),
                            f"interpreter {head.interpreter}"
                            + (" (missing)" if head.interpreter_present is False else "")
                            if head.interpreter
                            else "",
                        ),
                    )
                )
            )
        case "host.amd64_level":
            return str(facts.host.amd64_level)
        case "buildx.installed":
            return str(facts.buildx.installed).lower()
        case "buildx.builders.driver":
            return str(_driver(facts))
        case "engine.containerd_snapshotter":
            return str(facts.engine.containerd_snapshotter).lower()
        case "images.local.platform":
            return ", ".join(sorted({i.platform for i in facts.images.local})) or "none"
    return "?"


def evaluate(condition: str, scene: Scene) -> bool | None:
    """One condition of a signature (`name` or `name:arg`); unknown names raise KeyError (a catalog test checks)."""
    name, _, arg = condition.partition(":")
    return CONDITIONS[name](scene, arg)


# ---- explanation ---------------------------------------------------------------------------------------------


class _Values(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def _fill(template: str, values: dict[str, str], *, default: str | None = None) -> str | None:
    try:
        return template.format_map(_Values(values))
    except KeyError:
        if default is None:
            return None
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), default), template)


def _fixes(cause: dict[str, Any], values: dict[str, str]) -> tuple[Fix, ...]:
    fixes = []
    for data in cause.get("fixes", ()):
        steps: list[RunCommand | Manual] = []
        for step in data["steps"]:
            if "run" in step:
                argv = [_fill(a, values) for a in step["run"]]
                if all(a is not None for a in argv):
                    steps.append(RunCommand(argv=tuple(a for a in argv if a is not None)))
                else:
                    shown = " ".join(_fill(a, values, default=f"<{a.strip('{}')}>") or a for a in step["run"])
                    steps.append(Manual(text=f"run `{shown}` (fill in the names in <>)"))
            else:
                steps.append(Manual(text=_fill(step["manual"], values, default="?") or step["manual"]))
        safety = Safety(data.get("safety", "safe"))
        if safety is Safety.SAFE and not any(isinstance(s, RunCommand) for s in steps):
            safety = Safety.DISPLAY_ONLY
        fixes.append(
            Fix(
                title=_fill(data["title"], values, default="?") or data["title"],
                steps=tuple(steps),
                safety=safety,
                needs=tuple(Need(n) for n in data.get("needs", ())),
            )
        )
    return tuple(fixes)


def _values(match: Match, facts: Facts, container: ContainerFacts | None) -> dict[str, str]:
    values = dict(match.groups)
    if "path2" in values:
        values.setdefault("path", values.pop("path2"))
    engine = native(facts)
    if engine is not None:
        values["engine_platform"] = format_platform(engine)
        values["engine_arch"] = engine.architecture
    for key in ("image_platform", "wanted_platform", "host_platform"):
        parsed = platform_or_none(values.get(key))
        if parsed is not None:
            values[key.replace("platform", "arch")] = parsed.architecture
    if container is not None:
        values.setdefault("image", container.image)
        if container.entrypoint:
            values.setdefault("path", container.entrypoint[0])
        parsed = platform_or_none(container.platform)
        if parsed is not None:
            values["container_arch"] = parsed.architecture
    values.setdefault("path", "the entrypoint")
    return values


def explain(match: Match, facts: Facts, *, subject: str, container: ContainerFacts | None = None) -> Problem:
    """The Problem for one recognised message: what happened, the causes ranked with their status, the fixes."""
    sig = match.signature
    values = _values(match, facts, container)
    scene = Scene(facts=facts, values=values, container=container)
    evidence = [
        Evidence("error.text", match.text + (f" (x{match.count})" if match.count > 1 else "")),
        Evidence("error.signature", sig.id, suggests=sig.source),
        Evidence("error.class", sig.cls),
    ]
    evidence += [Evidence(f"error.{k}", v) for k, v in match.groups]
    ranked: list[tuple[str, dict[str, Any]]] = []
    for rank, cause in enumerate(sig.causes, 1):
        held = {c: evaluate(c, scene) for c in (*cause.get("confirm", ()), *cause.get("rule_out", ()))}
        ruled_out = any(held[c] for c in cause.get("rule_out", ()))
        confirmed = not ruled_out and any(held[c] for c in cause.get("confirm", ()))
        status = "ruled out" if ruled_out else "confirmed" if confirmed else "possible"
        text = _fill(cause["text"], values, default="?") or cause["text"]
        evidence.append(Evidence(f"cause.{rank}.{cause['id']}", status, suggests=f"[{cause['kind']}] {text}"))
        for condition, value in held.items():
            if value is not None:
                name = condition.partition(":")[0]
                if condition in cause.get("rule_out", ()) and value:
                    effect = "rules out"
                else:
                    effect = "supports" if value else "does not support"
                evidence.append(
                    Evidence(
                        _FACT_OF[name],
                        _fact_value(scene, name),
                        suggests=f"{condition} is {str(value).lower()}: {effect} {cause['id']}",
                    )
                )
        ranked.append((status, cause | {"_text": text}))
    order = {"confirmed": 0, "possible": 1, "ruled out": 2}
    ranked.sort(key=lambda item: order[item[0]])  # stable: the signature's rank within each status
    arch = [s for s, c in ranked if c["kind"] == "architecture" and s != "ruled out"]
    evidence.append(
        Evidence("error.blames_architecture", "confirmed" if "confirmed" in arch else "possible" if arch else "no")
    )
    happened = _fill(sig.happened, values, default="?") or sig.happened
    live = [(s, c) for s, c in ranked if s != "ruled out"]
    if live:
        status, top = live[0]
        lead = "cause" if status == "confirmed" else "most likely"
        message = f"{happened}; {lead}: {top['_text']}"
        others = len(live) - 1
        if others:
            message += f" ({others} other possible cause{'s' if others > 1 else ''})"
    else:
        message = f"{happened}; every known cause is ruled out by the facts here"
    fixes = tuple(f for s, c in live for f in _fixes(c, values))
    target = values.get("wanted_platform") or values.get("image_platform")
    return Problem(message=message, subject=subject, target=target, evidence=tuple(evidence), fixes=fixes)


def _container_of(facts: Facts, line: str) -> ContainerFacts | None:
    """The failed container whose log holds this line: a pasted error explained with that container's facts."""
    for container in facts.images.containers:
        if any(line in clean(log) for log in (*container.log_tail, container.error)):
            return container
    return None


@check("DKD320", "error-explained", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def error_explained(ctx: Context) -> Iterator[Problem]:
    """An error message you brought, recognised and explained

    ## What it checks
    The text given to `dockdoctor explain-error` (or `check --error`): every message it recognises in it (signatures
    in `knowledge/signatures.toml`), after removing colours, BuildKit, timestamp, compose and kubectl prefixes.

    ## Why it matters
    Users arrive with the message, not a hypothesis: `exec /usr/local/bin/docker-entrypoint.sh: exec format error`,
    `no matching manifest for linux/arm64/v8 in the manifest list entries`, `qemu: uncaught target signal 11
    (Segmentation fault) - core dumped`. Several look alike (a script without `#!` also gives `exec format error`);
    the facts of this machine confirm or rule out each cause, and look-alikes are never blamed on the architecture.

    ## Example
    `fixtures/checks/DKD320/bad-pasted-exec-format-error.json`; `good-nothing-pasted.json`.

    ## Fix
    The fixes of the causes that are not ruled out, most likely first; most are display-only (edit a Dockerfile,
    pick another tag); installing emulation is unsafe and privileged and needs its own consent.

    ## Facts used
    `error_texts`, `engine.platform`, `emulation.emulated`, `buildx.builders`, `host.amd64_level`, `environment`,
    `images.local`, `images.containers` (when the pasted line is in a failed container's log).
    """
    for pasted in ctx.facts.error_texts:
        for match in recognise(pasted.text):
            yield explain(
                match, ctx.facts, subject=f"error ({pasted.source})", container=_container_of(ctx.facts, match.text)
            )


def _failed(container: ContainerFacts) -> bool:
    return container.restarting or (container.exit_code is not None and container.exit_code != 0)


@check("DKD321", "container-error-explained", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def container_error_explained(ctx: Context) -> Iterator[Problem]:
    """A failed container's log holds a known error

    ## What it checks
    Containers that exited non-zero or are restarting: their last log lines and the runtime's error are classified
    with the same signatures as `explain-error`, and the exit code is named (132 SIGILL, 134 SIGABRT, 139 SIGSEGV).

    ## Why it matters
    A container that crashes under QEMU (`qemu: uncaught target signal 11 (Segmentation fault)`, exit 139) or dies of
    `exec format error` gets the same diagnosis as the pasted text, with its platform, emulator and entrypoint file
    as evidence: a script without `#!` or with CRLF line endings is told apart from a binary for another CPU.

    ## Example
    `fixtures/checks/DKD321/bad-segv-under-qemu.json`; `good-container-exited-cleanly.json`.

    ## Fix
    The fixes of the causes that are not ruled out (see DKD320).

    ## Facts used
    `images.containers[]` (exit_code, restarting, platform, emulator, error, log_tail, entry_file), `engine.platform`,
    `emulation.emulated`.
    """
    for container in ctx.facts.images.containers:
        if not _failed(container):
            continue
        seen: set[str] = set()
        for match in recognise("\n".join((*container.log_tail, container.error))):
            if match.signature.id in seen:
                continue
            seen.add(match.signature.id)
            problem = explain(match, ctx.facts, subject=f"container {container.name}", container=container)
            code = container.exit_code
            how = "restarting" if container.restarting else f"exited {code}"
            if code in SIGNALS:
                how += f" = {SIGNALS[code]}"
            run = f", emulated by {container.emulator}" if container.emulator else ""
            yield Problem(
                message=f"container {container.name} ({container.image}, {container.platform}{run}) {how}: "
                f"{problem.message}",
                subject=problem.subject,
                target=container.platform,
                evidence=(Evidence("images.containers.exit_code", str(code)), *problem.evidence),
                fixes=problem.fixes,
            )
