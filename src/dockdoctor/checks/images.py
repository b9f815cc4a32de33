"""DKD3xx: images and registries (no variant for a target, foreign single-platform images, stale local copies)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from dockdoctor.checks import _tags
from dockdoctor.checks._emulator import install_emulation
from dockdoctor.checks._levels import base_level, required_level
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import emulation_for, ev, native, platform_or_none, runs_natively
from dockdoctor.checks._verdicts import (
    _same_ref,
    judged,
    local_copy,
    local_only,
)
from dockdoctor.model import (
    Facts,
    Fix,
    Fixable,
    ImageVerdict,
    Location,
    Need,
    Problem,
    RemoteImage,
    Safety,
    Severity,
    Step,
    manual,
    run,
)
from dockdoctor.platforms import MatchKind, Platform, best_match, can_run, format_platform


def _recreate(container: str, platform: str | None) -> Step:
    return manual(f"docker rm -f {container}, then create it again without --platform (or with --platform {platform})")


def _rebuild(ref: str, platforms: str) -> Fix:
    return Fix(
        title="publish the image for every target",
        safety=Safety.DISPLAY_ONLY,
        needs=(Need.REBUILD, Need.NETWORK),
        serves="deploy",
        steps=(run("docker", "buildx", "build", "--platform", platforms, "-t", ref, "--push", "."),),
    )


def _runnable(ctx: Context) -> Iterator[tuple[RemoteImage, ImageVerdict]]:
    """Every runnable looked-up image (or local-only image) with its verdict on each target."""
    for image in (judged(ctx.facts, i) for i in ctx.facts.images.remote):
        if image.error is None and not image.artifact_type:
            for target in ctx.targets:
                yield image, ctx.verdict(image, target)


@check("DKD301", "image-lacks-target-platform", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def image_lacks_target_platform(ctx: Context) -> Iterator[Problem]:
    """A multi-platform image has no variant for a target platform

    ## What it checks
    The image's index (manifest list) has no entry that runs on the target, natively or through containerd's
    fallbacks (arm64 runs arm/v7, amd64/v3 runs amd64). Attestation entries (`unknown/unknown`) do not count.

    ## Why it matters
    `docker pull` and `docker compose up` fail with `no matching manifest for linux/arm64/v8 in the manifest
    list entries` (the classic case: `mysql:5.7` on an Apple Silicon Mac).

    ## Example
    `fixtures/checks/DKD301/bad-amd64-only-index-on-arm64.json`: an index with linux/amd64 only, target
    linux/arm64. `good-multi-platform-index.json` offers both. `bad-amd64-only-index-nearer-tag-offers-arm64.json`:
    `app:1.2-alpine` is amd64 only, and the tag search found `app:1.3-alpine` and `app:1.3-slim` with both.

    ## Fix
    First, the nearest tag of the same repository that runs natively on every target (dockdoctor lists the
    repository's tags and looks up the best ranked: same suffix family `-alpine`/`-slim`/`-bookworm` and major
    version first, then the nearest version, then the newer), one or two of them: an edit of every compose
    `image:` and Dockerfile `FROM` line that names the image (safe: an edit; test the new version), or, when no
    project line names it, the reference to use (display only). A registry without a tags list, or with too
    many tags, is said in the message. When the engine can emulate an offered platform: pin it (`docker pull
    --platform linux/amd64 IMAGE`, or `platform: linux/amd64` on the compose service; safe, needs network).
    Otherwise publish the image for the target with `docker buildx build --platform linux/amd64,linux/arm64 -t
    IMAGE --push .` (display only).

    ## Facts used
    `images.remote[].platforms`, `images.remote[].alternatives`, `emulation.emulated`, `project` (the lines that
    name the image), targets.
    """
    for image, result in _runnable(ctx):
        several_local = image.kind == "local" and len(image.platforms) > 1
        if image.kind != "index" and not several_local or result.verdict not in ("emulated", "unavailable"):
            continue
        offered = ", ".join(result.offered) or "none"
        fixes = list(_tags.fixes(ctx, image))
        if result.verdict == "emulated" and result.platform and not several_local:
            fixes.append(
                Fix(
                    title=f"pull the {result.platform} variant and run it under {result.via}",
                    needs=(Need.NETWORK,),
                    steps=(run("docker", "pull", "--platform", result.platform, image.reference),),
                )
            )
        fixes.append(_rebuild(image.reference, ",".join(dict.fromkeys([*result.offered, result.target]))))
        yield Problem(
            message=f"{image.reference} offers {offered}: no variant for {result.target}"
            + (f" (runs only under {result.via} as {result.platform})" if result.via else "")
            + _tags.note(ctx, image),
            subject=image.reference,
            target=result.target,
            evidence=(ev("images.remote.platforms", offered), ev("images.remote.digest", image.digest)),
            fixes=tuple(fixes),
        )


@check("DKD302", "single-platform-foreign-image", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def single_platform_foreign_image(ctx: Context) -> Iterator[Problem]:
    """A single-platform image was built for another architecture than a target

    ## What it checks
    The reference resolves to one image manifest (not an index) whose config says another platform than the
    target can run natively: typically an image built on an Apple Silicon Mac (linux/arm64) and deployed to
    amd64 servers, or the other way round.

    ## Why it matters
    Docker pulls a single-platform image whatever its architecture and only warns: `The requested image's platform
    (linux/arm64) does not match the detected host platform (linux/amd64/v3) and no specific platform was
    requested`. The container then dies with `exec format error`, or crawls under QEMU.

    ## Example
    `fixtures/checks/DKD302/bad-arm64-image-amd64-target.json`; `good-amd64-image-amd64-target.json`.

    ## Fix
    When another tag of the repository runs natively on every target, the nearest one or two, as in DKD301 (an
    edit of the lines that name the image; safe, test the new version). Publish it for every target: `docker
    buildx build --platform linux/amd64,linux/arm64 -t IMAGE --push .` (display only: a rebuild). If the image is
    a copy of a multi-platform image made with pull/tag/push, copy all platforms instead: `docker buildx
    imagetools create -t DEST SRC` or `skopeo copy --all docker://SRC docker://DEST`.

    ## Facts used
    `images.remote[].kind`, `images.remote[].platforms`, `images.remote[].alternatives`, `emulation.emulated`,
    targets.
    """
    for image, result in _runnable(ctx):
        if (
            image.kind not in ("manifest", "schema1", "local")
            or result.verdict in ("exact", "compatible")
            or (image.kind == "local" and len(image.platforms) != 1)
        ):
            continue
        how = f"runs only under {result.via}" if result.via else "cannot run there"
        where = " (a local image no registry knows)" if image.kind == "local" else ""
        yield Problem(
            message=f"{image.reference} is a single-platform {', '.join(result.offered) or '?'} image{where}: "
            f"on {result.target} it {how}" + _tags.note(ctx, image),
            subject=image.reference,
            target=result.target,
            evidence=(ev("images.remote.kind", image.kind), ev("images.remote.platforms", ",".join(result.offered))),
            fixes=(
                *_tags.fixes(ctx, image),
                _rebuild(image.reference, ",".join(dict.fromkeys([*result.offered, result.target]))),
                Fix(
                    title="copy every platform of the original instead of pull/tag/push",
                    safety=Safety.DISPLAY_ONLY,
                    needs=(Need.NETWORK,),
                    steps=(
                        manual(
                            f"docker buildx imagetools create -t {image.reference} "
                            "SOURCE (or skopeo copy --all docker://SOURCE "
                            f"docker://{image.reference})"
                        ),
                    ),
                ),
            ),
        )


@check("DKD303", "local-copy-platform-differs", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def local_copy_platform_differs(ctx: Context) -> Iterator[Problem]:
    """The local copy of an image is for another platform than the target needs

    ## What it checks
    The engine holds the image under the same tag, but for another platform than the one the registry offers for
    the target (a stale copy after `DOCKER_DEFAULT_PLATFORM` or `docker pull --platform`), or with a digest the
    registry no longer serves. With the containerd image store the local image is the whole index: it is fine
    when one of the platforms it holds matches the target.

    ## Why it matters
    `docker run` and `docker compose up` use the local copy without pulling: the wrong architecture runs under
    emulation or fails with `exec format error`, although the registry has the right one.

    ## Example
    `fixtures/checks/DKD303/bad-arm64-copy-of-multi-image.json`; `good-matching-copy.json`. With the containerd
    image store: `bad-containerd-store-holds-only-arm64.json`; `good-containerd-store-holds-every-target.json`.

    ## Fix
    Safe, needs network: `docker pull --platform TARGET IMAGE` replaces the local copy (with the containerd image
    store it adds that platform to it).

    ## Facts used
    `images.local[].platform`, `images.local[].manifests`, `images.local[].repo_digests`, `images.remote`, targets.
    """
    for image, result in _runnable(ctx):
        if (
            image.kind == "local"
            or result.local_platform is None
            or result.platform is None
            or result.verdict not in ("exact", "compatible")
        ):
            continue
        local = platform_or_none(result.local_platform)
        if local is not None and local == platform_or_none(result.platform):
            continue
        yield Problem(
            message=f"the local {image.reference} is {result.local_platform}, but {result.target} needs its "
            f"{result.platform} variant",
            subject=image.reference,
            target=result.target,
            evidence=(
                ev("images.local.platform", result.local_platform),
                ev("images.remote.platform", result.platform),
            ),
            fixes=(
                Fix(
                    title=f"pull the {result.platform} variant",
                    needs=(Need.NETWORK,),
                    steps=(run("docker", "pull", "--platform", result.platform, image.reference),),
                ),
            ),
        )


@check("DKD304", "local-image-needs-emulation", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def local_image_needs_emulation(ctx: Context) -> Iterator[Problem]:
    """A local image used here runs only under emulation, or not at all

    ## What it checks
    Images of containers on the engine, and local copies of looked-up references, whose platform the engine
    cannot run natively: it says whether an emulator (QEMU, Rosetta) covers it. With the containerd image store
    an image holds several platforms, so a container created with `--platform` is checked on its own.

    ## Why it matters
    Under emulation the container works, several times slower; without it, it fails with `exec format error`.

    ## Example
    `fixtures/checks/DKD304/bad-arm64-container-on-amd64.json`; `good-native-images.json`; with the containerd
    image store, `bad-containerd-store-arm64-container-of-native-image.json`.

    ## Fix
    When the image offers the engine's platform (its registry answer, or the index a containerd-store copy
    lists): `docker pull --platform linux/amd64 IMAGE` (safe, needs network; it serves the local run). When it
    does not (a single-platform image, or one never pushed): build it here for the engine's platform, or install
    emulation (DKD503); a re-pull would fetch the same platform. A container created with `--platform`:
    recreate it for the engine's platform.

    ## Facts used
    `images.local[].platform`, `images.containers[]`, `engine.platform`, `emulation.emulated`.
    """
    facts = ctx.facts
    engine = native(facts)
    if engine is None:
        return

    def foreign(text: str) -> tuple[Platform, str | None] | None:
        """The platform and its emulator, when the engine cannot run `text` natively."""
        platform = platform_or_none(text)
        if platform is None or best_match(engine, [platform]).kind is not MatchKind.UNAVAILABLE:
            return None
        return platform, emulation_for(facts, platform)

    def runs(via: str | None) -> str:
        return f"on this {facts.engine.platform} engine it " + (
            f"runs only under {via}" if via else "cannot run (no emulation)"
        )

    reported: set[str] = set()
    for image in facts.images.local:
        found = foreign(image.platform)
        if found is None:
            continue
        reported.add(image.id)
        name = (image.repo_tags or (image.id[:19],))[0]
        # never offer to pull a platform the image does not have: only what its registry answer or index lists
        answers = {offers(facts, tag, engine) for tag in image.repo_tags} - {None}
        has_native = True in answers
        if has_native:
            fixes: tuple[Fix, ...] = (
                Fix(
                    title=f"pull the {facts.engine.platform} variant",
                    needs=(Need.NETWORK,),
                    serves="local",
                    steps=(run("docker", "pull", "--platform", str(facts.engine.platform), name),),
                ),
            )
        else:
            fixes = (
                Fix(
                    title=f"build or publish {name} for {facts.engine.platform}",
                    safety=Safety.DISPLAY_ONLY,
                    needs=(Need.REBUILD,),
                    serves="local",
                    steps=(
                        manual(
                            f"the registry offers no {facts.engine.platform} variant of {name}: build it "
                            f"here (docker build --platform {facts.engine.platform} -t {name} .) or run "
                            "it under emulation (see DKD503)"
                        ),
                    ),
                ),
            )
            if not found[1]:
                fixes += tuple(install_emulation(facts, found[0]))
        lacks = f"; it has no {facts.engine.platform} variant" if answers and not has_native else ""
        yield Problem(
            message=f"{name} is {image.platform}: {runs(found[1])}{lacks}",
            subject=name,
            target=facts.engine.platform,
            evidence=(ev("images.local.platform", image.platform), ev("emulation.via", found[1] or "none")),
            fixes=fixes,
        )
    for container in facts.images.containers:  # one created with --platform from an image that holds several
        found = foreign(container.platform)
        if found is None or container.image_id in reported or container.exec_format_error:  # DKD305 has those
            continue
        yield Problem(
            message=f"container {container.name} ({container.image}) is {container.platform}: {runs(found[1])}",
            subject=f"container {container.name}",
            target=facts.engine.platform,
            evidence=(ev("images.containers.platform", container.platform), ev("emulation.via", found[1] or "none")),
            fixes=(
                Fix(
                    title=f"recreate container {container.name} for {facts.engine.platform}",
                    steps=(_recreate(container.name, facts.engine.platform),),
                ),
            ),
        )


def _registered(facts: Facts, platform: Platform) -> bool:
    """A binfmt_misc handler for `platform` exists (enabled or not)."""
    return any(
        p is not None and (p == platform or can_run(p, platform))
        for p in (platform_or_none(h.platform) for h in facts.emulation.handlers)
    )


def offers(facts: Facts, reference: str, platform: Platform) -> bool | None:
    """Whether the image `reference` has a manifest that runs on `platform`: from its registry answer, else the
    index a containerd-store local copy lists; None when no fact says."""
    lists: list[list[Platform]] = [
        [p for p in (platform_or_none(e.platform) for e in image.platforms) if p]
        for image in facts.images.remote
        if image.error is None and image.platforms and _same_ref(image.reference, reference)
    ]
    local = local_copy(facts, reference)
    if local is not None and local.manifests:
        lists.append([p for p in (platform_or_none(m.platform) for m in local.manifests + local.absent) if p])
    if not lists:
        return None
    return any(best_match(platform, found).kind in (MatchKind.EXACT, MatchKind.COMPATIBLE) for found in lists)


@check("DKD305", "container-exec-format-error", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def container_exec_format_error(ctx: Context) -> Iterator[Problem]:
    """A container exited with `exec format error` and no emulator covers its platform

    ## What it checks
    Exited containers whose last log lines (or error) contain `exec format error`, whose platform the engine
    cannot run natively and for which no emulator is registered. When one is registered, the emulator failed,
    not the image: DKD507 reports that.

    ## Why it matters
    The image's binaries are for another CPU architecture than the engine, and no emulator handles them:
    `exec /usr/local/bin/docker-entrypoint.sh: exec format error`.

    ## Example
    `fixtures/checks/DKD305/bad-arm64-container-exited.json`; `good-container-ran.json`;
    `good-emulator-registered.json` (a qemu-aarch64 handler is registered: DKD507's case);
    `bad-arm64-only-image.json` (the registry says the image has no linux/amd64 entry, so the fix installs
    emulation instead of pulling a platform the image does not have).

    ## Fix
    Run the image for the engine's platform (`docker pull --platform linux/amd64 IMAGE`, then recreate the
    container), offered only when the image has that platform (or no fact says it has not); or install
    emulation for the image's platform (as DKD503: `tonistiigi/binfmt`, privileged, its own consent).

    ## Facts used
    `images.containers[].exec_format_error`, `images.containers[].platform`, `engine.platform`,
    `emulation.emulated`, `images.remote[].platforms`, `images.local[].manifests`.
    """

    facts = ctx.facts
    engine = native(facts)
    for container in facts.images.containers:
        if not container.exec_format_error:
            continue
        image_platform = platform_or_none(container.platform)
        if image_platform is not None and runs_natively(facts, image_platform):
            continue  # the engine runs that platform itself: not the architecture (a look-alike, DKD321 says which)
        if image_platform is not None and (emulation_for(facts, image_platform) or _registered(facts, image_platform)):
            continue  # an emulator is registered for it: it failed (DKD507)
        fixes: list[Fix] = []
        has_native = offers(facts, container.image, engine) if engine is not None else False
        if engine is not None and has_native is not False:
            fixes.append(
                Fix(
                    title=f"pull the {facts.engine.platform} variant and recreate the container",
                    needs=(Need.NETWORK,),
                    steps=(
                        run("docker", "pull", "--platform", str(facts.engine.platform), container.image),
                        _recreate(container.name, facts.engine.platform),
                    ),
                )
            )
        if image_platform is not None:
            fixes.extend(install_emulation(facts, image_platform))
        lacks = f"; {container.image} has no {facts.engine.platform} variant" if has_native is False else ""
        yield Problem(
            message=f"container {container.name} ({container.image}, {container.platform}) exited "
            f"{container.exit_code}: exec format error on this {facts.engine.platform or '?'} engine, "
            f"which has no emulator for {container.platform}{lacks}",
            subject=f"container {container.name}",
            target=facts.engine.platform,
            evidence=(
                ev("images.containers.platform", container.platform),
                ev("images.containers.exit_code", container.exit_code),
                ev("emulation.emulated", ",".join(e.platform for e in facts.emulation.emulated) or "none"),
            ),
            fixes=tuple(fixes),
        )


@check("DKD306", "attestations-are-not-platforms", severity=Severity.INFO)
def attestations_are_not_platforms(ctx: Context) -> Iterator[Problem]:
    """An index lists attestation manifests next to its platforms

    ## What it checks
    Index entries marked `vnd.docker.reference.type: attestation-manifest` (platform `unknown/unknown`): BuildKit's
    provenance and SBOM attestations.

    ## Why it matters
    They are not a broken or extra platform. Tools that list them as `unknown/unknown` (`docker manifest inspect`,
    the engine's `/distribution` API) make people believe the image is damaged; runtimes skip them.

    ## Example
    `fixtures/checks/DKD306/bad-index-with-attestations.json`; `good-index-without-attestations.json`.

    ## Fix
    None needed. To publish without them: `docker buildx build --provenance=false --sbom=false ...`.

    ## Facts used
    `images.remote[].attestations`.
    """
    for image in ctx.facts.images.remote:
        if image.attestations:
            yield Problem(
                message=f"{image.reference}: {len(image.attestations)} attestation manifest(s) "
                f"(unknown/unknown) describe its {len(image.platforms)} platform(s); they are not "
                "platforms",
                subject=image.reference,
                evidence=(ev("images.remote.attestations", len(image.attestations)),),
            )


@check("DKD307", "registry-lookup-failed", severity=Severity.WARNING)
def registry_lookup_failed(ctx: Context) -> Iterator[Problem]:
    """An image's registry could not say which platforms it offers

    ## What it checks
    A reference whose lookup failed: invalid reference, registry unreachable, TLS, authentication required or
    failed, access denied, not found, rate limited, timeout, digest mismatch, or a document dockdoctor refuses
    (an invalid digest, JSON nested too deeply, an index past the limits on nesting, documents followed and
    entries read). The others are still checked. `dockdoctor inspect` reports it as an error.
    An image the engine holds that no registry knows (built here, never pushed) is no failure: it is judged by
    its local platforms. When Docker Hub cannot be reached, the references written without a registry part are
    named in one finding, not one each.

    ## Why it matters
    Nothing can be said about that image's platforms; a pull would fail the same way (`pull access denied`,
    `manifest unknown`, `toomanyrequests: You have reached your pull rate limit`).

    ## Example
    `fixtures/checks/DKD307/bad-not-found.json`; `good-found.json`. `bad-docker-hub-unreachable.json` (two
    names without a registry, one finding); `good-local-only-image.json` (a local image never pushed).

    ## Fix
    As the message says: `docker login REGISTRY` for authentication, correct the name or tag, wait out a rate
    limit. Display only.

    ## Facts used
    `images.remote[].error`.
    """
    unreached: list[RemoteImage] = []
    for image in ctx.facts.images.remote:
        if image.error is not None and local_only(ctx.facts, image) is not None:
            continue  # the engine holds it: judged by its local platforms
        if image.error is not None and image.error.kind in ("unreachable", "timeout") and _implicit(image.reference):
            unreached.append(image)
        elif image.error is not None:
            yield Problem(
                message=image.error.detail,
                subject=image.reference,
                evidence=(ev("images.remote.error.kind", image.error.kind),),
            )
        elif image.artifact_type:
            yield Problem(
                message=f"{image.reference} is an artifact ({image.artifact_type}), not a runnable image",
                subject=image.reference,
                evidence=(ev("images.remote.artifact_type", image.artifact_type),),
            )
    first = unreached[0].error if unreached else None
    if first is not None:
        names = ", ".join(i.reference for i in unreached)
        yield Problem(
            message=f"Docker Hub (docker.io) could not be reached, so {len(unreached)} image(s) named "
            f"without a registry were not looked up ({names}): {first.detail}",
            subject="docker.io",
            evidence=(ev("images.remote.error.kind", first.kind),),
        )


def _implicit(reference: str) -> bool:
    """A reference written without a registry part (`nginx`, `acme/api:1`): Docker Hub is implied."""
    first, slash, _ = reference.partition("/")
    return not slash or not ("." in first or ":" in first or first == "localhost")


def _base_levels(facts: Facts) -> Iterator[tuple[str, dict[str, Any], str, Location | None]]:
    """(reference, knowledge entry, where, its file line) for project base images of a family known to need a newer
    x86-64 level.

    The families and their levels are `knowledge/emulation.toml` `[[base_image_level]]`, the data DKD541 reads too.
    """
    if facts.project is None:
        return
    refs: list[tuple[str, str, Location | None]] = []
    for d in facts.project.dockerfiles:
        for s in d.stages:
            at = Location(file=d.path, line=s.line)
            refs += [] if s.from_stage else [(s.base, str(at), at)]
    if facts.project.compose is not None:
        refs += [(s.image, f"service {s.name}", None) for s in facts.project.compose.services if s.image]
    for ref, where, location in refs:
        entry = base_level(ref)
        if entry is not None:
            yield ref, entry, where, location


@check("DKD308", "amd64-level-unsupported", severity=Severity.ERROR, fixable=Fixable.NEVER)
def amd64_level_unsupported(ctx: Context) -> Iterator[Problem]:
    """An image needs a newer x86-64 level than this machine's CPU

    ## What it checks
    On an amd64 host whose engine runs locally, images whose amd64 variants all need x86-64-v2/v3/v4 (a variant
    in the manifest, such as `linux/amd64/v3`), and the project's base images (every Dockerfile stage, compose
    `image:`) of a family `knowledge/emulation.toml` `[[base_image_level]]` says is built for a newer level
    (RHEL and UBI 9, Rocky Linux 9, Oracle Linux 9 and Chainguard need x86-64-v2; RHEL and UBI 10 x86-64-v3),
    against the level the CPU flags give (`host.amd64_level`). This is the one check for a CPU that runs them
    natively; DKD541 judges the same families under QEMU or Rosetta.

    ## Why it matters
    The container dies at once with `Fatal glibc error: CPU does not support x86-64-v2`, or `Illegal
    instruction (core dumped)`; typical on old servers and on VMs whose CPU model hides the newer flags.

    ## Example
    `fixtures/checks/DKD308/bad-rocky9-on-v1-cpu.json`, `bad-chainguard-on-v1-cpu.json`;
    `good-rocky9-on-v4-cpu.json`.

    ## Fix
    None to apply: choose an image or base built for the baseline (e.g. a Debian or Ubuntu base), or give the VM a
    CPU model that passes the flags through (`host-passthrough`).

    ## Facts used
    `host.amd64_level`, `host.arch`, `engine.remote`, `images.remote[].platforms`, `project` base images;
    `knowledge/emulation.toml` `[[base_image_level]]`.
    """
    facts = ctx.facts
    level = facts.host.amd64_level
    if facts.host.arch != "amd64" or level is None or facts.engine.remote:
        return
    for image in facts.images.remote:
        needed = required_level(image) if image.error is None else None
        if needed is not None and needed > level:
            yield Problem(
                message=f"{image.reference} is published for x86-64-v{needed} and up; this CPU is x86-64-v{level}",
                subject=image.reference,
                target=f"linux/amd64/v{needed}",
                evidence=(
                    ev("host.amd64_level", level),
                    ev("images.remote.platforms", ",".join(p.platform for p in image.platforms)),
                ),
            )
    for ref, entry, where, location in _base_levels(facts):
        needed = int(entry["amd64_level"])
        if needed > level:
            yield Problem(
                message=f"{where}: {ref} ({entry['family']}) needs x86-64-v{needed}; this CPU is x86-64-v{level}: "
                f"`{entry['symptom']}`",
                subject=where,
                location=location,
                target=f"linux/amd64/v{needed}",
                evidence=(
                    ev("host.amd64_level", level),
                    ev("base", ref),
                    ev("knowledge.emulation.base_image_level.id", entry["id"]),
                ),
            )


def _deploy_images(ctx: Context) -> Iterator[tuple[str, str, RemoteImage, list[Platform]]]:
    """(source, kind, looked-up image, its platforms) for each image a deploy file runs."""
    project = ctx.facts.project
    for deploy in project.deploy if project else ():
        for image in deploy.images:
            remote = next((r for r in ctx.facts.images.remote if r.reference == image.reference), None)
            names = image.platforms or tuple(t.platform for t in deploy.targets)
            platforms = [p for p in map(platform_or_none, names) if p] or list(ctx.targets)
            if remote is not None:
                yield str(image.source), deploy.kind, judged(ctx.facts, remote), platforms


@check("DKD330", "deploy-image-lacks-target", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def deploy_image_lacks_target(ctx: Context) -> Iterator[Problem]:
    """An image a deploy file runs has no variant for the platform that file deploys it to

    ## What it checks
    Images named by deploy files (Kubernetes containers and init containers, Helm `image:` values, ECS
    `containerDefinitions`, Lambda `ImageUri` in SAM/CloudFormation and Serverless, `[build] image` in fly.toml,
    Cloud Run containers) against the platforms that same file deploys them to: the workload's
    `nodeSelector`/node affinity on `kubernetes.io/arch`, `runtimePlatform.cpuArchitecture`, `Architectures`
    (Lambda's default is x86_64), Cloud Run's and Fly Machines' linux/amd64. An image the engine holds that no
    registry knows is judged by its local platforms.

    ## Why it matters
    The pods stay in `ErrImagePull` with `no matching manifest for linux/arm64/v8 in the manifest list
    entries`, or start and crash with `exec /usr/local/bin/docker-entrypoint.sh: exec format error`; Lambda
    refuses the function (`Runtime.InvalidEntrypoint`), ECS tasks stop with `exec format error`.

    ## Example
    `fixtures/checks/DKD330/bad-amd64-image-on-arm64-nodes.json` (a Deployment with `kubernetes.io/arch: arm64`
    runs an amd64-only image); `good-multi-platform-image.json`.

    ## Fix
    Display only, for the deploy target: publish the image for it (`docker buildx build --platform
    linux/amd64,linux/arm64 -t IMAGE --push .`, or `docker buildx imagetools create` to copy every platform of
    the original), or change the file's platform to one the image offers.

    ## Facts used
    `project.deploy[].images`, `project.deploy[].targets`, `images.remote`, `images.local`.
    """
    for source, kind, image, platforms in _deploy_images(ctx):
        if image.error is not None or image.artifact_type:
            continue
        offered = [p for p in (platform_or_none(x.platform) for x in image.platforms) if p is not None]
        for target in platforms:
            match = best_match(target, offered)
            if match.kind in (MatchKind.EXACT, MatchKind.COMPATIBLE):
                continue
            name, have = format_platform(target), ", ".join(x.platform for x in image.platforms) or "nothing"
            local = " (a local image no registry knows)" if image.kind == "local" else ""
            yield Problem(
                message=f"{source}: {image.reference} offers {have}{local}; this {kind} file deploys it to {name}",
                subject=source,
                target=name,
                evidence=(ev("project.deploy.images", image.reference), ev("images.remote.platforms", have)),
                fixes=(
                    dataclasses.replace(
                        _rebuild(
                            image.reference, ",".join(dict.fromkeys([*(x.platform for x in image.platforms), name]))
                        ),
                        serves="deploy",
                    ),
                ),
            )
