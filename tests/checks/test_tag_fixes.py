"""The tag fixes of DKD301/DKD302/DKD410 over recorded facts: one fix whichever finding carries it, edits of every
line that names the image, offered once by the plan, and never a tag that breaks another target."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from dockdoctor import codec
from dockdoctor.app import diagnose, resolve_targets
from dockdoctor.checks import ALL_CHECKS
from dockdoctor.fixes.plan import plan
from dockdoctor.model import TagCandidate

FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "checks"
    / "DKD410"
    / "bad-amd64-only-db-nearer-tag-offers-arm64.json"
)
APP = "127.0.0.1:5555/tags14/app"


def _facts():
    data = json.loads(FIXTURE.read_text())
    return codec.facts_from_data(data, source=str(FIXTURE))


def _report(facts, *platforms: str):
    return diagnose(facts, targets=resolve_targets(facts, platforms), checks=ALL_CHECKS)


def test_the_same_tag_fix_from_two_findings_is_planned_once() -> None:
    report = _report(_facts(), "linux/arm64")
    by_id = {f.id: f for f in report.findings}
    first = by_id["DKD301"].fixes[0]
    assert by_id["DKD410"].fixes[0] == first and first.title.startswith(f"use {APP}:1.3-alpine")
    assert [s.path.rsplit("/", 1)[1] for s in first.steps] == ["compose.yaml", "Dockerfile"]
    assert "+    image: 127.0.0.1:5555/tags14/app:1.3-alpine  # like mysql:5.7" in first.steps[0].diff
    assert "+FROM 127.0.0.1:5555/tags14/app:1.3-alpine" in first.steps[1].diff
    items = plan(report)
    assert [i.finding.id for i in items].count("DKD301") == 1
    # DKD410's own first choice is DKD301's: neither it nor its worse alternatives are offered again
    assert all(i.finding.id != "DKD410" for i in items)


def test_a_candidate_that_breaks_another_target_is_never_offered() -> None:
    facts = _facts()
    remote = facts.images.remote[0]
    search = remote.alternatives
    assert search is not None
    arm_only = TagCandidate(tag="1.2-arm64", reference=f"{APP}:1.2-arm64", platforms=("linux/arm64",))
    changed = dataclasses.replace(
        remote, alternatives=dataclasses.replace(search, candidates=(arm_only, *search.candidates))
    )
    facts = dataclasses.replace(facts, images=dataclasses.replace(facts.images, remote=(changed,)))
    only_arm = {f.id: f for f in _report(facts, "linux/arm64").findings}
    assert only_arm["DKD301"].fixes[0].title.startswith(f"use {APP}:1.2-arm64")
    both = {f.id: f for f in _report(facts, "linux/arm64", "linux/amd64").findings}
    assert both["DKD301"].fixes[0].title.startswith(f"use {APP}:1.3-alpine")  # arm64-only would break amd64


def test_replay_without_a_search_keeps_the_old_fixes() -> None:
    facts = _facts()
    remote = dataclasses.replace(facts.images.remote[0], alternatives=None)
    facts = dataclasses.replace(facts, images=dataclasses.replace(facts.images, remote=(remote,)))
    by_id = {f.id: f for f in _report(facts, "linux/arm64").findings}
    assert not any("test the new version" in f.title for f in by_id["DKD410"].fixes)  # no tag edit without a search
    # --platform names a deploy target: no pin (issue 13), only an image published for it
    assert [f.serves for f in by_id["DKD410"].fixes] == ["deploy"]
