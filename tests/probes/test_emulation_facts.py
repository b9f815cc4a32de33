"""Emulation facts from recorded binfmt_misc entries (headers name their public sources) and the real QEMU here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support.recorded import read_recording

from dockdoctor.probes.emulation import (
    identify,
    interpreter_version,
    parse_binfmt_entry,
    parse_qemu_version,
    probe_emulation,
)

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded"


def entry(name: str) -> str:
    """A recorded `cat /proc/sys/fs/binfmt_misc/NAME`, without the pasted prompt line."""
    path = next(RECORDED.glob(f"*/{name}"))
    _, body = read_recording(path)
    return "\n".join(line for line in body.splitlines() if not line.startswith(("$ ", "root@")))


def test_tonistiigi_binfmt_handler() -> None:
    handler = parse_binfmt_entry("qemu-arm", entry("binfmt-cat.tonistiigi-binfmt-qemu-arm.1.txt"))
    assert (handler.interpreter, handler.flags, handler.platform) == ("/usr/bin/qemu-arm", "POCF", "linux/arm/v7")
    # the issue shows /usr/bin/qemu-arm is not on that host: the image registered it and F keeps it open
    assert identify(handler.interpreter, on_host=False, flags=handler.flags) == ("qemu", "tonistiigi/binfmt")


def test_distribution_and_rosetta_handlers() -> None:
    fedora = parse_binfmt_entry("qemu-aarch64", entry("binfmt-cat.qemu-aarch64-fedora.1.txt"))
    assert identify(fedora.interpreter, on_host=True, flags=fedora.flags) == ("qemu", "distribution")
    lima = parse_binfmt_entry("rosetta", entry("binfmt-cat.lima-rosetta.1.txt"))
    assert identify(lima.interpreter, on_host=False, flags=lima.flags) == ("rosetta", "lima")
    assert identify("/usr/libexec/qemu-binfmt/aarch64-binfmt-P", on_host=True, flags="OPF") == ("qemu", "distribution")
    assert identify("/usr/bin/python3.11", on_host=True, flags="") == ("", "")


@pytest.mark.skipif(not shutil.which("qemu-aarch64-static"), reason="needs qemu-user-static")
def test_qemu_version_from_the_real_interpreter() -> None:
    real = subprocess.run(["qemu-aarch64-static", "--version"], capture_output=True, text=True, check=True).stdout
    expected = real.splitlines()[0].split(" version ", 1)[1]
    assert parse_qemu_version(real) == expected
    # Debian's binfmt wrapper refuses to run by itself; the probe runs the file it links to
    wrapper = "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"
    if Path(wrapper).exists():
        assert interpreter_version(wrapper) == (expected, f"{Path(wrapper).resolve()} --version")


def test_missing_interpreter_is_a_probe_error(tmp_path: Path) -> None:
    error = interpreter_version(str(tmp_path / "qemu-aarch64-static"))
    assert not isinstance(error, tuple) and error.kind == "not-found"


@pytest.mark.skipif(not Path("/usr/libexec/qemu-binfmt/aarch64-binfmt-P").exists(), reason="needs qemu-user-static")
def test_probe_reads_a_binfmt_tree_with_versions(tmp_path: Path) -> None:
    """A binfmt_misc-shaped folder: the recorded tonistiigi entry, and Debian's entry with its real wrapper."""
    (tmp_path / "status").write_text("enabled\n")
    (tmp_path / "register").write_text("")
    (tmp_path / "qemu-arm").write_text(entry("binfmt-cat.tonistiigi-binfmt-qemu-arm.1.txt"))
    (tmp_path / "qemu-aarch64").write_text(
        "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POF\noffset 0\n"
        "magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
    )
    facts = probe_emulation(os_name="linux", binfmt_root=str(tmp_path))
    handlers = {h.name: h for h in facts.handlers}
    assert facts.binfmt_enabled is True and facts.errors == ()
    assert handlers["qemu-aarch64"].version and handlers["qemu-aarch64"].installer == "distribution"
    assert handlers["qemu-arm"].installer == "tonistiigi/binfmt" and handlers["qemu-arm"].version == ""
    assert "not on the host" in handlers["qemu-arm"].version_source
    (tmp_path / "status").write_text("disabled\n")
    assert probe_emulation(os_name="linux", binfmt_root=str(tmp_path), versions=False).binfmt_enabled is False


@pytest.mark.parametrize(
    ("magic", "platform"),
    [
        # as this machine's Debian qemu-user-static registers them (/proc/sys/fs/binfmt_misc/qemu-*)
        ("7f454c4601020100000000000000000000020028", None),  # qemu-armeb: big-endian ARM is no image platform
        ("7f454c4602020100000000000000000000020008", "linux/mips64"),  # qemu-mips64 (big-endian), not mips64le
        ("7f454c460102010000000000000000000002baab", None),  # qemu-microblaze
    ],
)
def test_big_endian_magics(magic: str, platform: str | None) -> None:
    from dockdoctor.probes.emulation import platform_from_magic

    assert platform_from_magic(magic) == platform
