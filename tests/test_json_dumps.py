"""render/json.py writes its own indented JSON: byte for byte what json.dumps(indent=N) writes (the JSON report
at 2, the Markdown report's folded facts at 1)."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockdoctor.cli import cli
from dockdoctor.render.json import dumps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checks"


class _Name(str, enum.Enum):
    A = "a"


class _Number(enum.IntEnum):
    X = 3


TRICKY: list[object] = [
    {"empty": [], "none": {}, "nested": [[], [{}], {"a": []}], "deep": {"b": {"c": [1, [2, [3]]]}}},
    {"é\u2028\x00\x1f": '\ud800x\u00e9\n\t"\\/\u20ac', "": ""},
    [1.5, -0.0, 1e300, 1e-300, float("nan"), float("inf"), float("-inf"), True, False, None, 10**30, -3, 0],
    (1, (2, ()), [()]),
    {"tuple": (1, 2), "enum": _Name.A, "int": _Number.X},
    {2: 2, None: 3, True: 4, 1.5: 5},  # keys that are no strings: json.dumps itself
    {_Name.A: 1},
    [],
    {},
    "text",
    7,
    None,
]


@pytest.mark.parametrize("indent", [2, 1, 0, 4])
@pytest.mark.parametrize("data", TRICKY, ids=range(len(TRICKY)))
def test_same_text_as_json_dumps(data: object, indent: int) -> None:
    assert dumps(data, indent=indent) == json.dumps(data, indent=indent)


def test_not_json_is_the_same_error() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"x": object()})


@pytest.mark.parametrize("name", ["DKD503/bad-arm64-target-no-qemu.json", "DKD301/bad-amd64-only-index-on-arm64.json"])
def test_a_whole_report(name: str) -> None:
    path = FIXTURES / name
    result = CliRunner().invoke(cli, ["check", "--json", "--from", str(path)])
    assert result.output == json.dumps(json.loads(result.output), indent=2) + "\n"
    facts = json.loads(result.output)["facts"]
    assert dumps(facts, indent=1) == json.dumps(facts, indent=1)
