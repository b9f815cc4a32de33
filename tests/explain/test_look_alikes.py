"""A failed container's error, told apart by the file it tried to start: `check --from` a facts file whose
container died with `exec format error` or `no such file or directory` names the look-alike (a script without
`#!`, CRLF, an empty file, a Git LFS pointer, a Mac binary, a missing loader or file) as the confirmed cause and
never blames the architecture for a native container; a foreign ELF is the architecture. Recorded facts of the
amd64 test engine, with the container replaced."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env

from dockdoctor import codec
from dockdoctor.model import ContainerFacts, FileHead

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "checks" / "DKD321" / "bad-segv-under-qemu.json"

EXEC_FORMAT = "exec /entry: exec format error"
NO_SUCH_FILE = "exec /entry: no such file or directory"

CASES = [
    (EXEC_FORMAT, FileHead(path="/entry", kind="script-no-shebang", size=40), "script-without-shebang"),
    (EXEC_FORMAT, FileHead(path="/entry", kind="empty"), "empty-file"),
    (EXEC_FORMAT, FileHead(path="/entry", kind="lfs-pointer", size=130), "git-lfs-pointer"),
    (EXEC_FORMAT, FileHead(path="/entry", kind="macho", size=2048), "other-os-binary"),
    (NO_SUCH_FILE, FileHead(path="/entry", kind="crlf", size=60, interpreter="/bin/sh\\r"), "crlf-line-endings"),
    (
        NO_SUCH_FILE,
        FileHead(
            path="/entry",
            kind="elf",
            size=9000,
            executable=True,
            elf_platform="linux/amd64",
            interpreter="/lib64/ld-linux-x86-64.so.2",
            interpreter_present=False,
        ),
        "missing-loader",
    ),
    (NO_SUCH_FILE, FileHead(path="/entry", kind="absent"), "file-missing"),
]


def _verdicts(tmp_path: Path, container: ContainerFacts) -> dict[str, str]:
    data = json.loads(RECORDED.read_text(encoding="utf-8"))
    facts = codec.facts_from_data(data, source=str(RECORDED))
    facts = dataclasses.replace(facts, images=dataclasses.replace(facts.images, containers=(container,)))
    path = tmp_path / "facts.json"
    path.write_text(codec.facts_to_json(facts), encoding="utf-8")
    result = dockdoctor("check", "--from", str(path), "--only", "DKD321", "--json", env=isolated_env(tmp_path))
    assert "Traceback" not in result.stderr, result.stderr
    [finding] = result.json()["findings"]
    return {e["field"].split(".", 2)[2]: e["value"] for e in finding["evidence"] if e["field"].startswith("cause.")}


def _died(error: str, head: FileHead, platform: str = "linux/amd64") -> ContainerFacts:
    return ContainerFacts(
        id="c0ffee",
        name="app",
        image="acme/app:1",
        image_id="sha256:" + "a" * 64,
        platform=platform,
        state="exited",
        exit_code=1 if error == NO_SUCH_FILE else 255,
        exec_format_error=error == EXEC_FORMAT,
        log_tail=(error,),
        entrypoint=("/entry",),
        entry_file=head,
    )


@pytest.mark.parametrize(("error", "head", "cause"), CASES, ids=[c[2] for c in CASES])
def test_the_look_alike_is_the_cause(tmp_path: Path, error: str, head: FileHead, cause: str) -> None:
    verdicts = _verdicts(tmp_path, _died(error, head))
    assert verdicts[cause] == "confirmed", verdicts
    if "foreign-architecture" in verdicts:
        assert verdicts["foreign-architecture"] != "confirmed", verdicts  # a native container: not the CPU


def test_a_foreign_container_without_emulation_is_the_architecture(tmp_path: Path) -> None:
    """A linux/ppc64le image on this amd64 engine, which emulates arm64 only: the CPU, not the file."""
    head = FileHead(path="/entry", kind="elf", size=9000, executable=True, elf_platform="linux/ppc64le")
    verdicts = _verdicts(tmp_path, _died(EXEC_FORMAT, head, platform="linux/ppc64le"))
    assert verdicts["foreign-architecture"] == "confirmed", verdicts
    assert {v for k, v in verdicts.items() if k != "foreign-architecture"} == {"ruled out"}, verdicts
