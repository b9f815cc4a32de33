"""DKD620-DKD621: Python pins a Dockerfile pip-installs, and whether their release has a wheel for the target."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from dockdoctor.checks._edits import replace_line
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev
from dockdoctor.knowledge import load
from dockdoctor.model import (
    Fix,
    Fixable,
    IndexRelease,
    Need,
    Problem,
    PythonPin,
    Safety,
    Severity,
    Step,
    manual,
)
from dockdoctor.platforms import format_platform

MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
GLIBC_MAX = 41  # glibc 2.41: Debian trixie, the base of today's python:3.x(-slim) tags; older tags have older ones
MUSL_MAX = 2  # musl 1.2: every supported python:*-alpine


def _key(version: str) -> tuple[int, object]:
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def glibc_max(distro: str) -> int:
    """The glibc minor version of a Debian release (knowledge/libc.toml), else GLIBC_MAX (today's default tags)."""
    for row in load("libc").get("debian_glibc", []):
        if row["codename"] == distro:
            return int(str(row["glibc"]).split(".")[1])
    return GLIBC_MAX


def supported_tags(python: str, libc: str, arch: str, glibc: int = GLIBC_MAX) -> frozenset[Tag]:
    """The wheel tags pip on CPython `python` (e.g. "3.11") accepts on linux/`arch` with that libc (and glibc
    2.<glibc>)."""
    major, minor = (int(x) for x in python.split(".")[:2])
    machine = MACHINES[arch]
    if libc == "musl":
        platforms = [f"musllinux_1_{m}_{machine}" for m in range(MUSL_MAX, -1, -1)]
    else:
        low = 5 if machine == "x86_64" else 17
        platforms = [f"manylinux_2_{m}_{machine}" for m in range(glibc, low - 1, -1)]
        platforms += [f"manylinux2014_{machine}"] + (
            ["manylinux2010_x86_64", "manylinux1_x86_64"] if machine == "x86_64" else []
        )
    platforms.append(f"linux_{machine}")
    abi = f"cp{major}{minor}" + ("m" if (major, minor) < (3, 8) else "")
    return frozenset(
        list(cpython_tags((major, minor), [abi], platforms))
        + list(compatible_tags((major, minor), f"cp{major}{minor}", platforms))
    )


def _wheel_fits(filename: str, tags: frozenset[Tag]) -> bool:
    try:
        return not tags.isdisjoint(parse_wheel_filename(filename)[3])
    except InvalidWheelFilename:
        return False


def _fits(release: IndexRelease, tags: frozenset[Tag]) -> bool:
    return any(f.endswith(".whl") and _wheel_fits(f, tags) for f in release.files)


LOCK_COMMANDS = {
    "poetry.lock": "poetry add {name}=={version}",
    "uv.lock": "uv lock --upgrade-package {name}=={version}",
    "Pipfile.lock": "pipenv install {name}=={version}",
}


def _bump(ctx: Context, pin: PythonPin, version: str) -> Fix:
    rel, line = pin.source.file, pin.source.line
    old = f"=={pin.version}"
    steps: tuple[Step, ...] = (
        manual(
            f"in {rel}, pin {pin.name}=={version} (the nearest release with a wheel for this target); "
            "then rebuild and test"
        ),
    )
    root = ctx.facts.project.root if ctx.facts.project else ""
    if pin.kind in LOCK_COMMANDS:
        command = LOCK_COMMANDS[pin.kind].format(name=pin.name, version=version)
        steps = (manual(f"re-lock with {pin.name} {version} (`{command}`), then rebuild and test"),)
    elif pin.kind == "pyproject.toml" and line > 0 and f'"{pin.version}"' in pin.text and old not in pin.text:
        new = pin.text.replace(f'"{pin.version}"', f'"{version}"', 1)  # Poetry's `name = "1.2.3"`
        steps = (replace_line(root, rel, line, pin.text, new),)
    elif line > 0 and old in pin.text and not rel.lower().rsplit("/", 1)[-1].startswith("dockerfile"):
        steps = (replace_line(root, rel, line, pin.text, pin.text.replace(old, f"=={version}", 1)),)
    return Fix(title=f"pin {pin.name}=={version}", steps=steps, safety=Safety.DISPLAY_ONLY, needs=(Need.REBUILD,))


def _answers(ctx: Context, pin: PythonPin) -> tuple[IndexRelease, ...]:
    """The pinned release and the later ones, merged over the pin's index and extra indexes (pip merges them)."""
    assert ctx.facts.project is not None
    asked = {pin.index, *pin.extra_indexes} if pin.index else None
    files: dict[str, set[str]] = {}
    for project in ctx.facts.project.index:
        if project.name != pin.name or project.error is not None or (asked is not None and project.index not in asked):
            continue
        for release in project.releases:
            files.setdefault(release.version, set()).update(release.files)
    if pin.version not in files:
        return ()
    later = [v for v in files if v != pin.version]
    return tuple(IndexRelease(version=v, files=tuple(sorted(files[v]))) for v in [pin.version, *later])


def _build_note(release: IndexRelease) -> str:
    """What building the sdist takes, as far as the release's files tell."""
    if not any(not f.endswith(".whl") for f in release.files):
        return "and no sdist: pip finds no matching distribution"
    wheels = [f for f in release.files if f.endswith(".whl")]
    if wheels and not any(f.endswith("-none-any.whl") for f in wheels):
        return (
            "pip builds it from the sdist; its wheels for other platforms are all platform-specific (compiled "
            f"code, e.g. {wheels[0]}), so the build needs a compiler and the library headers in the image"
        )
    return "pip builds it from the sdist (which may need a compiler)"


@check("DKD620", "pin-has-no-wheel-for-target", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def pin_has_no_wheel_for_target(ctx: Context) -> Iterator[Problem]:
    """A pinned Python package has no wheel for the target

    ## What it checks
    Every exact pin that a Dockerfile stage on a `python:<version>` (or `ghcr.io/astral-sh/uv:python<version>`)
    base installs: `pip install -r requirements.txt` with its `-r` includes, `pip3`, `python -m pip`,
    `uv pip install`, `pip install name==version`, `pip install .` (the `==` pins of pyproject.toml), and the
    lock files a COPY brought into the stage: `poetry install` (poetry.lock, with `--only`/`--without` groups),
    `uv sync` (uv.lock, what the project reaches through edges whose markers hold on Linux, `--no-dev`) and
    `pipenv install`/`sync` (Pipfile.lock, `default`, `develop` with `--dev`). Each is checked against the files
    of its release on the index that install uses: a lock's own index; for pip the requirements file's
    `--index-url`, the command line's, `PIP_INDEX_URL` from ENV or ARG (an ARG without a default takes the
    environment's value, as `--build-arg NAME` does), a pip.conf copied to where the image's pip reads it, else
    the host's pip configuration (pip's order), else PyPI; extra indexes too. Is there a wheel whose tags fit
    the stage's CPython version and ABI and the target's platform (`manylinux`/`musllinux` for `x86_64` or
    `aarch64`, or a pure `none-any` wheel)? The nearest later release with one is named; the build is said to
    need a compiler and headers only when the release's wheels are all platform-specific (compiled code).

    ## Why it matters
    Without a wheel pip builds the sdist, inside an emulated build often for twenty minutes, and on a slim
    image without a compiler it fails: `error: command 'gcc' failed: No such file or directory`, or
    `Error: pg_config executable not found.`; without an sdist it stops at
    `ERROR: No matching distribution found`.

    ## Example
    `fixtures/checks/DKD620/bad-psycopg2-binary-286-arm64.json`; `good-psycopg2-binary-286-amd64.json`.

    ## Fix
    Display only: bump the pin to the nearest later release that has a wheel for the target (an edit of the
    requirements line), then rebuild and test; the new release may change behaviour. Without such a release,
    install the build tools in the stage, or pick another base image.

    ## Facts used
    `project.pins[]` (with their index), `project.index[].releases[].files`, targets.
    """
    if ctx.facts.project is None:
        return
    for pin in ctx.facts.project.pins:
        releases = _answers(ctx, pin)
        if not releases:
            continue  # not asked, not answered, or the pinned release is not on the index (another problem)
        release, later = releases[0], sorted(releases[1:], key=lambda r: _key(r.version))
        for target in ctx.targets:
            if target.os != "linux" or target.architecture not in MACHINES:
                continue
            tags = supported_tags(pin.python, pin.libc, target.architecture, glibc_max(pin.distro))
            if _fits(release, tags):
                continue
            nearest = next((r for r in later if _fits(r, tags)), None)
            how = _build_note(release)
            then = (
                f"; {nearest.version} is the nearest release with one"
                if nearest
                else "; no later release on the index has one"
            )
            libc = f"glibc 2.{glibc_max(pin.distro)}, Debian {pin.distro}" if pin.distro else pin.libc
            yield Problem(
                message=f"{pin.source}: {pin.name}=={pin.version} has no wheel for CPython {pin.python} "
                f"({libc}) on {format_platform(target)}, {how}{then} (installed by "
                f"{pin.dockerfile}:{pin.line})",
                subject=str(pin.source),
                location=pin.source.location,
                target=format_platform(target),
                evidence=(
                    ev("project.pins", f"{pin.name}=={pin.version}"),
                    ev("project.pins.index", f"{pin.index or 'PyPI'} ({pin.index_source or 'the default index'})"),
                    ev("project.index.releases.files", ", ".join(release.files[:8])),
                ),
                fixes=(_bump(ctx, pin, nearest.version),) if nearest else (),
            )


@check("DKD621", "package-index-not-asked", severity=Severity.INFO)
def package_index_not_asked(ctx: Context) -> Iterator[Problem]:
    """The package index was not asked about the Python pins

    ## What it checks
    Pins a Dockerfile installs whose package index answer is missing: `--offline` without a cached answer,
    an index that is down, answers HTML (no PEP 691 JSON API) or junk, or a too large answer; and pins no index
    is asked about: `--no-index` (a requirements file's, the command line's or `PIP_NO_INDEX`), or an index
    that is not HTTP.

    ## Why it matters
    DKD620 (a pin without a wheel for the target, which makes `pip install` build from source or fail with
    `ERROR: No matching distribution found`) cannot tell for these pins.

    ## Example
    `fixtures/checks/DKD621/bad-index-down.json`; `good-index-answered.json`.

    ## Fix
    None: run again online, or point `PIP_INDEX_URL` at an index with the JSON simple API (PEP 691).

    ## Facts used
    `project.index[].error`, `project.index_note`.
    """
    project = ctx.facts.project
    if project is None:
        return
    if project.index_note:
        yield Problem(
            message=project.index_note,
            subject="package index",
            evidence=(ev("project.index_note", project.index_note),),
        )
    for answer in project.index:
        if answer.error is not None and answer.error.kind != "not-found":
            yield Problem(
                message=f"{answer.name}: the package index did not answer: {answer.error.detail}",
                subject=answer.index,
                evidence=(ev("project.index.error", answer.error.kind),),
            )
