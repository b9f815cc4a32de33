"""Tests for dockdoctor.reference, mostly driven by distribution/reference's own test tables."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from dockdoctor.reference import ImageRef, ReferenceError, parse

# Tables ported as data from distribution/reference@0965666a6ade2e06035fe352e38344be1e68951a
# (normalize_test.go, reference_test.go); each section names its source in "_source".
DATA: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "distribution_reference.json").read_text(encoding="utf-8")
)
ERRORS: dict[str, str] = DATA["errors"]

SHA = "sha256:" + "0123456789abcdef" * 4


def _short(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} chars)"


def _assert_rejected(text: str, err: str | None = None) -> ReferenceError:
    with pytest.raises(ReferenceError) as exc:
        parse(text)
    assert str(exc.value).startswith(
        f"invalid image reference {text!r}: "
        if len(text) <= 200
        else f"invalid image reference {text[:80]!r}... ({len(text)} characters): "
    )
    assert exc.value.text == text
    if err is not None:
        assert ERRORS[err] in str(exc.value)
    return exc.value


# --- normalize_test.go -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", DATA["validate_reference_name"]["valid"] + DATA["validate_remote_name"]["valid"], ids=_short
)
def test_valid_names(text: str) -> None:
    parse(text)


@pytest.mark.parametrize(
    "text",
    DATA["validate_reference_name"]["invalid"]
    + DATA["validate_remote_name"]["invalid"]
    + DATA["invalid_reference_components"]["invalid"],
    ids=_short,
)
def test_invalid_names(text: str) -> None:
    _assert_rejected(text)


def _repository_info_params() -> list[Any]:
    return [
        pytest.param(text, remote, familiar, full, domain, id=text)
        for remote, familiar, full, ambiguous, domain in DATA["parse_repository_info"]["cases"]
        for text in filter(None, (familiar, full, ambiguous))
    ]


@pytest.mark.parametrize(("text", "remote", "familiar", "full", "domain"), _repository_info_params())
def test_parse_repository_info(text: str, remote: str, familiar: str, full: str, domain: str) -> None:
    ref = parse(text)
    assert (ref.domain, ref.path, ref.name, ref.familiar_name) == (domain, remote, full, familiar)


def test_parse_reference_with_tag_and_digest() -> None:
    case = DATA["tag_and_digest"]
    ref = parse(case["input"])
    assert str(ref) == case["string"]
    assert ref.familiar() == case["familiar"]
    assert ref.tag == "latest" and ref.digest is not None


@pytest.mark.parametrize("case", DATA["parse_any_reference"]["cases"], ids=lambda c: _short(c["input"]))
def test_parse_any_reference(case: dict[str, Any]) -> None:
    if "normalized_err" in case:
        _assert_rejected(case["input"], case["normalized_err"])
    else:
        assert str(parse(case["input"], default_tag="")) == case.get("normalized_equivalent", case["equivalent"])


@pytest.mark.parametrize(("text", "domain", "path"), DATA["normalized_split_hostname"]["cases"])
def test_normalized_split_hostname(text: str, domain: str, path: str) -> None:
    ref = parse(text)
    assert (ref.domain, ref.path) == (domain, path)


@pytest.mark.parametrize(("name", "text", "expected"), DATA["parse_docker_ref"]["cases"])
def test_parse_docker_ref(name: str, text: str, expected: str) -> None:
    assert parse(text).canonical == expected
    parse(expected)  # and the result parses again


# --- reference_test.go -----------------------------------------------------------------------


@pytest.mark.parametrize("case", DATA["reference_parse"]["cases"], ids=lambda c: _short(c["input"]))
def test_reference_parse(case: dict[str, Any]) -> None:
    if case.get("err"):
        _assert_rejected(case["input"], case["err"])
        return
    ref = parse(case["input"], default_tag="")
    assert (ref.name, ref.tag, ref.digest) == (case["normalized_name"], case["tag"], case["digest"])
    assert str(ref) == case["normalized_name"] + (f":{case['tag']}" if case["tag"] else "") + (
        f"@{case['digest']}" if case["digest"] else ""
    )
    raw_path = case["repository"].removeprefix(case["domain"] + "/") if case["domain"] else case["repository"]
    assert ref.path.endswith(raw_path)  # normalization only ever prepends to upstream's raw path


@pytest.mark.parametrize(("text", "raw_domain", "raw_path", "domain", "path"), DATA["domain_and_path"]["cases"])
def test_domain_and_path(text: str, raw_domain: str, raw_path: str, domain: str, path: str) -> None:
    ref = parse(text)
    assert (ref.domain, ref.path) == (domain, path)
    assert ref.path.endswith(raw_path)


@pytest.mark.parametrize(("description", "text", "name", "tag", "digest", "err"), DATA["serialization"]["cases"])
def test_serialization(
    description: str, text: str, name: str | None, tag: str | None, digest: str | None, err: str | None
) -> None:
    if err:
        _assert_rejected(text, err)
        return
    ref = parse(text, default_tag="")
    assert (ref.name, ref.tag, ref.digest) == (name, tag, digest)
    assert str(ref) == text


def _image_ref(name: str, tag: str | None, digest: str | None) -> ImageRef:
    domain, _, path = name.rpartition("/")
    return ImageRef(domain, path, tag, digest)


@pytest.mark.parametrize(
    ("name", "digest", "tag", "combined"), DATA["with_tag"]["cases"] + DATA["with_digest"]["cases"]
)
def test_string_form_with_tag_and_digest(name: str, digest: str | None, tag: str | None, combined: str) -> None:
    assert str(_image_ref(name, tag, digest)) == combined


@pytest.mark.parametrize(("text", "domain", "path", "canonical"), DATA["parse_named"]["cases"])
def test_parse_named(text: str, domain: str, path: str, canonical: bool) -> None:
    ref = parse(text, default_tag="")
    assert (ref.domain, ref.path) == (domain, path)
    assert (str(ref) == text) is canonical


# --- normalisation table and edge cases (brief section 3.3) ----------------------------------


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest", "string", "familiar", "api_host"),
    [
        (
            "nginx",
            "docker.io",
            "library/nginx",
            "latest",
            None,
            "docker.io/library/nginx:latest",
            "nginx:latest",
            "registry-1.docker.io",
        ),
        (
            "nginx:1.27-alpine",
            "docker.io",
            "library/nginx",
            "1.27-alpine",
            None,
            "docker.io/library/nginx:1.27-alpine",
            "nginx:1.27-alpine",
            "registry-1.docker.io",
        ),
        (
            "bitnami/redis",
            "docker.io",
            "bitnami/redis",
            "latest",
            None,
            "docker.io/bitnami/redis:latest",
            "bitnami/redis:latest",
            "registry-1.docker.io",
        ),
        (
            "docker.io/nginx",
            "docker.io",
            "library/nginx",
            "latest",
            None,
            "docker.io/library/nginx:latest",
            "nginx:latest",
            "registry-1.docker.io",
        ),
        (
            "index.docker.io/user/app",
            "docker.io",
            "user/app",
            "latest",
            None,
            "docker.io/user/app:latest",
            "user/app:latest",
            "registry-1.docker.io",
        ),
        (
            "library/foo/bar",
            "docker.io",
            "library/foo/bar",
            "latest",
            None,
            "docker.io/library/foo/bar:latest",
            "library/foo/bar:latest",
            "registry-1.docker.io",
        ),
        (
            "localhost/foo",
            "localhost",
            "foo",
            "latest",
            None,
            "localhost/foo:latest",
            "localhost/foo:latest",
            "localhost",
        ),
        (
            "localhost:5000/a/b:1",
            "localhost:5000",
            "a/b",
            "1",
            None,
            "localhost:5000/a/b:1",
            "localhost:5000/a/b:1",
            "localhost:5000",
        ),
        (
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000",
            "private/moonbase",
            "latest",
            None,
            "127.0.0.1:8000/private/moonbase:latest",
            "127.0.0.1:8000/private/moonbase:latest",
            "127.0.0.1:8000",
        ),
        (
            "[::1]:5000/foo",
            "[::1]:5000",
            "foo",
            "latest",
            None,
            "[::1]:5000/foo:latest",
            "[::1]:5000/foo:latest",
            "[::1]:5000",
        ),
        (
            "example.com/privatebase",
            "example.com",
            "privatebase",
            "latest",
            None,
            "example.com/privatebase:latest",
            "example.com/privatebase:latest",
            "example.com",
        ),
        (
            "myhost/foo",
            "docker.io",
            "myhost/foo",
            "latest",
            None,
            "docker.io/myhost/foo:latest",
            "myhost/foo:latest",
            "registry-1.docker.io",
        ),
        ("Foo/bar", "Foo", "bar", "latest", None, "Foo/bar:latest", "Foo/bar:latest", "Foo"),
        (f"ghcr.io/o/i@{SHA}", "ghcr.io", "o/i", None, SHA, f"ghcr.io/o/i@{SHA}", f"ghcr.io/o/i@{SHA}", "ghcr.io"),
        (
            f"nginx:1.27@{SHA}",
            "docker.io",
            "library/nginx",
            "1.27",
            SHA,
            f"docker.io/library/nginx:1.27@{SHA}",
            f"nginx:1.27@{SHA}",
            "registry-1.docker.io",
        ),
        (
            "registry-1.docker.io/nginx",
            "registry-1.docker.io",
            "nginx",
            "latest",
            None,
            "registry-1.docker.io/nginx:latest",
            "registry-1.docker.io/nginx:latest",
            "registry-1.docker.io",
        ),
        (
            "example.com",
            "docker.io",
            "library/example.com",
            "latest",
            None,
            "docker.io/library/example.com:latest",
            "example.com:latest",
            "registry-1.docker.io",
        ),
        (
            "localhost",
            "docker.io",
            "library/localhost",
            "latest",
            None,
            "docker.io/library/localhost:latest",
            "localhost:latest",
            "registry-1.docker.io",
        ),
        (
            "gcr.io/project/app:v1.2",
            "gcr.io",
            "project/app",
            "v1.2",
            None,
            "gcr.io/project/app:v1.2",
            "gcr.io/project/app:v1.2",
            "gcr.io",
        ),
        (
            "docker.io/library/foo/bar",
            "docker.io",
            "library/foo/bar",
            "latest",
            None,
            "docker.io/library/foo/bar:latest",
            "library/foo/bar:latest",
            "registry-1.docker.io",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_normalisation_table(
    text: str, domain: str, path: str, tag: str | None, digest: str | None, string: str, familiar: str, api_host: str
) -> None:
    ref = parse(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert (str(ref), ref.familiar(), ref.registry_host) == (string, familiar, api_host)
    assert parse(str(ref)) == ref  # the normalized form is stable
    assert parse(ref.familiar()) == ref


def test_canonical_drops_tag_when_digest_given() -> None:
    ref = parse(f"nginx:1.27@{SHA}")
    assert ref.canonical == f"docker.io/library/nginx@{SHA}"
    assert ref.name == "docker.io/library/nginx"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Nginx", "invalid image reference 'Nginx': repository name must be lowercase"),
        (
            "a" * 64,
            f"invalid image reference '{'a' * 64}': cannot specify 64-byte hexadecimal strings "
            "(that is an image ID, not a name)",
        ),
        ("", "invalid image reference '': repository name must have at least one component"),
    ],
)
def test_error_messages(text: str, message: str) -> None:
    error = _assert_rejected(text)
    assert str(error) == message
    assert isinstance(error, ValueError)


def test_long_input_is_shortened_in_the_message() -> None:
    text = "x.io/" + "a" * 300 + "_"
    message = str(_assert_rejected(text))
    assert len(message) < 400
    assert "(306 characters)" in message and "path component 'aaaa" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("foo:bar:baz", "invalid reference format: tag 'bar:baz'"),
        ("foo@sha256:abc", "invalid reference format: digest 'sha256:abc'"),
        ("foo:", "invalid reference format: tag ''"),
        ("foo@", "invalid reference format: digest ''"),
        ("foo:-bar", "tag '-bar'"),
        ("foo:" + "a" * 129, "invalid reference format: tag"),
        ("foo@sha256:" + "A" * 64, "invalid checksum digest format: a sha256 digest is exactly 64 lowercase hex"),
        ("foo@sha256:" + "a" * 65, "got 65"),
        ("foo@md5:" + "a" * 32, "unsupported digest algorithm 'md5'"),
        ("foo_bar.com/x", "'foo_bar.com' is not a valid registry host"),
        ("-x.io/y", "'-x.io' is not a valid registry host"),
        ("docker//x", "an empty path component"),
        ("docker/x/", "an empty path component"),
        ("docker/Upper", "repository name must be lowercase"),
        ("ghcr.io/o/App:1", "repository name must be lowercase"),
        (" nginx", "path component ' nginx'"),
        ("nginx ", "path component 'nginx '"),
        ("ng\u00efnx", "path component"),
        ("a" * 250, "must not be more than 255 characters (got 258)"),
    ],
)
def test_error_reasons(text: str, fragment: str) -> None:
    assert fragment in str(_assert_rejected(text))


@pytest.mark.parametrize(
    "text",
    [
        "foo:" + "a" * 128,
        "foo:_x",
        "foo:X.y-Z",
        "a" * 247,
        f"foo@sha384:{'a' * 96}",
        f"foo@sha512:{'b' * 128}",
        "x.io/" + "a" * 255,
    ],
)
def test_limits_and_algorithms_accepted(text: str) -> None:
    parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "a-" * 20000 + "!",
        "a." * 20000 + ".",
        "a" * 100000,
        "x.io/" + "a_" * 30000 + "_",
        "a" + "-" * 50000 + "!",
        "[" + ":" * 50000 + "/x",
        f"x@sha256:{'f' * 100000}!",
    ],
)
def test_pathological_inputs_fail_fast(text: str) -> None:
    start = time.perf_counter()
    _assert_rejected(text)
    # a generous ceiling: catastrophic backtracking on these takes minutes, a busy machine a second or two
    assert time.perf_counter() - start < 30


# --- default tag -----------------------------------------------------------------------------


def test_default_tag() -> None:
    assert parse("nginx", default_tag="stable").tag == "stable"
    assert parse("nginx:1", default_tag="stable").tag == "1"
    assert parse(f"nginx@{SHA}").tag is None  # only when neither tag nor digest
    assert parse("nginx", default_tag="").tag is None
    with pytest.raises(ValueError, match="invalid default tag"):
        parse("nginx", default_tag="bad tag")


# --- registry host and loopback --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost/x", True),
        ("localhost:5000/x", True),
        ("127.0.0.1/x", True),
        ("127.0.0.1:5000/x", True),
        ("127.5.6.7:80/x", True),
        ("[::1]/x", True),
        ("[::1]:5000/x", True),
        ("LOCALHOST/x", True),
        ("[0:0:0:0:0:0:0:1]:5000/x", True),
        ("nginx", False),
        ("example.com/x", False),
        ("192.168.1.10:5000/x", False),
        ("[2001:db8::1]:5000/x", False),
        ("localhost.example.com/x", False),
        ("128.0.0.1/x", False),
        ("myhost/x", False),
    ],
)
def test_is_loopback(text: str, expected: bool) -> None:
    assert parse(text).is_loopback is expected


def test_image_ref_value_semantics() -> None:
    ref = parse("nginx")
    assert ref == ImageRef("docker.io", "library/nginx", "latest", None)
    assert hash(ref) == hash(ImageRef("docker.io", "library/nginx", "latest"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tag = "1"  # type: ignore[misc]
    assert ImageRef("", "foo").name == "foo"
