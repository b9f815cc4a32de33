"""DKD340-DKD344 (`--deep`): the file a container execs, read from the image's layers, against its label."""

from __future__ import annotations

from collections.abc import Iterator

from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev, platform_or_none
from dockdoctor.model import (
    DeepImage,
    ElfFacts,
    Evidence,
    Fix,
    Fixable,
    ImageFile,
    Need,
    Problem,
    Safety,
    Severity,
    manual,
    run,
)


def _runner(d: DeepImage) -> ImageFile | None:
    """The ELF the kernel loads: the entrypoint itself, or a script's interpreter."""
    if d.entry is not None and d.entry.elf is not None:
        return d.entry
    if d.interpreter is not None and d.interpreter.elf is not None:
        return d.interpreter
    return None


def _arch(platform: str) -> str:
    parsed = platform_or_none(platform)
    return parsed.architecture if parsed is not None else ""


def _what(elf: ElfFacts) -> str:
    return f"ELF for {elf.arch or f'e_machine {elf.machine}'} ({elf.bits}-bit, {elf.endian}-endian)"


def _rebuild(d: DeepImage) -> tuple[Fix, ...]:
    return (
        Fix(
            title=f"build the image's binary for {d.platform}",
            safety=Safety.DISPLAY_ONLY,
            needs=(Need.REBUILD, Need.NETWORK),
            steps=(
                manual(
                    "build or download the binary for the image's platform in the Dockerfile (use "
                    "TARGETARCH, or a builder stage FROM --platform=$BUILDPLATFORM that cross-compiles "
                    "for $TARGETPLATFORM) instead of COPYing one built on the host"
                ),
                run("docker", "buildx", "build", "--platform", d.platform, "-t", d.reference, "--push", "."),
            ),
        ),
    )


def _evidence(d: DeepImage, f: ImageFile) -> tuple[Evidence, ...]:
    return (
        ev("images.deep.platform", d.platform),
        ev("images.deep.digest", d.digest),
        ev("file", f.path),
        *((ev("links", "; ".join(f.links)),) if f.links else ()),
    )


@check("DKD340", "binary-arch-differs-from-manifest", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def binary_arch_differs(ctx: Context) -> Iterator[Problem]:
    """The file an image's container execs is built for another architecture than the image says

    ## What it checks
    With `--deep`: the ELF header (`e_machine`, class, byte order) of the entrypoint, or of a script entrypoint's
    `#!` interpreter, read from the image's layers, against the architecture of the image's manifest (its config).

    ## Why it matters
    A mis-tagged image (an x86-64 binary `COPY`ed into an arm64 image, a push from the wrong machine) passes every
    manifest check and dies at start: `exec /bin/app: exec format error`, or runs under QEMU without anyone
    asking for it.

    ## Example
    `fixtures/checks/DKD340/bad-amd64-busybox-in-arm64-image.json`; `good-arm64-busybox-in-arm64-image.json`.

    ## Fix
    Display only (a rebuild): build or download the binary for the target in the Dockerfile (`TARGETARCH`, or a
    cross-compiling builder stage) and push again with `docker buildx build --platform PLATFORM`.

    ## Facts used
    `images.deep[].platform`, `images.deep[].entry.elf`, `images.deep[].interpreter.elf`.
    """
    for d in ctx.facts.images.deep:
        f = _runner(d)
        label = _arch(d.platform)
        if f is None or f.elf is None or not f.elf.arch or not label or f.elf.arch == label:
            continue
        yield Problem(
            message=f"{d.reference} ({d.platform}): {f.path} is an {_what(f.elf)}, not {label}; "
            f"it fails with `exec {f.path}: exec format error` where {label} runs natively",
            subject=d.reference,
            target=d.target,
            evidence=(*_evidence(d, f), ev("elf.arch", f.elf.arch)),
            fixes=_rebuild(d),
        )


@check("DKD341", "loader-missing-or-foreign", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def loader_missing_or_foreign(ctx: Context) -> Iterator[Problem]:
    """The dynamic loader an image's entrypoint asks for is missing from the image or built for another machine

    ## What it checks
    With `--deep`: the `PT_INTERP` path of the ELF that runs (glibc `/lib64/ld-linux-x86-64.so.2`, musl
    `/lib/ld-musl-aarch64.so.1`, ...) looked up in the image's layers through its links: absent, or an ELF of
    another architecture than the image. A binary whose own architecture is already wrong is DKD340's.

    ## Why it matters
    A glibc binary in an Alpine (musl) image, or a loader of another architecture, fails with the misleading
    `exec /app/server: no such file or directory` although the file is there; under QEMU it is
    `qemu-x86_64: Could not open '/lib64/ld-linux-x86-64.so.2': No such file or directory`.

    ## Example
    `fixtures/checks/DKD341/bad-glibc-ls-in-busybox-image.json`; `good-static-busybox.json`.

    ## Fix
    Display only: build the binary against the image's libc (a musl build for Alpine, or a glibc base such as
    `-slim`), or link it statically (`CGO_ENABLED=0` for Go).

    ## Facts used
    `images.deep[].entry.elf.interpreter`, `images.deep[].loader`, `images.deep[].platform`.
    """
    for d in ctx.facts.images.deep:
        f, loader, label = _runner(d), d.loader, _arch(d.platform)
        if f is None or f.elf is None or not f.elf.interpreter or loader is None:
            continue
        if label and f.elf.arch and f.elf.arch != label:
            continue  # DKD340
        if loader.kind == "absent":
            problem = "is not in the image"
        elif loader.elf is not None and loader.elf.arch and f.elf.arch and loader.elf.arch != f.elf.arch:
            problem = f"is an {_what(loader.elf)} in the image"
        else:
            continue
        yield Problem(
            message=f"{d.reference} ({d.platform}): {f.path} needs the loader {f.elf.interpreter}, which "
            f"{problem}; the container fails with `exec {f.path}: no such file or directory`",
            subject=d.reference,
            target=d.target,
            evidence=(*_evidence(d, f), ev("elf.interpreter", f.elf.interpreter), ev("loader.kind", loader.kind)),
            fixes=(
                Fix(
                    title="build the binary for the image's libc, or statically",
                    safety=Safety.DISPLAY_ONLY,
                    needs=(Need.REBUILD,),
                    steps=(
                        manual(
                            f"rebuild {f.path} against the libc of the image (musl on Alpine, "
                            "glibc on Debian/Ubuntu/-slim), or link it statically "
                            "(CGO_ENABLED=0 for Go)"
                        ),
                    ),
                ),
            ),
        )


def _target_level(ctx: Context, target: str) -> tuple[int, str] | None:
    """The x86-64 level a target promises: its variant (linux/amd64/v3), this CPU's when the target is the local
    engine's platform, else the baseline (1)."""
    parsed = platform_or_none(target)
    if parsed is None or parsed.architecture != "amd64":
        return None
    if parsed.variant.startswith("v") and parsed.variant[1:].isdigit():
        return int(parsed.variant[1:]), f"{target} promises x86-64-{parsed.variant}"
    facts = ctx.facts
    engine = platform_or_none(facts.engine.platform)
    if (
        engine is not None
        and engine.architecture == "amd64"
        and not facts.engine.remote
        and facts.host.amd64_level is not None
        and facts.host.arch == "amd64"
    ):
        return facts.host.amd64_level, f"this machine's CPU is x86-64-v{facts.host.amd64_level}"
    return 1, f"{target} promises only the x86-64 baseline"


@check("DKD342", "binary-isa-level-above-target", severity=Severity.WARNING, fixable=Fixable.NEVER)
def isa_level_above_target(ctx: Context) -> Iterator[Problem]:
    """The entrypoint binary needs a newer x86-64 level than a target offers

    ## What it checks
    With `--deep`: the `GNU_PROPERTY_X86_ISA_1_NEEDED` note of the amd64 ELF that runs (x86-64-v2, -v3 or -v4,
    written by `-march=x86-64-v3` builds and distributions built for a newer level) against the target: its variant
    (`linux/amd64/v2`), this CPU's level when the target is the local engine, else the baseline that
    `linux/amd64` promises.

    ## Why it matters
    The container dies at once on an older CPU or a VM with a baseline CPU model: `Fatal glibc error: CPU does not
    support x86-64-v3`, or `Illegal instruction (core dumped)`; emulators (older QEMU, Rosetta) lack AVX too.

    ## Example
    `fixtures/checks/DKD342/bad-v3-binary-v2-target.json`; `good-baseline-binary.json`.

    ## Fix
    None to apply: build for the baseline (`-march=x86-64`, `GOAMD64=v1`), publish a `linux/amd64/v3` variant
    beside a baseline one, or run on CPUs that have the level.

    ## Facts used
    `images.deep[].entry.elf.isa_level`, targets, `host.amd64_level`, `engine.remote`.
    """
    for d in ctx.facts.images.deep:
        f = _runner(d)
        if f is None or f.elf is None or f.elf.arch != "amd64" or not f.elf.isa_level or f.elf.isa_level < 2:
            continue
        offered = _target_level(ctx, d.target)
        if offered is None or f.elf.isa_level <= offered[0]:
            continue
        yield Problem(
            message=f"{d.reference}: {f.path} needs x86-64-v{f.elf.isa_level} (its ISA note); "
            f"{offered[1]}: it may die with `Fatal glibc error: CPU does not support "
            f"x86-64-v{f.elf.isa_level}` or `Illegal instruction`",
            subject=d.reference,
            target=d.target,
            evidence=(*_evidence(d, f), ev("elf.isa_level", f.elf.isa_level)),
        )


@check("DKD343", "deep-inspection-incomplete", severity=Severity.WARNING, fixable=Fixable.NEVER)
def deep_inspection_incomplete(ctx: Context) -> Iterator[Problem]:
    """The entrypoint of an image could not be read from its layers

    ## What it checks
    With `--deep`: a variant whose layers could not be read to the entrypoint: a layer that is not the gzip its
    media type says, corrupt or truncated tar data, a zstd layer without the `zstandard` package, a symbolic link
    loop inside the image, the byte budget per image (`DOCKDOCTOR_DEEP_BUDGET`, MiB) or the deadline reached, a
    registry error on a blob, a config without a command, `--offline` without the layers in the layer cache, or
    an image only in the engine's store (the Docker API reads files only from containers or by exporting the
    whole image; `--deep` does neither).

    ## Why it matters
    The binary checks (DKD340-DKD342) could not judge this image: a clean report is not a clean bill. A corrupt
    layer also fails `docker pull` (`failed to register layer: unexpected EOF`).

    ## Example
    `fixtures/checks/DKD343/bad-layer-not-gzip.json`; `good-read.json`.

    ## Fix
    None to apply: for the budget or the deadline, raise `DOCKDOCTOR_DEEP_BUDGET` or `--timeout`; otherwise the
    image itself is broken: push it again.

    ## Facts used
    `images.deep[].error`.
    """
    for d in ctx.facts.images.deep:
        if d.error is not None:
            yield Problem(
                message=f"{d.reference} ({d.platform}): entrypoint not read: {d.error.detail}",
                subject=d.reference,
                target=d.target or None,
                evidence=(ev("images.deep.error.kind", d.error.kind), ev("images.deep.digest", d.digest)),
            )


@check("DKD344", "entrypoint-not-in-image", severity=Severity.ERROR, fixable=Fixable.NEVER)
def entrypoint_not_in_image(ctx: Context) -> Iterator[Problem]:
    """The command an image runs is not in the image, or is not a runnable file

    ## What it checks
    With `--deep`: argv[0] of Entrypoint + Cmd, looked up as the runtime does (absolute, relative to WorkingDir,
    or along the config's PATH, through links), is absent, a directory, empty, a truncated or malformed ELF,
    or a script whose `#!` interpreter is absent from the image.

    ## Why it matters
    The container fails at once with `exec: "app": executable file not found in $PATH` or
    `exec /entrypoint.sh: no such file or directory` (the interpreter is missing), on every platform.

    ## Example
    `fixtures/checks/DKD344/bad-script-interpreter-missing.json`; `good-script-with-interpreter.json`.

    ## Fix
    None to apply: copy the file (or its interpreter) into the image, or fix the path in ENTRYPOINT/CMD.

    ## Facts used
    `images.deep[].argv`, `images.deep[].entry`, `images.deep[].interpreter`.
    """
    for d in ctx.facts.images.deep:
        e = d.entry
        if d.error is not None or e is None:
            continue
        if e.kind in ("absent", "not-a-file", "empty", "bad-elf"):
            what = {
                "absent": "is not in the image",
                "not-a-file": "is not a regular file",
                "empty": "is an empty file",
                "bad-elf": f"is not a loadable ELF ({e.shebang}): `exec format error`",
            }[e.kind]
            yield Problem(
                message=f"{d.reference} ({d.platform}): {d.argv[0] if d.argv else e.path} {what} "
                f"(looked up as {e.path})",
                subject=d.reference,
                target=d.target,
                evidence=(ev("images.deep.argv", " ".join(d.argv)), ev("entry.kind", e.kind)),
            )
        elif e.kind in ("script", "crlf") and d.interpreter is not None and d.interpreter.kind == "absent":
            yield Problem(
                message=f"{d.reference} ({d.platform}): {e.path} starts with `#!{e.shebang}`, and "
                f"{d.interpreter.path} is not in the image",
                subject=d.reference,
                target=d.target,
                evidence=(ev("entry.shebang", e.shebang), ev("interpreter.kind", d.interpreter.kind)),
            )
