"""The nearest tag that offers a missing platform: the ranking (a table), and hostile tags lists against the real
CLI on a loopback registry (404, not JSON, pagination that loops, a Link elsewhere, a huge list, a list that
fails), which are notes in the finding, never a failure of the image."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from clirun import dockdoctor, isolated_env
from support.servers import OCI_INDEX, Answer, Registry, closed_port, index_doc, json_body, registry_server, sha256

from dockdoctor.tagrank import candidate, family, rank, split_tag

# --- the ranking ---------------------------------------------------------------------------------

RANKING = [
    # (tag, listed tags, expected order)
    (
        "1.2-alpine",
        ["1.2-alpine", "1.3-alpine", "1.3-slim", "2.0-alpine", "1.1-alpine", "1.2.1-alpine"],
        ["1.2.1-alpine", "1.3-alpine", "1.1-alpine", "1.3-slim", "2.0-alpine"],
    ),
    # same family and major first, then same major (another family), then same family (another major)
    (
        "5.7",
        ["8.0", "5.7-debian", "5.6", "5.7.44", "8.0-oracle", "latest"],
        ["5.7.44", "5.6", "5.7-debian", "8.0", "8.0-oracle", "latest"],
    ),
    # nearest: the later the release numbers differ the nearer; at equal distance the newer first
    (
        "3.11-slim",
        ["3.10-slim", "3.12-slim", "3.11.9-slim", "3.9-slim", "3.13-slim"],
        ["3.11.9-slim", "3.12-slim", "3.10-slim", "3.13-slim", "3.9-slim"],
    ),
    # a version inside a suffix word is the same family (alpine3.19 is alpine): the same version is nearest
    (
        "20-alpine3.18",
        ["20-alpine3.19", "20-bookworm", "21-alpine", "20.1-alpine3.19"],
        ["20-alpine3.19", "20.1-alpine3.19", "20-bookworm", "21-alpine"],
    ),
    # the family's unversioned tag last; another family's unversioned tags never
    ("1.25-alpine", ["alpine", "bookworm", "latest", "1.26-alpine", "mainline-alpine"], ["1.26-alpine", "alpine"]),
    # the plain line's unversioned tag is `latest`
    ("16", ["latest", "alpine", "17", "16.4"], ["16.4", "17", "latest"]),
    # a leading v and a prefix: same prefix is the same family
    ("v2.1.0", ["v2.1.1", "v2.2.0", "2.1.1", "v3.0.0"], ["2.1.1", "v2.1.1", "v2.2.0", "v3.0.0"]),
    ("jdk-17.0.2", ["jdk-17.0.3", "jre-17.0.3", "17.0.3"], ["jdk-17.0.3", "17.0.3", "jre-17.0.3"]),
    # signature, attestation and invalid tags are never candidates; a tag without a version gets none
    ("1.0", ["1.1", "sha256-abc.sig", "1.1.att", "1.1.sbom", "bad tag", "-x", "x" * 129], ["1.1"]),
    ("latest", ["1.0", "2.0", "alpine"], []),
    ("amd64-only-index", ["amd64", "arm64", "multi"], []),
]


@pytest.mark.parametrize(("tag", "tags", "expected"), RANKING, ids=[r[0] for r in RANKING])
def test_ranking(tag: str, tags: list[str], expected: list[str]) -> None:
    assert list(rank(tag, tags)) == expected


def test_split_and_family() -> None:
    parts = split_tag("17-jdk-alpine3.19")
    assert (parts.prefix, str(parts.version), parts.family, parts.major) == ("", "17", "-jdk-alpine", 17)
    assert split_tag("bookworm").version is None and family("-slim-bookworm") == "-slim-bookworm"
    assert not candidate("sha256-0123.sig") and candidate("1.2_3-x.y")


def test_ranking_a_huge_list_is_linear_enough_and_bounded() -> None:
    tags = [f"{a}.{b}.{c}-alpine" for a in range(10) for b in range(40) for c in range(25)]  # 10000 tags
    ranked = rank("5.20.12-alpine", tags, limit=40)
    assert len(ranked) == 40 and ranked[0] in ("5.20.11-alpine", "5.20.13-alpine")


# --- hostile tags lists against the CLI ----------------------------------------------------------

AMD64_ONLY = index_doc(
    [(sha256(b"amd64"), "application/vnd.oci.image.manifest.v1+json", {"os": "linux", "architecture": "amd64"})]
)
MULTI = index_doc(
    [
        (sha256(b"amd64"), "application/vnd.oci.image.manifest.v1+json", {"os": "linux", "architecture": "amd64"}),
        (sha256(b"arm64"), "application/vnd.oci.image.manifest.v1+json", {"os": "linux", "architecture": "arm64"}),
    ]
)
BOUND = 60


def _route(tags: Callable[[str], Answer], multi: set[str]) -> Callable[[str, str], Answer]:
    def route(method: str, path: str) -> Answer:
        parts = urlsplit(path)
        if parts.path == "/v2/x/app/tags/list":
            return tags(path)
        if parts.path.startswith("/v2/x/app/manifests/"):
            body = MULTI if parts.path.rsplit("/", 1)[1] in multi else AMD64_ONLY
            return Answer(200, {"Content-Type": OCI_INDEX, "Docker-Content-Digest": sha256(body)}, body)
        return Answer(404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')

    return route


def _listing(all_tags: list[str], page: int = 1000) -> Callable[[str], Answer]:
    """A distribution-like tags list: sorted, `n` and `last`, a Link header to the next page."""

    def tags(path: str) -> Answer:
        query = parse_qs(urlsplit(path).query)
        n = int(query.get("n", [str(page)])[0])
        last = query.get("last", [""])[0]
        rest = [t for t in sorted(all_tags) if t > last]
        chunk = rest[:n]
        headers = {"Content-Type": "application/json"}
        if len(rest) > n:
            headers["Link"] = f'</v2/x/app/tags/list?last={chunk[-1]}&n={n}>; rel="next"'
        return Answer(200, headers, json_body({"name": "x/app", "tags": chunk}))

    return tags


def _inspect(reg: Registry, tmp_path: Path, tag: str = "1.2") -> tuple[dict, str]:
    env = isolated_env(
        tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache")
    )
    result = dockdoctor(
        "inspect", "--json", "--platform", "linux/arm64", f"{reg.host}/x/app:{tag}", env=env, timeout=BOUND
    )
    assert "Traceback" not in result.stderr, result.stderr
    report = result.json()
    (image,) = report["facts"]["images"]["remote"]
    assert image["error"] is None  # the image's own answer stands whatever the tags list does
    finding = next(f for f in report["findings"] if f["id"] == "DKD301")
    return image["alternatives"], finding["message"]


def test_a_good_list_names_the_nearest_tag(tmp_path: Path) -> None:
    with registry_server(_route(_listing(["1.1", "1.2", "1.3", "2.0"]), {"1.3", "2.0"})) as reg:
        search, message = _inspect(reg, tmp_path)
    assert [c["tag"] for c in search["candidates"]] == ["1.3", "1.1", "2.0"]
    assert f"{reg.host}/x/app:1.3 (linux/amd64, linux/arm64) and {reg.host}/x/app:2.0" in message


@pytest.mark.parametrize(
    ("answer", "note"),
    [
        (
            Answer(404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"NAME_UNKNOWN"}]}'),
            "the registry offers no tags list (HTTP 404)",
        ),
        (Answer(401, {"Content-Type": "application/json"}, b"{}"), "no tags list: "),
        (Answer(200, {"Content-Type": "application/json"}, b"<html>not json</html>"), "the tags list is not JSON"),
        (Answer(200, {"Content-Type": "application/json"}, b'{"tags": "1.3"}'), "has no `tags` list"),
        (Answer(200, {"Content-Type": "application/json"}, b"[" * 5000), "too many JSON objects"),
        (Answer(503, {"Content-Type": "application/json", "Retry-After": "3600"}, b"{}"), "answered HTTP 503"),
        (
            Answer(200, {"Content-Type": "application/json"}, b'{"tags": ["' + b"1" * (5 << 20) + b'"]}'),
            "larger than 4 MiB",
        ),
    ],
    ids=["404", "401-no-challenge", "not-json", "tags-not-a-list", "deep-json", "503", "too-big"],
)
def test_a_bad_tags_list_is_a_note(tmp_path: Path, answer: Answer, note: str) -> None:
    with registry_server(_route(lambda path: answer, {"1.3"})) as reg:
        search, message = _inspect(reg, tmp_path)
    assert note in search["note"] and not search["complete"] and search["candidates"] == []
    assert "no other tag of the repository to suggest" in message and note in message


def test_pagination_that_loops_ends(tmp_path: Path) -> None:
    def tags(path: str) -> Answer:  # every page names itself as the next one
        return Answer(
            200,
            {"Content-Type": "application/json", "Link": '</v2/x/app/tags/list?n=1000>; rel="next"'},
            json_body({"tags": ["1.1", "1.3"]}),
        )

    with registry_server(_route(tags, {"1.3"})) as reg:
        search, message = _inspect(reg, tmp_path)
    assert "pagination loops" in search["note"] and [c["tag"] for c in search["candidates"]][0] == "1.3"
    assert sum(1 for line in reg.seen if "/tags/list" in line) == 1
    assert f"{reg.host}/x/app:1.3 (linux/amd64, linux/arm64) offers every target" in message


def test_pagination_that_repeats_a_page_under_new_links_ends(tmp_path: Path) -> None:
    def tags(path: str) -> Answer:  # always the same tags, with an ever new `last`
        page = int(parse_qs(urlsplit(path).query).get("p", ["0"])[0])
        return Answer(
            200,
            {"Content-Type": "application/json", "Link": f'</v2/x/app/tags/list?n=1000&p={page + 1}>; rel="next"'},
            json_body({"tags": ["1.1", "1.3"]}),
        )

    with registry_server(_route(tags, {"1.3"})) as reg:
        search, _ = _inspect(reg, tmp_path)
    assert "pagination loops" in search["note"]
    assert sum(1 for line in reg.seen if "/tags/list" in line) == 2


def test_a_link_to_another_host_is_not_followed(tmp_path: Path) -> None:
    def tags(path: str) -> Answer:
        return Answer(
            200,
            {
                "Content-Type": "application/json",
                "Link": '<http://169.254.169.254/v2/x/app/tags/list?n=1000&last=1.3>; rel="next"',
            },
            json_body({"tags": ["1.1", "1.3"]}),
        )

    with registry_server(_route(tags, {"1.3"})) as reg:
        search, _ = _inspect(reg, tmp_path)
    assert "next page is elsewhere" in search["note"] and search["tags_listed"] == 2


def test_a_huge_list_is_cut_and_the_budget_holds(tmp_path: Path) -> None:
    every = [f"{a}.{b}.{c}" for a in range(3) for b in range(60) for c in range(70)]  # 12600 tags, 13 pages
    with registry_server(_route(_listing(every), set())) as reg:
        search, message = _inspect(reg, tmp_path, tag="1.30.35")
    assert search["tags_listed"] == 10_000 and "more than 10000 tags" in search["note"]
    manifests = [line for line in reg.seen if "/manifests/" in line and not line.endswith("/1.30.35")]
    assert len(search["candidates"]) == len(manifests) <= 40  # the request budget per image
    assert "none of the 40 nearest tags checked offers every target" in message


def test_a_registry_that_is_down_fails_the_image_not_the_run(tmp_path: Path) -> None:
    env = isolated_env(
        tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache")
    )
    result = dockdoctor(
        "inspect", "--json", "--platform", "linux/arm64", f"127.0.0.1:{closed_port()}/x/app:1.2", env=env, timeout=BOUND
    )
    assert "Traceback" not in result.stderr and result.code == 1
    (image,) = result.json()["facts"]["images"]["remote"]
    assert image["error"]["kind"] == "unreachable" and image["alternatives"] is None


def test_the_tags_list_going_down_mid_search_is_a_note(tmp_path: Path) -> None:
    pages = _listing([f"1.{n}" for n in range(1500)])
    calls = []

    def tags(path: str) -> Answer:
        calls.append(path)
        if len(calls) > 1:
            return Answer(502, {"Content-Type": "text/html"}, b"<html>bad gateway</html>")
        return pages(path)

    with registry_server(_route(tags, {"1.3"})) as reg:
        search, message = _inspect(reg, tmp_path)
    assert search["tags_listed"] == 1000 and "HTTP 502" in search["note"]
    assert f"{reg.host}/x/app:1.3 (linux/amd64, linux/arm64) offers every target" in message


def _inspect_again(reg: Registry, tmp_path: Path, *extra: str) -> dict:
    env = isolated_env(
        tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache")
    )
    result = dockdoctor(
        "inspect", "--json", *extra, "--platform", "linux/arm64", f"{reg.host}/x/app:1.2", env=env, timeout=BOUND
    )
    assert "Traceback" not in result.stderr, result.stderr
    (image,) = result.json()["facts"]["images"]["remote"]
    return image


def test_the_tags_list_and_candidates_are_cached(tmp_path: Path) -> None:
    with registry_server(_route(_listing(["1.2", "1.3"]), {"1.3"})) as reg:
        _inspect(reg, tmp_path)  # fills the cache
        before = len(reg.seen)
        warm = _inspect_again(reg, tmp_path)
        assert reg.seen[before:] == []  # within the tag TTL: no request at all, the search included
        offline = _inspect_again(reg, tmp_path, "--offline")
        assert reg.seen[before:] == []
        _inspect_again(reg, tmp_path, "--refresh")
        assert any("/tags/list" in line for line in reg.seen[before:])
    for image in (warm, offline):
        assert [c["tag"] for c in image["alternatives"]["candidates"]] == ["1.3"]


def test_offline_with_an_empty_cache_asks_for_no_tags_list(tmp_path: Path) -> None:
    with registry_server(_route(_listing(["1.2", "1.3"]), {"1.3"})) as reg:
        env = isolated_env(
            tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache")
        )
        result = dockdoctor(
            "inspect",
            "--json",
            "--offline",
            "--platform",
            "linux/arm64",
            f"{reg.host}/x/app:1.2",
            env=env,
            timeout=BOUND,
        )
        assert reg.seen == [] and "Traceback" not in result.stderr
    (image,) = result.json()["facts"]["images"]["remote"]
    assert image["error"] is not None and image["alternatives"] is None  # the image itself is not cached either


# --- the search with a stub client: Docker Hub's budget, a rate limit --------------------------------


class _StubClient:
    """What search() uses of the registry client: options, cache, _request (the tags list) and inspect."""

    def __init__(self, tags: list[str], answer: Callable[[str], object]) -> None:
        from dockdoctor.probes.registry import RegistryOptions

        self.options = RegistryOptions(cache_dir=None)
        self.cache = None
        self.tags = tags
        self.answer = answer
        self.looked_up: list[str] = []

    def _request(self, ref, method, suffix, **kwargs):
        from dockdoctor.probes.registry._http import Response

        return Response(200, {"content-type": "application/json"}, json_body({"tags": self.tags}), suffix)

    def inspect(self, ref):
        self.looked_up.append(ref.tag)
        return self.answer(ref.tag)


def _search(client: _StubClient, reference: str):
    from dockdoctor.model import RemoteImage
    from dockdoctor.platforms import parse
    from dockdoctor.probes._pool import Pool
    from dockdoctor.probes.registry._tags import search

    image = RemoteImage(reference=reference, canonical=reference, kind="index")
    pool = Pool(4, "test")
    try:
        return search(client, image, [parse("linux/arm64")], pool, None)  # type: ignore[arg-type]
    finally:
        pool.shutdown()


def test_docker_hub_gets_a_small_budget() -> None:
    from dockdoctor.model import ImagePlatform, RemoteImage

    def amd64(tag: str) -> RemoteImage:
        return RemoteImage(
            reference=tag,
            canonical=tag,
            kind="index",
            platforms=(ImagePlatform("linux/amd64", sha256(b"a"), OCI_INDEX),),
        )

    client = _StubClient([f"5.7.{n}" for n in range(50)], amd64)
    result = _search(client, "mysql:5.7")
    assert len(client.looked_up) == 4 and len(result.candidates) == 4
    assert "Docker Hub counts each manifest request as a pull" in result.note


def test_a_rate_limit_stops_the_search() -> None:
    from dockdoctor.model import ProbeError, RemoteImage

    def limited(tag: str) -> RemoteImage:
        return RemoteImage(
            reference=tag,
            canonical=tag,
            error=ProbeError("registry", "rate-limited", "r.example/x: rate limited (no headers)"),
        )

    client = _StubClient([f"1.{n}" for n in range(100)], limited)
    result = _search(client, "r.example/x:1.50")
    assert len(client.looked_up) == 8 and "rate-limited the lookups" in result.note


def test_a_trickling_tags_list_ends_with_the_runs_timeout(tmp_path: Path) -> None:
    slow = Answer(
        200,
        {"Content-Type": "application/json"},
        json_body({"tags": ["1.3"] * 100}),
        trickle=0.5,
        trickle_headers=False,
    )
    with registry_server(_route(lambda path: slow, {"1.3"})) as reg:
        env = isolated_env(
            tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache")
        )
        result = dockdoctor(
            "inspect",
            "--json",
            "--timeout",
            "3",
            "--platform",
            "linux/arm64",
            f"{reg.host}/x/app:1.2",
            env=env,
            timeout=BOUND,
        )
    assert "Traceback" not in result.stderr, result.stderr
    (image,) = result.json()["facts"]["images"]["remote"]
    assert image["error"] is None and image["platforms"][0]["platform"] == "linux/amd64"
    assert image["alternatives"]["note"].startswith("no tags list: ") and not image["alternatives"]["complete"]
