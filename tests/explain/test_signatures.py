"""The signatures knowledge table: every condition is known, every entry has a public source, noise is stripped."""

from __future__ import annotations

import pytest

from dockdoctor.checks._signatures import clean, recognise, signatures
from dockdoctor.checks.errors import CONDITIONS


def test_every_signature_has_a_source_causes_and_known_conditions() -> None:
    ids = [s.id for s in signatures()]
    assert len(ids) == len(set(ids))
    for sig in signatures():
        assert sig.source.startswith("https://") and sig.causes and sig.patterns, sig.id
        for cause in sig.causes:
            assert cause["kind"] and cause["text"], (sig.id, cause)
            for condition in (*cause.get("confirm", ()), *cause.get("rule_out", ())):
                assert condition.partition(":")[0] in CONDITIONS, (sig.id, condition)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\x1b[31mexec /x: exec format error\x1b[0m", "exec /x: exec format error"),
        ("#12 0.370 exec /x: exec format error", "exec /x: exec format error"),
        ("#7 [builder 3/7] RUN make", "RUN make"),
        ("2024-05-01T10:00:00.123456789Z exec /x: exec format error", "exec /x: exec format error"),
        ("web-1  | 2024-04-30 17:43:46 exec /x: exec format error", "exec /x: exec format error"),
        (
            "mongodb_1  | Fatal glibc error: CPU does not support x86-64-v2",
            "Fatal glibc error: CPU does not support x86-64-v2",
        ),
        ("[pod/api-5d8f/api] exec /x: exec format error", "exec /x: exec format error"),
        (
            "\\x1b[1mqemu: uncaught target signal 11 (Segmentation fault) - core dumped",
            "qemu: uncaught target signal 11 (Segmentation fault) - core dumped",
        ),
    ],
)
def test_noise_is_stripped(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_the_specific_rosetta_message_wins_over_the_generic_one() -> None:
    (match,) = recognise("rosetta error: failed to open elf at /lib64/ld-linux-x86-64.so.2")
    assert match.signature.id == "rosetta-missing-x86-loader"
