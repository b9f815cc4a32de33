"""The str-valued enums of the model: their JSON is the plain string it was, and replays stay lenient."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from dockdoctor.codec import facts_from_json, from_data, to_data
from dockdoctor.model import (
    Facts,
    ImageFacts,
    ImageKind,
    OutcomeStatus,
    ProbeError,
    ProbeErrorKind,
    RemoteImage,
    Verdict,
)
from dockdoctor.schema import OPEN_VOCABULARIES

FACTS = Path(__file__).resolve().parent.parent / "fixtures" / "checks" / "DKD301" / "good-multi-platform-index.json"


def _facts(*remote: RemoteImage) -> Facts:
    facts = facts_from_json(FACTS.read_text(), source=str(FACTS))
    return dataclasses.replace(facts, images=ImageFacts(remote=remote))


@pytest.mark.parametrize("kind", list(ProbeErrorKind))
def test_a_probe_error_kind_is_its_string_in_json(kind: ProbeErrorKind) -> None:
    error = ProbeError(probe="registry", kind=kind, detail="d")
    assert to_data(error) == {"probe": "registry", "kind": kind.value, "detail": "d"}
    assert from_data(ProbeError, to_data(error)) == error


def test_a_kind_from_a_newer_dockdoctor_replays_as_error() -> None:
    image = RemoteImage(reference="a", canonical="docker.io/library/a:latest", kind=ImageKind.INDEX)
    data = json.loads(json.dumps(to_data(_facts(image))))
    data["images"]["remote"][0]["error"] = {"probe": "registry", "kind": "quantum-flux", "detail": "it broke"}
    replayed = facts_from_json(json.dumps(data)).images.remote[0]
    assert replayed.kind is ImageKind.INDEX
    assert replayed.error == ProbeError(probe="registry", kind=ProbeErrorKind.ERROR, detail="it broke")


def test_values_compare_as_the_strings_they_replace() -> None:
    assert ProbeErrorKind.TIMEOUT == "timeout" and Verdict.EMULATED in ("emulated", "unavailable")
    assert OutcomeStatus.APPLIED == "applied" and ImageKind.NONE == ""


def test_open_vocabularies_stay_strings_in_the_schema() -> None:
    from dockdoctor.schema import SCHEMAS

    facts = SCHEMAS["facts"]()
    assert facts["$defs"]["ProbeError"]["properties"]["kind"] == {"type": "string"}
    assert {ProbeErrorKind, ImageKind, Verdict, OutcomeStatus} <= OPEN_VOCABULARIES


@pytest.mark.parametrize("member", [*ProbeErrorKind, *ImageKind, *Verdict, *OutcomeStatus])
def test_a_member_formats_as_its_value(member: ProbeErrorKind | ImageKind | Verdict | OutcomeStatus) -> None:
    """Messages and renderers write f"{outcome.status}: ..." as they did with strings (found by test_fix_live)."""
    assert f"{member}" == str(member) == member.value
