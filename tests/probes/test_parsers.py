"""Probe parsers on real recorded command outputs (fixtures/recorded/engines, headers name their sources)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockdoctor.probes._run import Completed
from dockdoctor.probes.buildx import parse_buildx_ls, parse_buildx_version
from dockdoctor.probes.compose import parse_compose_version
from dockdoctor.probes.emulation import parse_binfmt_entry, platform_from_magic
from dockdoctor.probes.host import parse_cpu_flags, parse_os_release, parse_sysctl_flag

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded" / "engines"


def body(name: str) -> str:
    """The output part of a recording (after the `# ` header lines and one blank line)."""
    return (RECORDED / name).read_text(encoding="utf-8").split("\n\n", 1)[1]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("compose-version.v1.1.txt", ("1.26.2", 1)),
        ("compose-version.v2.1.txt", ("2.40.0", 2)),
    ],
)
def test_compose_version(name: str, expected: tuple[str, int]) -> None:
    assert parse_compose_version(body(name)) == expected


def test_compose_version_switch_transcript() -> None:
    lines = body("compose-version.v2-and-v1-switch.1.txt").splitlines()
    assert parse_compose_version(lines[1]) == ("2.0.0-rc.3", 2)
    assert parse_compose_version(lines[4]) == ("1.29.2", 1)


def test_compose_version_rejects_other_text() -> None:
    assert parse_compose_version("docker: 'compose' is not a docker command.") is None


def test_buildx_ls_desktop_old_layout() -> None:
    builders = parse_buildx_ls(body("buildx-ls.docker-desktop-mac-arm64.1.txt"))
    assert [(b.name, b.driver, b.current, b.status) for b in builders] == [
        ("default", "docker", False, "running"),
        ("desktop-linux", "docker", True, "running"),
    ]
    assert builders[1].platforms[:3] == ("linux/arm64", "linux/amd64", "linux/amd64/v2")
    assert len(builders[1].platforms) == 11


def test_buildx_ls_early_layout() -> None:
    (builder,) = parse_buildx_ls(body("buildx-ls.linux-amd64-no-qemu.1.txt"))
    assert (builder.name, builder.driver, builder.current, builder.platforms) == (
        "default",
        "docker",
        True,
        ("linux/amd64",),
    )


def test_buildx_ls_tree_layout_with_abbreviated_platforms() -> None:
    builders = {b.name: b for b in parse_buildx_ls(body("buildx-ls.orbstack-mac.1.txt"))}
    assert set(builders) == {"builder", "mongodb-cluster-builder", "multiarch", "multiarch-builder", "default"}
    assert builders["multiarch"].status == "inactive" and builders["multiarch"].platforms == ()
    assert builders["default"].platforms == ("linux/amd64", "linux/arm64", "linux/arm", "linux/ppc64le")
    assert builders["mongodb-cluster-builder"].driver == "docker-container"
    assert builders["mongodb-cluster-builder"].endpoint == "orbstack"


def test_buildx_version() -> None:
    assert parse_buildx_version("github.com/docker/buildx v0.14.1-desktop.1 59ee1c6") == "0.14.1-desktop.1"


def test_binfmt_qemu_entry() -> None:
    text = body("binfmt-cat.qemu-aarch64-fedora.1.txt")
    handler = parse_binfmt_entry("qemu-aarch64", text)
    assert (handler.enabled, handler.interpreter, handler.flags, handler.platform) == (
        True,
        "/usr/bin/qemu-aarch64-static",
        "F",
        "linux/arm64",
    )


def test_binfmt_rosetta_entry() -> None:
    handler = parse_binfmt_entry("rosetta", body("binfmt-cat.lima-rosetta.1.txt"))
    assert (handler.platform, handler.flags, handler.interpreter) == ("linux/amd64", "OCF", "/mnt/lima-rosetta/rosetta")


@pytest.mark.parametrize(
    ("magic", "platform"),
    [
        ("7f454c460101010000000000000000000200280000", "linux/arm/v7"),
        ("7f454c460201010000000000000000000200f300", "linux/riscv64"),
        ("7f454c4602020100000000000000000000020016", "linux/s390x"),
        ("7f454c4602010100000000000000000002001500", "linux/ppc64le"),
        ("4d5a", None),
        ("zz", None),
    ],
)
def test_platform_from_magic(magic: str, platform: str | None) -> None:
    assert platform_from_magic(magic) == platform


def test_host_parsers() -> None:
    assert (
        parse_os_release('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
        == "Debian GNU/Linux 12 (bookworm)"
    )
    assert parse_cpu_flags("processor\t: 0\nflags\t\t: fpu sse2 avx2\n")[-1] == "avx2"
    assert parse_sysctl_flag(Completed(("sysctl",), 0, "1\n", "")) is True
    assert parse_sysctl_flag(Completed(("sysctl",), 1, "", "sysctl: unknown oid 'sysctl.proc_translated'")) is None


def test_compose_v1_entry_point_script_version() -> None:
    from dockdoctor.probes.compose import parse_script_version

    # the first lines of Debian bookworm's /usr/bin/docker-compose (package docker-compose 1.29.2-3)
    header = (
        "#!/usr/bin/python3\n# EASY-INSTALL-ENTRY-SCRIPT: 'docker-compose==1.29.2','console_scripts',"
        "'docker-compose'\nimport re\nimport sys\n"
    )
    assert parse_script_version(header) == "1.29.2"
    assert parse_script_version("#!/usr/bin/python3\nfrom compose.cli.main import main\n") is None
    assert parse_script_version("\x7fELF\x02\x01\x01") is None
