"""Container platform parsing, normalization and matching with containerd/platforms semantics."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from urllib.parse import unquote

__all__ = [
    "KNOWN_ARCHITECTURES",
    "KNOWN_OS",
    "TARGET_VARS",
    "Match",
    "MatchKind",
    "Platform",
    "PlatformError",
    "amd64_level",
    "best_match",
    "can_run",
    "candidates",
    "checked",
    "format_platform",
    "from_machine",
    "is_32bit_fallback",
    "is_attestation",
    "normalize",
    "normalize_arch",
    "normalize_os",
    "parse",
    "sort_by_preference",
]

_EXPECTED = "expected os/arch[/variant], e.g. linux/arm64"
_OS_RE = re.compile(r"([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?", re.ASCII)
_COMPONENT_RE = re.compile(r"[A-Za-z0-9_.-]+", re.ASCII)
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_OS_OPTION_ESCAPES = str.maketrans({"%": "%25", "+": "%2B", "(": "%28", ")": "%29", "/": "%2F"})
_LEVEL_RE = re.compile(r"v?([0-9]+)", re.ASCII)
_WIN_PART_RE = re.compile(r"[0-9]+", re.ASCII)

# containerd/platforms database.go (the GOOS/GOARCH lists of go/build syslist.go).
# The build arguments BuildKit sets from the target platform of a build (BUILD* from the platform it runs on).
TARGET_VARS = ("TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT")
KNOWN_OS = frozenset(
    "aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 "
    "solaris windows zos".split()
)
KNOWN_ARCHITECTURES = frozenset(
    "386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips mipsle mips64 "
    "mips64le mips64p32 mips64p32le ppc riscv riscv64 s390 s390x sparc sparc64 wasm".split()
)

# compare.go arm64variantToVersion: (major, highest minor) pairs each arm64 variant can run.
_ARM64_VERSIONS: dict[str, tuple[tuple[int, int], ...]] = {"v8": ((8, 0),), "v9": ((9, 0), (8, 5))}
_ARM64_VERSIONS.update({f"v8.{m}": ((8, m),) for m in range(10)})
_ARM64_VERSIONS.update({f"v9.{m}": ((9, m), (8, min(m + 5, 9))) for m in range(8)})
_ARM64_VARIANT_ALIASES = {"8": "", "v8": "", "v8.0": "", "9": "v9", "9.0": "v9", "v9.0": "v9"}
_ARM_VARIANT_ALIASES = {"": "v7", "7": "v7", "5": "v5", "6": "v6", "8": "v8"}

# platform_windows_compat.go: ltsc2022 and ltsc2025 builds, ascending.
_WINDOWS_LTSC = (20348, 26100)

# /proc/cpuinfo flag names per x86-64 psABI level, as tested by tonistiigi/go-archvariant.
# osxsave is required by the psABI but Linux hides it from /proc/cpuinfo; the kernel clears
# avx/avx512* itself when the OS does not enable their state, so it is not required here.
_AMD64_LEVEL_FLAGS: tuple[tuple[int, frozenset[str]], ...] = (
    (2, frozenset({"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"})),
    (3, frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"})),
    (4, frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})),
)
# Other spellings (macOS sysctl machdep.cpu.*features, CPUID names) of the same features.
_FLAG_ALIASES = {
    "sse3": "pni",
    "lzcnt": "abm",
    "lahf": "lahf_lm",
    "cmpxchg16b": "cx16",
    "sse4.1": "sse4_1",
    "sse4.2": "sse4_2",
    "avx1.0": "avx",
}

_MACHINE_ARCH = {
    "x86_64": "amd64",
    "x64": "amd64",
    "i386": "386",
    "i486": "386",
    "i586": "386",
    "i686": "386",
    "x86": "386",
    "aarch64": "arm64",
    "arm64e": "arm64",
    "loongarch64": "loong64",
    "mipsel": "mipsle",
    "mips64el": "mips64le",
}


class PlatformError(ValueError):
    """A platform specifier or machine name could not be understood."""

    def __init__(self, text: str, reason: str, *, what: str = "platform") -> None:
        super().__init__(f"invalid {what} {text!r}: {reason}")
        self.text = text
        self.reason = reason


@dataclass(frozen=True, slots=True, order=True)
class Platform:
    """An OCI platform: os/architecture[/variant] plus the optional os.version and os.features."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.os_features, tuple):
            object.__setattr__(self, "os_features", tuple(self.os_features))

    def __str__(self) -> str:
        return format_platform(self)

    def with_default_variant(self) -> Platform:
        """Normalized, with the implicit arm64 variant spelled out (linux/arm64/v8, as Docker prints it)."""
        p = normalize(self)
        return replace(p, variant="v8") if p.architecture == "arm64" and not p.variant else p


_PARSED: dict[tuple[str, Platform | None], Platform] = {}  # parse()'s answers: the same few strings, over and over
_NORMALIZED: dict[Platform, Platform] = {}  # normalize()'s: matching every image against every target asks often
_PARSED_MAX = 4096


class MatchKind(str, Enum):
    EXACT = "exact"
    COMPATIBLE = "compatible"
    EMULATED = "emulated"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Match:
    kind: MatchKind
    platform: Platform | None
    via: Platform | None = None


def normalize_os(os: str) -> str:
    os = os.lower()
    return "darwin" if os == "macos" else os


def normalize_arch(arch: str, variant: str = "") -> tuple[str, str]:
    arch, variant = arch.lower(), variant.lower()
    if arch == "i386":
        return "386", ""
    if arch in ("x86_64", "x86-64", "amd64"):
        return "amd64", "" if variant == "v1" else variant
    if arch in ("aarch64", "arm64"):
        return "arm64", _ARM64_VARIANT_ALIASES.get(variant, variant)
    if arch == "armhf":
        return "arm", "v7"
    if arch == "armel":
        return "arm", "v6"
    if arch == "arm":
        return "arm", _ARM_VARIANT_ALIASES.get(variant, variant)
    return arch, variant


def normalize(p: Platform) -> Platform:
    found = _NORMALIZED.get(p)
    if found is None:
        arch, variant = normalize_arch(p.architecture, p.variant)
        found = Platform(normalize_os(p.os), arch, variant, p.os_version, tuple(sorted(set(p.os_features))))
        if len(_NORMALIZED) < _PARSED_MAX:
            _NORMALIZED[p] = found
    return found


def _decode(spec: str, value: str) -> str:
    if "%" not in value:
        return value
    if _BAD_ESCAPE_RE.search(value):
        raise PlatformError(spec, f"bad %-escape in OS option {value!r}")
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError as exc:
        raise PlatformError(spec, f"OS option {value!r} is not valid UTF-8") from exc


def parse(spec: str, *, host: Platform | None = None) -> Platform:
    """Parse `os[(version+feature...)][/arch[/variant]]` or a bare arch; the missing half comes from host."""
    key = (spec, host)
    found = _PARSED.get(key)
    if found is None:
        found = _parse(spec, host)
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[key] = found
    return found


def _parse(spec: str, host: Platform | None) -> Platform:
    if not spec:
        raise PlatformError(spec, f"platform is empty; {_EXPECTED}")
    if "*" in spec:
        raise PlatformError(spec, f"wildcards are not supported; {_EXPECTED}")
    parts = spec.split("/", 3)
    if len(parts) > 3:
        raise PlatformError(spec, _EXPECTED)
    m = _OS_RE.fullmatch(parts[0])
    if m is None:
        raise PlatformError(
            spec,
            f"{parts[0]!r} is not an OS name (letters, digits, '_', '-', "
            f"optionally followed by (version+feature)); {_EXPECTED}",
        )
    for part in parts[1:]:
        if not _COMPONENT_RE.fullmatch(part):
            raise PlatformError(
                spec, f"component {part!r} may only contain letters, digits, '_', '.' and '-'; {_EXPECTED}"
            )
    os_name = normalize_os(m.group(1))
    os_version = _decode(spec, m.group(2) or "")
    features = tuple(_decode(spec, f) for f in (m.group(3) or "").split("+")[1:])
    host = Platform("linux", "amd64") if host is None else normalize(host)
    if len(parts) == 1:
        if os_name in KNOWN_OS:
            arch, variant = host.architecture, host.variant
        else:
            arch, variant = normalize_arch(parts[0])
            if arch not in KNOWN_ARCHITECTURES:
                raise PlatformError(spec, f"unknown operating system or architecture; {_EXPECTED}")
            os_name = host.os
    elif len(parts) == 2:
        arch, variant = normalize_arch(parts[1])
    else:
        arch, variant = normalize_arch(parts[1], parts[2])
    return normalize(Platform(os_name, arch, variant, os_version, features))


def format_platform(p: Platform, *, full: bool = True) -> str:
    """containerd FormatAll (os(version+features)/arch/variant); with full=False, Format (no OS options)."""
    if not p.os:
        return "unknown"
    os_part = p.os
    features = "+".join(f.translate(_OS_OPTION_ESCAPES) for f in sorted(set(p.os_features)) if f)
    if full and (p.os_version or features):
        os_part += f"({p.os_version.translate(_OS_OPTION_ESCAPES)}{'+' + features if features else ''})"
    return "/".join(x for x in (os_part, p.architecture, p.variant) if x)


def checked(p: Platform, *, full: bool = True) -> str:
    """format_platform of a normalized platform built from another program's words (an engine's /version, an
    image config, a registry's index), once it reads back as a platform; else PlatformError.

    What the probes record as a platform is one: a hostile or broken peer's `amd64\x1b[2J` is never shown as a
    platform, put into a fix's argv, or saved into a facts file that `check --from` then refuses.
    """
    text = format_platform(normalize(p), full=full)
    parse(text)
    return text


def _level(variant: str) -> int | None:
    m = _LEVEL_RE.fullmatch(variant)
    return int(m.group(1)) if m else None


def _vector(p: Platform) -> list[Platform]:
    """compare.go platformVector for an already normalized platform."""
    if p.architecture == "amd64":
        level = _level(p.variant) or 0
        lower = [replace(p, variant=f"v{n}") for n in range(level - 1, 0, -1)]
        return [p, *lower, replace(p, architecture="386", variant="")]
    if p.architecture == "arm":
        level = _level(p.variant) or 0
        return [p, *(replace(p, variant=f"v{n}") for n in range(level - 1, 4, -1))]
    if p.architecture == "arm64":
        variant = p.variant or "v8"
        out = [
            replace(p, variant=f"v{major}" if minor == 0 else f"v{major}.{minor}")
            for major, top in _ARM64_VERSIONS.get(variant, ())
            for minor in range(top, -1, -1)
        ]
        arm = "v8" if variant.startswith(("v8", "v9")) else variant
        return out + _vector(replace(p, architecture="arm", variant=arm))
    return [p]


def candidates(host: Platform) -> tuple[Platform, ...]:
    """What host can run natively, most preferred first (containerd Only)."""
    return tuple(normalize(p) for p in _vector(normalize(host)))


def _windows_version(value: str) -> tuple[int, int, int]:
    parts = value.split(".")
    if len(parts) < 3 or not all(_WIN_PART_RE.fullmatch(x) for x in parts[:3]):
        return (0, 0, 0)
    major, minor, build = (int(x) for x in parts[:3])
    return (major, minor, build) if major <= 255 and minor <= 255 and build <= 65535 else (0, 0, 0)


def _windows_compatible(host_version: str, image_version: str) -> bool:
    host = _windows_version(host_version)
    if host == (0, 0, 0) or not image_version:
        return True
    image = _windows_version(image_version)
    if host[:2] != image[:2]:
        return False
    if host[2] < _WINDOWS_LTSC[0]:
        return host[2] == image[2]
    oldest = next((b for b in reversed(_WINDOWS_LTSC) if host[2] > b), _WINDOWS_LTSC[0])
    return oldest <= image[2] <= host[2]


def _matches(want: Platform, image: Platform) -> bool:
    """platforms.go matcher.Match; `want` is normalized."""
    if want.os == "windows" and "win32k" in image.os_features:
        features = list(image.os_features)
        features.remove("win32k")  # windowsStripFeaturesMatcher
        image = replace(image, os_features=tuple(features))
    got = normalize(image)
    if (got.os, got.architecture, got.variant) != (want.os, want.architecture, want.variant):
        return False
    if want.os == "windows" and not _windows_compatible(want.os_version, image.os_version):
        return False
    return set(got.os_features) <= set(want.os_features)


def _wanted(host: Platform, strict: bool) -> tuple[Platform, ...]:
    return (normalize(host),) if strict else candidates(host)


def _rank(wanted: tuple[Platform, ...], image: Platform) -> int | None:
    return next((i for i, w in enumerate(wanted) if _matches(w, image)), None)


def can_run(host: Platform, image: Platform, *, strict: bool = False) -> bool:
    """containerd Only(host).Match(image), or OnlyStrict when strict."""
    return _rank(_wanted(host, strict), image) is not None


def _descending(text: str) -> tuple[int, ...]:
    # Sorts strings in descending order inside an ascending key (the 0 puts prefixes last).
    return (*(-ord(c) for c in text), 0)


def _ranked(host: Platform, platforms: Iterable[Platform], strict: bool) -> list[tuple[Platform, int | None]]:
    wanted, h = _wanted(host, strict), normalize(host)
    build = ".".join(h.os_version.split(".")[:3])

    def key(item: tuple[Platform, int | None]) -> tuple[object, ...]:
        p, rank = item
        if rank is None:  # containerd retries without os.features to order the non-matches
            stripped = _rank(wanted, replace(p, os_features=()))
            return (1, len(wanted) if stripped is None else stripped)
        if h.os != "windows":
            return (0, rank, -len(set(p.os_features)))
        same_build = bool(build) and (p.os_version == build or p.os_version.startswith(build + "."))
        return (0, rank, -len(set(p.os_features)), not same_build, _descending(p.os_version))

    return sorted(((p, _rank(wanted, p)) for p in platforms), key=key)


def sort_by_preference(host: Platform, platforms: Iterable[Platform], *, strict: bool = False) -> tuple[Platform, ...]:
    """Stable sort like Docker's filterManifests: runnable first in candidate order, then the rest.

    Ties prefer more os.features; on Windows hosts, the host's build and then the newest os.version.
    """
    return tuple(p for p, _ in _ranked(host, platforms, strict))


def is_32bit_fallback(host: Platform, image: Platform) -> bool:
    """An arm64 host would run this arm/vN image: not every arm64 CPU can (containerd#4932)."""
    h, i = normalize(host), normalize(image)
    return h.architecture == "arm64" and i.architecture == "arm" and can_run(h, i)


def is_attestation(*, os: str, architecture: str, annotations: Mapping[str, str] | None = None) -> bool:
    if annotations and annotations.get("vnd.docker.reference.type") == "attestation-manifest":
        return True
    return os == "unknown" and architecture == "unknown"


def best_match(target: Platform, offered: Iterable[Platform], *, emulated: Iterable[Platform] = ()) -> Match:
    """Pick the entry Docker would pull for target; fall back to the emulated platforms, in order.

    The returned platform is the offered object itself, so callers can map it back to its descriptor.
    """
    offered = tuple(offered)
    ranked = _ranked(target, offered, False)
    if ranked and ranked[0][1] is not None:
        best, rank = ranked[0]
        t = normalize(target)
        same_build = (
            t.os != "windows"
            or not (t.os_version and best.os_version)
            or (_windows_version(t.os_version) == _windows_version(best.os_version))
        )
        return Match(MatchKind.EXACT if rank == 0 and same_build else MatchKind.COMPATIBLE, best)
    for emu in emulated:
        ranked = _ranked(emu, offered, False)
        if ranked and ranked[0][1] is not None:
            return Match(MatchKind.EMULATED, ranked[0][0], via=emu)
    return Match(MatchKind.UNAVAILABLE, None)


def amd64_level(cpu_flags: Iterable[str]) -> int:
    """x86-64 microarchitecture level (1-4) from /proc/cpuinfo `flags` (or macOS sysctl) names."""
    if isinstance(cpu_flags, str):
        cpu_flags = cpu_flags.split()
    have = {_FLAG_ALIASES.get(f.lower(), f.lower()) for f in cpu_flags}
    level = 1
    for candidate, needed in _AMD64_LEVEL_FLAGS:
        if not needed <= have:
            break
        level = candidate
    return level


def from_machine(machine: str, *, os: str = "linux") -> Platform:
    """Platform for a `uname -m` / platform.machine() value, ARM variants as containerd's cpuinfo.go."""
    m = machine.strip().lower()
    if not m:
        raise PlatformError(machine, "empty; expected a uname -m value such as x86_64", what="machine")
    if m.startswith("arm") and m not in ("arm", "arm64", "arm64e", "armhf", "armel"):
        if not m.startswith("armv") or len(m) < 5:
            raise PlatformError(machine, "expected armv<N>..., e.g. armv7l", what="machine")
        variant = f"v{m[4]}" if m[4] in "345678" else "unknown"
        return normalize(Platform(os, "arm", variant))
    return normalize(Platform(os, _MACHINE_ARCH.get(m, m)))
