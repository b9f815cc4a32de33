"""What a user's `dockdoctor inspect` imports and sends against the test environment's loopback registry.

A warm run (every answer in the cache, within the tag TTL) imports no HTTP code and sends no request; a cold
lookup sends its first request before dockdoctor.model is imported (the model is imported where the results
are built, while the requests are in flight). The references are fresh tags pushed for the test, so the
registry's access log (shared with whatever else runs) tells this run's requests apart.
"""

from __future__ import annotations

import json
import random
import string
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from clirun import SRC, dockdoctor, isolated_env

ACCEPT = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"


def retag(registry: str, source: str, tag: str) -> None:
    """Push busybox:<source>'s manifest again as busybox:<tag> (its blobs are in the repository already)."""
    get = urllib.request.Request(f"http://{registry}/v2/busybox/manifests/{source}", headers={"Accept": ACCEPT})
    with urllib.request.urlopen(get, timeout=10) as resp:
        body, media_type = resp.read(), resp.headers["Content-Type"]
    put = urllib.request.Request(
        f"http://{registry}/v2/busybox/manifests/{tag}", data=body, method="PUT", headers={"Content-Type": media_type}
    )
    with urllib.request.urlopen(put, timeout=10) as resp:
        assert resp.status == 201


def log_lines_naming(path: str, names: tuple[str, ...]) -> list[str]:
    """dockdoctor's requests naming one of these tags in the access log, once it stops growing (written later)."""
    count, lines = -1, []
    for _ in range(20):
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
        if len(lines) == count:
            break
        count = len(lines)
        time.sleep(0.05)
    mine = [line for line in lines if '"dockdoctor/' in line]  # not the test's own PUTs
    return [line for line in mine if any(f"/manifests/{name} " in line for name in names)]


def imported(stderr: str) -> set[str]:
    """Module names from -X importtime's lines (`import time: self | cumulative | name`)."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.fixture
def fresh_tags(testenv: dict) -> dict[str, str]:
    """busybox:<amd64 copy> and busybox:<arm64 copy> under tags no other test names (letters only: no version)."""
    suffix = "".join(random.choices(string.ascii_lowercase, k=12))
    tags = {"amd64": f"lazy-amd-{suffix}", "arm64": f"lazy-arm-{suffix}"}
    for source, tag in tags.items():
        retag(testenv["registry"], source, tag)
    return tags


def test_a_warm_inspect_imports_no_http_code_and_sends_nothing(
    testenv: dict, tmp_path: Path, fresh_tags: dict[str, str]
) -> None:
    refs = [f"{testenv['registry']}/busybox:{tag}" for tag in fresh_tags.values()]
    names = tuple(fresh_tags.values())
    env = isolated_env(
        tmp_path, DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"), DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock"
    )
    args = ("inspect", "--platform", "linux/amd64", "--json", *refs)

    cold = dockdoctor(*args, env=env)  # exit 1: no engine answers (DKD201), which the registry lookups never need
    assert cold.code == 1, cold.stderr
    remote = cold.json()["facts"]["images"]["remote"]
    assert [(img["error"], img["from_cache"]) for img in remote] == [(None, False), (None, False)]
    sent = log_lines_naming(testenv["registry_log"], names)
    assert len(sent) == 2  # one GET by tag each (the log is read right)

    warm = dockdoctor(*args, env={**env, "PYTHONPROFILEIMPORTTIME": "1"})  # as -X importtime
    assert warm.code == 1, warm.stderr
    remote = warm.json()["facts"]["images"]["remote"]
    assert [(img["error"], img["from_cache"], img["platforms"][0]["platform"]) for img in remote] == [
        (None, True, "linux/amd64"),
        (None, True, "linux/arm64"),
    ]
    modules = imported(warm.stderr)
    assert "dockdoctor.probes.registry._client" in modules  # the lookups ran in this process
    assert modules & {"http.client", "ssl", "email.parser"} == set()
    assert log_lines_naming(testenv["registry_log"], names) == sent  # no request


FIRST_REQUEST_DRIVER = textwrap.dedent(
    """
    import json, sys

    first = {}

    def hook(event, args):
        if event == "http.client.send" and not first:  # the first request's bytes leave
            first["model"] = "dockdoctor.model" in sys.modules
            first["sent"] = True

    sys.addaudithook(hook)
    from dockdoctor.probes import early

    head = early.begin(sys.argv[1:], offline=False, refresh=False, timeout=20.0, deadline=None)
    head.targets.set_result(lambda: ())  # what gather() hands in when it claims them (no tag search)
    got = head.result.result(timeout=30)
    print(json.dumps({
        "first": first,
        "results": [[r.error.detail if r.error else None, [p.platform for p in r.platforms]] for r in got],
    }))
    """
)


def test_the_first_request_of_a_cold_lookup_leaves_before_the_model_is_imported(
    testenv: dict, tmp_path: Path, fresh_tags: dict[str, str]
) -> None:
    refs = [f"{testenv['registry']}/busybox:{tag}" for tag in fresh_tags.values()]
    env = isolated_env(tmp_path, DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=SRC)
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST_DRIVER, *refs],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["results"] == [[None, ["linux/amd64"]], [None, ["linux/arm64"]]]
    assert got["first"] == {"model": False, "sent": True}
