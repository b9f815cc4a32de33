"""The compose fixes of the DKD4xx checks: pin or unpin a service's platform, set build platforms, a .env
default, install emulation for a pin, publish for a target (edits of the user's compose files as data)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockdoctor.checks._edits import append_line, delete_line, indent_of, insert_after, origin_line, replace_line
from dockdoctor.checks._emulator import install_emulation
from dockdoctor.checks._spec import Context
from dockdoctor.checks._util import emulation_for, native, platform_or_none, runs_natively
from dockdoctor.checks._verdicts import judged
from dockdoctor.model import (
    Fix,
    Need,
    Origin,
    RemoteImage,
    Safety,
    ServiceFacts,
    manual,
)
from dockdoctor.platforms import MatchKind, Platform, best_match


def _services(ctx: Context) -> Iterator[ServiceFacts]:
    project = ctx.facts.project
    if project is not None and project.compose is not None:
        yield from project.compose.services


def _origin(service: ServiceFacts, key: str) -> Origin | None:
    return next((o for o in service.origins if o.key == key), None)


def _platform_edit(ctx: Context, service: ServiceFacts, platform: str) -> Fix | None:
    """Set `platform:` on a service: replace its line, or add one under `image:` with the same indentation."""
    root = ctx.facts.project.root if ctx.facts.project else ""
    current, image = _origin(service, "platform"), _origin(service, "image")
    where = origin_line(current) if current and current.text else None
    if where is not None and current is not None:
        step = replace_line(root, where[0], where[1], current.text, f"{indent_of(current.text)}platform: {platform}")
    elif image is not None and image.text and (where := origin_line(image)) is not None:
        step = insert_after(root, where[0], where[1], image.text, f"{indent_of(image.text)}platform: {platform}")
    else:
        return None
    return Fix(title=f"set `platform: {platform}` on service {service.name}", steps=(step,))


def _build_platforms_edit(ctx: Context, service: ServiceFacts, platforms: list[str]) -> Fix | None:
    """`platforms:` under the service's `build:`; the short form `build: .` becomes the long one."""
    origin = _origin(service, "build")
    where = origin_line(origin) if origin and origin.text else None
    if origin is None or where is None:
        return None
    root = ctx.facts.project.root if ctx.facts.project else ""
    indent = indent_of(origin.text)
    found = re.search(r"\s+#.*$", origin.text)  # a comment on the line stays on it, spacing and all
    comment, text = (found.group(0), origin.text[: found.start()]) if found else ("", origin.text)
    key, _, value = text.strip().partition(":")
    if key != "build":
        return None
    inner = indent + "  "
    listing = f"{inner}platforms: [{', '.join(platforms)}]"
    if value.strip():
        step = replace_line(
            root,
            where[0],
            where[1],
            origin.text,
            f"{indent}build:{comment}\n{inner}context: {value.strip()}\n{listing}",
        )
    else:
        step = insert_after(root, where[0], where[1], origin.text, listing)
    return Fix(title=f"build service {service.name} for {', '.join(platforms)}", needs=(Need.REBUILD,), steps=(step,))


def _default_platform(ctx: Context) -> str | None:
    """DOCKER_DEFAULT_PLATFORM as Compose v2 sees it: the environment, else the project's .env."""
    if ctx.facts.compose.v2 is None:
        return None
    in_dotenv = (
        next((e.value for e in ctx.facts.project.dotenv if e.name == "DOCKER_DEFAULT_PLATFORM"), None)
        if ctx.facts.project
        else None
    )
    return ctx.facts.env("DOCKER_DEFAULT_PLATFORM") or in_dotenv


def _default_platform_in_dotenv(ctx: Context, platform: str) -> Fix | None:
    """DOCKER_DEFAULT_PLATFORM in the project's .env: offered second, unsafe, because it is usually the wrong tool."""
    project = ctx.facts.project
    if project is None or any(e.name == "DOCKER_DEFAULT_PLATFORM" for e in project.dotenv):
        return None
    return Fix(
        title=f"or set DOCKER_DEFAULT_PLATFORM={platform} in .env: it then applies to every service that "
        "docker compose (v2) pulls or builds, and docker build/run ignore .env (see DKD414); "
        "usually the wrong tool",
        safety=Safety.UNSAFE,
        steps=(append_line(project.root, ".env", project.dotenv_end, f"DOCKER_DEFAULT_PLATFORM={platform}"),),
    )


def _remote(ctx: Context, ref: str) -> RemoteImage | None:
    """The looked-up image (a local-only image as its local platforms)."""
    found = next((r for r in ctx.facts.images.remote if r.reference == ref), None)
    return judged(ctx.facts, found) if found is not None else None


def _runs_here(ctx: Context, platform: Platform) -> bool:
    """Whether the engine runs `platform`, natively or under emulation (True when the engine did not answer)."""
    return (
        native(ctx.facts) is None
        or runs_natively(ctx.facts, platform)
        or emulation_for(ctx.facts, platform) is not None
    )


def _offers(image: RemoteImage, target: Platform) -> Platform | None:
    """The image's platform that runs on `target` natively or compatibly."""
    offered = [p for p in (platform_or_none(x.platform) for x in image.platforms) if p is not None]
    match = best_match(target, offered)
    return match.platform if match.kind in (MatchKind.EXACT, MatchKind.COMPATIBLE) else None


def _unpin(ctx: Context, service: ServiceFacts) -> Fix | None:
    """Remove the service's `platform:` line: compose then pulls the engine's own variant."""
    origin = _origin(service, "platform")
    where = origin_line(origin) if origin and origin.text else None
    if where is None or origin is None or not origin.text.strip().startswith("platform:"):
        return None
    root = ctx.facts.project.root if ctx.facts.project else ""
    return Fix(
        title=f"remove the `platform:` pin of service {service.name}",
        serves="local",
        steps=(delete_line(root, where[0], where[1], origin.text),),
    )


def _with_emulation(ctx: Context, platform: Platform, edit: Fix) -> list[Fix]:
    """The pin together with what installs emulation for it, as one fix per way to install it."""

    out = []
    for emulation in install_emulation(ctx.facts, platform):
        if emulation.safety is Safety.DISPLAY_ONLY:
            continue
        out.append(
            Fix(
                title=f"{emulation.title}, then {edit.title}",
                safety=Safety.UNSAFE,
                serves="local",
                needs=emulation.needs,
                steps=emulation.steps + edit.steps,
            )
        )
    return out


def _publish_for(image: str, target: str) -> Fix:
    return Fix(
        title=f"use an image published for {target}",
        safety=Safety.DISPLAY_ONLY,
        serves="deploy",
        needs=(Need.REBUILD, Need.NETWORK),
        steps=(
            manual(
                f"choose a tag of {image} that offers {target}, or publish it for {target}: "
                f"docker buildx build --platform {target} -t {image} --push ."
            ),
        ),
    )
