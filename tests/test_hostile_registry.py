"""Hostile registries on loopback against the real CLI: nothing outside the cache is touched, odd documents are a
probe error on that image (never a traceback), and the run ends within its --timeout however the registry
behaves. No wall-clock assertions: the subprocess timeout is the bound (bench/registry_lifetime.py measures)."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from support.servers import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Answer,
    Registry,
    closed_port,
    documents,
    index_doc,
    json_body,
    manifest_doc,
    registry_server,
    sha256,
)

BOUND = 15  # seconds: the subprocess timeout that stands for "the process ended" with --timeout 3
AMD64 = {"os": "linux", "architecture": "amd64"}
CONFIG = json_body({"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": []}})


def env_for(tmp_path: Path) -> dict[str, str]:
    """No engine (a socket that does not exist, so it costs nothing), a cache of its own."""
    return isolated_env(
        tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock", DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache")
    )


def inspect(reg: Registry, tmp_path: Path, *extra: str, ref: str = "x/y:1", timeout: float = BOUND):
    result = dockdoctor("inspect", "--json", *extra, f"{reg.host}/{ref}", env=env_for(tmp_path), timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def remote_error(result) -> dict:
    (image,) = result.json()["facts"]["images"]["remote"]
    assert image["error"] is not None, image
    return image["error"]


def files_outside_cache(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "cache" not in p.relative_to(root).parts
    }


def test_a_well_formed_image_still_answers(tmp_path: Path) -> None:
    """The control: index -> manifest -> config from the same server, all digests valid."""
    manifest = manifest_doc(sha256(CONFIG))
    idx = index_doc([(sha256(manifest), OCI_MANIFEST, AMD64)])
    with registry_server(
        documents(
            {
                "manifests/1": (OCI_INDEX, idx),
                f"manifests/{sha256(manifest)}": (OCI_MANIFEST, manifest),
                f"blobs/{sha256(CONFIG)}": (OCI_CONFIG, CONFIG),
            }
        )
    ) as reg:
        one = inspect(reg, tmp_path, ref=f"x/y@{sha256(manifest)}")
        many = inspect(reg, tmp_path)
    for result in (one, many):
        (image,) = result.json()["facts"]["images"]["remote"]
        assert image["error"] is None and [p["platform"] for p in image["platforms"]] == ["linux/amd64"]


# --- digests never name a path ---------------------------------------------------------------------


def _traversal(victim: Path) -> str:
    return "sha256:" + "../" * 16 + str(victim).lstrip("/")


@pytest.mark.parametrize("where", ["index-child", "config"])
def test_traversal_digest_touches_nothing_outside_the_cache(tmp_path: Path, where: str) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    bad = _traversal(victim)
    doc = index_doc([(bad, OCI_INDEX, None)]) if where == "index-child" else manifest_doc(bad)
    media_type = OCI_INDEX if where == "index-child" else OCI_MANIFEST
    before = files_outside_cache(tmp_path)
    with registry_server(documents({"manifests/1": (media_type, doc)})) as reg:
        result = inspect(reg, tmp_path)
    assert victim.read_text() == "precious"
    assert files_outside_cache(tmp_path) == before
    assert reg.seen == ["GET /v2/x/y/manifests/1"]  # the bad digest named no URL either
    assert result.code == 1
    error = remote_error(result)
    assert error["kind"] == "protocol" and "is not a valid digest" in error["detail"]


def test_planted_symlink_in_the_cache_is_never_followed(tmp_path: Path) -> None:
    """A blob path that resolves outside the cache is not read and not removed (nor is its target)."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    idx = index_doc([(sha256(b"child"), OCI_MANIFEST, AMD64)])
    blob_dir = tmp_path / "cache" / "blobs" / "sha256"
    blob_dir.mkdir(parents=True)
    (blob_dir / sha256(idx).split(":")[1]).symlink_to(victim)
    with registry_server(
        documents({"manifests/1": (OCI_INDEX, idx), f"manifests/{sha256(idx)}": (OCI_INDEX, idx)})
    ) as reg:
        result = inspect(reg, tmp_path, ref=f"x/y@{sha256(idx)}")
    assert victim.read_text() == "precious"
    assert result.json()["facts"]["images"]["remote"][0]["error"] is None


def test_tag_entry_with_a_bad_digest_on_disk_is_a_miss(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    idx = index_doc([(sha256(b"child"), OCI_MANIFEST, AMD64)])
    with registry_server(documents({"manifests/1": (OCI_INDEX, idx)})) as reg:
        canonical = f"{reg.host}/x/y:1"
        tags = tmp_path / "cache" / "tags"
        tags.mkdir(parents=True)
        entry = {
            "format": 1,
            "reference": canonical,
            "digest": _traversal(victim),
            "body_digest": _traversal(victim),
            "media_type": OCI_INDEX,
            "fetched_at": time.time(),
        }
        (tags / (hashlib.sha256(canonical.encode()).hexdigest() + ".json")).write_text(json.dumps(entry))
        result = inspect(reg, tmp_path)
    assert victim.read_text() == "precious"
    image = result.json()["facts"]["images"]["remote"][0]
    assert image["error"] is None and image["digest"] == sha256(idx)  # asked the registry again


ODD_DIGESTS = {
    "shake": "shake_128:" + "a" * 64,
    "not-hex": "sha256:XYZ",
    "upper": "sha256:" + "A" * 64,
    "short": "sha256:" + "a" * 63,
    "sha512-short": "sha512:" + "a" * 64,
    "no-algorithm": "a" * 64,
    "number": 5,
}


@pytest.mark.parametrize("digest", ODD_DIGESTS.values(), ids=ODD_DIGESTS.keys())
@pytest.mark.parametrize("where", ["index-child", "platform-entry", "config", "attestation"])
def test_odd_digest_is_a_probe_error(tmp_path: Path, digest: object, where: str) -> None:
    if where == "attestation" and not isinstance(digest, str):
        pytest.skip("annotations that are not strings are ignored, not used")
    if where == "index-child":
        doc = index_doc([(digest, OCI_INDEX, None)])  # type: ignore[list-item]
    elif where == "platform-entry":
        doc = index_doc([(digest, OCI_MANIFEST, AMD64)])  # type: ignore[list-item]
    elif where == "config":
        doc = manifest_doc(digest)  # type: ignore[arg-type]
    else:
        doc = json_body(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [
                    {"mediaType": OCI_MANIFEST, "digest": sha256(b"a"), "size": 1, "platform": AMD64},
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": sha256(b"b"),
                        "size": 1,
                        "platform": {"os": "unknown", "architecture": "unknown"},
                        "annotations": {
                            "vnd.docker.reference.type": "attestation-manifest",
                            "vnd.docker.reference.digest": digest,
                        },
                    },
                ],
            }
        )
    media_type = OCI_MANIFEST if where == "config" else OCI_INDEX
    with registry_server(documents({"manifests/1": (media_type, doc)})) as reg:
        result = inspect(reg, tmp_path)
    assert result.code == 1
    error = remote_error(result)
    assert error["kind"] == "protocol" and "is not a valid digest" in error["detail"], error
    assert len(reg.seen) == 1


@pytest.mark.parametrize("header", ["shake_128:" + "a" * 64, "sha256:../../../../etc/passwd"])
def test_odd_docker_content_digest_header_is_a_probe_error(tmp_path: Path, header: str) -> None:
    doc = index_doc([(sha256(b"a"), OCI_MANIFEST, AMD64)])
    with registry_server(
        lambda m, p: Answer(200, {"Content-Type": OCI_INDEX, "Docker-Content-Digest": header}, doc)
    ) as reg:
        result = inspect(reg, tmp_path)
    error = remote_error(result)
    assert error["kind"] == "protocol" and "Docker-Content-Digest" in error["detail"]


# --- bounded work ----------------------------------------------------------------------------------


def test_deeply_nested_manifest_is_a_protocol_error(tmp_path: Path) -> None:
    with registry_server(lambda m, p: Answer(200, {"Content-Type": OCI_MANIFEST}, b"[" * 100_000)) as reg:
        result = inspect(reg, tmp_path)
    assert result.code == 1
    error = remote_error(result)
    assert error["kind"] == "protocol" and "nested too deeply" in error["detail"]


def test_document_of_a_million_objects_is_a_limit_error(tmp_path: Path) -> None:
    body = b'{"manifests":[' + b",".join([b"{}"] * 1_300_000) + b"]}"  # just under the 4 MiB cap
    with registry_server(lambda m, p: Answer(200, {"Content-Type": OCI_INDEX}, body)) as reg:
        result = inspect(reg, tmp_path)
    error = remote_error(result)
    assert error["kind"] == "limit" and "JSON objects and arrays" in error["detail"], error


def _fan_out(children: int, entries: int) -> dict[str, tuple[str, bytes]]:
    """An index of `children` child indexes, each of `entries` platform entries (all different digests)."""
    docs: dict[str, tuple[str, bytes]] = {}
    child_digests = []
    for c in range(children):
        child = index_doc([(sha256(f"{c}-{e}".encode()), OCI_MANIFEST, AMD64) for e in range(entries)])
        docs[f"manifests/{sha256(child)}"] = (OCI_INDEX, child)
        child_digests.append(sha256(child))
    docs["manifests/1"] = (OCI_INDEX, index_doc([(d, OCI_INDEX, None) for d in child_digests]))
    return docs


@pytest.mark.parametrize(
    ("children", "entries", "limit"),
    [
        (3000, 1, "index lists 3000 entries"),
        (40, 1, "more than 32 manifests and configs"),
        (3, 600, "more than the 1000 entries"),
    ],
)
def test_fan_out_stops_at_a_named_limit(tmp_path: Path, children: int, entries: int, limit: str) -> None:
    with registry_server(documents(_fan_out(children, entries))) as reg:
        result = inspect(reg, tmp_path)
    assert result.code == 1
    error = remote_error(result)
    assert error["kind"] == "limit" and limit in error["detail"], error
    assert len(reg.seen) <= 33


def test_indexes_nested_too_deep_is_a_limit_error(tmp_path: Path) -> None:
    docs: dict[str, tuple[str, bytes]] = {}
    inner = index_doc([(sha256(b"leaf"), OCI_MANIFEST, AMD64)])
    for _ in range(4):
        docs[f"manifests/{sha256(inner)}"] = (OCI_INDEX, inner)
        inner = index_doc([(sha256(inner), OCI_INDEX, None)])
    docs["manifests/1"] = (OCI_INDEX, inner)
    with registry_server(documents(docs)) as reg:
        result = inspect(reg, tmp_path)
    error = remote_error(result)
    assert error["kind"] == "limit" and "nested more than 2 deep" in error["detail"]


def test_retry_after_a_day_is_not_waited_for(tmp_path: Path) -> None:
    with registry_server(lambda m, p: Answer(503, {"Retry-After": "99999"}, b"")) as reg:
        result = inspect(reg, tmp_path, "--timeout", "20")
    error = remote_error(result)
    assert error["kind"] == "unreachable" and "retry after 99999 s" in error["detail"]
    assert len(reg.seen) == 1 and result.code == 1


def test_retry_after_longer_than_the_budget_is_not_waited_for(tmp_path: Path) -> None:
    with registry_server(lambda m, p: Answer(503, {"Retry-After": "60"}, b"")) as reg:
        result = inspect(reg, tmp_path, "--timeout", "20")
    assert remote_error(result)["kind"] == "unreachable" and len(reg.seen) == 1


@pytest.mark.parametrize("what", ["body", "headers"])
def test_trickling_registry_ends_with_the_budget(tmp_path: Path, what: str) -> None:
    """One byte every 2 s never trips a socket timeout; the run ends at --timeout with the report."""
    doc = index_doc([(sha256(b"a"), OCI_MANIFEST, AMD64)])

    def route(method: str, path: str) -> Answer:
        return Answer(200, {"Content-Type": OCI_INDEX}, doc, trickle=2.0, trickle_headers=what == "headers")

    with registry_server(route) as reg:
        result = inspect(reg, tmp_path, "--timeout", "3")
    error = remote_error(result)
    assert error["kind"] == "timeout", error
    assert result.code == 1


def test_check_of_a_project_naming_a_trickling_image_ends(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with registry_server(lambda m, p: Answer(200, {"Content-Type": OCI_INDEX}, b"{}" * 100, trickle=2.0)) as reg:
        (project / "Dockerfile").write_text(f"FROM {reg.host}/x/y:1\n")
        # a budget for a loaded machine: the project probe and the imports run before the lookup starts (with
        # --timeout 3 a busy machine ended the run before it); the trickle (200 bytes, one every 2 s) outlasts it
        result = dockdoctor(
            "check", "--json", "--timeout", "15", "--project", str(project), env=env_for(tmp_path), timeout=120
        )
    assert "Traceback" not in result.stderr, result.stderr
    remote = result.json()["facts"]["images"]["remote"]
    assert [r["error"]["kind"] for r in remote] == ["timeout"]


def test_credential_helper_that_hangs_ends_with_the_budget(tmp_path: Path) -> None:
    helper = tmp_path / "bin" / "docker-credential-stuck"
    helper.parent.mkdir()
    helper.write_text("#!/bin/sh\nexec sleep 60\n")
    helper.chmod(0o755)
    with registry_server(lambda m, p: Answer(401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")) as reg:
        env = env_for(tmp_path)
        (Path(env["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps({"credHelpers": {reg.host: "stuck"}}))
        env["PATH"] = f"{helper.parent}:{env['PATH']}"
        result = dockdoctor("inspect", "--json", "--timeout", "3", f"{reg.host}/x/y:1", env=env, timeout=BOUND)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.code == 1 and remote_error(result)["kind"] in ("auth-required", "timeout")


# --- one Ctrl-C: exit 130 -------------------------------------------------------------------------------


def test_one_ctrl_c_ends_the_run_with_130(tmp_path: Path) -> None:
    doc = index_doc([(sha256(b"a"), OCI_MANIFEST, AMD64)])
    with registry_server(lambda m, p: Answer(200, {"Content-Type": OCI_INDEX}, doc, trickle=2.0)) as reg:
        for attempt in range(5):
            seen = len(reg.seen)
            proc = subprocess.Popen(
                [sys.executable, "-m", "dockdoctor", "inspect", "--timeout", "60", f"{reg.host}/x/y:{attempt}"],
                env=env_for(tmp_path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=tmp_path,
            )
            try:
                for _ in range(200):  # until the registry holds it (the guard is the loop, not a speed goal)
                    if len(reg.seen) > seen or proc.poll() is not None:
                        break
                    time.sleep(0.05)
                time.sleep(0.05 * attempt)  # land in different places
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=BOUND)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            assert proc.returncode == 130, (attempt, proc.returncode, err)
            assert b"Traceback" not in err and b"interrupted" in err


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the threads' signal masks from /proc")
def test_only_the_main_thread_takes_ctrl_c(tmp_path: Path) -> None:
    """A SIGINT the kernel gives to a worker thread waited, unseen, until the main thread's wait ended (up to the
    whole --timeout: 1 Ctrl-C in 40 in bench/registry_lifetime.py). Every thread but the main one blocks it now."""
    doc = index_doc([(sha256(b"a"), OCI_MANIFEST, AMD64)])
    with registry_server(lambda m, p: Answer(200, {"Content-Type": OCI_INDEX}, doc, trickle=2.0)) as reg:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockdoctor", "inspect", "--timeout", "60", f"{reg.host}/x/y:1"],
            env=env_for(tmp_path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        try:
            for _ in range(400):  # until the registry holds it (the guard is the loop, not a speed goal)
                if reg.seen or proc.poll() is not None:
                    break
                time.sleep(0.05)
            masks = {}
            for task in Path(f"/proc/{proc.pid}/task").iterdir():
                status = (task / "status").read_text()
                masks[int(task.name)] = int(
                    next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16
                )
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=BOUND)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    sigint = 1 << (signal.SIGINT - 1)
    workers = {tid: mask for tid, mask in masks.items() if tid != proc.pid}
    assert workers and all(mask & sigint for mask in workers.values()), masks
    assert not masks[proc.pid] & sigint
    assert proc.returncode == 130, err


# --- usage errors and exit codes -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "0", "soon"])
@pytest.mark.parametrize("command", ["check", "inspect", "report", "fix"])
def test_timeout_must_be_a_finite_number_of_seconds(tmp_path: Path, command: str, value: str) -> None:
    args = [command, "--timeout", value] + {"inspect": ["busybox"], "fix": ["--dry-run"]}.get(command, [])
    result = dockdoctor(*args, env=env_for(tmp_path), timeout=BOUND)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--timeout" in lines[0] and value in lines[0], result.stderr


def test_inspect_empty_reference_is_a_usage_error(tmp_path: Path) -> None:
    result = dockdoctor("inspect", "", env=env_for(tmp_path), timeout=BOUND)
    assert result.code == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("dockdoctor: invalid image reference ''"), line


def test_inspect_of_an_unreachable_registry_exits_1(tmp_path: Path) -> None:
    result = dockdoctor("inspect", "--json", f"127.0.0.1:{closed_port()}/x/y:1", env=env_for(tmp_path), timeout=BOUND)
    assert result.code == 1
    report = result.json()
    assert [(f["id"], f["severity"]) for f in report["findings"] if f["id"] == "DKD307"] == [("DKD307", "error")]


# --- the same registries reached by a plain `check` of a project (audit of issue 10) ---------------------------


def test_check_of_a_compose_file_naming_a_traversal_image_touches_nothing(tmp_path: Path) -> None:
    """The issue's second way in: no `inspect`, a compose file that names the image and a plain `check`."""
    victim = tmp_path / "victim"
    victim.write_text("precious")
    before = files_outside_cache(tmp_path)
    index = index_doc([(_traversal(victim), OCI_INDEX, None)])
    config = manifest_doc(_traversal(victim))
    with registry_server(
        documents({"x/y/manifests/1": (OCI_INDEX, index), "x/z/manifests/1": (OCI_MANIFEST, config)})
    ) as reg:
        project = tmp_path / "project"
        project.mkdir()
        (project / "compose.yaml").write_text(
            f"services:\n  a:\n    image: {reg.host}/x/y:1\n  b:\n    image: {reg.host}/x/z:1\n"
        )
        before[str((project / "compose.yaml").relative_to(tmp_path))] = (project / "compose.yaml").read_bytes()
        result = dockdoctor(
            "check", "--timeout", "10", "--format", "json", env=env_for(tmp_path), cwd=project, timeout=60
        )
        text = dockdoctor("check", "--timeout", "10", env=env_for(tmp_path), cwd=project, timeout=60)
    assert "Traceback" not in result.stderr + text.stderr, result.stderr + text.stderr
    assert victim.read_text() == "precious" and files_outside_cache(tmp_path) == before
    errors = {r["reference"]: r["error"] for r in result.json()["facts"]["images"]["remote"]}
    assert len(errors) == 2 and all(
        e["kind"] == "protocol" and "is not a valid digest" in e["detail"] for e in errors.values()
    ), errors
    assert text.code == 1 and text.stdout.count("is not a valid digest") >= 2, text.stdout


ESCAPES = "\x1b]0;pwn\x07\x1b[2J\r\nForged: 0 errors"


def test_registry_strings_reach_the_text_report_escaped(tmp_path: Path) -> None:
    """An artifactType, a platform string, an error message and a Retry-After from the registry, shown by `check`
    and `inspect` in text and Markdown: visible `\\x1b`, no forged line."""
    artifact = json_body(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "app/x" + ESCAPES,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(b"{}"), "size": 2},
            "layers": [],
        }
    )
    odd_platform = index_doc([(sha256(b"a"), OCI_MANIFEST, {"os": "linux" + ESCAPES, "architecture": "amd64"})])
    denied = json_body({"errors": [{"code": "DENIED", "message": "denied" + ESCAPES}]})

    def route(method: str, path: str) -> Answer:
        if "/art/" in path:
            return Answer(200, {"Content-Type": OCI_MANIFEST}, artifact)
        if "/plat/" in path:
            return Answer(200, {"Content-Type": OCI_INDEX}, odd_platform)
        if "/busy/" in path:
            return Answer(503, {"Retry-After": "9" + ESCAPES}, b"")
        return Answer(
            403,
            {
                "Content-Type": "application/json",
                "WWW-Authenticate": 'Basic realm="r' + ESCAPES.replace("\r\n", " ") + '"',
            },
            denied,
        )

    with registry_server(route) as reg:
        refs = [f"{reg.host}/{name}/i:1" for name in ("art", "plat", "busy", "deny")]
        project = tmp_path / "project"
        project.mkdir()
        (project / "compose.yaml").write_text(
            "services:\n" + "".join(f"  s{i}:\n    image: {ref}\n" for i, ref in enumerate(refs))
        )
        env = env_for(tmp_path)
        outputs = [
            dockdoctor("check", "--timeout", "10", "-v", *fmt, env=env, cwd=project, timeout=60)
            for fmt in ((), ("--format", "markdown"))
        ]
        outputs += [
            dockdoctor("inspect", "--timeout", "10", *fmt, *refs, env=env, timeout=60)
            for fmt in ((), ("--format", "markdown"))
        ]
    for result in outputs:
        out = result.stdout + result.stderr
        assert "Traceback" not in out and result.code == 1, out
        assert "\x1b" not in out and "\x07" not in out and "\r" not in out, repr(out)
        assert not any(line.lstrip().startswith("Forged") for line in out.splitlines()), out
    assert "app/x\\x1b]0;pwn\\x07\\x1b[2J\\r\\nForged" in outputs[0].stdout  # shown, visibly


@pytest.mark.parametrize(
    ("platform", "error"),
    [
        (None, None),  # an entry without a platform: "unknown", which a replay takes
        ({"os": "linux" + ESCAPES, "architecture": "amd64"}, "is not a platform"),
        ({"os": "linux", "architecture": "amd64", "variant": "v1/x"}, "is not a platform"),
    ],
)
def test_saved_facts_of_any_registry_answer_replay(tmp_path: Path, platform: dict | None, error: str | None) -> None:
    """What the registry calls a platform is one, or the lookup is a protocol error: never facts that
    `check --from` then refuses (a hostile os string, and an entry without a platform, both did)."""
    doc = index_doc([(sha256(b"a"), OCI_MANIFEST, platform), (sha256(b"b"), OCI_MANIFEST, AMD64)])
    saved = tmp_path / "facts.json"
    with registry_server(lambda m, p: Answer(200, {"Content-Type": OCI_INDEX}, doc)) as reg:
        result = inspect(reg, tmp_path, "--save-facts", str(saved))
    (image,) = result.json()["facts"]["images"]["remote"]
    if error is None:
        assert image["error"] is None and [p["platform"] for p in image["platforms"]] == ["unknown", "linux/amd64"]
    else:
        assert image["error"]["kind"] == "protocol" and error in image["error"]["detail"], image
    replay = dockdoctor("check", "--from", str(saved), "--json", env=env_for(tmp_path), timeout=BOUND)
    assert replay.code in (0, 1), replay.stderr
    assert replay.json()["facts"]["images"]["remote"] == result.json()["facts"]["images"]["remote"]
