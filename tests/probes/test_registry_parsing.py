"""Pure parsing in the registry client, on documents captured from the test registry (fixtures/registry)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from dockdoctor.model import Attestation, ImagePlatform
from dockdoctor.probes._run import Completed
from dockdoctor.probes.registry import RegistryOptions, plain_http
from dockdoctor.probes.registry import _auth as auth
from dockdoctor.probes.registry import _manifest as mf
from dockdoctor.reference import parse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "registry"


def fixture(name: str) -> dict:
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert next(iter(data)) == "_source"
    return data


def body(name: str) -> bytes:
    return fixture(name)["body"].encode()


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_fixture_says_where_it_came_from(name: str) -> None:
    data = fixture(name)
    assert "captured" in data["_source"]
    if "sha256" in data:
        assert data["sha256"] == mf.sha256_digest(data["body"].encode())


# --- Accept and classification -----------------------------------------------------------------


def test_accept_is_one_header_with_indexes_first_and_a_wildcard_last() -> None:
    parts = mf.ACCEPT.split(", ")
    assert parts[:2] == [mf.OCI_INDEX, mf.DOCKER_LIST]
    assert parts[-1] == "*/*" and "\n" not in mf.ACCEPT
    assert set(parts) >= mf.INDEX_TYPES | mf.IMAGE_TYPES | mf.SCHEMA1_TYPES


@pytest.mark.parametrize(
    ("name", "kind", "media_type"),
    [
        ("docker-manifest-list.multi.json", "index", mf.DOCKER_LIST),
        ("oci-index.multi-oci.json", "index", mf.OCI_INDEX),
        ("docker-manifest.amd64.json", "manifest", mf.DOCKER_MANIFEST),
        ("oci-manifest.arm64.json", "manifest", mf.OCI_MANIFEST),
        ("schema1-signed.arm64.json", "schema1", mf.SCHEMA1_SIGNED),
        ("oci-index.attestations.json", "index", mf.OCI_INDEX),
        ("oci-manifest.artifact.json", "manifest", mf.OCI_MANIFEST),
    ],
)
def test_classify_by_content_type(name: str, kind: str, media_type: str) -> None:
    data = fixture(name)
    got = mf.classify(data["content_type"], data["body"].encode())
    assert (got.kind, got.media_type) == (kind, media_type)


@pytest.mark.parametrize(
    "content_type",
    ["", "text/plain; charset=utf-8", "application/json", "application/octet-stream", mf.DOCKER_MANIFEST],
)
@pytest.mark.parametrize(
    ("name", "kind", "media_type"),
    [
        ("docker-manifest-list.multi.json", "index", mf.DOCKER_LIST),
        ("oci-index.multi-oci.json", "index", mf.OCI_INDEX),
    ],
)
def test_wrong_or_generic_content_type_trusts_the_body(
    content_type: str, name: str, kind: str, media_type: str
) -> None:
    got = mf.classify(content_type, body(name))
    assert (got.kind, got.media_type) == (kind, media_type)


def test_body_without_media_type_is_sniffed_by_shape() -> None:
    for name, kind in [
        ("oci-index.multi-oci.json", "index"),
        ("oci-manifest.arm64.json", "manifest"),
        ("schema1-signed.arm64.json", "schema1"),
    ]:
        doc = json.loads(body(name))
        doc.pop("mediaType", None)
        assert mf.classify("text/plain", json.dumps(doc).encode()).kind == kind


def test_content_type_parameters_are_stripped() -> None:
    assert mf.strip_params("application/vnd.oci.image.index.v1+json; charset=utf-8") == mf.OCI_INDEX


def test_not_json_is_a_protocol_error() -> None:
    with pytest.raises(mf.DocumentError) as err:
        mf.classify("application/json", b"<html>proxy login</html>")
    assert err.value.kind == "protocol"


# --- indexes and attestations ------------------------------------------------------------------


def test_docker_manifest_list_platforms() -> None:
    doc = json.loads(body("docker-manifest-list.multi.json"))
    got = mf.parse_index(doc)
    assert [p.platform for p in got.platforms] == ["linux/amd64", "linux/arm64"]
    assert [p.digest for p in got.platforms] == [m["digest"] for m in doc["manifests"]]
    assert all(p.media_type == mf.DOCKER_MANIFEST for p in got.platforms)
    assert (got.attestations, got.children) == ((), ())


def test_attestations_are_listed_apart_with_the_digest_they_describe() -> None:
    doc = json.loads(body("oci-index.attestations.json"))
    got = mf.parse_index(doc)
    images = [m["digest"] for m in doc["manifests"][:2]]
    assert [p.platform for p in got.platforms] == ["linux/amd64", "linux/arm64"]
    assert got.attestations == tuple(
        Attestation(digest=m["digest"], refers_to=ref, media_type=mf.OCI_MANIFEST)
        for m, ref in zip(doc["manifests"][2:], images, strict=True)
    )


def test_attestation_by_annotation_alone_and_by_unknown_platform_alone() -> None:
    doc = json.loads(body("oci-index.attestations.json"))
    by_annotation, by_platform = dict(doc["manifests"][2]), dict(doc["manifests"][3])
    by_annotation["platform"] = {"os": "linux", "architecture": "amd64"}
    by_platform.pop("annotations")
    got = mf.parse_index({"manifests": [by_annotation, by_platform]})
    assert got.platforms == () and len(got.attestations) == 2
    assert got.attestations[1].refers_to == ""


def test_entry_without_platform_is_unknown() -> None:
    got = mf.parse_index(json.loads(body("oci-index.noplatform.json")))
    assert [p.platform for p in got.platforms] == ["unknown", "linux/arm64"]


def test_nested_index_is_a_child_to_fetch() -> None:
    doc = json.loads(body("oci-index.nested.json"))
    got = mf.parse_index(doc)
    assert got.platforms == () and got.children == (doc["manifests"][0]["digest"],)
    assert got.children[0] == fixture("oci-index.multi-oci.json")["sha256"]


def test_unknown_descriptor_media_types_are_skipped_not_errors() -> None:
    doc = json.loads(body("oci-index.multi-oci.json"))
    doc["manifests"].append(
        {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": "sha256:" + "0" * 64, "size": 1}
    )
    assert len(mf.parse_index(doc).platforms) == 2


def test_platforms_are_normalized() -> None:
    entries = [
        {"mediaType": mf.OCI_MANIFEST, "digest": f"sha256:{i:064x}", "platform": p}
        for i, p in enumerate(
            [
                {"os": "linux", "architecture": "arm64", "variant": "v8"},
                {"os": "linux", "architecture": "arm"},
                {"os": "linux", "architecture": "amd64", "variant": "v3"},
                {"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.2340"},
            ]
        )
    ]
    got = mf.parse_index({"manifests": entries})
    assert [(p.platform, p.os_version) for p in got.platforms] == [
        ("linux/arm64", ""),
        ("linux/arm/v7", ""),
        ("linux/amd64/v3", ""),
        ("windows/amd64", "10.0.20348.2340"),
    ]


# --- single manifests, configs, artifacts, schema 1 ------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "config", "platform"),
    [
        ("docker-manifest.amd64.json", "docker-config.amd64.json", "linux/amd64"),
        ("oci-manifest.arm64.json", "oci-config.arm64.json", "linux/arm64"),
    ],
)
def test_single_manifest_needs_its_config(manifest: str, config: str, platform: str) -> None:
    got = mf.parse_image_manifest(json.loads(body(manifest)))
    assert not got.is_artifact
    assert got.config_digest == fixture(config)["sha256"]
    assert mf.parse_config(body(config)) == (platform, "")


def test_artifact_is_recognized_by_artifact_type_and_empty_config() -> None:
    doc = json.loads(body("oci-manifest.artifact.json"))
    got = mf.parse_image_manifest(doc)
    assert got.is_artifact and got.artifact_type == doc["artifactType"] and got.config_media_type == mf.OCI_EMPTY
    doc.pop("artifactType")
    assert mf.parse_image_manifest(doc).is_artifact  # the empty config alone says it is not an image


def test_schema1_platform_from_architecture_and_v1_compatibility() -> None:
    doc = mf.classify(fixture("schema1-signed.arm64.json")["content_type"], body("schema1-signed.arm64.json")).doc
    assert mf.parse_schema1(doc) == "linux/arm64"


def test_schema1_signed_digest_header_is_not_the_body_sha256() -> None:
    data = fixture("schema1-signed.arm64.json")
    assert data["docker_content_digest"] != data["sha256"]


def test_verify_digest() -> None:
    data = fixture("oci-index.multi-oci.json")
    mf.verify_digest(data["body"].encode(), data["sha256"])
    with pytest.raises(mf.DocumentError) as err:
        mf.verify_digest(data["body"].encode() + b" ", data["sha256"])
    assert err.value.kind == "digest-mismatch"


def test_config_without_platform_fields_is_a_protocol_error() -> None:
    with pytest.raises(mf.DocumentError):
        mf.parse_config(b'{"rootfs": {}}')


# --- WWW-Authenticate --------------------------------------------------------------------------


def test_captured_basic_challenge() -> None:
    for item in fixture("www-authenticate.json")["captured"]:
        assert auth.parse_www_authenticate(item["value"]) == (auth.Challenge("basic", {"realm": "dockdoctor-test"}),)


def test_quoted_commas_stay_inside_the_scope() -> None:
    hub = fixture("www-authenticate.json")["quoted"][0]["value"]
    (got,) = auth.parse_www_authenticate(hub)
    assert got.scheme == "bearer"
    assert got.params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:samalba/my-app:pull,push",
    }


def test_ecr_basic_challenge_with_service() -> None:
    ecr = fixture("www-authenticate.json")["quoted"][1]["value"]
    (got,) = auth.parse_www_authenticate(ecr)
    assert (got.scheme, got.params["service"]) == ("basic", "ecr.amazonaws.com")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            'Basic realm="a", Bearer realm="b",service="s"',
            [("basic", {"realm": "a"}), ("bearer", {"realm": "b", "service": "s"})],
        ),
        (
            'Bearer realm="https://x/token", Basic realm="r"',  # two headers joined by requests
            [("bearer", {"realm": "https://x/token"}), ("basic", {"realm": "r"})],
        ),
        ('Negotiate abc==, Basic realm="a\\"b"', [("negotiate", {}), ("basic", {"realm": 'a"b'})]),
        ('BEARER Realm=unquoted , service = "s"', [("bearer", {"realm": "unquoted", "service": "s"})]),
        ("", []),
    ],
)
def test_rfc7235_grammar(value: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert [(c.scheme, dict(c.params)) for c in auth.parse_www_authenticate(value)] == expected


def test_pick_challenge_prefers_bearer_then_basic() -> None:
    got = auth.parse_www_authenticate('Negotiate x, Basic realm="a", Bearer realm="b"')
    assert auth.pick_challenge(got).scheme == "bearer"
    assert auth.pick_challenge(got[:2]).scheme == "basic"
    assert auth.pick_challenge(()) is None


# --- credentials -------------------------------------------------------------------------------


def test_config_keys() -> None:
    assert auth.config_key("docker.io") == "https://index.docker.io/v1/"
    assert auth.config_key("registry-1.docker.io") == "https://index.docker.io/v1/"
    assert auth.config_key("127.0.0.1:5556") == "127.0.0.1:5556"


def _store(tmp_path: Path, config: dict) -> auth.CredentialStore:
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return auth.CredentialStore(str(tmp_path))


def test_inline_auths_base64_username_password_identitytoken(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw:with:colons").decode()},
                "https://legacy.example.com/v1/": {"username": "u", "password": "p"},
                "ghcr.io": {"identitytoken": "refresh-me"},
                "empty.example.com": {},
            }
        },
    )
    hub, _ = store.lookup("docker.io", "library/nginx")
    assert (hub.username, hub.secret) == ("hub", "pw:with:colons")
    legacy, _ = store.lookup("legacy.example.com", "a")
    assert (legacy.username, legacy.secret) == ("u", "p")
    ghcr, _ = store.lookup("ghcr.io", "o/i")
    assert ghcr.identity_token == "refresh-me"
    assert store.lookup("empty.example.com", "x") == (None, "")


def test_repository_scoped_key_wins(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            "auths": {
                "quay.io": {"username": "a", "password": "1"},
                "quay.io/team/app": {"username": "b", "password": "2"},
            }
        },
    )
    assert store.lookup("quay.io", "team/app")[0].username == "b"
    assert store.lookup("quay.io", "other/app")[0].username == "a"


def test_docker_auth_config_overrides_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "r.example": {"username": "file", "password": "1"},
                    "s.example": {"username": "s", "password": "2"},
                }
            }
        )
    )
    env_json = json.dumps({"auths": {"r.example": {"auth": base64.b64encode(b"env:3").decode()}}})
    store = auth.CredentialStore(str(tmp_path), env_json)
    assert store.lookup("r.example", "a")[0].username == "env"
    assert store.lookup("s.example", "a")[0].username == "s"


def test_helper_answers() -> None:
    ok = Completed(("x",), 0, '{"ServerURL":"h","Username":"u","Secret":"s"}', "")
    assert auth._helper_result(ok, "docker-credential-x")[0] == auth.Credentials("u", "s", "docker-credential-x")
    token = Completed(("x",), 0, '{"ServerURL":"h","Username":"<token>","Secret":"rt"}', "")
    assert auth._helper_result(token, "docker-credential-x")[0].identity_token == "rt"
    missing = Completed(("x",), 1, "credentials not found in native keychain\n", "")
    assert auth._helper_result(missing, "docker-credential-x") == (None, "")
    empty = Completed(("x",), 0, '{"ServerURL":"h","Username":"","Secret":""}', "")  # docker-credential-pass
    assert auth._helper_result(empty, "docker-credential-x") == (None, "")
    broken = Completed(("x",), 2, "", "panic: keychain locked")
    assert (
        auth._helper_result(broken, "docker-credential-x")[1]
        == "docker-credential-x exited with 2: panic: keychain locked"
    )
    assert auth._helper("dockdoctor-test-absent", "h") == (
        None,
        "docker-credential-dockdoctor-test-absent is not installed (not on PATH)",
    )


# --- scheme choice -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "insecure", "http"),
    [
        ("127.0.0.1:5555/a", (), True),
        ("localhost:5000/a", (), True),
        ("[::1]:5000/a", (), True),
        ("ghcr.io/o/i", (), False),
        ("10.1.2.3:5000/a", ("10.0.0.0/8",), True),
        ("10.1.2.3:5000/a", ("192.168.0.0/16",), False),
        ("reg.lan:5000/a", ("reg.lan:5000",), True),
        ("reg.lan:5000/a", ("reg.lan",), True),
        ("reg.lan:5000/a", ("other.lan",), False),
    ],
)
def test_plain_http_only_for_loopback_and_insecure_registries(ref: str, insecure: tuple[str, ...], http: bool) -> None:
    assert plain_http(parse(ref), insecure) is http


def test_options_from_env_reads_cache_dir_and_docker_config() -> None:
    o = RegistryOptions.from_env({"DOCKDOCTOR_CACHE_DIR": "/tmp/c", "DOCKER_CONFIG": "/tmp/d"}, offline=True)
    assert (str(o.cache_dir), o.docker_config_dir, o.offline, o.timeout, o.tag_ttl) == (
        "/tmp/c",
        "/tmp/d",
        True,
        (5.0, 20.0),
        300.0,
    )


def test_image_platform_is_the_model_type() -> None:
    got = mf.parse_index(json.loads(body("oci-index.multi-oci.json")))
    assert all(isinstance(p, ImagePlatform) for p in got.platforms)


# --- digests: the one gate --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("sha256:" + "a" * 64, True),
        ("sha384:" + "0" * 96, True),
        ("sha512:" + "f" * 128, True),
        ("sha256:" + "A" * 64, False),
        ("sha256:" + "a" * 63, False),
        ("sha256:" + "a" * 65, False),
        ("sha512:" + "a" * 64, False),
        ("shake_128:" + "a" * 64, False),
        ("md5:" + "a" * 32, False),
        ("sha256:XYZ", False),
        ("sha256:../../etc/passwd", False),
        ("a" * 64, False),
        ("", False),
        ("sha256:" + "a" * 63 + "\n", False),
        (" sha256:" + "a" * 64, False),
        (5, False),
        (None, False),
    ],
)
def test_is_digest(value: object, valid: bool) -> None:
    assert mf.is_digest(value) is valid
    if not valid:
        with pytest.raises(mf.DocumentError) as err:
            mf.verify_digest(b"", value)  # type: ignore[arg-type]
        assert err.value.kind == "protocol"


def test_cache_builds_paths_from_valid_digests_only(tmp_path) -> None:  # noqa: ANN001
    from dockdoctor.probes.registry._cache import Cache

    victim = tmp_path / "victim"
    victim.write_text("precious")
    cache = Cache(tmp_path / "cache")
    assert cache.get_document("sha256:" + "../" * 10 + str(victim).lstrip("/")) is None
    good = "sha256:" + "b" * 64
    link = tmp_path / "cache" / "blobs" / "sha256" / ("b" * 64)
    link.parent.mkdir(parents=True)
    link.symlink_to(victim)  # a planted link out of the cache: never read, never removed
    assert cache.get_document(good) is None
    assert victim.read_text() == "precious" and link.is_symlink()
    cache.put_document(mf.sha256_digest(b"x"), b"x", "text/plain")
    assert cache.get_document(mf.sha256_digest(b"x")) == (b"x", "text/plain")


def test_deep_json_is_a_protocol_error() -> None:
    with pytest.raises(mf.DocumentError) as err:
        mf.classify("application/json", b"[" * 100_000)
    assert err.value.kind == "protocol" and "nested too deeply" in err.value.reason
