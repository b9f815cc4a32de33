"""DKD23x: what only the fleet shows (`check --all-contexts`): the engines compared with each other."""

from __future__ import annotations

from collections.abc import Iterator

from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev
from dockdoctor.model import Fix, Fixable, FleetEngine, LocalImage, Problem, Safety, Severity, Step, manual, run
from dockdoctor.platforms import PlatformError, format_platform, parse
from dockdoctor.reference import ReferenceError
from dockdoctor.reference import parse as parse_reference


def _norm(text: str) -> str | None:
    try:
        return format_platform(parse(text))
    except PlatformError:
        return None


def _platforms(image: LocalImage) -> frozenset[str]:
    """The platforms an engine holds for a local image: the containerd store's manifests, else its config's."""
    texts = [m.platform for m in image.manifests] or [image.platform]
    return frozenset(p for p in (_norm(t) for t in texts if t) if p and p != "unknown/unknown")


def _canonical(tag: str) -> str:
    """`app:1` and podman's `docker.io/library/app:1` name the same image; a tag that is no reference stays."""
    try:
        return parse_reference(tag).canonical
    except ReferenceError:
        return tag


def _tags(engine: FleetEngine) -> dict[str, tuple[str, frozenset[str]]]:
    """canonical reference -> (the tag as this engine lists it, the platforms it holds for it)."""
    held: dict[str, tuple[str, frozenset[str]]] = {}
    for image in engine.images:
        for tag in image.repo_tags:
            if tag and not tag.endswith("<none>"):
                key = _canonical(tag)
                shown, platforms = held.get(key, (tag, frozenset()))
                held[key] = (shown, platforms | _platforms(image))
    return held


@check("DKD230", "fleet-image-platforms-differ", severity=Severity.WARNING, fixable=Fixable.NEVER)
def fleet_image_platforms_differ(ctx: Context) -> Iterator[Problem]:
    """The same image name holds different platforms on two engines

    ## What it checks
    With `check --all-contexts` (or several `--context NAME`): a tag such as `myapp:latest` is present on two
    engines, and the platforms the two local copies hold have none in common (for example `linux/arm64` built on
    an Apple Silicon Mac's Docker Desktop, `linux/amd64` on the CI host over `tcp://`).

    ## Why it matters
    The name says they are the same image; they are not. A test that passed on one engine ran other binaries
    than the ones the other engine runs, and pushing either copy overwrites the tag for everybody with one
    architecture: the other machines then fail with `exec format error`, or pull with
    `WARNING: The requested image's platform (linux/arm64/v8) does not match the detected host platform
    (linux/amd64/v3) and no specific platform was requested`.

    ## Example
    `fixtures/checks/DKD230/bad-tag-arm64-and-amd64.json`: `dockdoctor-fleet/app:1` is `linux/arm64` on one
    context and `linux/amd64` on another. `good-same-platforms.json`: both hold `linux/amd64`.

    ## Fix
    Display only: build the tag for every platform at once and push that index
    (`docker buildx build --platform linux/amd64,linux/arm64 -t NAME --push .`), then pull it on each engine.

    ## Facts used
    `fleet` (each engine's `context`, `platform` and local `images` with their `repo_tags`, `platform` and
    `manifests`).
    """
    engines = [e for e in ctx.facts.fleet if e.reachable]
    held = [(e, _tags(e)) for e in engines]
    seen: set[str] = set()
    for i, (first, tags) in enumerate(held):
        for key, (tag, platforms) in sorted(tags.items()):
            if key in seen or not platforms:
                continue
            for other, other_tags in held[i + 1 :]:
                their_tag, theirs = other_tags.get(key, ("", frozenset()))
                if not theirs or theirs & platforms:
                    continue
                seen.add(key)
                tag = min(tag, their_tag, key=len)  # `app:1` rather than podman's `docker.io/library/app:1`
                every = sorted(platforms | theirs)
                yield Problem(
                    message=f"{tag} is {', '.join(sorted(platforms))} on context {first.context} but "
                    f"{', '.join(sorted(theirs))} on context {other.context}: the same name, other binaries",
                    subject=tag,
                    evidence=(
                        ev(f"fleet.{first.context}.images.{tag}", ", ".join(sorted(platforms))),
                        ev(f"fleet.{other.context}.images.{tag}", ", ".join(sorted(theirs))),
                    ),
                    fixes=(
                        Fix(
                            title="publish one multi-platform image under this name",
                            safety=Safety.DISPLAY_ONLY,
                            steps=(
                                run(
                                    "docker", "buildx", "build", "--platform", ",".join(every), "-t", tag, "--push", "."
                                ),
                                manual(f"then `docker pull {tag}` on each engine (`docker --context NAME pull {tag}`)"),
                            ),
                        ),
                    ),
                )
                break


def _builder(ctx: Context) -> tuple[str, str, tuple[str, ...]] | None:
    """(which builder, its native platform, the platforms it can build) of the current builder, if known."""
    facts = ctx.facts
    fleet = {e.context: e for e in facts.fleet}
    current = next((e for e in facts.fleet if e.current), None)
    builder = next((b for b in facts.buildx.builders if b.current), None)
    if builder is not None:
        engine = fleet.get(builder.endpoint) or (fleet.get(builder.name) if builder.driver == "docker" else None)
        platforms = tuple(p for p in (_norm(t) for t in builder.platforms) if p)
        native = engine.platform if engine is not None and engine.platform else (platforms[0] if platforms else None)
        if native is None:
            return None
        where = f"builder {builder.name}" + (f" (context {engine.context})" if engine is not None else "")
        return where, _norm(native) or native, platforms or (native,)
    if current is None or not current.reachable or not current.platform:
        return None
    return f"context {current.context} (the classic builder)", current.platform, (current.platform,)


@check("DKD231", "fleet-builder-platform-differs", severity=Severity.WARNING, fixable=Fixable.NEVER)
def fleet_builder_platform_differs(ctx: Context) -> Iterator[Problem]:
    """The builder builds for another platform than the engines the images run on

    ## What it checks
    With `check --all-contexts`: the current buildx builder (or, without one, the current context's engine, which
    `docker build` uses) has a native platform that another engine of the fleet does not run, for example a
    `linux/arm64` Docker Desktop builder beside a `linux/amd64` CI host or remote server context.

    ## Why it matters
    `docker build` without `--platform` builds for the builder's own platform. The image then starts on the
    builder's machine and fails on the other engine with `exec /usr/local/bin/docker-entrypoint.sh: exec format
    error`, or runs there slowly under emulation when it has QEMU.

    ## Example
    `fixtures/checks/DKD231/bad-arm64-builder-amd64-server.json`: the builder `desktop-linux` is `linux/arm64`,
    the context `ci` runs `linux/amd64`. `good-same-platform.json`: both are `linux/arm64`.

    ## Fix
    Display only: build for where the image runs (`docker buildx build --platform linux/amd64 ...`, or every
    platform of the fleet at once and push), or build on that engine (`docker --context ci build ...`). When the
    builder cannot build that platform, add emulation or a node of that platform to the builder first.

    ## Facts used
    `fleet` (each engine's `context`, `platform`, `reachable`, `current`), `buildx.builders` (`current`, `name`,
    `driver`, `endpoint`, `platforms`).
    """
    found = _builder(ctx)
    if found is None:
        return
    where, native, can_build = found
    runs = sorted(
        {p for p in (_norm(e.platform) for e in ctx.facts.fleet if e.reachable and e.platform) if p} - {native}
    )
    for platform in runs:
        contexts = sorted(
            e.context for e in ctx.facts.fleet if e.reachable and e.platform and _norm(e.platform) == platform
        )
        steps: tuple[Step, ...] = (run("docker", "buildx", "build", "--platform", platform, "-t", "NAME", "."),)
        if platform not in can_build:
            steps += (
                manual(
                    f"the builder lists no {platform}: install emulation for it "
                    "(`docker run --privileged --rm tonistiigi/binfmt --install all`) or build on "
                    f"that engine (`docker --context {contexts[0]} build ...`)"
                ),
            )
        yield Problem(
            message=f"{where} builds {native} by default, but context{'s' if len(contexts) > 1 else ''} "
            f"{', '.join(contexts)} run{'' if len(contexts) > 1 else 's'} {platform}: images built without "
            f"--platform fail there with `exec format error`",
            subject=where,
            target=platform,
            evidence=(ev("builder.platform", native), *(ev(f"fleet.{c}.platform", platform) for c in contexts)),
            fixes=(Fix(title=f"build for {platform}", safety=Safety.DISPLAY_ONLY, steps=steps),),
        )
