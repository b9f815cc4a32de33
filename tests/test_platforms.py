"""Tests for dockdoctor.platforms, mostly driven by containerd/platforms' own test tables."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from dockdoctor.platforms import (
    Match,
    MatchKind,
    Platform,
    PlatformError,
    amd64_level,
    best_match,
    can_run,
    candidates,
    format_platform,
    from_machine,
    is_32bit_fallback,
    is_attestation,
    normalize,
    normalize_arch,
    normalize_os,
    parse,
    sort_by_preference,
)

# Tables ported as data from containerd/platforms@09756f59cb1d6b3fb368f371043d36e634789537
# (compare_test.go, platforms_test.go, platform_windows_compat_test.go, defaults_test.go,
# platforms_windows_test.go, cpuinfo_linux_test.go); each section names its source in "_source".
DATA: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "containerd_platforms.json").read_text(encoding="utf-8")
)


def P(obj: dict[str, Any]) -> Platform:
    return Platform(
        obj["os"],
        obj["architecture"],
        obj.get("variant", ""),
        obj.get("os_version", ""),
        tuple(obj.get("os_features", ())),
    )


def _pairs(section: str) -> list[Any]:
    return [
        pytest.param(c["host"], image, ok, id=f"{c['host']}<-{image}")
        for c in DATA[section]["cases"]
        for ok, images in ((True, c["match"]), (False, c["no_match"]))
        for image in images
    ]


# --- containerd compare_test.go --------------------------------------------------------------


@pytest.mark.parametrize(("host", "image", "expected"), _pairs("only"))
def test_only(host: str, image: str, expected: bool) -> None:
    assert can_run(parse(host), parse(image)) is expected


@pytest.mark.parametrize(("host", "image", "expected"), _pairs("only_strict"))
def test_only_strict(host: str, image: str, expected: bool) -> None:
    assert can_run(parse(host), parse(image), strict=True) is expected


@pytest.mark.parametrize("strict", [False, True], ids=["only", "only-strict"])
@pytest.mark.parametrize("case", DATA["compare_os_features"]["cases"], ids=lambda c: c["host"])
def test_compare_os_features_ordering(case: dict[str, Any], strict: bool) -> None:
    ordered = sort_by_preference(parse(case["host"]), [parse(p) for p in case["platforms"]], strict=strict)
    assert [str(p) for p in ordered] == case["expected"]


# --- containerd platforms_test.go ------------------------------------------------------------

HOSTS = [
    None,
    Platform("linux", "arm64"),
    Platform("linux", "arm", "v6"),
    Platform("darwin", "arm64"),
    Platform("linux", "amd64", "v3"),
]


def _substitute(value: Any, host: Platform) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, host) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, host) for v in value]
    if isinstance(value, str) and "$DEFAULT" in value:
        value = (
            value.replace("$DEFAULT_OS", host.os)
            .replace("$DEFAULT_ARCH", host.architecture)
            .replace("$DEFAULT_VARIANT", host.variant)
        )
        return "/".join(part for part in value.split("/") if part)  # path.Join drops empty parts
    return value


@pytest.mark.parametrize("host", HOSTS, ids=lambda h: str(h) if h else "default-host")
@pytest.mark.parametrize("case", DATA["parse_selector"]["cases"], ids=lambda c: c["input"])
def test_parse_selector(case: dict[str, Any], host: Platform | None) -> None:
    case = _substitute(case, host or Platform("linux", "amd64"))
    expected = P(case["expected"])
    parsed = parse(case["input"], host=host)
    assert parsed == normalize(expected)
    assert can_run(parsed, expected, strict=True)
    for other in case["matches"]:
        assert can_run(parsed, P(other), strict=True), other
    assert format_platform(expected, full=case.get("format_all", False)) == case["formatted"]
    assert parse(case["formatted"], host=host) == parsed  # the formatted form round-trips
    assert parse(str(parsed), host=host) == parsed


@pytest.mark.parametrize("spec", DATA["parse_invalid"]["cases"])
def test_parse_invalid(spec: str) -> None:
    with pytest.raises(PlatformError):
        parse(spec)


@pytest.mark.parametrize("case", DATA["format_all"]["cases"], ids=lambda c: c["expected"])
def test_format_all_encoding(case: dict[str, Any]) -> None:
    platform = P(case["platform"])
    assert format_platform(platform) == case["expected"]
    assert str(platform) == case["expected"]
    reparsed = parse(case["expected"])
    assert reparsed.os_version == platform.os_version
    assert reparsed.os_features == tuple(sorted({f for f in platform.os_features if f}))


# --- containerd Windows tables ---------------------------------------------------------------


def _win(build: str = "") -> Platform:
    return Platform("windows", "amd64", os_version=build)


@pytest.mark.parametrize(("host_build", "image_build", "expected"), DATA["windows_compat"]["cases"])
def test_windows_host_container_compat(host_build: int, image_build: int, expected: bool) -> None:
    assert can_run(_win(f"10.0.{host_build}"), _win(f"10.0.{image_build}")) is expected
    assert can_run(_win(f"10.0.{host_build}.100"), _win(f"10.0.{image_build}.42"), strict=True) is expected


@pytest.mark.parametrize(("host", "image", "expected"), DATA["windows_abi"]["cases"])
def test_windows_abi_matcher(host: dict[str, Any], image: dict[str, Any], expected: bool) -> None:
    assert can_run(P(host), P(image), strict=True) is expected


@pytest.mark.parametrize("case", DATA["windows_order"]["cases"], ids=lambda c: c["name"])
def test_windows_platform_order(case: dict[str, Any]) -> None:
    host, offered = P(case["host"]), [P(p) for p in case["platforms"]]
    assert sort_by_preference(host, offered)[0] == P(case["first"])
    assert best_match(host, offered).platform == P(case["first"])


def test_windows_match_comparer_less() -> None:
    case = DATA["windows_less"]["case"]
    ordered = sort_by_preference(P(case["host"]), [P(p) for p in case["platforms"]], strict=True)
    assert list(ordered) == [P(p) for p in case["expected"]]


def test_windows_fallback_on_unparsable_os_version() -> None:
    section = DATA["windows_fallback_os_version"]
    assert can_run(P(section["host"]), P(section["image"]), strict=True)


@pytest.mark.parametrize(
    ("host", "image", "expected"),
    [
        (
            Platform("windows", "amd64", os_version="10.0.20348", os_features=("win32k",)),
            Platform("windows", "amd64", os_version="10.0.20348", os_features=("win32k",)),
            True,
        ),
        (_win("10.0.20348"), Platform("windows", "amd64", os_features=("win32k",)), True),  # win32k ignored
        (_win("10.0.20348"), Platform("windows", "amd64", os_features=("other",)), False),
        (Platform("linux", "amd64"), Platform("linux", "amd64", os_features=("win32k",)), False),
        (_win("10.0.26100"), _win("11.0.26100"), False),  # major/minor must be equal
        (_win("10.0.20348"), _win("garbage"), False),
    ],
)
def test_windows_os_features(host: Platform, image: Platform, expected: bool) -> None:
    assert can_run(host, image) is expected


# --- containerd cpuinfo_linux_test.go --------------------------------------------------------


@pytest.mark.parametrize(("machine", "variant"), DATA["cpu_variant_from_arch"]["cases"])
def test_from_machine_arm_variants(machine: str, variant: str | None) -> None:
    if variant is None:
        with pytest.raises(PlatformError, match="invalid machine"):
            from_machine(machine)
    elif machine.lower() == "aarch64":
        assert from_machine(machine) == Platform("linux", "arm64")
    else:
        assert from_machine(machine) == Platform("linux", "arm", "unknown" if variant == "unknown" else f"v{variant}")


# --- normalization (containerd database.go normalizeArch/normalizeOS, brief section 4.1) -----


@pytest.mark.parametrize(
    ("arch", "variant", "expected"),
    [
        ("aarch64", "", ("arm64", "")),
        ("arm64", "8", ("arm64", "")),
        ("arm64", "v8", ("arm64", "")),
        ("arm64", "v8.0", ("arm64", "")),
        ("ARM64", "V8", ("arm64", "")),
        ("arm64", "9", ("arm64", "v9")),
        ("arm64", "9.0", ("arm64", "v9")),
        ("arm64", "v9.0", ("arm64", "v9")),
        ("arm64", "v8.2", ("arm64", "v8.2")),
        ("x86_64", "", ("amd64", "")),
        ("x86-64", "", ("amd64", "")),
        ("amd64", "v1", ("amd64", "")),
        ("amd64", "v3", ("amd64", "v3")),
        ("i386", "whatever", ("386", "")),
        ("386", "", ("386", "")),
        ("armhf", "", ("arm", "v7")),
        ("armhf", "v6", ("arm", "v7")),
        ("armel", "", ("arm", "v6")),
        ("arm", "", ("arm", "v7")),
        ("arm", "7", ("arm", "v7")),
        ("arm", "5", ("arm", "v5")),
        ("arm", "6", ("arm", "v6")),
        ("arm", "8", ("arm", "v8")),
        ("arm", "v4", ("arm", "v4")),
        ("s390x", "", ("s390x", "")),
        ("RISCV64", "", ("riscv64", "")),
    ],
)
def test_normalize_arch(arch: str, variant: str, expected: tuple[str, str]) -> None:
    assert normalize_arch(arch, variant) == expected


@pytest.mark.parametrize(
    ("os", "expected"), [("Linux", "linux"), ("macOS", "darwin"), ("macos", "darwin"), ("WINDOWS", "windows"), ("", "")]
)
def test_normalize_os(os: str, expected: str) -> None:
    assert normalize_os(os) == expected


def test_normalize_sorts_and_dedups_features() -> None:
    p = normalize(Platform("Linux", "x86_64", "v1", "", ("b", "a", "b")))
    assert p == Platform("linux", "amd64", "", "", ("a", "b"))


# --- candidate vectors (containerd compare.go platformVector, brief section 4.2) -------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("linux/amd64/v3", "linux/amd64/v3 linux/amd64/v2 linux/amd64 linux/386"),
        ("linux/amd64", "linux/amd64 linux/386"),
        ("linux/386", "linux/386"),
        ("linux/arm64", "linux/arm64 linux/arm/v8 linux/arm/v7 linux/arm/v6 linux/arm/v5"),
        (
            "linux/arm64/v8.2",
            "linux/arm64/v8.2 linux/arm64/v8.1 linux/arm64 linux/arm/v8 linux/arm/v7 linux/arm/v6 linux/arm/v5",
        ),
        (
            "linux/arm64/v9.2",
            "linux/arm64/v9.2 linux/arm64/v9.1 linux/arm64/v9 linux/arm64/v8.7 linux/arm64/v8.6 "
            "linux/arm64/v8.5 linux/arm64/v8.4 linux/arm64/v8.3 linux/arm64/v8.2 linux/arm64/v8.1 "
            "linux/arm64 linux/arm/v8 linux/arm/v7 linux/arm/v6 linux/arm/v5",
        ),
        ("linux/arm/v7", "linux/arm/v7 linux/arm/v6 linux/arm/v5"),
        ("linux/arm/v6", "linux/arm/v6 linux/arm/v5"),
        ("linux/arm/v5", "linux/arm/v5"),
        ("linux/s390x", "linux/s390x"),
        ("windows(10.0.20348)/amd64", "windows(10.0.20348)/amd64 windows(10.0.20348)/386"),
    ],
)
def test_candidates(host: str, expected: str) -> None:
    assert " ".join(str(p) for p in candidates(parse(host))) == expected


# --- worked examples (brief section 4.6) -----------------------------------------------------

ARM64, AMD64 = parse("linux/arm64"), parse("linux/amd64")


def test_example_1_arm64_prefers_native_arm64() -> None:
    offered = [parse("linux/amd64"), Platform("linux", "arm64", "v8"), parse("linux/arm/v7")]
    match = best_match(ARM64, offered)
    assert match == Match(MatchKind.EXACT, offered[1])
    assert match.platform is offered[1]


def test_example_2_arm64_falls_back_to_32bit_arm() -> None:
    offered = [AMD64, parse("linux/arm/v7")]
    assert best_match(ARM64, offered) == Match(MatchKind.COMPATIBLE, offered[1])
    assert is_32bit_fallback(ARM64, offered[1])


def test_example_3_arm64_amd64_only_needs_emulation() -> None:
    assert best_match(ARM64, [AMD64]) == Match(MatchKind.UNAVAILABLE, None)
    assert best_match(ARM64, [AMD64], emulated=[AMD64]) == Match(MatchKind.EMULATED, AMD64, via=AMD64)
    assert str(ARM64.with_default_variant()) == "linux/arm64/v8"  # as in Docker's "no matching manifest"


def test_example_4_amd64_level() -> None:
    offered = [parse("linux/amd64/v3")]
    assert best_match(parse("linux/amd64/v2"), offered).kind is MatchKind.UNAVAILABLE
    assert best_match(parse("linux/amd64/v3"), offered).kind is MatchKind.EXACT
    assert best_match(parse("linux/amd64/v4"), offered).kind is MatchKind.COMPATIBLE


def test_example_5_armv6_cannot_run_v7_or_arm64() -> None:
    assert best_match(parse("linux/arm/v6"), [parse("linux/arm/v7"), ARM64]).kind is MatchKind.UNAVAILABLE


def test_example_6_arm_without_variant_is_v7() -> None:
    offered = [Platform("linux", "arm")]
    assert best_match(parse("linux/arm/v7"), offered) == Match(MatchKind.EXACT, offered[0])


def test_example_7_single_amd64_manifest_on_arm64_host() -> None:
    assert not can_run(ARM64, AMD64)
    emulated = [parse("linux/arm/v7"), AMD64]
    assert best_match(ARM64, [AMD64], emulated=emulated) == Match(MatchKind.EMULATED, AMD64, via=AMD64)


def test_example_8_windows_below_ltsc2022_needs_exact_build() -> None:
    assert best_match(_win("10.0.17763"), [_win("10.0.20348")]).kind is MatchKind.UNAVAILABLE


# --- best_match details ----------------------------------------------------------------------


def test_best_match_prefers_candidate_order_over_offered_order() -> None:
    offered = [parse("linux/386"), parse("linux/amd64"), parse("linux/amd64/v2")]
    assert best_match(parse("linux/amd64/v3"), offered) == Match(MatchKind.COMPATIBLE, offered[2])


def test_best_match_ties_go_to_offered_order() -> None:
    first, second = Platform("linux", "arm64", "v8"), Platform("linux", "aarch64")
    assert best_match(ARM64, [first, second]).platform is first
    assert best_match(ARM64, [second, first]).platform is second


def test_best_match_ignores_attestations_and_unknowns() -> None:
    offered = [Platform("unknown", "unknown"), AMD64]
    assert best_match(AMD64, offered) == Match(MatchKind.EXACT, AMD64)
    assert best_match(ARM64, []) == Match(MatchKind.UNAVAILABLE, None)


def test_best_match_emulation_uses_emulated_order_and_fallbacks() -> None:
    offered = [parse("linux/386"), parse("linux/riscv64")]
    emulated = [parse("linux/riscv64"), AMD64]
    assert best_match(ARM64, offered, emulated=emulated) == Match(MatchKind.EMULATED, offered[1], via=emulated[0])
    assert best_match(ARM64, offered[:1], emulated=emulated) == Match(MatchKind.EMULATED, offered[0], via=AMD64)


def test_best_match_windows_other_build_is_compatible_not_exact() -> None:
    host = _win("10.0.26100.2894")
    assert best_match(host, [_win("10.0.20348.3091")]).kind is MatchKind.COMPATIBLE
    assert best_match(host, [_win("10.0.26100.1")]).kind is MatchKind.EXACT
    assert best_match(host, [_win()]).kind is MatchKind.EXACT


def test_match_kind_is_a_string() -> None:
    assert MatchKind.EMULATED == "emulated"
    assert json.dumps({"kind": MatchKind.EXACT}) == '{"kind": "exact"}'


# --- 32-bit fallback, attestations -----------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "image", "expected"),
    [
        ("linux/arm64", "linux/arm/v7", True),
        ("linux/arm64", "linux/arm/v6", True),
        ("linux/arm64/v9", "linux/arm/v5", True),
        ("linux/arm64", "linux/arm64", False),
        ("linux/arm/v7", "linux/arm/v6", False),
        ("linux/amd64", "linux/386", False),
        ("linux/arm64", "linux/arm/v4", False),  # not runnable at all
        ("linux/arm64", "windows/arm/v7", False),
    ],
)
def test_is_32bit_fallback(host: str, image: str, expected: bool) -> None:
    assert is_32bit_fallback(parse(host), parse(image)) is expected


@pytest.mark.parametrize(
    ("os", "arch", "annotations", "expected"),
    [
        ("unknown", "unknown", None, True),
        ("unknown", "unknown", {"vnd.docker.reference.type": "attestation-manifest"}, True),
        (
            "linux",
            "amd64",
            {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": "sha256:" + "0" * 64},
            True,
        ),
        ("linux", "amd64", None, False),
        ("linux", "amd64", {}, False),
        ("unknown", "amd64", None, False),
        ("linux", "unknown", None, False),
        ("linux", "amd64", {"vnd.docker.reference.type": "something-else"}, False),
    ],
)
def test_is_attestation(os: str, arch: str, annotations: dict[str, str] | None, expected: bool) -> None:
    assert is_attestation(os=os, architecture=arch, annotations=annotations) is expected


# --- amd64 microarchitecture levels (tonistiigi/go-archvariant amd64variant.go, x86-64 psABI) --

V2 = "cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3"
V3 = V2 + " avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
V4 = V3 + " avx512f avx512bw avx512cd avx512dq avx512vl"
# A real /proc/cpuinfo flags line (AVX-512 server CPU); note that Linux never prints osxsave.
CPUINFO_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht "
    "syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid tsc_known_freq pni "
    "pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c "
    "rdrand hypervisor lahf_lm abm 3dnowprefetch invpcid_single ssbd ibrs ibpb stibp fsgsbase tsc_adjust bmi1 "
    "hle avx2 smep bmi2 erms invpcid rtm avx512f avx512dq rdseed adx smap clflushopt clwb avx512cd avx512bw "
    "avx512vl xsaveopt xsavec xgetbv1 xsaves arat pku ospke md_clear flush_l1d arch_capabilities"
)
# macOS `sysctl machdep.cpu.features machdep.cpu.leaf7_features machdep.cpu.extfeatures` (Haswell).
MACOS_FLAGS = (
    "FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV PAT PSE36 CLFSH DS ACPI MMX FXSR "
    "SSE SSE2 SS HTT TM PBE SSE3 PCLMULQDQ DTES64 MON DSCPL VMX EST TM2 SSSE3 FMA CX16 TPR PDCM "
    "SSE4.1 SSE4.2 x2APIC MOVBE POPCNT AES PCID XSAVE OSXSAVE SEGLIM64 TSCTMR AVX1.0 RDRAND F16C "
    "RDWRFSGS TSC_THREAD_OFFSET BMI1 AVX2 SMEP BMI2 ERMS INVPCID FPU_CSDS "
    "SYSCALL XD 1GBPAGE EM64T LAHF LZCNT RDTSCP TSCI"
)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("", 1),
        ("fpu sse sse2", 1),
        (V2, 2),
        (V3, 3),
        (V4, 4),
        (V3 + " osxsave", 3),
        (V4 + " osxsave", 4),
        (V2.replace("lahf_lm", ""), 1),
        (V2.replace("pni", "sse3"), 2),
        (V3.replace("abm", "lzcnt"), 3),
        (V3.replace("movbe", ""), 2),
        (V3.replace("xsave", ""), 2),
        (V3.replace("bmi2", ""), 2),
        (V4.replace("avx512vl", ""), 3),
        (V2 + " avx512f avx512bw avx512cd avx512dq avx512vl", 2),
        (CPUINFO_FLAGS, 4),
        (MACOS_FLAGS, 3),
        (V3.upper(), 3),
    ],
)
def test_amd64_level(flags: str, expected: int) -> None:
    assert amd64_level(flags.split()) == expected
    assert amd64_level(flags) == expected  # a whole flags line is split, not read char by char


def test_amd64_level_accepts_any_iterable() -> None:
    assert amd64_level(iter(set(V4.split()))) == 4


# --- from_machine ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        ("x86_64", "linux/amd64"),
        ("AMD64", "linux/amd64"),
        ("amd64", "linux/amd64"),
        ("x64", "linux/amd64"),
        ("arm64", "linux/arm64"),
        ("aarch64", "linux/arm64"),
        ("ARM64", "linux/arm64"),
        ("arm64e", "linux/arm64"),
        ("armv8l", "linux/arm/v8"),
        ("armv7l", "linux/arm/v7"),
        ("armv6l", "linux/arm/v6"),
        ("armv5tel", "linux/arm/v5"),
        ("armhf", "linux/arm/v7"),
        ("armel", "linux/arm/v6"),
        ("arm", "linux/arm/v7"),
        ("i386", "linux/386"),
        ("i686", "linux/386"),
        ("x86", "linux/386"),
        ("ppc64le", "linux/ppc64le"),
        ("s390x", "linux/s390x"),
        ("riscv64", "linux/riscv64"),
        ("loongarch64", "linux/loong64"),
        ("mips64el", "linux/mips64le"),
        (" x86_64\n", "linux/amd64"),
    ],
)
def test_from_machine(machine: str, expected: str) -> None:
    assert str(from_machine(machine)) == expected


def test_from_machine_os_and_errors() -> None:
    assert from_machine("arm64", os="darwin") == Platform("darwin", "arm64")
    assert from_machine("AMD64", os="Windows") == Platform("windows", "amd64")
    with pytest.raises(PlatformError, match="invalid machine ''"):
        from_machine("")


# --- parse: errors, hosts, strings -----------------------------------------------------------


def test_parse_error_message_says_what_was_expected() -> None:
    with pytest.raises(PlatformError) as exc:
        parse("linux/arm64/v8/x")
    assert str(exc.value) == "invalid platform 'linux/arm64/v8/x': expected os/arch[/variant], e.g. linux/arm64"
    assert isinstance(exc.value, ValueError)
    assert exc.value.text == "linux/arm64/v8/x"


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "platform is empty"),
        ("*", "wildcards"),
        ("linux/*", "wildcards"),
        ("foo", "unknown operating system"),
        ("linux /arm", "not an OS name"),
        ("linux/&arm", "component '&arm'"),
        ("windows(50%zzdone)", "%-escape"),
        ("linux/arm/", "component ''"),
        ("/linux/arm", "not an OS name"),
        ("linux(+a)(+b)/amd64", "not an OS name"),
    ],
)
def test_parse_error_messages(spec: str, fragment: str) -> None:
    with pytest.raises(PlatformError, match="e.g. linux/arm64|%-escape") as exc:
        parse(spec)
    assert fragment in str(exc.value)


@pytest.mark.parametrize(
    ("spec", "host", "expected"),
    [
        ("linux", None, "linux/amd64"),
        ("arm64", None, "linux/arm64"),
        ("windows", None, "windows/amd64"),
        ("linux", Platform("linux", "aarch64"), "linux/arm64"),
        ("amd64", Platform("darwin", "arm64"), "darwin/amd64"),
        ("linux", Platform("linux", "arm", "v6"), "linux/arm/v6"),
        ("linux", Platform("linux", "arm"), "linux/arm/v7"),
        ("freebsd/amd64", Platform("linux", "arm64"), "freebsd/amd64"),
        ("linux/AMD64/V3", None, "linux/amd64/v3"),
        ("linux/arm/7", None, "linux/arm/v7"),
        ("linux/aarch64/8", None, "linux/arm64"),
        ("linux/arm64/v9.0", None, "linux/arm64/v9"),
        ("windows(10.0.20348)/amd64", None, "windows(10.0.20348)/amd64"),
    ],
)
def test_parse_with_host(spec: str, host: Platform | None, expected: str) -> None:
    assert str(parse(spec, host=host)) == expected


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (Platform("linux", "arm64"), "linux/arm64"),
        (Platform("linux", "arm", "v7"), "linux/arm/v7"),
        (Platform("linux", "amd64", "v3"), "linux/amd64/v3"),
        (Platform("windows", "amd64", os_version="10.0.20348"), "windows(10.0.20348)/amd64"),
        (Platform("", "amd64"), "unknown"),
        (Platform("linux", ""), "linux"),
    ],
)
def test_str(platform: Platform, expected: str) -> None:
    assert str(platform) == expected
    assert format_platform(platform) == expected


def test_format_without_os_options() -> None:
    p = Platform("windows", "amd64", os_version="10.0.20348", os_features=("win32k",))
    assert format_platform(p, full=False) == "windows/amd64"


def test_platform_value_semantics() -> None:
    p = Platform("linux", "amd64", os_features=["b", "a"])  # type: ignore[arg-type]
    assert p.os_features == ("b", "a")
    assert hash(p) == hash(Platform("linux", "amd64", os_features=("b", "a")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.os = "windows"  # type: ignore[misc]
    assert sorted([parse("linux/arm64"), parse("linux/amd64"), parse("darwin/arm64")])[0] == parse("darwin/arm64")


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/arm64/v9", "linux/arm64/v9"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/amd64", "linux/amd64"),
    ],
)
def test_with_default_variant(platform: str, expected: str) -> None:
    assert str(parse(platform).with_default_variant()) == expected
