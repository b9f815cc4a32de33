"""DKD630-DKD631: node_modules and virtual environments built on the host, copied into images or bind-mounted into
containers of another platform."""

from __future__ import annotations

from collections.abc import Iterator

from dockdoctor.checks._edits import append_line, insert_after
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev, native, platform_or_none
from dockdoctor.model import Fix, Fixable, HostBuilt, Need, Problem, Safety, Severity, Step, manual
from dockdoctor.platforms import Platform, format_platform

REINSTALL = {
    "node_modules": "`COPY package*.json ./` and `RUN npm ci` before the `COPY . .`",
    "venv": "`RUN python -m venv .venv` (or `uv sync`) in the image",
}


def _built_for(facts_host: tuple[str, str], folder: HostBuilt) -> list[str]:
    """The platforms the folder's native parts were built for: what their names say, else the host's own."""
    if folder.platforms:
        return list(folder.platforms)
    os_name, arch = facts_host
    return [f"{os_name}/{arch}"] if os_name and arch else []


def _fits(built: list[str], target: Platform) -> bool:
    """Whether one of `built` ("darwin/arm64", "linux/amd64", or just "darwin") runs on `target`."""
    want = f"{target.os}/{target.architecture}"
    return any(b == want for b in built)


def _host(ctx: Context) -> tuple[str, str]:
    return ctx.facts.host.os, ctx.facts.host.arch


def _natives(folder: HostBuilt) -> str:
    shown = ", ".join(folder.natives[:3])
    return shown + (f" and {len(folder.natives) - 3} more" if len(folder.natives) > 3 else "")


@check("DKD630", "host-modules-copied-into-image", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def host_modules_copied_into_image(ctx: Context) -> Iterator[Problem]:
    """A host-built node_modules or virtual environment is copied into the image

    ## What it checks
    A `node_modules` folder or Python virtual environment in the project that holds native code (an npm package
    whose package.json names its `os` and `cpu`, such as `@esbuild/darwin-arm64`, `@rollup/rollup-darwin-arm64`
    or `@img/sharp-darwin-arm64`; a node-gyp addon with `binding.gyp` or `build/Release/*.node`, such as bcrypt;
    extension modules `*.so` in a virtual environment), which a Dockerfile's `COPY . .` (or a COPY of the folder)
    puts into the image because the build context's `.dockerignore` has no line for it, after the image's own
    install step or without one, for a target that is not the platform the folder was built for.

    ## Why it matters
    The host's packages replace the image's: esbuild stops with `You installed esbuild for another platform than
    the one you're currently using` (evanw/esbuild#2617, evanw/esbuild#1819), a `.node` addon with
    `Error: ... invalid ELF header` or `Exec format error`, and a copied virtual environment's extension modules
    with `ImportError: ... cannot open shared object file` or `invalid ELF header`.

    ## Example
    `fixtures/checks/DKD630/bad-esbuild-darwin-copied.json`; `good-node-modules-ignored.json`.

    ## Fix
    Add the folder to the build context's `.dockerignore` (an edit). Safe when the stage installs its own
    packages before the copy (`npm ci`); otherwise display only, with the install step to add.

    ## Facts used
    `project.host_built[]` (natives, platforms, copied_by, dockerignore), host, targets.
    """
    project = ctx.facts.project
    if project is None:
        return
    for folder in project.host_built:
        built = _built_for(_host(ctx), folder)
        if not folder.copied_by or not built:
            continue
        for target in ctx.targets:
            if _fits(built, target):
                continue
            edit = append_line(project.root, folder.dockerignore, folder.dockerignore_end, folder.ignore_entry)
            how = manual(f"install the packages in the image: {REINSTALL[folder.kind]}; then rebuild")
            steps: tuple[Step, ...] = (edit,) if folder.reinstalled else (edit, how)
            yield Problem(
                message=f"{folder.path} holds native code built for {', '.join(built)} ({_natives(folder)}); "
                f"{', '.join(map(str, folder.copied_by))} copies it into the {format_platform(target)} image because "
                f"{folder.dockerignore} has no `{folder.ignore_entry}` line",
                subject=str(folder.copied_by[0]),
                location=folder.copied_by[0].location,
                target=format_platform(target),
                evidence=(
                    ev("project.host_built.natives", ", ".join(folder.natives[:6])),
                    ev("project.host_built.copied_by", ", ".join(map(str, folder.copied_by))),
                ),
                fixes=(
                    Fix(
                        title=f"leave {folder.ignore_entry} out of the build context",
                        steps=steps,
                        safety=Safety.SAFE if folder.reinstalled else Safety.DISPLAY_ONLY,
                        needs=(Need.REBUILD,),
                    ),
                ),
            )


@check("DKD631", "host-modules-bind-mounted", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def host_modules_bind_mounted(ctx: Context) -> Iterator[Problem]:
    """A host-built node_modules or virtual environment is bind-mounted into a container of another platform

    ## What it checks
    A compose service whose bind mount (`./node_modules:/app/node_modules`, or `.:/app` over the whole project)
    puts a host folder with native code (as DKD630 finds it) into the container, with no anonymous or named
    volume over that path, while the container's platform (its `platform:`, else the engine's: always Linux)
    is not the one the folder was built for; on a Mac, always.

    ## Why it matters
    The container runs the host's binaries: `You installed esbuild for another platform than the one you're
    currently using` (evanw/esbuild#1223 is this setup), `invalid ELF header` from a `.node` addon, or
    `Exec format error`; and `npm install` inside the container rewrites the host's folder for Linux.

    ## Example
    `fixtures/checks/DKD631/bad-dot-mounted-over-app.json`; `good-anonymous-volume-over-node-modules.json`.

    ## Fix
    Add an anonymous volume over the folder in the service's `volumes:` (an edit: `- /app/node_modules`), so the
    container keeps the packages its image or its own `npm install` put there. Display only: the image must
    install them.

    ## Facts used
    `project.host_built[].mounts`, `project.host_built[].platforms`, host, the engine's platform.
    """
    project = ctx.facts.project
    if project is None:
        return
    engine = native(ctx.facts)
    for folder in project.host_built:
        built = _built_for(_host(ctx), folder)
        if not built:
            continue
        for mount in folder.mounts:
            runs = platform_or_none(mount.platform) or engine
            if runs is None and ctx.facts.host.arch:
                runs = platform_or_none(f"linux/{ctx.facts.host.arch}")
            if runs is None or _fits(built, runs):
                continue
            fixes: tuple[Fix, ...] = ()
            if mount.line:
                edit = insert_after(
                    project.root, mount.file, mount.line, mount.anchor, f"{mount.indent}- {mount.target}"
                )
                fixes = (
                    Fix(
                        title=f"an anonymous volume over {mount.target} in service {mount.service}",
                        steps=(edit,),
                        safety=Safety.DISPLAY_ONLY,
                        needs=(Need.REBUILD,),
                    ),
                )
            yield Problem(
                message=f"service {mount.service} mounts {mount.volume}: {folder.path} (native code built for "
                f"{', '.join(built)}: {_natives(folder)}) lands at {mount.target} in a {format_platform(runs)} "
                "container, with no volume over it",
                subject=f"{mount.file or 'compose'} services.{mount.service}.volumes",
                target=format_platform(runs),
                evidence=(
                    ev("project.host_built.mounts", mount.volume),
                    ev("project.host_built.natives", ", ".join(folder.natives[:6])),
                ),
                fixes=fixes,
            )
