"""`inspect --deep` / `check --deep` against images built here with BuildKit and pushed to the test registry,
plus hostile images pushed through the registry API (a layer that is not gzip, a truncated layer, a layer past
the byte budget, a truncated ELF, a symbolic link loop)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest
import requests
from clirun import dockdoctor, isolated_env
from test_schema import validator

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
LS = "/bin/ls"


def _docker(testenv: dict, *args: str, **env: str) -> None:
    cmd = ["/usr/bin/docker", "-H", testenv["docker_host"], *args]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "1", "DOCKER_CONFIG": testenv["docker_config"], **env},
    )
    assert proc.returncode == 0, f"{cmd}: {proc.stderr[-2000:]}"


def _build_push(testenv: dict, ctx: Path, platform: str, name: str) -> str:
    ref = f"{testenv['registry']}/deep14/{name}:{uuid.uuid4().hex[:8]}"
    _docker(testenv, "build", "-q", "--platform", platform, "-t", ref, str(ctx))
    _docker(testenv, "push", "-q", ref)
    _docker(testenv, "rmi", ref)  # registry-only: the deep read must come from the registry
    return ref


def _run(testenv: dict, tmp_path: Path, *args: str, **extra: str):
    env = isolated_env(
        tmp_path, DOCKER_HOST=testenv["docker_host"], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"), **extra
    )
    result = dockdoctor(*args, env=env, timeout=180)
    assert "Traceback" not in result.stderr, result.stderr
    if "--json" in args:
        validator("report").validate(result.json())
    return result


def _found(report: dict) -> set[tuple[str, str]]:
    return {(f["id"], f["subject"]) for f in report["findings"]}


def _deep(report: dict, ref: str) -> list[dict]:
    return [d for d in report["facts"]["images"]["deep"] if d["reference"] == ref]


@pytest.fixture(scope="module")
def built(testenv: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The images BuildKit builds here (FROM scratch, so no emulation is needed), pushed to the test registry."""
    bb = {a: testenv[f"busybox_{a}"] for a in ("amd64", "arm64")}
    root = tmp_path_factory.mktemp("deep-images")
    refs = {}

    def ctx(name: str, dockerfile: str, files: dict[str, str | Path], links: dict[str, str] = {}) -> Path:  # noqa: B006
        d = root / name
        d.mkdir()
        (d / "Dockerfile").write_text(dockerfile)
        for rel, src in files.items():
            dest = d / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(src, Path):
                shutil.copy(src, dest)
            else:
                dest.write_text(src)
            dest.chmod(0o755)
        for rel, target in links.items():
            dest = d / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.symlink_to(target)
        return d

    # arm64 by its config, the amd64 busybox inside: a mis-tagged push
    refs["mistagged"] = _build_push(
        testenv,
        ctx(
            "mistagged",
            'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox", "echo", "hi"]\n',
            {"busybox": Path(bb["amd64"])},
        ),
        "linux/arm64",
        "mistagged",
    )
    # a script entrypoint whose interpreter is a link to busybox
    refs["script"] = _build_push(
        testenv,
        ctx(
            "script",
            'FROM scratch\nCOPY rootfs/ /\nENTRYPOINT ["/entry.sh"]\n',
            {"rootfs/bin/busybox": Path(bb["arm64"]), "rootfs/entry.sh": "#!/bin/sh\necho hi\n"},
            {"rootfs/bin/sh": "busybox"},
        ),
        "linux/arm64",
        "script",
    )
    # a command found along PATH through a directory link and an absolute link, in another layer than the binary
    refs["symlinked"] = _build_push(
        testenv,
        ctx(
            "symlinked",
            "FROM scratch\nCOPY busybox /bin/busybox\nCOPY links/ /\nENV PATH=/usr/local/bin:/usr/bin\n"
            'ENTRYPOINT ["sh", "-c", "echo hi"]\n',
            {"busybox": Path(bb["amd64"])},
            {"links/usr/bin": "../bin", "links/bin/sh": "/bin/busybox"},
        ),
        "linux/amd64",
        "symlinked",
    )
    # a glibc binary without its loader (amd64 image: the loader is missing; arm64 image: the binary is foreign)
    refs["noloader"] = _build_push(
        testenv,
        ctx("noloader", 'FROM scratch\nCOPY ls /bin/ls\nENTRYPOINT ["/bin/ls"]\n', {"ls": Path(LS)}),
        "linux/amd64",
        "noloader",
    )
    # a link loop, and a script whose interpreter is not in the image
    refs["loop"] = _build_push(
        testenv,
        ctx(
            "loop",
            'FROM scratch\nCOPY rootfs/ /\nENTRYPOINT ["/bin/a"]\n',
            {"rootfs/bin/busybox": Path(bb["amd64"])},
            {"rootfs/bin/a": "b", "rootfs/bin/b": "/bin/a"},
        ),
        "linux/amd64",
        "loop",
    )
    refs["nobash"] = _build_push(
        testenv,
        ctx(
            "nobash",
            'FROM scratch\nCOPY entry.sh /entry.sh\nENTRYPOINT ["/entry.sh"]\n',
            {"entry.sh": "#!/bin/bash\necho hi\n"},
        ),
        "linux/amd64",
        "nobash",
    )
    # an x86-64-v3 binary (gcc -Wl,-z,x86-64-v3 writes GNU_PROPERTY_X86_ISA_1_NEEDED)
    src = root / "v3src.c"
    src.write_text("int main(void) { return 0; }\n")
    v3 = root / "v3bin"
    subprocess.run(["gcc", "-O2", "-static", "-Wl,-z,x86-64-v3", "-o", str(v3), str(src)], check=True, timeout=120)
    refs["v3"] = _build_push(
        testenv, ctx("v3", 'FROM scratch\nCOPY v3 /app\nENTRYPOINT ["/app"]\n', {"v3": v3}), "linux/amd64", "v3"
    )
    return refs


def test_mistagged_binary_is_found_and_the_read_stops_early(
    testenv: dict, tmp_path: Path, built: dict[str, str]
) -> None:
    ref = built["mistagged"]
    report = _run(testenv, tmp_path, "inspect", "--deep", ref, "--platform", "linux/arm64", "--json").json()
    assert ("DKD340", ref) in _found(report)
    (d,) = _deep(report, ref)
    assert (d["platform"], d["entry"]["path"], d["entry"]["elf"]["arch"]) == ("linux/arm64", "/bin/busybox", "amd64")
    assert 0 < d["bytes_read"] < d["compressed_size"]
    again = _run(testenv, tmp_path, "inspect", "--deep", ref, "--platform", "linux/arm64", "--json").json()
    (d2,) = _deep(again, ref)
    assert d2["bytes_read"] == 0 and d2["entry"] == d["entry"]  # the layer index came from the cache


def test_script_and_links_resolve_without_findings(testenv: dict, tmp_path: Path, built: dict[str, str]) -> None:
    script, symlinked = built["script"], built["symlinked"]
    report = _run(testenv, tmp_path, "inspect", "--deep", script, symlinked, "--json").json()
    (s,) = _deep(report, script)
    assert (s["entry"]["kind"], s["entry"]["shebang"]) == ("script", "/bin/sh")
    assert (s["interpreter"]["path"], s["interpreter"]["elf"]["arch"]) == ("/bin/busybox", "arm64")
    assert s["interpreter"]["links"] == ["/bin/sh -> busybox"]
    (y,) = _deep(report, symlinked)
    assert y["entry"]["path"] == "/bin/busybox" and y["entry"]["elf"]["arch"] == "amd64"
    assert y["entry"]["links"] == ["/usr/bin -> ../bin", "/bin/sh -> /bin/busybox"]
    assert not {f["id"] for f in report["findings"]} & {"DKD340", "DKD341", "DKD343", "DKD344"}


def test_loader_isa_loop_and_missing_interpreter_through_check(
    testenv: dict, tmp_path: Path, built: dict[str, str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    services = {name: {"image": built[name]} for name in ("noloader", "loop", "nobash", "v3")}
    (project / "compose.yaml").write_text(json.dumps({"services": services}))
    report = _run(
        testenv,
        tmp_path,
        "check",
        "--deep",
        "--project",
        str(project),
        "--platform",
        "linux/amd64/v2",
        "--timeout",
        "60",
        "--json",
    ).json()
    found = _found(report)
    assert ("DKD341", built["noloader"]) in found
    assert ("DKD342", built["v3"]) in found
    assert ("DKD344", built["nobash"]) in found
    loop = [f for f in report["findings"] if f["id"] == "DKD343" and f["subject"] == built["loop"]]
    assert loop and "symbolic links" in loop[0]["message"]
    (n,) = _deep(report, built["noloader"])
    assert (n["loader"]["kind"], n["entry"]["elf"]["interpreter"]) == ("absent", "/lib64/ld-linux-x86-64.so.2")
    text = _run(
        testenv,
        tmp_path,
        "check",
        "--deep",
        "--project",
        str(project),
        "--platform",
        "linux/amd64/v2",
        "--timeout",
        "60",
    )
    assert "DKD341" in text.stdout and text.code == 1


# --- hostile images, pushed through the registry API --------------------------------------------------------


def _push_blob(base: str, repo: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = requests.post(f"{base}/v2/{repo}/blobs/uploads/", timeout=30)
    assert start.status_code == 202, start.text
    location = start.headers["Location"]
    location = location if location.startswith("http") else base + location
    sep = "&" if "?" in location else "?"
    put = requests.put(
        f"{location}{sep}digest={digest}", data=data, headers={"Content-Type": "application/octet-stream"}, timeout=60
    )
    assert put.status_code == 201, put.text
    return digest


def _push_image(
    testenv: dict, name: str, layers: list[bytes], *, arch: str = "amd64", entrypoint: tuple[str, ...] = ("/app",)
) -> str:
    base, repo, tag = f"http://{testenv['registry']}", f"deep14/{name}", uuid.uuid4().hex[:8]
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Entrypoint": list(entrypoint)},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    ).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _push_blob(base, repo, config), "size": len(config)},
        "layers": [
            {"mediaType": GZIP_LAYER, "digest": _push_blob(base, repo, data), "size": len(data)} for data in layers
        ],
    }
    put = requests.put(
        f"{base}/v2/{repo}/manifests/{tag}",
        data=json.dumps(manifest),
        headers={"Content-Type": OCI_MANIFEST},
        timeout=30,
    )
    assert put.status_code == 201, put.text
    return f"{testenv['registry']}/{repo}:{tag}"


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_hostile_layers_are_findings_not_tracebacks(testenv: dict, tmp_path: Path) -> None:
    busybox = Path(testenv["busybox_amd64"]).read_bytes()
    good = gzip.compress(_tar({"app": busybox}), 6)
    refs = {
        "not-gzip": _push_image(testenv, "notgzip", [_tar({"app": busybox})]),
        "truncated": _push_image(testenv, "truncated", [good[:300]]),  # cut before the file's head
        "budget": _push_image(
            testenv, "budget", [gzip.compress(_tar({"noise": os.urandom(3 << 20), "app": busybox}), 1)]
        ),
    }
    bad_elf = _push_image(testenv, "badelf", [gzip.compress(_tar({"app": busybox[:40]}))])
    report = _run(
        testenv,
        tmp_path,
        "inspect",
        "--deep",
        *refs.values(),
        bad_elf,
        "--platform",
        "linux/amd64",
        "--json",
        DOCKDOCTOR_DEEP_BUDGET="1",
    ).json()
    kinds = {d["reference"]: (d["error"] or {}).get("kind") for d in report["facts"]["images"]["deep"]}
    assert kinds[refs["not-gzip"]] == "not-gzip"
    assert kinds[refs["truncated"]] in ("truncated", "corrupt")
    assert kinds[refs["budget"]] == "limit"
    assert {("DKD343", ref) for ref in refs.values()} <= _found(report)
    (b,) = _deep(report, bad_elf)
    assert b["entry"]["kind"] == "bad-elf" and ("DKD344", bad_elf) in _found(report)
    budget = next(d for d in report["facts"]["images"]["deep"] if d["reference"] == refs["budget"])
    assert budget["bytes_read"] <= (1 << 20) + (1 << 16)  # stopped at the budget, one chunk past it at most


def test_layers_of_an_authenticating_registry_use_the_same_credentials(testenv: dict, tmp_path: Path) -> None:
    import base64

    ref = testenv["images"]["auth_arm64"]
    cfg = tmp_path / "docker-config"
    cfg.mkdir(exist_ok=True)
    token = base64.b64encode(f"{testenv['registry_user']}:{testenv['registry_password']}".encode()).decode()
    (cfg / "config.json").write_text(json.dumps({"auths": {testenv["registry_auth"]: {"auth": token}}}))
    report = _run(testenv, tmp_path, "inspect", "--deep", ref, "--platform", "linux/arm64", "--json").json()
    (d,) = _deep(report, ref)
    assert d["error"] is None and d["entry"]["elf"]["arch"] == "arm64" and d["bytes_read"] > 0
    assert not {f["id"] for f in report["findings"]} & {"DKD340", "DKD343"}
    # without credentials the lookup itself fails: no layer is asked for
    (tmp_path / "anon").mkdir()
    anon = _run(testenv, tmp_path / "anon", "inspect", "--deep", ref, "--platform", "linux/arm64", "--json").json()
    assert anon["facts"]["images"]["deep"] == []


def test_local_only_image_is_reported_not_exported(testenv: dict, tmp_path: Path) -> None:
    ref = testenv["images"]["local_amd64"]
    report = _run(testenv, tmp_path, "inspect", "--deep", ref, "--platform", "linux/amd64", "--json").json()
    (d,) = _deep(report, ref)
    assert d["error"]["kind"] == "local-only" and d["bytes_read"] == 0
    assert ("DKD343", ref) in _found(report)


def test_zstd_layers_built_by_buildkit(testenv: dict, tmp_path: Path) -> None:
    """BuildKit on the containerd-store engine writes zstd layers; without the optional `zstandard` package the
    read is one clear DKD343 finding, with it the entrypoint is read like a gzip layer's."""
    plugin = Path(testenv.get("buildx_plugin") or "")
    if not plugin.is_file() or not testenv.get("docker_host_c8d"):
        pytest.skip("no buildx plugin or containerd-store engine in this test environment")
    cfg = tmp_path / "buildx-config"
    (cfg / "cli-plugins").mkdir(parents=True)
    (cfg / "cli-plugins" / "docker-buildx").symlink_to(plugin)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    shutil.copy(testenv["busybox_amd64"], ctx / "busybox")
    (ctx / "Dockerfile").write_text('FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\n')
    ref = f"{testenv['registry']}/deep14/zstd:{uuid.uuid4().hex[:8]}"
    out = f"type=image,name={ref},push=true,compression=zstd,force-compression=true,registry.insecure=true"
    proc = subprocess.run(
        [
            testenv["docker_cli"],
            "-H",
            testenv["docker_host_c8d"],
            "buildx",
            "build",
            "--platform",
            "linux/amd64",
            "--output",
            out,
            str(ctx),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DOCKER_CONFIG": str(cfg)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    subprocess.run(
        [testenv["docker_cli"], "-H", testenv["docker_host_c8d"], "rmi", ref],
        capture_output=True,
        timeout=60,
        check=False,
    )  # the exporter also stored it in the engine: registry-only from here
    report = _run(testenv, tmp_path, "inspect", "--deep", ref, "--platform", "linux/amd64", "--json").json()
    (d,) = _deep(report, ref)
    if d["error"] is not None:  # the CLI's interpreter has no zstandard
        assert d["error"]["kind"] == "unsupported" and "zstandard" in d["error"]["detail"]
        assert ("DKD343", ref) in _found(report)
    else:
        assert d["entry"]["elf"]["arch"] == "amd64" and d["bytes_read"] < d["compressed_size"]
