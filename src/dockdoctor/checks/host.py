"""DKD1xx: the host machine (Rosetta-translated shells)."""

from __future__ import annotations

from collections.abc import Iterator

from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev
from dockdoctor.model import Fix, Fixable, Problem, Safety, Severity, manual, run


@check("DKD101", "shell-translated-by-rosetta", severity=Severity.WARNING, fixable=Fixable.ALWAYS)
def shell_translated_by_rosetta(ctx: Context) -> Iterator[Problem]:
    """The shell runs as x86_64 under Rosetta on an Apple Silicon Mac

    ## What it checks
    On an Apple Silicon Mac (`sysctl hw.optional.arm64` is 1), whether this process runs translated by Rosetta
    (`sysctl sysctl.proc_translated` is 1), which happens in a terminal opened "using Rosetta" or under an
    x86_64 Homebrew in `/usr/local`.

    ## Why it matters
    Tools started from that shell believe the machine is `x86_64`: scripts pick `linux/amd64` images and
    binaries, `uname -m` lies, and an x86_64 docker CLI or compose runs translated. Builds then default to the
    wrong platform and mixed arm64/amd64 caches follow (`The requested image's platform (linux/amd64) does not
    match the detected host platform (linux/arm64/v8)`).

    ## Example
    `fixtures/checks/DKD101/bad-rosetta-terminal.json` is a Mac whose shell is translated;
    `good-native-arm64.json` is the same Mac in a native terminal.

    ## Fix
    Display only: open the terminal without "Open using Rosetta" (Finder > Get Info on the terminal app), or
    start a native shell with `arch -arm64 /bin/zsh`. Check with `uname -m`, which must print `arm64`.

    ## Facts used
    `host.apple_silicon`, `host.rosetta_translated`, `host.machine`.
    """
    host = ctx.facts.host
    if host.apple_silicon and host.rosetta_translated:
        yield Problem(
            message=f"this shell runs translated by Rosetta: programs see {host.machine}, not arm64",
            subject="host",
            evidence=(ev("host.rosetta_translated", True), ev("host.machine", host.machine)),
            fixes=(Fix(title="start a native arm64 shell", safety=Safety.DISPLAY_ONLY,
                       steps=(run("arch", "-arm64", "/bin/zsh", "-l"),
                              manual("turn off \"Open using Rosetta\" for your terminal app (Finder > Get Info)"))),),
        )
