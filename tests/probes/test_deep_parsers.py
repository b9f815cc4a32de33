"""The pure --deep readers on real files: the ELF reader (the test env's busybox builds, this machine's /bin/ls),
the streaming tar walker and the merged layer view (whiteouts, links, loops, budgets, bad compression)."""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from pathlib import Path

import pytest

from dockdoctor.probes import elf
from dockdoctor.probes.layers import Budget, Decompressed, LayerError, LayerIndex, MergedView, normalize, walk
from dockdoctor.probes.registry import _manifest as mf

BUSYBOX = {a: Path(f"/var/cache/dockdoctor-testenv/busybox/{a}/busybox") for a in ("amd64", "arm64")}
LS = Path("/bin/ls")


def _real(path: Path) -> bytes:
    if not path.is_file():
        pytest.skip(f"{path} is not on this machine")
    return path.read_bytes()


def test_static_busybox_builds() -> None:
    amd = elf.parse(_real(BUSYBOX["amd64"])[: elf.HEAD_BYTES])
    arm = elf.parse(_real(BUSYBOX["arm64"])[: elf.HEAD_BYTES])
    assert (amd.arch, amd.bits, amd.little_endian, amd.interpreter) == ("amd64", 64, True, "")
    assert (arm.arch, arm.machine, arm.interpreter, arm.isa_level) == ("arm64", 183, "", None)


def test_dynamic_ls_names_its_glibc_loader_and_isa_note() -> None:
    ls = elf.parse(_real(LS)[: elf.HEAD_BYTES])
    assert ls.interpreter.startswith("/lib") and "ld-linux" in ls.interpreter
    if ls.arch == "amd64":
        assert ls.isa_level == 1  # Debian's binutils writes x86-64-baseline (readelf -n)


def test_isa_level_from_the_needed_bits() -> None:
    data = bytearray(_real(LS)[: elf.HEAD_BYTES])
    ls = elf.parse(bytes(data))
    if ls.isa_needed is None:
        pytest.skip("this /bin/ls has no x86 ISA note")
    at = bytes(data).find(struct.pack("<II", elf.GNU_PROPERTY_X86_ISA_1_NEEDED, 4))
    data[at + 8 : at + 12] = struct.pack("<I", 0b0101)  # baseline + v3: the level is v3
    assert elf.parse(bytes(data)).isa_level == 3


@pytest.mark.parametrize("cut", [0, 3, 20, 51, 63])
def test_truncated_or_foreign_headers_are_errors(cut: int) -> None:
    with pytest.raises(elf.ElfError):
        elf.parse(_real(BUSYBOX["amd64"])[:cut])
    with pytest.raises(elf.ElfError):
        elf.parse(b"#!/bin/sh\n")


def test_program_headers_past_the_head_mark_it_incomplete() -> None:
    head = _real(LS)[:0x100]  # the ELF header and a few program headers, not PT_INTERP's string
    parsed = elf.parse(head)
    assert parsed.incomplete and parsed.interpreter == ""


# --- tar walker and merged view ----------------------------------------------------------------------------


def _tar(*members: tuple[str, str, bytes | str]) -> bytes:
    """(name, kind, data-or-link) -> tar bytes; kind is file | dir | sym | hard."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.mode = 0o755
            if kind == "file":
                assert isinstance(data, bytes)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}[kind]
            if kind in ("sym", "hard"):
                info.linkname = str(data)
            tar.addfile(info)
    return buf.getvalue()


def _stream(
    data: bytes, media_type: str = "application/vnd.oci.image.layer.v1.tar+gzip", *, budget: Budget | None = None
) -> Decompressed:
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    return Decompressed(chunks, media_type=media_type, budget=budget or Budget(1 << 30, 1 << 32), what="layer 1")


class Layers:
    """In-memory layers for MergedView, counting how often each is scanned."""

    def __init__(self, *tars: bytes) -> None:
        self.tars = [gzip.compress(t) for t in tars]
        self.scans = [0] * len(tars)
        self.indexes: dict[int, LayerIndex] = {}

    def __call__(self, number: int, goal: str, head: bool) -> LayerIndex:
        idx = self.indexes.get(number)
        if idx is not None and (idx.complete or idx.determined(goal, head=head)):
            return idx
        self.scans[number] += 1
        idx = LayerIndex()
        for entry in walk(_stream(self.tars[number]), want_head=lambda p: p == goal, what=f"layer {number}"):
            idx.add(entry)
            if entry.path == goal:
                break
        else:
            idx.complete = True
        self.indexes[number] = idx
        return idx

    def view(self) -> MergedView:
        return MergedView(len(self.tars), self)


def test_walker_reads_heads_and_names_whiteouts() -> None:
    bb = _real(BUSYBOX["arm64"])
    data = gzip.compress(
        _tar(
            ("bin", "dir", ""),
            ("bin/busybox", "file", bb),
            ("bin/sh", "hard", "bin/busybox"),
            ("etc/.wh.passwd", "file", b""),
            ("opt/.wh..wh..opq", "file", b""),
        )
    )
    entries = list(walk(_stream(data), want_head=lambda p: p == "bin/sh", what="layer"))
    kinds = {e.path: e.kind for e in entries}
    assert kinds == {
        "bin": "dir",
        "bin/busybox": "file",
        "bin/sh": "hardlink",
        "etc/passwd": "whiteout",
        "opt": "opaque",
    }
    sh = next(e for e in entries if e.path == "bin/sh")
    assert sh.head is not None and elf.parse(sh.head).arch == "arm64"


def test_links_layers_and_whiteouts_resolve_like_the_container_sees_them() -> None:
    bb = _real(BUSYBOX["amd64"])
    base = _tar(
        ("usr/bin/busybox", "file", bb),
        ("bin", "sym", "usr/bin"),
        ("etc/gone", "file", b"x"),
        ("opt/old", "file", b"x"),
    )
    top = _tar(
        ("usr/local/bin/sh", "sym", "/bin/busybox"),
        ("etc/.wh.gone", "file", b""),
        ("opt/.wh..wh..opq", "file", b""),
        ("opt/new", "file", b"#!/bin/sh\n"),
    )
    layers = Layers(base, top)
    view = layers.view()
    found = view.resolve("/usr/local/bin/sh")
    assert found.path == "/usr/bin/busybox" and elf.parse(found.entry.head).arch == "amd64"
    assert found.links == ("/usr/local/bin/sh -> /bin/busybox", "/bin -> usr/bin")
    assert found.layer == 0
    assert view.resolve("/etc/gone").entry is None  # whited out by the top layer
    assert view.resolve("/opt/old").entry is None  # the top layer's /opt is opaque
    assert view.resolve("/opt/new").entry.head == b"#!/bin/sh\n"


def test_first_hit_stops_the_read_of_a_layer() -> None:
    bb = _real(BUSYBOX["amd64"])
    big = gzip.compress(_tar(("app", "file", bb), *((f"data/{i}", "file", bytes(4096)) for i in range(200))))
    budget = Budget(1 << 30, 1 << 32)
    stream = _stream(big, budget=budget)
    for entry in walk(stream, want_head=lambda p: p == "app", what="layer"):
        if entry.path == "app":
            break
    assert budget.read < len(big)


def test_symlink_loop_is_an_error() -> None:
    layers = Layers(_tar(("bin/a", "sym", "b"), ("bin/b", "sym", "/bin/a")))
    with pytest.raises(LayerError) as err:
        layers.view().resolve("/bin/a")
    assert err.value.kind == "symlink-loop"


def test_layer_that_is_not_gzip() -> None:
    plain = _tar(("app", "file", b"x"))
    with pytest.raises(LayerError) as err:
        list(walk(_stream(plain), want_head=lambda p: False, what="layer 1"))
    assert err.value.kind == "not-gzip" and "layer 1" in err.value.detail
    # an uncompressed layer whose media type says so reads fine
    assert [
        e.path
        for e in walk(_stream(plain, "application/vnd.oci.image.layer.v1.tar"), want_head=lambda p: False, what="layer")
    ] == ["app"]


def test_truncated_and_corrupt_layers() -> None:
    data = gzip.compress(_tar(("app", "file", _real(BUSYBOX["amd64"]))))
    with pytest.raises(LayerError) as err:
        list(walk(_stream(data[:2000]), want_head=lambda p: False, what="layer"))
    assert err.value.kind == "truncated"
    bad = data[:10] + bytes(len(data) - 10)
    with pytest.raises(LayerError) as err:
        list(walk(_stream(bad), want_head=lambda p: False, what="layer"))
    assert err.value.kind in ("corrupt", "truncated")


def test_budget_stops_a_huge_layer() -> None:
    import os

    data = gzip.compress(_tar(("noise", "file", os.urandom(1 << 20)), ("app", "file", b"x")), 1)
    with pytest.raises(LayerError) as err:
        list(walk(_stream(data, budget=Budget(256 << 10, 1 << 30)), want_head=lambda p: False, what="layer"))
    assert err.value.kind == "limit"
    bomb = gzip.compress(_tar(("zeros", "file", bytes(8 << 20))), 9)  # 8 MiB of zeros in a few KiB
    with pytest.raises(LayerError) as err:
        list(walk(_stream(bomb, budget=Budget(1 << 20, 1 << 20)), want_head=lambda p: False, what="layer"))
    assert err.value.kind == "limit"


@pytest.mark.parametrize(
    ("name", "expected"), [("./usr/bin/", "usr/bin"), ("/", ""), ("a/../../etc", "etc"), (".", "")]
)
def test_normalize(name: str, expected: str) -> None:
    assert normalize(name) == expected


def test_manifest_layers_and_run_config() -> None:
    good = "sha256:" + "a" * 64
    layers = mf.parse_layers({"layers": [{"digest": good, "size": 10, "mediaType": "x"}]})
    assert layers[0].digest == good and layers[0].size == 10
    with pytest.raises(mf.DocumentError):
        mf.parse_layers({"layers": [{"digest": "sha256:../../etc/passwd"}]})
    run = mf.parse_run_config(
        b'{"config": {"Entrypoint": ["/e"], "Cmd": ["a"], "Env": ["PATH=/x"], "WorkingDir": "/w"}}'
    )
    assert run.argv == ("/e", "a") and run.env == ("PATH=/x",) and run.workdir == "/w"


def test_candidates_follow_path_and_workdir() -> None:
    from dockdoctor.probes.registry._deep import candidates

    assert candidates("sh", ("PATH=/a:/b:relative",), "") == ["/a/sh", "/b/sh"]
    assert candidates("./run", (), "/app") == ["/app/run"]
    assert candidates("/bin/x", (), "/app") == ["/bin/x"]
    assert candidates("x", (), "")[0] == "/usr/local/sbin/x"


def test_zstd_layer_without_the_zstandard_package_is_one_clear_error() -> None:
    try:
        import zstandard  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("zstandard is installed here")
    frame = b"\x28\xb5\x2f\xfd" + bytes(16)  # a zstd frame's magic, as BuildKit's compression=zstd writes
    with pytest.raises(LayerError) as err:
        list(
            walk(
                _stream(frame, "application/vnd.oci.image.layer.v1.tar+zstd"), want_head=lambda p: False, what="layer 2"
            )
        )
    assert err.value.kind == "unsupported" and "zstandard" in err.value.detail


# --- fuzzing: arbitrary bytes are an ElfError or a LayerError, never anything else ---------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=599))
def test_elf_reader_on_mutated_headers(noise: bytes, at: int) -> None:
    head = bytearray(_real(LS)[:600])
    head[at : at + len(noise)] = noise[: 600 - at]
    try:
        elf.parse(bytes(head))
    except elf.ElfError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=4096),
    st.sampled_from(["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar", ""]),
)
def test_walker_on_arbitrary_bytes(data: bytes, media_type: str) -> None:
    try:
        list(walk(_stream(data, media_type), want_head=lambda p: True, what="layer"))
    except LayerError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=4000))
def test_walker_on_cut_gzip_layers(cut: int) -> None:
    data = gzip.compress(
        _tar(("bin/sh", "sym", "busybox"), ("bin/busybox", "file", bytes(3000)), ("etc/.wh.x", "file", b""))
    )
    try:
        list(walk(_stream(data[:cut]), want_head=lambda p: True, what="layer"))
    except LayerError:
        pass


def test_zstd_layer_with_the_zstandard_package() -> None:
    zstandard = pytest.importorskip("zstandard")
    bb = _real(BUSYBOX["arm64"])
    data = zstandard.ZstdCompressor().compress(_tar(("bin/busybox", "file", bb)))
    (entry,) = walk(
        _stream(data, "application/vnd.oci.image.layer.v1.tar+zstd"), want_head=lambda p: True, what="layer"
    )
    assert elf.parse(entry.head).arch == "arm64"


def test_hard_link_resolves_to_its_targets_content() -> None:
    bb = _real(BUSYBOX["arm64"])
    layers = Layers(_tar(("bin/busybox", "file", bb), ("bin/sh", "hard", "bin/busybox")))
    found = layers.view().resolve("/bin/sh")
    assert found.entry.kind == "file" and found.entry.link == "bin/busybox"
    assert elf.parse(found.entry.head).arch == "arm64" and layers.scans == [1]
