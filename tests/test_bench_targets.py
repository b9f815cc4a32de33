"""bench/targets.py reads the PASS/MISS lines the benches print: lines from one real run of each bench (the long
ones cut short: the table reads only their beginnings and figures)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import targets  # noqa: E402

REGISTRY = [
    "dockdoctor inspect cold                          1406 ms       1406/1378/1501     30   0    48  GET blob 2",
    "skopeo inspect --raw loop                       14769 ms                         150  50   100  ping 50",
    "docker manifest inspect loop                    36266 ms                         400  80   320  ping 90",
    "docker buildx imagetools inspect loop           25360 ms                          50   0    95  HEAD manifest",
    "PASS  cold: 46 manifest GETs for 50 refs (<= 50), 2 config GETs for 20 single-platform refs (<= 20)",
    "PASS  cold wall 1406 ms >= 10x faster than the skopeo loop 14769 ms (is 10.5x)",
    "MISS  cold wall 1406 ms within 1.5x of the floor 296 ms (is 4.75x)",
    "MISS  warm within TTL 1102 ms <= 3x python -c pass + the cache read = 3 x 45 + 0.5 = 137 ms (is 23.98x python",
    # this line and the two import floors: from a later real run (the bench printed them from then on)
    "MISS  warm within TTL, the 45 existing refs only: 294 ms <= 43 ms (is 20.04x python -c pass + cache read; 0 "
    "registry requests)",
    "PASS  peak RSS of inspect for 50 references 32.5 MB (< 80 MB; cold/warm/after-TTL runs)",
    "info  import floor, stdlib of a dataclass model (dataclasses, enum, json, socket, threading): 47 ms = 3.07x "
    "python -c pass (CPU 47 ms = 3.14x; medians of 7, each beside a python -c pass: 15 ms)",
    "info  import floor, dockdoctor.model (code cache on): 78 ms = 5.08x python -c pass (CPU 77 ms = 5.21x; medians "
    "of 7, each beside a python -c pass: 15 ms)",
    "PASS  profiled cold run: first registry request at 828 ms from the spawn, before the imports of dockdoctor.checks",
    "PASS  profiled warm run within the TTL imports neither requests nor the docker SDK (none of requests, urllib3, "
    "docker imported; 11 HTTP requests, registry and engine)",
]
CHECK = [
    "  dockdoctor check                                           median   1106.6 ms   min    957.1   max   1529.1",
    "  shell: docker info; docker version; docker buildx ls; doc... median   1961.1 ms   min   1497.8   max   2748.0",
    "MISS  check / shell sequence = 0.56 (<= 0.4): 1107 ms vs 1961 ms",
    "PASS  dockdoctor --version: 4.9 ms beyond pip's script, no-op main() (<= 15; CPU +1.2 ms); 37.0 ms beyond",
    "PASS  dockdoctor --help: 1.7 ms beyond pip's script, no-op main() (<= 15; CPU +1.4 ms); 33.9 ms beyond",
    "PASS  dockdoctor check --help: 5.2 ms beyond pip's script, no-op main() (<= 15; CPU +0.9 ms); 37.3 ms beyond",
    "PASS  dockdoctor inspect --help: 2.8 ms beyond pip's script, no-op main() (<= 15; CPU +1.3 ms); 35.0 ms beyond",
    "PASS  docker-doctor docker-cli-plugin-metadata: 6.2 ms beyond python -c pass (<= 15; CPU +1.2 ms)",
    "PASS  peak RSS of check on the 20-service project 50.5 MB (<= 80)",
]
COMMANDS = {"registry": ["python", "bench/registry_speed.py"], "check": ["python", "bench/check_speed.py"]}


def _table(capsys: pytest.CaptureFixture[str], outputs: dict[str, list[str]]) -> tuple[int, dict[str, str]]:
    code = targets.report(COMMANDS, outputs, "env.json")
    out = capsys.readouterr().out
    rows = {t.name: next(line for line in out.splitlines() if line.startswith(f"  {t.name} ")) for t in targets.TARGETS}
    return code, {name: " ".join(row.split()) for name, row in rows.items()}


def test_every_target_has_its_figure_and_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code, rows = _table(capsys, {"registry": REGISTRY, "check": CHECK})
    assert code == 1  # two targets missed
    assert rows["inspect, 50 refs cold <= 1.5x the floor"].endswith("4.75x MISS registry")
    assert rows["check <= 0.4x the five docker commands"].endswith("0.56 MISS check")
    warm = "inspect warm within TTL, no network needed, <= 3x python -c pass + cache read"
    assert rows[warm].endswith("294 ms / 20.04x MISS registry")  # not the run with 404s, which asks again
    assert rows["docker-doctor docker-cli-plugin-metadata <= 15 ms beyond the interpreter"].endswith(
        "6.2 ms / CPU +1.2 ms PASS check"
    )
    assert rows["peak RSS of check, 20-service project <= 80 MB"].endswith("50.5 MB PASS check")
    assert not any("not measured" in row for row in rows.values())


def test_the_peers_are_ratios_of_the_same_run(capsys: pytest.CaptureFixture[str]) -> None:
    targets.report(COMMANDS, {"registry": REGISTRY, "check": CHECK}, "env.json")
    out = " ".join(capsys.readouterr().out.split())
    assert "skopeo inspect --raw, a loop of 50 14769 ms 10.50x dockdoctor's" in out
    assert "buildx imagetools inspect, a loop of 50 25360 ms 18.04x dockdoctor's" in out
    assert "the five docker commands, in one shell" in out and "1.77x dockdoctor's" in out
    assert "PASS [registry] cold wall 1406 ms >= 10x faster than the skopeo loop" in out  # not a target: listed below
    assert "MISS [registry] warm within TTL 1102 ms" in out
    assert "what a warm run cannot import less than" in out and "5.08x python -c pass" in out


def test_a_target_no_bench_printed_is_a_miss(capsys: pytest.CaptureFixture[str]) -> None:
    code, rows = _table(capsys, {"registry": REGISTRY, "check": [line for line in CHECK if "RSS" not in line]})
    assert code == 1
    assert rows["peak RSS of check, 20-service project <= 80 MB"].endswith("not measured MISS check")
