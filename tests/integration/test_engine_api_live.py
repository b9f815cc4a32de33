"""The stdlib Engine API client (probes/_engine_api.py) answers as the docker SDK does, on the real engines."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import docker
import pytest

from dockdoctor.probes._engine_api import APIError, NotFound, UnixAPI
from dockdoctor.probes._sdk import engine_answers
from dockdoctor.probes.images import probe_local_images


def _docker(testenv: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [testenv["docker_cli"], "-H", testenv["docker_host"], *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def failed(testenv: dict) -> Iterator[str]:
    """A container that wrote to both streams and exited 3 (what `check` reads the log tail of)."""
    name = f"dockdoctor-engine-api-{uuid.uuid4().hex[:8]}"
    image = testenv["images"]["local_amd64"]
    script = "echo to-stdout; echo to-stderr >&2; echo again; exit 3"
    made = _docker(
        testenv, "run", "--name", name, "--network", "none", "--entrypoint", "/bin/busybox", image, "sh", "-c", script
    )
    assert made.returncode == 3, made.stderr
    try:
        yield name
    finally:
        _docker(testenv, "rm", "-f", name)


@pytest.fixture()
def clients(testenv: dict) -> Iterator[tuple[UnixAPI, docker.APIClient]]:
    ours = UnixAPI(testenv["docker_host"], version="1.41", timeout=30)
    sdk = docker.APIClient(base_url=testenv["docker_host"], version="1.41", timeout=30)
    try:
        yield ours, sdk
    finally:
        ours.close()
        sdk.close()


def test_listings_and_inspections_are_the_sdks(
    testenv: dict, clients: tuple[UnixAPI, docker.APIClient], failed: str
) -> None:
    ours, sdk = clients
    # other runs share the engine: compare what they leave alone (the test images, this test's container)
    tags = {testenv["images"]["local_amd64"], testenv["images"]["local_arm64"]}

    def mine(images: list[dict]) -> list[dict]:
        return sorted((i for i in images if tags & set(i.get("RepoTags") or ())), key=lambda i: i["Id"])

    assert mine(ours.images()) == mine(sdk.images()) and mine(ours.images())
    ours_c = [c for c in ours.containers(all=True) if f"/{failed}" in c["Names"]]
    assert ours_c == [c for c in sdk.containers(all=True) if f"/{failed}" in c["Names"]] and ours_c
    assert ours.inspect_container(failed) == sdk.inspect_container(failed)
    image = ours.inspect_container(failed)["Image"]
    assert ours.inspect_image(image) == sdk.inspect_image(image)


def test_a_log_is_demultiplexed_as_the_sdk_does(clients: tuple[UnixAPI, docker.APIClient], failed: str) -> None:
    ours, sdk = clients
    got = ours.logs(failed, stdout=True, stderr=True, tail=20)
    assert got == sdk.logs(failed, stdout=True, stderr=True, tail=20)
    assert sorted(got.decode().splitlines()) == ["again", "to-stderr", "to-stdout"]


def test_a_file_comes_with_its_stat(clients: tuple[UnixAPI, docker.APIClient], failed: str) -> None:
    ours, sdk = clients
    stream, stat = ours.get_archive(failed, "/bin/busybox")
    sdk_stream, sdk_stat = sdk.get_archive(failed, "/bin/busybox")
    assert stat == sdk_stat and stat["name"] == "busybox"
    assert b"".join(stream) == b"".join(sdk_stream)


def test_errors_are_values_of_their_own(clients: tuple[UnixAPI, docker.APIClient], failed: str) -> None:
    ours, _ = clients
    with pytest.raises(NotFound):
        ours.inspect_image("dockdoctor-test/no-such-image:never")
    with pytest.raises(NotFound):
        ours.get_archive(failed, "/no/such/file")
    with pytest.raises(APIError):
        ours.get_json("/containers/{0}/json", "bad name with spaces")


def test_engine_answers_and_local_images_need_no_sdk(testenv: dict, failed: str) -> None:
    answers = engine_answers(testenv["docker_host"], tls=None, timeout=30)
    assert isinstance(answers, tuple)
    version, info = answers
    assert version["ApiVersion"] and info["ID"]
    facts = probe_local_images(
        testenv["docker_host"], tls=None, timeout=30, api_version="1.41", refs=[testenv["images"]["local_amd64"]]
    )
    assert not facts.errors
    container = next(c for c in facts.containers if c.name == failed)
    assert container.exit_code == 3 and container.state == "exited"
    assert "to-stderr" in container.log_tail and container.platform == "linux/amd64"
    assert any(testenv["images"]["local_amd64"] in image.repo_tags for image in facts.local)


def test_a_missing_socket_and_a_silent_one_are_named(tmp_path) -> None:  # noqa: ANN001
    import socket

    missing = engine_answers(f"unix://{tmp_path}/nothing.sock", tls=None, timeout=2)
    assert not isinstance(missing, tuple) and missing.kind == "not-found"
    silent_path = tmp_path / "silent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(silent_path))
    server.listen(1)  # accepts (the kernel does), never answers
    try:
        silent = engine_answers(f"unix://{silent_path}", tls=None, timeout=0.5)
    finally:
        server.close()
    assert not isinstance(silent, tuple) and silent.kind == "timeout"
