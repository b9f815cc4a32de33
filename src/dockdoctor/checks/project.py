"""DKD6xx: project files (Dockerfiles and dev containers): pinned platforms, target variables, emulated builds."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockdoctor.checks._edits import replace_line
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import emulation_for, ev, native, platform_or_none, runs_natively
from dockdoctor.model import (
    DevcontainerFacts,
    DockerfileFacts,
    Facts,
    Fix,
    Fixable,
    Location,
    Need,
    Problem,
    Safety,
    Severity,
    Stage,
    Step,
    manual,
)
from dockdoctor.platforms import TARGET_VARS, format_platform

_PLATFORM_FLAG = re.compile(r"--platform=(\S+)\s*")


def _dockerfiles(facts: Facts) -> Iterator[DockerfileFacts]:
    if facts.project is not None:
        yield from facts.project.dockerfiles


def _root(facts: Facts) -> str:
    return facts.project.root if facts.project else ""


def _at(df: DockerfileFacts, line: int) -> Location:
    return Location(file=df.path, line=line)


def _where(df: DockerfileFacts, line: int) -> str:
    return str(_at(df, line))


def chain(df: DockerfileFacts, stage: Stage) -> list[Stage]:
    """The stage, then the stages it is built FROM, back to the one that names an image (which decides the
    platform: `FROM --platform=$BUILDPLATFORM img AS base` then `FROM base` inherits it)."""
    out, seen = [stage], {stage.index}
    while out[-1].from_stage:
        base = out[-1].base.lower()
        earlier = [
            s
            for s in df.stages
            if s.index < out[-1].index
            and s.index not in seen
            and ((s.name or "").lower() == base or str(s.index) == base)
        ]
        if not earlier:
            break
        out.append(earlier[-1])
        seen.add(earlier[-1].index)
    return out


def shipped(df: DockerfileFacts) -> list[Stage]:
    """The final stage and every stage it is built FROM: what they run on is what the image ships."""
    final = next((s for s in df.stages if s.final), None)
    return chain(df, final) if final is not None else []


def _set_flag(facts: Facts, df: DockerfileFacts, stage: Stage, value: str | None) -> Fix | None:
    """An edit of the stage's FROM line: `--platform=value`, or no flag at all for None."""
    if not stage.text or not _PLATFORM_FLAG.search(stage.text):
        return None
    new = _PLATFORM_FLAG.sub(f"--platform={value} " if value else "", stage.text, count=1)
    title = f"use --platform={value}" if value else "drop the --platform flag"
    return Fix(
        title=f"{title} on line {stage.line}",
        needs=(Need.REBUILD,),
        steps=(replace_line(_root(facts), df.path, stage.line, stage.text, new),),
    )


@check("DKD601", "dockerfile-invalid", severity=Severity.ERROR)
def dockerfile_invalid(ctx: Context) -> Iterator[Problem]:
    """A Dockerfile cannot be parsed

    ## What it checks
    Syntax errors BuildKit would refuse: an unterminated heredoc, an unknown instruction, a bad parser directive,
    an instruction before the first `FROM`. The message names the file and line; the stages before the error are
    still checked.

    ## Why it matters
    `docker build` fails with `failed to solve: dockerfile parse error on line 12: unterminated heredoc`.

    ## Example
    `fixtures/checks/DKD601/bad-unterminated-heredoc.json`; `good-parses.json`.

    ## Fix
    None to apply: correct the line named.

    ## Facts used
    `project.dockerfiles[].error`.
    """
    for df in _dockerfiles(ctx.facts):
        if df.error is not None:
            yield Problem(
                message=df.error.detail, subject=df.path, evidence=(ev("project.dockerfiles.error", df.path),)
            )


@check("DKD602", "hardcoded-from-platform", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def hardcoded_from_platform(ctx: Context) -> Iterator[Problem]:
    """`FROM --platform=` names a fixed platform

    ## What it checks
    A `FROM` with a literal `--platform=linux/amd64` (hadolint DL3029). On a builder stage the usual intent is
    `$BUILDPLATFORM` (run the compilers natively, cross-compile for `$TARGETARCH`); on the final stage the flag
    pins what ships.

    ## Why it matters
    Every build on another machine runs that stage under emulation (slow, `qemu: uncaught target signal 11`),
    and a pinned final stage ships amd64 even when `--platform linux/arm64` is asked for.

    ## Example
    `fixtures/checks/DKD602/bad-pinned-final-stage.json`; `good-buildplatform-builder.json`.

    ## Fix
    Safe, a one-line edit: builder stages get `--platform=$BUILDPLATFORM`; the final stage, and a stage the final
    stage is built `FROM` (its platform is what ships), lose the flag (they then follow `--platform` of the
    build). Rebuild afterwards.

    ## Facts used
    `project.dockerfiles[].stages[].platform`, `.final`, `.from_stage`, `.text`.
    """
    for df in _dockerfiles(ctx.facts):
        ships = {s.index for s in shipped(df)}
        for stage in df.stages:
            if not stage.platform or "$" in stage.platform:
                continue
            final = stage.index in ships  # the final stage, or a stage the final stage is built FROM
            fix = _set_flag(ctx.facts, df, stage, None if final else "$BUILDPLATFORM")
            role = "final" if stage.final else "shipped (the final stage is built FROM it)" if final else "builder"
            yield Problem(
                message=f"{_where(df, stage.line)}: FROM --platform={stage.platform} {stage.base_raw} "
                f"pins the {role} stage",
                subject=_where(df, stage.line),
                location=_at(df, stage.line),
                target=stage.platform,
                evidence=(ev("project.dockerfiles.stages.platform", stage.platform),),
                fixes=(fix,) if fix else (),
            )


@check("DKD603", "buildplatform-on-final-stage", severity=Severity.ERROR, fixable=Fixable.ALWAYS)
def buildplatform_on_final_stage(ctx: Context) -> Iterator[Problem]:
    """The final stage is built for `$BUILDPLATFORM`

    ## What it checks
    The last stage of a Dockerfile is built for `$BUILDPLATFORM`: its own `FROM --platform=$BUILDPLATFORM`, or
    that of the stage it is built `FROM` (`FROM --platform=$BUILDPLATFORM golang AS base` ... `FROM base`),
    followed through the whole chain.

    ## Why it matters
    The image ships the build machine's architecture whatever `--platform` asks for: built on a Mac, it is arm64
    under an amd64 tag, and the servers fail with `exec format error`.

    ## Example
    `fixtures/checks/DKD603/bad-final-buildplatform.json`; `bad-final-from-buildplatform-stage.json` (the
    final stage is `FROM base`, and base is `FROM --platform=$BUILDPLATFORM`); `good-final-target.json`.

    ## Fix
    Safe, a one-line edit: drop the flag from the `FROM` line that decides the platform (the final stage's, or
    the stage it is built from); it then follows the target platform.

    ## Facts used
    `project.dockerfiles[].stages[].platform`, `.final`, `.from_stage`, `.base`.
    """
    for df in _dockerfiles(ctx.facts):
        stages = shipped(df)
        if not stages:
            continue
        final, decides = stages[0], stages[-1]
        if decides.platform and "BUILDPLATFORM" in decides.platform:
            fix = _set_flag(ctx.facts, df, decides, None)
            via = (
                ""
                if decides is final
                else " through "
                + " -> ".join(f"FROM {s.base_raw} (line {s.line})" for s in stages[:-1])
                + f" -> line {decides.line}"
            )
            yield Problem(
                message=f"{_where(df, final.line)}: the final stage is built for "
                f"--platform={decides.platform}{via}: the image ships the build machine's "
                "architecture",
                subject=_where(df, final.line),
                location=_at(df, final.line),
                evidence=(
                    ev("project.dockerfiles.stages.platform", decides.platform),
                    ev("project.dockerfiles.stages.line", decides.line),
                ),
                fixes=(fix,) if fix else (),
            )


@check("DKD604", "target-arg-default", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def target_arg_default(ctx: Context) -> Iterator[Problem]:
    """`ARG TARGETARCH=amd64` gives an automatic platform variable a default

    ## What it checks
    `ARG TARGETARCH=...`, `ARG TARGETPLATFORM=...`, `ARG TARGETOS=...` or `ARG TARGETVARIANT=...` with a value.

    ## Why it matters
    BuildKit sets these for every build; a default only matters to the classic builder and to readers, who then
    believe the image is amd64-only, and it hides the value BuildKit passes when a script builds with the legacy
    builder (`DOCKER_BUILDKIT=0`): the arm64 build downloads amd64 binaries.

    ## Example
    `fixtures/checks/DKD604/bad-targetarch-default.json`; `good-targetarch-declared.json`.

    ## Fix
    Safe, a one-line edit: `ARG TARGETARCH` without a value.

    ## Facts used
    `project.dockerfiles[].args`.
    """
    for df in _dockerfiles(ctx.facts):
        for arg in df.args:
            if arg.name not in TARGET_VARS:
                continue
            fixes: tuple[Fix, ...] = ()
            if arg.text and f"{arg.name}=" in arg.text:
                new = re.sub(rf"{arg.name}=\S*", arg.name, arg.text, count=1)
                fixes = (
                    Fix(
                        title=f"declare {arg.name} without a default",
                        needs=(Need.REBUILD,),
                        steps=(replace_line(_root(ctx.facts), df.path, arg.line, arg.text, new),),
                    ),
                )
            yield Problem(
                message=f"{_where(df, arg.line)}: ARG {arg.name}={arg.default} shadows the value BuildKit "
                "sets for each target",
                subject=_where(df, arg.line),
                location=_at(df, arg.line),
                evidence=(ev("project.dockerfiles.args", f"{arg.name}={arg.default}"),),
                fixes=fixes,
            )


@check("DKD605", "arch-specific-download", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def arch_specific_download(ctx: Context) -> Iterator[Problem]:
    """A build step downloads a binary for one architecture

    ## What it checks
    `RUN`, `ADD` or `COPY` lines that name an architecture (`x86_64`, `amd64`, `x64`, `aarch64`, `arm64`) in a URL
    or file name without using `TARGETARCH`/`TARGETPLATFORM` (or `uname -m`, `dpkg --print-architecture`), when a
    target platform has another architecture.

    ## Why it matters
    The image for the other target contains a binary it cannot run: `exec /usr/local/bin/node: exec format
    error`, or `cannot execute binary file: Exec format error` inside the build.

    ## Example
    `fixtures/checks/DKD605/bad-node-x64-tarball.json` (targets amd64 and arm64); `good-uses-targetarch.json`.

    ## Fix
    Display only: declare `ARG TARGETARCH` in the stage and build the name from it (map `amd64` to `x64` for Node,
    `arm64` to `aarch64` where the project's file names need it).

    ## Facts used
    `project.dockerfiles[].stages[].arch_specific`, targets.
    """
    arches = {t.architecture for t in ctx.targets}
    for df in _dockerfiles(ctx.facts):
        for stage in df.stages:
            for item in stage.arch_specific:
                others = sorted(arches - {item.arch})
                if not others:
                    continue
                yield Problem(
                    message=f"{_where(df, item.line)}: downloads an artifact for {item.arch}, but the targets include "
                    f"{', '.join(others)}: {item.text}",
                    subject=_where(df, item.line),
                    location=_at(df, item.line),
                    target=item.arch,
                    evidence=(ev("project.dockerfiles.stages.arch_specific", item.text),),
                    fixes=(
                        Fix(
                            title="choose the artifact from TARGETARCH",
                            safety=Safety.DISPLAY_ONLY,
                            steps=(
                                manual(
                                    f"in {df.path}, add `ARG TARGETARCH` to the stage and replace the "
                                    f"{item.arch} part of line {item.line} with a value derived from "
                                    "${TARGETARCH}"
                                ),
                            ),
                        ),
                    ),
                )


@check("DKD606", "builder-stage-emulated", severity=Severity.INFO, fixable=Fixable.SOMETIMES)
def builder_stage_emulated(ctx: Context) -> Iterator[Problem]:
    """A builder stage runs under emulation where it could cross-compile

    ## What it checks
    A builder stage (not the final stage, and not one the final stage is built `FROM`, whose platform ships)
    that runs commands (`RUN`) and has no `--platform=$BUILDPLATFORM`, while a target platform is one the engine
    runs only under emulation.

    ## Why it matters
    Compilers and package managers under QEMU are 5 to 20 times slower (the 40-minute `npm ci`); with
    `FROM --platform=$BUILDPLATFORM` and `GOOS=$TARGETOS GOARCH=$TARGETARCH` (or the toolchain's equivalent) the
    stage runs natively and only the final stage is for the target.

    ## Example
    `fixtures/checks/DKD606/bad-go-builder-emulated.json` (target linux/arm64 on amd64);
    `good-go-cross-compile.json`.

    ## Fix
    Unsafe (it needs its own consent): the edit `FROM --platform=$BUILDPLATFORM IMAGE AS build`, plus by hand
    `ARG TARGETOS TARGETARCH` passed to the compiler; the edit alone would ship host binaries.

    ## Facts used
    `project.dockerfiles[].stages[]`, `engine.platform`, `emulation.emulated`, targets.
    """
    if native(ctx.facts) is None:
        return
    emulated = [t for t in ctx.targets if not runs_natively(ctx.facts, t)]
    if not emulated:
        return
    names = ", ".join(format_platform(t) for t in emulated)
    for df in _dockerfiles(ctx.facts):
        ships = {s.index for s in shipped(df)}
        for stage in df.stages:
            decides = chain(df, stage)[-1]  # a stage built FROM another inherits its platform
            if (
                stage.index in ships
                or not stage.runs
                or stage.from_stage
                or (decides.platform and "BUILDPLATFORM" in decides.platform)
            ):
                continue
            steps: list[Step] = []
            if stage.text and not stage.platform and stage.text.lstrip().upper().startswith("FROM "):
                head, _, rest = stage.text.partition(" ")
                steps.append(
                    replace_line(
                        _root(ctx.facts),
                        df.path,
                        stage.line,
                        stage.text,
                        f"{head} --platform=$BUILDPLATFORM {rest.lstrip()}",
                    )
                )
            steps.append(
                manual(
                    "declare ARG TARGETOS TARGETARCH in the stage and pass them to the compiler "
                    "(GOOS=$TARGETOS GOARCH=$TARGETARCH, --target, CC=...)"
                )
            )
            yield Problem(
                message=f"{_where(df, stage.line)}: stage {stage.name or stage.index} runs its commands "
                f"under emulation for {names}; it could cross-compile natively",
                subject=_where(df, stage.line),
                location=_at(df, stage.line),
                target=names,
                evidence=(ev("project.dockerfiles.stages.platform", stage.platform or "(none)"),),
                # unsafe: the edit alone builds host binaries unless the commands cross-compile
                fixes=(
                    Fix(
                        title="build natively and cross-compile",
                        safety=Safety.UNSAFE,
                        needs=(Need.REBUILD,),
                        steps=tuple(steps),
                    ),
                ),
            )


@check("DKD607", "devcontainer-platform", severity=Severity.WARNING, fixable=Fixable.NEVER)
def devcontainer_platform(ctx: Context) -> Iterator[Problem]:
    """A dev container asks for a platform this engine runs only under emulation, or not at all

    ## What it checks
    `runArgs` with `--platform` in `devcontainer.json`, and the compose service a dev container runs
    (`dockerComposeFile` + `service`, resolved relative to the definition): its `platform:` and whether its image
    offers the engine's platform.

    ## Why it matters
    A dev container pinned to `linux/amd64` on an Apple Silicon Mac runs every tool under emulation (language
    servers, test runs), or fails to start with `exec format error`.

    ## Example
    `fixtures/checks/DKD607/bad-arm64-runargs-on-amd64.json`; `bad-compose-service-arm64-image.json` (its
    `dockerComposeFile` service uses an arm64-only image); `good-no-platform.json`.

    ## Fix
    None to apply: drop `--platform` from `runArgs` when the image is multi-platform, or choose an image that
    offers the engine's platform.

    ## Facts used
    `project.devcontainers[]` (and their `compose`), `project.compose`, `images.remote`, `engine.platform`,
    `emulation.emulated`.
    """
    facts = ctx.facts
    if facts.project is None or native(facts) is None:
        return
    for dev in facts.project.devcontainers:
        wanted = platform_or_none(dev.run_args_platform)
        if dev.error is not None:
            yield Problem(message=dev.error.detail, subject=dev.path)
        yield from _devcontainer_service(ctx, dev)
        if wanted is None or runs_natively(facts, wanted):
            continue
        via = emulation_for(facts, wanted)
        yield Problem(
            message=f"{dev.path}: runArgs --platform={dev.run_args_platform} on a {facts.engine.platform} "
            f"engine: " + (f"every tool runs under {via}" if via else "it cannot run here"),
            subject=dev.path,
            target=dev.run_args_platform,
            evidence=(ev("project.devcontainers.run_args_platform", dev.run_args_platform),),
        )


def _devcontainer_service(ctx: Context, dev: DevcontainerFacts) -> Iterator[Problem]:
    """The compose service a dev container runs (from its own compose files or the project's)."""
    facts = ctx.facts
    compose = dev.compose or (facts.project.compose if facts.project else None)
    service = next((s for s in compose.services if s.name == dev.service), None) if compose and dev.service else None
    if service is None:
        return
    wanted = platform_or_none(service.platform)
    if wanted is not None and not runs_natively(facts, wanted):
        via = emulation_for(facts, wanted)
        yield Problem(
            message=f"{dev.path}: service {service.name} is pinned to {service.platform}: "
            + (f"every tool runs under {via}" if via else "it cannot run on this engine"),
            subject=dev.path,
            target=service.platform,
            evidence=(ev("project.devcontainers.service.platform", service.platform),),
        )
    remote = next((r for r in facts.images.remote if r.reference == service.image), None) if service.image else None
    engine = native(facts)
    if remote is None or remote.error is not None or engine is None or wanted is not None:
        return
    result = ctx.verdict(remote, engine)
    if result.verdict in ("emulated", "unavailable"):
        yield Problem(
            message=f"{dev.path}: service {service.name}'s image {service.image} offers "
            f"{', '.join(result.offered)}: "
            + (f"it runs under {result.via}" if result.via else f"nothing runs on this {facts.engine.platform} engine"),
            subject=dev.path,
            target=facts.engine.platform,
            evidence=(ev("images.remote.platforms", ",".join(result.offered)),),
        )


@check("DKD609", "project-file-skipped", severity=Severity.WARNING)
def project_file_skipped(ctx: Context) -> Iterator[Problem]:
    """A project file was not read

    ## What it checks
    Files dockdoctor found but did not read: larger than 1 MiB, a symlink loop, unreadable; a link to a file or
    folder outside the project folder (never followed: a cloned project must not make dockdoctor read
    `/etc/shadow` or walk `/`); a FIFO, device or socket under a project file's name (never opened for reading,
    so the scan cannot block); a file nested too deeply to parse; a `.dockerignore` with a pattern docker refuses;
    and compose files that compose itself cannot resolve (broken YAML, an undefined required variable), named
    with file and line.

    ## Why it matters
    Whatever those files would say about platforms is missing from this report; compose fails the same way.

    ## Example
    `fixtures/checks/DKD609/bad-symlink-loop-and-broken-compose.json`; `good-everything-read.json`.

    ## Fix
    None to apply: as the message says.

    ## Facts used
    `project.skipped`, `project.compose.error`.
    """
    project = ctx.facts.project
    if project is None:
        return
    for path, reason in project.skipped:
        yield Problem(message=f"{path}: not read ({reason})", subject=path)
    if project.compose is not None and project.compose.error is not None:
        yield Problem(message=project.compose.error.detail, subject=", ".join(project.compose.files))


BUILD_KINDS = ("github-actions", "gitlab-ci", "compose")


def _by_file(facts: Facts) -> list[tuple[str, str, list[str], list[str]]]:
    """(path, kind, platforms, sources) per deploy file that names targets."""
    return [
        (
            deploy.path,
            deploy.kind,
            list(dict.fromkeys(t.platform for t in deploy.targets)),
            [str(t.source) for t in deploy.targets],
        )
        for deploy in (facts.project.deploy if facts.project else ())
        if deploy.targets
    ]


@check("DKD610", "deploy-targets-disagree", severity=Severity.WARNING)
def deploy_targets_disagree(ctx: Context) -> Iterator[Problem]:
    """Deploy files disagree about the platform, or the targets given leave out one they name

    ## What it checks
    The platforms the project's deploy files name, file by file: a CI workflow or compose build that builds
    for other platforms than the Kubernetes, ECS, Lambda, Cloud Run or fly.io files run it on; two of those
    that run on platforms with none in common; and targets given with `--platform` or the project settings that
    leave out a platform a deploy file names.

    ## Why it matters
    The image that CI pushes is the image the cluster pulls: built for linux/amd64 (`runs-on: ubuntu-latest`
    with no `platforms:`) and scheduled on `kubernetes.io/arch: arm64` nodes, the pods fail with `exec format
    error` or `no matching manifest for linux/arm64/v8 in the manifest list entries`. A `--platform` that leaves
    a deploy platform out means this report says nothing about it.

    ## Example
    `fixtures/checks/DKD610/bad-ci-builds-amd64-cluster-runs-arm64.json`; `good-ci-builds-both.json`.

    ## Fix
    None to apply: build for every platform the deploy files run on (`platforms: linux/amd64,linux/arm64` in
    docker/build-push-action, `build.platforms` in compose), or correct the file that is wrong.

    ## Facts used
    `project.deploy[].targets`, targets and where they came from.
    """
    files = _by_file(ctx.facts)
    built = [f for f in files if f[1] in BUILD_KINDS]
    runs = [f for f in files if f[1] not in BUILD_KINDS]
    for path, kind, platforms, sources in built:
        for other_path, other_kind, needed, other_sources in runs:
            missing = [p for p in needed if p not in platforms]
            if missing:
                yield Problem(
                    message=f"{path} ({kind}) builds for {', '.join(platforms)}, but {other_path} "
                    f"({other_kind}) runs it on {', '.join(missing)} "
                    f"({', '.join(other_sources)})",
                    subject=path,
                    target=", ".join(missing),
                    evidence=(
                        ev("project.deploy.targets", ", ".join(sources)),
                        ev("project.deploy.targets", ", ".join(other_sources)),
                    ),
                )
    for i, (path, kind, platforms, sources) in enumerate(runs):
        for other_path, other_kind, others, other_sources in runs[i + 1 :]:
            if not set(platforms) & set(others):
                yield Problem(
                    message=f"{path} ({kind}) runs on {', '.join(platforms)} ({', '.join(sources)}), "
                    f"{other_path} ({other_kind}) on {', '.join(others)} "
                    f"({', '.join(other_sources)}): an image both run must be published for "
                    "every one of them",
                    subject=path,
                    target=", ".join(dict.fromkeys(platforms + others)),
                    evidence=(ev("project.deploy.targets", ", ".join(sources + other_sources)),),
                )
    given = [
        t for t in ctx.target_info if t.intent == "deploy" and (t.source == "--platform" or t.source.endswith(".toml"))
    ]
    if given:
        names = {t.platform for t in given}
        for path, kind, platforms, sources in files:
            left_out = [p for p in platforms if p not in names]
            if left_out:
                yield Problem(
                    message=f"{path} ({kind}) names {', '.join(left_out)} ({', '.join(sources)}), but the "
                    f"targets are {', '.join(sorted(names))} ({given[0].source}): this report "
                    f"does not check {', '.join(left_out)}",
                    subject=path,
                    target=", ".join(left_out),
                    evidence=(ev("targets", ", ".join(sorted(names))),),
                )


@check("DKD611", "deploy-target-not-local", severity=Severity.INFO)
def deploy_target_not_local(ctx: Context) -> Iterator[Problem]:
    """The deploy files name a platform this engine does not run natively

    ## What it checks
    With no `--platform` and no project settings, the targets come from the deploy files; a target the
    engine's own platform cannot run natively is named with its sources.

    ## Why it matters
    What works here is not what runs there: an image built or pulled on this linux/arm64 Mac and pushed as it
    is fails on the linux/amd64 servers with `exec format error`. dockdoctor checks for the deploy target, and
    local runs of it need emulation (DKD503, DKD506).

    ## Example
    `fixtures/checks/DKD611/bad-arm64-nodes-amd64-engine.json`; `good-deploy-matches-engine.json`.

    ## Fix
    None needed: build for the deploy target (`docker buildx build --platform linux/arm64 ...`), not for this
    machine.

    ## Facts used
    `project.deploy[].targets`, `engine.platform`, targets.
    """
    if native(ctx.facts) is None or not ctx.facts.project or not ctx.facts.project.deploy:
        return
    from_files = [t for d in ctx.facts.project.deploy for t in d.targets]
    for info, target in zip(ctx.target_info, ctx.targets, strict=False):
        if info.intent != "deploy" or not any(str(t.source) in info.source for t in from_files):
            continue
        if runs_natively(ctx.facts, target):
            continue
        via = emulation_for(ctx.facts, target)
        first = next((t.source for t in from_files if t.platform == info.platform), None)  # the first that names it
        where = first.at if first is not None else info.source
        yield Problem(
            message=f"the deploy files target {info.platform} ({info.source}); this engine is "
            f"{ctx.facts.engine.platform}: " + (f"here it runs only under {via}" if via else "it cannot run here"),
            subject=where,
            location=first.location if first is not None else None,
            target=info.platform,
            evidence=(ev("engine.platform", ctx.facts.engine.platform), ev("targets", info.source)),
        )


@check("DKD612", "deploy-file-invalid", severity=Severity.WARNING)
def deploy_file_invalid(ctx: Context) -> Iterator[Problem]:
    """A deploy file cannot be read as YAML or TOML

    ## What it checks
    Kubernetes manifests, Helm values, CI workflows, SAM/Serverless templates, ECS task definitions and fly.toml
    that do not parse; the message names the file and line.

    ## Why it matters
    Whatever platform that file names is missing from the targets; `kubectl apply` and the other tools refuse
    the file the same way (`error converting YAML to JSON: yaml: line 12: mapping values are not allowed in
    this context`).

    ## Example
    `fixtures/checks/DKD612/bad-broken-manifest.json`; `good-manifest-parses.json`.

    ## Fix
    None to apply: correct the line named.

    ## Facts used
    `project.deploy[].error`.
    """
    for deploy in ctx.facts.project.deploy if ctx.facts.project else ():
        if deploy.error is not None:
            yield Problem(
                message=deploy.error.detail, subject=deploy.path, evidence=(ev("project.deploy.kind", deploy.kind),)
            )
