"""DKD54x: the project's workloads against what the knowledge base says about the emulator that runs them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from dockdoctor.checks._emulator import Runner, qemu_version, runner_for
from dockdoctor.checks._levels import base_level, matches, names
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev, platform_or_none, runs_natively, short_source
from dockdoctor.checks._versions import affects, installed_versions, release
from dockdoctor.knowledge import load
from dockdoctor.model import (
    Evidence,
    Facts,
    Fix,
    Fixable,
    Location,
    Need,
    Problem,
    RemoteImage,
    Safety,
    Severity,
    manual,
    run,
)
from dockdoctor.platforms import Platform, format_platform
from dockdoctor.reference import ReferenceError, parse

_SHOWN = {"qemu": "QEMU", "rosetta": "Rosetta", "any": "emulation", "unknown": "an emulator the facts do not name"}


class Workload(NamedTuple):
    """An image of the project that runs on this engine, and for which platform."""

    ref: str
    where: str  # "service db (compose.yaml:3)", "Dockerfile:1 (stage build)"
    platform: Platform
    why: str  # how that platform was chosen
    kind: str  # run | build
    pin: str = ""  # run: "service" (platform: key), "default" (DOCKER_DEFAULT_PLATFORM), "local" (the local copy)
    location: Location | None = None  # the Dockerfile's FROM line, when `where` is that line alone


def remote(facts: Facts, ref: str) -> RemoteImage | None:
    """What the registry said about a reference, when it answered."""
    try:
        canonical = parse(ref).canonical
    except ReferenceError:
        canonical = ref
    return next(
        (r for r in facts.images.remote if r.error is None and (r.reference == ref or r.canonical == canonical)), None
    )


def offers_native(facts: Facts, ref: str) -> bool:
    """The registry lists a platform of this image that the engine runs natively."""
    image = remote(facts, ref)
    return image is not None and any(
        runs_natively(facts, p) for p in (platform_or_none(e.platform) for e in image.platforms) if p is not None
    )


def _default_platform(facts: Facts) -> tuple[str, str] | None:
    project = facts.project
    in_dotenv = (
        next(((e.value, e.source) for e in project.dotenv if e.name == "DOCKER_DEFAULT_PLATFORM"), None)
        if project
        else None
    )
    value = facts.env("DOCKER_DEFAULT_PLATFORM")
    return (
        (value, "environment DOCKER_DEFAULT_PLATFORM")
        if value
        else (in_dotenv[0], f"DOCKER_DEFAULT_PLATFORM ({in_dotenv[1]})")
        if in_dotenv
        else None
    )


def _run_platform(facts: Facts, ref: str, pinned: str | None, origin: str) -> tuple[Platform, str, str] | None:
    """The platform a `docker run`/`compose up` of `ref` uses here, from the facts; None when they cannot tell."""
    pin = platform_or_none(pinned)
    if pin is not None:
        return pin, f"platform: {pinned} ({origin})", "service"
    default = _default_platform(facts)
    chosen = platform_or_none(default[0]) if default else None
    if default and chosen is not None:
        return chosen, default[1], "default"
    forms = set(names(ref))
    for image in facts.images.local:
        if forms & {t for tag in image.repo_tags for t in names(tag)}:
            held = [p for p in (platform_or_none(m.platform) for m in image.manifests) if p is not None]
            native = next((p for p in held if runs_natively(facts, p)), None)
            if native is not None:
                return native, f"the local copy {image.id[:19]} holds {format_platform(native)}", ""
            local = platform_or_none(image.platform)
            return (local, f"the local copy {image.id[:19]} is {image.platform}", "local") if local else None
    published = remote(facts, ref)
    if published is not None and published.kind == "manifest" and len(published.platforms) == 1:
        only = platform_or_none(published.platforms[0].platform)
        return (only, f"{ref} is published only for {published.platforms[0].platform}", "") if only else None
    engine = platform_or_none(facts.engine.platform)
    if engine is None or (published is not None and published.platforms and not offers_native(facts, ref)):
        return None  # an index without the engine's platform does not run here at all (DKD301/DKD411 say so)
    return engine, "the engine's own platform (docker's default)", ""


def workloads(ctx: Context) -> Iterator[Workload]:
    """The project's images as they run on this engine: compose services, dev containers, Dockerfile RUN stages."""
    facts, project = ctx.facts, ctx.facts.project
    if project is None:
        return
    runs: list[tuple[str, str | None, str, str]] = []
    if project.compose is not None:
        for service in project.compose.services:
            if service.image and service.build is None:
                origin = next((o.source for o in service.origins if o.key == "platform"), "compose file")
                line = next((o.source for o in service.origins if o.key == "image"), "")
                runs.append(
                    (
                        service.image,
                        service.platform,
                        origin,
                        f"service {service.name}" + (f" ({line})" if line else ""),
                    )
                )
    runs.extend(
        (dev.image, dev.run_args_platform, f"{dev.path} runArgs", dev.path)
        for dev in project.devcontainers
        if dev.image and dev.error is None
    )
    for ref, pinned, origin, where in runs:
        chosen = _run_platform(facts, ref, pinned, origin)
        if chosen is not None:
            yield Workload(ref, where, chosen[0], chosen[1], "run", chosen[2])
    for dockerfile in project.dockerfiles:
        for stage in dockerfile.stages:
            if stage.from_stage or not stage.runs or "$" in stage.base or stage.base == "scratch":
                continue
            at = Location(file=dockerfile.path, line=stage.line)
            where = f"{at}" + (f" (stage {stage.name})" if stage.name else "")
            at_line = None if stage.name else at  # a named stage's finding has had no location: kept so
            written = stage.platform or ""
            if "BUILDPLATFORM" in written:
                continue  # runs on the build platform: natively
            if written and "$" not in written:
                fixed = platform_or_none(written)
                if fixed is not None:
                    yield Workload(stage.base, where, fixed, f"FROM --platform={written}", "build", location=at_line)
                continue
            if written and "TARGETPLATFORM" not in written:
                continue  # another variable: the facts cannot tell
            for target in ctx.targets:
                why = f"a build for the target {format_platform(target)}"
                yield Workload(stage.base, where, target, why, "build", location=at_line)


def _native_fix(facts: Facts, work: Workload) -> Fix | None:
    """Run or build natively, when the image is published for the engine's own platform."""
    engine = facts.engine.platform
    if not engine or not offers_native(facts, work.ref):
        return None
    if work.kind == "build":
        text = (
            f"{work.where}: `FROM --platform=$BUILDPLATFORM {work.ref}` runs this stage natively ({work.ref} is "
            f"published for {engine}); cross-compile for $TARGETARCH inside it"
        )
    elif work.pin == "local":
        return Fix(
            title=f"pull {work.ref} for {engine}",
            steps=(run("docker", "pull", "--platform", engine, work.ref),),
            safety=Safety.SAFE,
            needs=(Need.NETWORK,),
        )
    else:
        text = f"{work.where}: run {work.ref} for {engine} here (it is published for it): change {work.why} to {engine}"
    return Fix(title=f"run {work.ref} natively ({engine})", steps=(manual(text),), safety=Safety.DISPLAY_ONLY)


def _evidence(work: Workload, runner: Runner) -> tuple[Evidence, ...]:
    return (
        ev("workload", work.where),
        ev("workload.platform", f"{format_platform(work.platform)}: {work.why}"),
        ev("emulator", f"{runner.kind}: {runner.how}"),
    )


@check("DKD540", "workload-fails-under-emulator", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def workload_fails_under_emulator(ctx: Context) -> Iterator[Problem]:
    """A workload of the project is known to fail or crawl under the emulator that runs it here

    ## What it checks
    The project's workloads (the images of its compose services, of its dev containers, and the FROM images of
    Dockerfile stages that RUN something) for the platform each one really runs here: a service's `platform:`,
    `DOCKER_DEFAULT_PLATFORM`, the local copy's platform or a single-platform image for a run; the stage's
    `--platform` or each target for a build. For each one the engine runs emulated, the emulator that runs it
    (QEMU or Rosetta, from `emulation.emulated` and the engine's Rosetta setting) against `knowledge/emulation.toml`
    `[[runtime]]` entries whose image patterns match and whose emulator is that one (or `any`). A workload that runs
    natively, or whose emulator the facts do not name, is never reported for an emulator-specific entry.

    ## Why it matters
    The image is fine and the emulator is not: .NET under QEMU is unsupported and dies with
    `qemu: uncaught target signal 11 (Segmentation fault) - core dumped`; MongoDB 5.0+ for amd64 needs AVX, which
    Rosetta lacks (`Illegal instruction`).

    ## Example
    `fixtures/checks/DKD540/bad-dotnet-sdk-stage-arm64-qemu.json` (a .NET SDK build stage for linux/arm64 under
    QEMU on an amd64 dockerd), `bad-mongo-pinned-amd64-rosetta.json` (a compose service pinned to linux/amd64
    under Docker Desktop's Rosetta); `good-dotnet-sdk-stage-buildplatform.json`, `good-mongo-native-arm64.json`.

    ## Fix
    Display only: run or build the image for the engine's own platform when the registry lists it (a stage
    `FROM --platform=$BUILDPLATFORM` with cross-compilation; a service's platform; a safe `docker pull --platform`
    when only the local copy is foreign), and the knowledge base's alternative for that runtime as a manual step.
    For a runtime that fails under Rosetta only, on an engine whose Rosetta setting `knowledge/rosetta.toml`
    names (Docker Desktop, Rancher Desktop, Podman): that setting turned off, so that QEMU runs it instead.

    ## Facts used
    `project.compose.services`, `project.devcontainers`, `project.dockerfiles[].stages`, `project.dotenv`,
    `environment`, `images.local`, `images.remote`, `engine.platform`, `emulation.emulated`, `emulation.rosetta`,
    `buildx.builders`, targets; `knowledge/emulation.toml` `[[runtime]]`, `knowledge/rosetta.toml`.
    """
    entries = [r for r in load("emulation")["runtime"] if r["images"]]
    for work in workloads(ctx):
        runner = runner_for(ctx.facts, work.platform)
        if not runner.emulated:
            continue
        for entry in entries:
            if entry["emulator"] not in ("any", runner.kind) or not matches(work.ref, entry["images"]):
                continue
            symptom = f": `{entry['symptom']}`" if entry["symptom"] else ""
            under = _SHOWN[entry["emulator"]]
            fixes = tuple(f for f in (_native_fix(ctx.facts, work),) if f) + (
                Fix(
                    title="the knowledge base's alternative",
                    steps=(manual(entry["alternative"]),),
                    safety=Safety.DISPLAY_ONLY,
                ),
            )
            if runner.kind == "rosetta" and entry["emulator"] == "rosetta":
                fixes += tuple(f for f in (_qemu_instead(ctx.facts, entry),) if f)
            yield Problem(
                message=f"{work.where}: {work.ref} runs for {format_platform(work.platform)} under "
                f"{_SHOWN[runner.kind]} here; {entry['name']} {entry['effect']} under {under}{symptom} "
                f"({short_source(entry['source'])})",
                subject=work.where,
                location=work.location,
                target=format_platform(work.platform),
                evidence=_evidence(work, runner) + (ev("knowledge.emulation.runtime.id", entry["id"]),),
                fixes=fixes,
            )


def _qemu_instead(facts: Facts, entry: dict[str, Any]) -> Fix | None:
    """For a workload that fails under Rosetta only: the engine's own Rosetta setting turned off, so that QEMU
    runs linux/amd64 (rosetta.toml names the setting; None for an engine whose setting it does not name)."""
    product = facts.engine.flavor.value
    setting = next(
        (r["setting"] for r in load("rosetta")["requirement"] if r["product"] == product and r.get("setting")), None
    )
    if setting is None:
        return None
    step = f"turn off {setting}, then restart {product}: QEMU runs linux/amd64 instead of Rosetta"
    if "needs-avx" in entry.get("tags", ()):
        avx = _entry("emulation", "qemu-x86-64-tcg-avx")
        step += f" (QEMU emulates AVX from {avx['since']}, {short_source(avx['source'])}; DKD542 checks it)"
    return Fix(title="run it under QEMU instead of Rosetta", steps=(manual(step),), safety=Safety.DISPLAY_ONLY)


def _entry(table: str, entry_id: str) -> dict[str, Any]:
    """One knowledge entry by its id, in any kind of entries of `table`."""
    return next(e for rows in load(table).values() for e in rows if e["id"] == entry_id)


def _qemu_cpu_fix(work: Workload) -> Fix:
    where = (
        f"add `ENV QEMU_CPU=max` to the stage at {work.where}, before its RUN lines"
        if work.kind == "build"
        else f"add `QEMU_CPU=max` to the environment of {work.where}"
    )
    return Fix(title="emulate the `max` CPU (QEMU_CPU=max)", steps=(manual(where),), safety=Safety.DISPLAY_ONLY)


def _level_problem(ctx: Context, work: Workload, runner: Runner, needed: int) -> tuple[str, tuple[Fix, ...]] | None:
    """Why the CPU that runs this workload is below `needed`, with the fixes; None when it is not (or unknown)."""
    facts = ctx.facts
    if runner.kind == "qemu":
        fact = _entry("emulation", "qemu-x86-64-default-cpu-max")
        version = qemu_version(facts)
        parsed = release(version) if version else None
        since = release(fact["since"])
        if parsed is not None and since is not None and parsed >= since:
            return None  # `max`: the knowledge base does not say which level it reaches, so no claim
        upgrade = Fix(
            title=f"use QEMU {fact['since']} or later",
            safety=Safety.DISPLAY_ONLY,
            steps=(manual(_entry("defects", "qemu-user-x86-64-qemu64-default-cpu")["fix"]),),
        )
        if parsed is not None:
            why = f"QEMU {version} emulates its default `{fact['before']}` CPU, x86-64-v1"
        else:
            why = (
                f"QEMU's version is unknown here; before {fact['since']} its default CPU is `{fact['before']}` "
                f"(x86-64-v1), from {fact['since']} `{fact['value']}` ({short_source(fact['source'])})"
            )
        return why, (_qemu_cpu_fix(work), upgrade)
    if runner.kind == "rosetta" and needed >= _AVX_LEVEL:
        gap = _entry("emulation", "rosetta-gap-avx")
        return (
            f"Rosetta cannot provide it: {gap['gap']} ({short_source(gap['source'])}), and x86-64-v{_AVX_LEVEL} "
            "requires AVX2",
            (
                Fix(
                    title="not under Rosetta",
                    safety=Safety.DISPLAY_ONLY,
                    steps=(manual(_entry("defects", "rosetta-no-avx")["fix"]),),
                ),
            ),
        )
    return None


# x86-64-v3 is the first level that requires AVX and AVX2 (the x86-64 psABI's microarchitecture levels)
_AVX_LEVEL = 3


@check("DKD541", "base-image-level-above-cpu", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def base_image_level_above_cpu(ctx: Context) -> Iterator[Problem]:
    """An amd64 image from a family that needs a newer x86-64 level than the CPU or emulator that runs it

    ## What it checks
    The project's workloads (as DKD540 finds them) that run here for linux/amd64 and come from a base image
    family of `knowledge/emulation.toml` `[[base_image_level]]` (RHEL and UBI 9 need x86-64-v2, RHEL and UBI 10
    x86-64-v3, Rocky Linux 9, Oracle Linux 9, Chainguard), against the emulated CPU that runs them (a CPU that
    runs them natively is DKD308's, from the same data): under QEMU, qemu-user's default CPU (`qemu64`,
    x86-64-v1, before QEMU 7.2; `max` from 7.2, about which no level is claimed), saying when the QEMU version
    is unknown; under Rosetta, which has no AVX/AVX2, families that need x86-64-v3. An emulator the facts do not
    name is not judged.

    ## Why it matters
    The container or the build step dies at its first instruction: `Fatal glibc error: CPU does not support
    x86-64-v2` (or `-v3`), whatever the image's code does.

    ## Example
    `fixtures/checks/DKD541/bad-ubi9-amd64-under-qemu.json` (a UBI 9 build stage for linux/amd64 on Docker
    Desktop with Rosetta off), `bad-ubi10-amd64-under-rosetta.json`, `bad-rocky9-under-qemu.json` (Linux arm64
    with Debian's qemu-x86_64); `good-ubi9-native-v4-cpu.json` (native:
    DKD308's), `good-ubi9-stage-buildplatform.json`.

    ## Fix
    Display only. Under QEMU: `QEMU_CPU=max` in the container's or stage's environment, or QEMU 7.2 or later
    (the knowledge base's step). Under Rosetta: the image for arm64 or QEMU instead of Rosetta.

    ## Facts used
    `project` workloads (see DKD540), `images.remote`, `images.local`, `engine.platform`, `engine.remote`,
    `emulation.emulated`, `emulation.rosetta`, `buildx.builders`, `host.amd64_level`, `host.arch`, targets;
    `knowledge/emulation.toml` `[[base_image_level]]`, `[[qemu_fact]]`, `[[rosetta_gap]]`; `knowledge/defects.toml`.
    """
    for work in workloads(ctx):
        entry = base_level(work.ref) if work.platform.architecture == "amd64" else None
        if entry is None:
            continue
        needed = max(entry["amd64_level"], int(work.platform.variant[1:]) if work.platform.variant[1:].isdigit() else 1)
        runner = runner_for(ctx.facts, work.platform)
        if runner.kind == "native":
            continue  # the CPU itself: DKD308's, from the same knowledge, so a workload gets one finding
        found = _level_problem(ctx, work, runner, needed)
        if found is None:
            continue
        why, fixes = found
        yield Problem(
            message=f"{work.where}: {work.ref} ({entry['family']}) needs x86-64-v{needed} for "
            f"{format_platform(work.platform)}; it runs "
            f"{'natively' if runner.kind == 'native' else 'under ' + _SHOWN[runner.kind]} here and {why}: "
            f"`{entry['symptom']}`",
            subject=work.where,
            location=work.location,
            target=format_platform(work.platform),
            evidence=_evidence(work, runner) + (ev("knowledge.emulation.base_image_level.id", entry["id"]),),
            fixes=fixes,
        )


def _qemu_lacks_avx(facts: Facts) -> tuple[bool | None, str, Fix]:
    """Whether the QEMU that runs amd64 here lacks AVX (None: unknown), why, and the upgrade that gives it."""
    desktop = next((i for i in installed_versions(facts) if i.product == "docker-desktop"), None)
    if desktop is not None:
        defect = _entry("defects", "docker-desktop-qemu-no-avx")
        fix = Fix(
            title=f"upgrade Docker Desktop to {defect['fix_version']} or later",
            safety=Safety.DISPLAY_ONLY,
            steps=(manual(defect["fix"]),),
        )
        if affects(defect["affected"], desktop.version):
            return (
                True,
                (
                    f"the QEMU of Docker Desktop {desktop.version} does not emulate AVX "
                    f"({short_source(defect['source'])})"
                ),
                fix,
            )
        return False, "", fix
    fact = _entry("emulation", "qemu-x86-64-tcg-avx")
    fix = Fix(
        title=f"use QEMU {fact['since']} or later",
        safety=Safety.DISPLAY_ONLY,
        steps=(manual(_entry("defects", "qemu-user-x86-64-qemu64-default-cpu")["fix"].split("; or set")[0]),),
    )
    version = qemu_version(facts)
    parsed, since = (release(version) if version else None), release(fact["since"])
    if parsed is None or since is None:
        return (
            None,
            (
                f"QEMU's version is unknown here, and QEMU emulates AVX only from {fact['since']} "
                f"({short_source(fact['source'])})"
            ),
            fix,
        )
    if parsed < since:
        return True, f"QEMU {version} does not emulate AVX (from {fact['since']}: {short_source(fact['source'])})", fix
    return False, "", fix


@check("DKD542", "avx-workload-under-old-qemu", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def avx_workload_under_old_qemu(ctx: Context) -> Iterator[Problem]:
    """An AVX-dependent image runs for amd64 under a QEMU that does not emulate AVX

    ## What it checks
    The project's workloads (as DKD540 finds them) that run here for linux/amd64 under QEMU and match a
    `knowledge/emulation.toml` `[[runtime]]` entry tagged `needs-avx` (MongoDB 5.0+, Milvus), against what the
    knowledge base says about that QEMU: Docker Desktop's bundled QEMU before 4.27.0 has no AVX
    (`docker-desktop-qemu-no-avx`); QEMU's TCG translates AVX from 7.2 (`qemu-x86-64-tcg-avx`). When the facts
    hold no QEMU version the finding says so. Under Rosetta, which has no AVX at all, DKD540 reports these images.

    ## Why it matters
    The program executes an AVX instruction the emulator cannot translate and dies with `Illegal instruction`;
    the image is fine and the service never starts.

    ## Example
    `fixtures/checks/DKD542/bad-mongo-amd64-desktop-4-26-qemu.json` (Docker Desktop 4.26.1, Rosetta off, a
    service pinned to linux/amd64); `good-mongo-amd64-desktop-4-33-qemu.json`.

    ## Fix
    Display only: run the image for the engine's own platform when the registry lists it, the knowledge base's
    alternative for that runtime, or a QEMU (or Docker Desktop) release that emulates AVX.

    ## Facts used
    `project` workloads (see DKD540), `images.remote`, `engine.platform`, `engine.evidence`
    (version.Platform.Name), `emulation.emulated`, `emulation.rosetta`, `buildx.builders`, targets;
    `knowledge/emulation.toml` `[[runtime]]` (tag `needs-avx`) and `[[qemu_fact]]`, `knowledge/defects.toml`.
    """
    entries = [r for r in load("emulation")["runtime"] if "needs-avx" in r.get("tags", ()) and r["images"]]
    for work in workloads(ctx):
        if work.platform.architecture != "amd64":
            continue
        runner = runner_for(ctx.facts, work.platform)
        if runner.kind != "qemu":
            continue
        lacks, why, upgrade = _qemu_lacks_avx(ctx.facts)
        if lacks is False:
            continue
        for entry in (e for e in entries if matches(work.ref, e["images"])):
            fixes = tuple(f for f in (_native_fix(ctx.facts, work),) if f) + (
                Fix(
                    title="the knowledge base's alternative",
                    steps=(manual(entry["alternative"]),),
                    safety=Safety.DISPLAY_ONLY,
                ),
                upgrade,
            )
            yield Problem(
                message=f"{work.where}: {work.ref} ({entry['name']}) needs AVX and runs for "
                f"{format_platform(work.platform)} under QEMU here; {why}: `{entry['symptom']}`"
                + ("" if short_source(entry["source"]) in why else f" ({short_source(entry['source'])})"),
                subject=work.where,
                location=work.location,
                target=format_platform(work.platform),
                evidence=_evidence(work, runner) + (ev("knowledge.emulation.runtime.id", entry["id"]),),
                fixes=fixes,
            )
