"""Parsing the containerd image store's per-platform manifests from a recorded real /images/json answer."""

from __future__ import annotations

import json

from support.recorded import FIXTURES, read_recording

from dockdoctor.probes.images import store_manifests

# recorded from the test environment's own containerd-store engine (public pastes of this answer are rare)
RECORDED = FIXTURES.parent / "testenv" / "images-json-manifests.containerd-store-linux-amd64.1.txt"


def _by_tag() -> dict[str, dict]:
    _, body = read_recording(RECORDED)
    return {tag.rsplit("/", 1)[-1]: image for image in json.loads(body) for tag in image["RepoTags"]}


def _platforms(entries: tuple) -> list[str]:
    return [e.platform for e in entries]


def test_held_and_listed_platforms_of_each_index() -> None:
    images = _by_tag()
    held, absent = store_manifests(images["busybox:multi"])
    assert (_platforms(held), absent) == (["linux/amd64", "linux/arm64"], ())
    held, absent = store_manifests(images["busybox:multi-oci"])
    assert (_platforms(held), _platforms(absent)) == (["linux/arm64"], ["linux/amd64"])
    assert held[0].media_type == "application/vnd.oci.image.manifest.v1+json"
    assert held[0].digest == images["busybox:multi-oci"]["Manifests"][1]["ID"]


def test_attestation_entries_are_not_platforms() -> None:
    image = _by_tag()["busybox:attest"]
    assert [m["Kind"] for m in image["Manifests"]].count("attestation") == 2
    held, absent = store_manifests(image)
    assert (_platforms(held), _platforms(absent)) == (["linux/arm64"], ["linux/amd64"])


def test_older_engines_and_odd_entries_give_nothing() -> None:
    assert store_manifests({"Id": "sha256:1", "RepoTags": ["x:1"]}) == ((), ())  # no Manifests (API < 1.47)
    odd = {
        "Manifests": [
            None,
            {"Kind": "unknown"},
            {"Kind": "image", "ImageData": {"Platform": "linux"}},
            {"Kind": "image", "Available": True, "ImageData": {"Platform": {"os": "linux"}}},
        ]
    }
    assert store_manifests(odd) == ((), ())


def test_manifests_are_asked_from_api_1_47() -> None:
    from dockdoctor.probes.images import _lists_manifests

    assert [_lists_manifests(v) for v in ("1.41", "1.46", "1.47", "1.51", "", "x.y")] == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]
