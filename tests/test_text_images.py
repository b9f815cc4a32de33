"""The text report's image lines, as a user reads them after `check --from`: each target's verdict with the
local copy (what the containerd image store holds, what it lists but never pulled) and, with --deep, the file
each variant execs and what reading it cost. The facts are the recorded check examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"

CASES = [
    (
        "DKD303/bad-containerd-store-holds-only-arm64",
        "on linux/amd64: native; local copy linux/arm64 (linux/amd64 listed, not pulled)",
    ),
    (
        "DKD303/good-containerd-store-holds-every-target",
        "on linux/arm64: native; local copy linux/arm64 (holds linux/amd64, linux/arm64)",
    ),
    (
        "DKD340/bad-amd64-busybox-in-arm64-image",
        "deep linux/arm64 (for linux/arm64): /bin/busybox: ELF amd64 64-bit, static; read 64.0 KiB of 1.0 MiB "
        "(6.2%), 1 layer stream(s) of 1 layers",
    ),
    (
        "DKD341/bad-glibc-ls-in-busybox-image",
        "deep linux/amd64 (for linux/amd64): /bin/ls: ELF amd64 64-bit, loader /lib64/ld-linux-x86-64.so.2; "
        "/lib64/ld-linux-x86-64.so.2: absent;",
    ),
    (
        "DKD342/bad-v3-binary-v2-target",
        "deep linux/amd64 (for linux/amd64/v2): /app: ELF amd64 64-bit, static, x86-64-v3;",
    ),
    (
        "DKD342/good-baseline-binary",
        "deep linux/amd64 (for linux/amd64/v2): /bin/busybox: ELF amd64 64-bit, static; answered from the layer "
        "cache (1 layers, 1.0 MiB)",
    ),
    ("DKD343/bad-layer-not-gzip", "deep linux/amd64 (for linux/amd64): not read (not-gzip); read 64.0 KiB"),
    (
        "DKD344/bad-script-interpreter-missing",
        "deep linux/amd64 (for linux/amd64): /entry.sh: script #!/bin/bash; /bin/bash: absent;",
    ),
    (
        "DKD344/good-script-with-interpreter",
        "/entry.sh: script #!/bin/sh; /bin/busybox (via /bin/sh -> busybox): ELF arm64 64-bit, static;",
    ),
]


@pytest.mark.parametrize(("example", "line"), CASES, ids=[c[0] for c in CASES])
def test_check_from_shows_the_image_lines(example: str, line: str, tmp_path: Path) -> None:
    path = EXAMPLES / f"{example}.json"
    targets = json.loads(path.read_text(encoding="utf-8")).get("_targets", [])
    args = [a for t in targets for a in ("--platform", t)]
    result = dockdoctor("check", "--from", str(path), *args, env=isolated_env(tmp_path))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code in (0, 1), result.stderr
    assert line in result.stdout, result.stdout
