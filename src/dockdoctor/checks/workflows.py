"""DKD70x: CI workflows that build images (GitHub Actions, GitLab CI): platforms, emulation, QEMU pins, provenance."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dockdoctor.checks._edits import LineEdit, edit_lines, replace_line
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev, platform_or_none
from dockdoctor.checks._versions import affects
from dockdoctor.knowledge import load
from dockdoctor.model import CiJob, CiStep, CiWorkflow, Fix, Fixable, Location, Problem, Severity, manual

BUILDS = ("build-push-action", "buildx-build")
EMULATORS = ("setup-qemu", "binfmt-install")
_BINFMT_TAG = re.compile(r":(?P<prefix>(?:qemu|buildkit|desktop)-v)(?P<version>\d+\.\d+\.\d+)(?P<rest>[-\w.]*)")
_ARCH_NAMES = {"arm": "arm"}  # tonistiigi/binfmt --install names: arm64, amd64, arm, riscv64, ppc64le, s390x, 386


def _knowledge() -> dict[str, Any]:
    return load("workflows")


def _workflows(ctx: Context) -> Iterator[CiWorkflow]:
    if ctx.facts.project is not None:
        yield from (w for w in ctx.facts.project.workflows if w.error is None)


def _root(ctx: Context) -> str:
    return ctx.facts.project.root if ctx.facts.project else ""


def _at(wf: CiWorkflow, line: int) -> Location:
    return Location(file=wf.path, line=line)


def _where(wf: CiWorkflow, line: int) -> str:
    return str(_at(wf, line))


def runner_arch(job: CiJob, kind: str) -> str | None:
    """The architecture a job runs on (amd64, arm64, arm), from its labels; None when they do not say."""
    if job.runner_expression:
        return None
    labels = [label.lower() for label in job.runner]
    if kind == "gitlab-ci" and not labels:
        return str(_knowledge()["gitlab_untagged"]["platform"]).split("/")[1]
    hosted = load("deploy")["runners"]
    own = _knowledge()["self_hosted"]
    for label in labels:
        if label in hosted["arm64"] or label in own["arm64"] or label.endswith(("-arm", "-arm64")):
            return "arm64"
    for label in labels:
        if label in own["arm"]:
            return "arm"
    for label in labels:
        if label in hosted["amd64"] or label in own["amd64"] or label.endswith("-amd64"):
            return "amd64"
        if kind == "github-actions" and re.fullmatch(r"ubuntu-[\w.-]+", label):
            return "amd64"  # GitHub-hosted Ubuntu images are x64 unless their label ends in -arm
    return None


def _arch(platform: str) -> str:
    parsed = platform_or_none(platform)
    return parsed.architecture if parsed else platform


def foreign(platforms: tuple[str, ...], arch: str) -> list[str]:
    """The platforms a runner of `arch` cannot run natively (amd64 runs 386; arm/v* on arm64 is left undecided)."""
    native = {"amd64": {"amd64", "386"}, "arm64": {"arm64"}, "arm": {"arm"}}.get(arch, {arch})
    undecided = {"arm"} if arch == "arm64" else set()
    return [p for p in platforms if _arch(p) not in native | undecided]


def _emulation_before(job: CiJob, step: CiStep, platforms: list[str]) -> bool:
    """Whether an earlier step of the job installs emulators for every one of `platforms`."""
    for other in job.steps:
        if other.line >= step.line or other.kind not in EMULATORS:
            continue
        if not other.platforms or all(_arch(p) in {_arch(q) for q in other.platforms} for p in platforms):
            return True
    return False


def _install_archs(platforms: list[str]) -> str:
    return ",".join(dict.fromkeys(_ARCH_NAMES.get(_arch(p), _arch(p)) for p in platforms))


def _qemu_lines(wf: CiWorkflow, step: CiStep, platforms: list[str]) -> list[str] | None:
    """The lines that install emulators right before `step`, in the workflow's own style; None when the step's
    shape leaves no safe place (a `-` on a line of its own, a one-line `run:`)."""
    setup = _knowledge()["qemu_setup"]
    text = step.text
    stripped = text.lstrip()
    lead = text[: len(text) - len(stripped)]
    if step.kind == "build-push-action":
        if not stripped.startswith("- "):
            return None
        return [f"{lead}- name: Set up QEMU", f"{step.key_indent}uses: {setup['action']}@{setup['action_version']}"]
    command = f"docker run --privileged --rm {setup['install_image']} --install {_install_archs(platforms)}"
    if stripped.startswith("- docker"):
        return [f"{lead}- {command}"]
    if stripped.startswith("docker"):
        return [f"{lead}{command}"]  # a line of a `run: |` or `- |` block
    return None


def _qemu_fix(ctx: Context, wf: CiWorkflow, step: CiStep, platforms: list[str]) -> Fix | None:
    lines = _qemu_lines(wf, step, platforms)
    if lines is None:
        return None
    edit = edit_lines(_root(ctx), wf.path, {step.line: LineEdit(step.text, before=tuple(lines))})
    what = "a docker/setup-qemu-action step" if step.kind == "build-push-action" else "a binfmt install"
    return Fix(
        title=f"install QEMU for {', '.join(platforms)} before the build ({what})", steps=(edit,), serves="deploy"
    )


def _native_runner_fix(wf: CiWorkflow, platforms: list[str]) -> Fix:
    if wf.kind == "github-actions":
        text = (
            f"build {', '.join(platforms)} on a runner of that architecture instead of emulating it: a job with "
            "`runs-on: ubuntu-24.04-arm` for linux/arm64 (or a self-hosted runner labelled ARM64), each job "
            "pushing its own platform, then one `docker buildx imagetools create` joining them"
        )
    else:
        text = (
            f"build {', '.join(platforms)} in a job whose `tags` pick a runner of that architecture "
            "(GitLab.com: saas-linux-small-arm64 for linux/arm64), then join the images with "
            "`docker buildx imagetools create`"
        )
    return Fix(title="build on a native runner", steps=(manual(text),), serves="deploy")


@check("DKD701", "build-push-without-platforms", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def build_push_without_platforms(ctx: Context) -> Iterator[Problem]:
    """A docker/build-push-action step has no `platforms:` although the targets need several

    ## What it checks
    A `docker/build-push-action` step (any version) in `.github/workflows/*.yml` without a `platforms:` input,
    while the project's deploy targets (`--platform`, the settings, the deploy files) name two or more platforms.

    ## Why it matters
    Without `platforms:` the action builds only the runner's own platform (linux/amd64 on `ubuntu-latest`), so
    the pushed tag lacks the others and the servers of another architecture fail to pull it:
    `no matching manifest for linux/arm64/v8 in the manifest list entries`.

    ## Example
    `fixtures/checks/DKD701/bad-no-platforms-two-targets.json` (cfspeedtest's release workflow before it added
    `platforms:`, with linux/amd64 and linux/arm64 as targets); `good-platforms-given.json`.

    ## Fix
    Safe, an edit of the workflow: a `platforms:` input with every target under the step's `with:`; when the
    runner cannot run some of them natively and no QEMU set-up comes before, the same edit adds a
    `docker/setup-qemu-action` step above the build.

    ## Facts used
    `project.workflows[].jobs[].steps[]` (kind, platforms_given, with_line), `project.workflows[].jobs[].runner`,
    the targets.
    """
    targets = [t.platform for t in ctx.target_info if t.intent == "deploy"]
    if len(targets) < 2:
        return
    wanted = ",".join(targets)
    for wf in _workflows(ctx):
        for job in wf.jobs:
            arch = runner_arch(job, wf.kind)
            for step in job.steps:
                if step.kind != "build-push-action" or step.platforms_given:
                    continue
                edits: dict[int, LineEdit] = {}
                platforms = f"{step.input_indent}platforms: {wanted}"
                if step.with_line:
                    edits[step.with_line] = LineEdit(step.with_text, after=(platforms,))
                else:
                    edits[step.line] = LineEdit(step.text, after=(f"{step.key_indent}with:", platforms))
                need = foreign(tuple(targets), arch) if arch else []
                qemu = _qemu_lines(wf, step, need) if need and not _emulation_before(job, step, need) else None
                if qemu:
                    edits[step.line] = edits.get(step.line, LineEdit(step.text))._replace(before=tuple(qemu))
                yield Problem(
                    message=f"{_where(wf, step.line)}: {step.uses or 'docker/build-push-action'} builds without "
                    f"`platforms:`, so only for the runner's platform"
                    + (f" (linux/{arch})" if arch else "")
                    + f"; the targets are {', '.join(targets)}",
                    subject=_where(wf, step.line),
                    location=_at(wf, step.line),
                    evidence=(ev("project.workflows.jobs.steps.platforms_given", False), ev("targets", wanted)),
                    fixes=(
                        Fix(
                            title=f"build for {wanted}" + (f" (with QEMU for {', '.join(need)})" if qemu else ""),
                            steps=(edit_lines(_root(ctx), wf.path, edits),),
                            serves="deploy",
                        ),
                    ),
                )


@check("DKD702", "foreign-platform-without-qemu", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def foreign_platform_without_qemu(ctx: Context) -> Iterator[Problem]:
    """A CI job builds for a foreign platform without setting up QEMU or using a native runner

    ## What it checks
    A build step (`docker/build-push-action` with `platforms:`, or `docker buildx build --platform` in a `run:`
    or GitLab `script:`) names a platform the job's runner cannot run natively (linux/arm64 on `ubuntu-latest`
    or an untagged GitLab.com job; linux/amd64 on `ubuntu-24.04-arm` or a self-hosted `ARM64` runner), and no
    earlier step of the job installs emulators (`docker/setup-qemu-action`, `tonistiigi/binfmt --install`,
    `multiarch/qemu-user-static`, the qemu-user-static package). A runner whose labels do not say its
    architecture (a matrix expression, custom labels) is not judged.

    ## Why it matters
    Every `RUN` of the foreign platform needs an emulator: without binfmt handlers it fails with
    `exec /bin/sh: exec format error`. BuildKit's docker-container builder carries fallback emulators, which its
    maintainer calls "a fallback that may work in some cases, not a replacement"; the docker driver has none.

    ## Example
    `fixtures/checks/DKD702/bad-arm64-on-amd64-runner.json` (cfspeedtest's release workflow, linux/arm64 on
    ubuntu-latest); `bad-gitlab-buildx-platform.json` (GitLab's own multi-platform buildx example);
    `good-native-arm-runner.json` (the arm64 image built on `ubuntu-24.04-arm`).

    ## Fix
    Safe, an edit of the workflow: a `docker/setup-qemu-action` step before the build (GitHub), or a
    `docker run --privileged --rm tonistiigi/binfmt --install <arch>` line before the build command (scripts).
    Alternatively, in words: build that platform on a native runner.

    ## Facts used
    `project.workflows[].jobs[].runner`, `.runner_expression`, `project.workflows[].jobs[].steps[]` (kind,
    platforms, line).
    """
    for wf in _workflows(ctx):
        for job in wf.jobs:
            arch = runner_arch(job, wf.kind)
            if arch is None:
                continue
            for step in job.steps:
                if step.kind not in BUILDS or not step.platforms:
                    continue
                need = foreign(step.platforms, arch)
                if not need or _emulation_before(job, step, need):
                    continue
                fixes = tuple(f for f in (_qemu_fix(ctx, wf, step, need), _native_runner_fix(wf, need)) if f)
                yield Problem(
                    message=f"{_where(wf, step.line)}: job {job.name} builds {', '.join(need)} on a linux/{arch} "
                    "runner without installing QEMU first: its RUN steps fail with `exec format error` "
                    "(BuildKit's embedded emulators are only a fallback)",
                    subject=_where(wf, step.line),
                    location=_at(wf, step.line),
                    target=need[0],
                    evidence=(
                        ev("project.workflows.jobs.runner", ",".join(job.runner) or "(no tags)"),
                        ev("project.workflows.jobs.steps.platforms", ",".join(step.platforms)),
                    ),
                    fixes=fixes,
                )


def _emulated(job: CiJob, wf: CiWorkflow, step: CiStep) -> tuple[str | None, set[str]]:
    """The runner's architecture and the architectures an emulator step installs for foreign use (all: its
    default), minus what the runner runs natively."""
    arch = runner_arch(job, wf.kind)
    known = {"amd64", "arm64", "arm", "386", "riscv64", "ppc64le", "s390x"}
    installs = {_arch(p) for p in step.platforms} or known
    return arch, {a for a in installs if arch is None or foreign((f"linux/{a}",), arch)}


@check("DKD703", "qemu-pinned-to-defect", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def qemu_pinned_to_defect(ctx: Context) -> Iterator[Problem]:
    """A CI job pins a QEMU/binfmt release with a known emulation defect

    ## What it checks
    The emulators a workflow installs: docker/setup-qemu-action's `image:` input, or the image a
    `tonistiigi/binfmt --install` command runs, pinned to a release (`tonistiigi/binfmt:qemu-v9.2.0`,
    `buildkit-v8.1.5`) that the knowledge base (`defects.toml`, products tonistiigi-binfmt and qemu: the tag
    names the QEMU release) lists with a defect for a platform this job emulates and for its runner.

    ## Why it matters
    The build fails in the emulated stage with the defect's own error, e.g. with qemu-v9.2.0
    `qemu: uncaught target signal 11 (Segmentation fault) - core dumped` while apt configures libc-bin, and
    re-running the job does not help (tonistiigi/binfmt#240).

    ## Example
    `fixtures/checks/DKD703/bad-binfmt-qemu-9-2-0.json` (a setup-qemu-action step pinned to qemu-v9.2.0);
    `good-binfmt-8-1-5.json` (pganalyze's test-packages workflow, pinned to buildkit-v8.1.5).

    ## Fix
    Safe, a one-line edit: the pin moved to the release the defect names as fixed (the digest dropped, as it
    named the old release). When the source names no fixed release, the defect's own advice in words.

    ## Facts used
    `project.workflows[].jobs[].steps[]` (kind setup-qemu or binfmt-install, image, image_line, platforms),
    `project.workflows[].jobs[].runner`; knowledge: `defects.toml`.
    """
    defects = [d for d in load("defects")["defect"] if d["product"] in ("tonistiigi-binfmt", "qemu")]
    for wf in _workflows(ctx):
        for job in wf.jobs:
            for step in job.steps:
                match = _BINFMT_TAG.search(step.image) if step.kind in EMULATORS and step.image else None
                if match is None:
                    continue
                arch, emulated = _emulated(job, wf, step)
                for defect in defects:
                    if not affects(defect["affected"], match["version"]) or not _applies(defect, arch, emulated):
                        continue
                    yield Problem(
                        message=f"{_where(wf, step.image_line or step.line)}: {step.image} installs QEMU "
                        f"{match['version']}: {defect['title']} ({defect['source']})",
                        subject=_where(wf, step.image_line or step.line),
                        location=_at(wf, step.image_line or step.line),
                        target=next((p for p in defect["platforms"] if _arch(p) in emulated), None),
                        evidence=(ev("project.workflows.jobs.steps.image", step.image), ev("defect", defect["id"])),
                        fixes=(_pin_fix(ctx, wf, step, match, defect),),
                    )


def _applies(defect: dict[str, Any], arch: str | None, emulated: set[str]) -> bool:
    """A defect's platforms meet what the job emulates, and its requirements are the runner's (others unknown)."""
    if defect["platforms"] and not {_arch(p) for p in defect["platforms"]} & emulated:
        return False
    for need in defect["requires"]:
        if not need.startswith("engine-arch:") or arch is None or need.split(":", 1)[1] != arch:
            return False
    return True


def _pin_fix(ctx: Context, wf: CiWorkflow, step: CiStep, match: re.Match[str], defect: dict[str, Any]) -> Fix:
    fixed = defect["fix_version"]
    if not fixed or not step.image_line or step.image not in step.image_text:
        return Fix(title="follow the defect's advice", steps=(manual(defect["fix"]),), serves="deploy")
    image = step.image.split("@", 1)[0]
    pinned = image[: image.index(match.group(0))] + f":{match['prefix']}{fixed}"
    edit = replace_line(
        _root(ctx), wf.path, step.image_line, step.image_text, step.image_text.replace(step.image, pinned)
    )
    return Fix(title=f"pin {pinned}", steps=(edit,), serves="deploy")


def _action_major(uses: str) -> tuple[int, ...] | None:
    ref = uses.split("@", 1)[1] if "@" in uses else ""
    found = re.fullmatch(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", ref)
    return tuple(int(g) for g in found.groups() if g is not None) if found else None


def adds_provenance(step: CiStep) -> bool:
    """Whether a pushing build step adds a provenance attestation (so the pushed tag is an index)."""
    if not step.push or step.provenance.lower() in ("false", "0", "disabled"):
        return False
    if step.kind == "buildx-build":
        return True  # buildx >= 0.10 adds it by default; CI runners have a current buildx
    version = _action_major(step.uses)
    since = int(_knowledge()["provenance"]["build_push_action_since"])
    return version is None or version[0] >= since or version[:2] == (3, 3) and version[2:3] in ((), (0,))


@check("DKD704", "manifest-create-on-attested-image", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def manifest_create_on_attested_image(ctx: Context) -> Iterator[Problem]:
    """`docker manifest create` joins images that buildx pushed with provenance attestations

    ## What it checks
    A workflow runs `docker manifest create`, and one of its build steps pushes with a provenance attestation:
    `docker/build-push-action` v4 or later (or an unversioned ref) with `push: true` and no `provenance: false`,
    or `docker buildx build --push` without `--provenance=false` (buildx 0.10 and later attest by default).

    ## Why it matters
    With the attestation the pushed tag is an image index (the image plus an `unknown/unknown` attestation
    entry), and `docker manifest create` refuses it: `... is a manifest list`; the multi-arch tag is never
    made (docker/buildx#1509).

    ## Example
    `fixtures/checks/DKD704/bad-build-push-v5-then-manifest.json` (cfspeedtest's release workflow before its fix);
    `good-provenance-false.json` (the same workflow after it added `provenance: false`).

    ## Fix
    Safe, an edit of the workflow: `provenance: false` under each such step's `with:`, `--provenance=false` on
    each such `docker buildx build` line. Alternatively, in words: join the images with
    `docker buildx imagetools create`, which accepts indexes.

    ## Facts used
    `project.workflows[].jobs[].steps[]` (kind manifest-create, build-push-action and buildx-build; push,
    provenance, uses).
    """
    for wf in _workflows(ctx):
        steps = [s for job in wf.jobs for s in job.steps]
        creates = [s for s in steps if s.kind == "manifest-create"]
        attested = [s for s in steps if s.kind in BUILDS and adds_provenance(s)]
        if not creates or not attested:
            continue
        edits: dict[int, LineEdit] = {}
        for step in attested:
            if step.kind == "build-push-action" and step.with_line:
                edits[step.with_line] = LineEdit(step.with_text, after=(f"{step.input_indent}provenance: false",))
            elif step.kind == "buildx-build" and re.search(r"\bbuild\b", step.text):
                new = re.sub(r"\bbuild\b", "build --provenance=false", step.text, count=1)
                edits[step.line] = LineEdit(step.text, new=new)
        fixes = []
        if len(edits) == len(attested):
            edit = edit_lines(_root(ctx), wf.path, edits)
            fixes.append(Fix(title="push without provenance attestations", steps=(edit,), serves="deploy"))
        fixes.append(
            Fix(
                title="join the images with buildx imagetools",
                steps=(
                    manual(
                        "replace `docker manifest create TAG SRC...` and `docker manifest push TAG` with "
                        "`docker buildx imagetools create -t TAG SRC...`, which accepts image indexes"
                    ),
                ),
                serves="deploy",
            )
        )
        first = creates[0]
        yield Problem(
            message=f"{_where(wf, first.line)}: `docker manifest create` joins images pushed with a provenance "
            f"attestation (line{'s' if len(attested) > 1 else ''} {', '.join(str(s.line) for s in attested)}): "
            "each pushed tag is an index, and it fails with `is a manifest list`",
            subject=_where(wf, first.line),
            location=_at(wf, first.line),
            evidence=tuple(ev("project.workflows.jobs.steps.uses", s.uses or s.text.strip()) for s in attested),
            fixes=tuple(fixes),
        )


__all__ = [
    "build_push_without_platforms",
    "foreign_platform_without_qemu",
    "manifest_create_on_attested_image",
    "qemu_pinned_to_defect",
]
