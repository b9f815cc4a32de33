"""Planted secrets never leave the machine: not in text, JSON, Markdown, saved facts or the support bundle."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from clirun import dockdoctor, isolated_env
from dockdoctor.model import Facts
from dockdoctor.redact import redact
from support.recorded import engine_for, info_from_text, read_recording, version_from_text

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "engines"
USER = "alicewonder"
HOST = "planted-host-7q"
PROXY_PASSWORD = "hunter2-proxy-pw"
REGISTRY_PASSWORD = "s3cr3t-registry-pw"
ENV_SECRET = "tok-5f2a9c-env"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.planted-bearer-token"
SECRETS = (USER, HOST, PROXY_PASSWORD, REGISTRY_PASSWORD, ENV_SECRET, TOKEN, "dotenv-pw-93kd")


DOTENV_SECRET = "dotenv-pw-93kd"


def _planted_home(tmp_path: Path) -> Path:
    home = tmp_path / "home" / USER
    project = home / "shop"
    project.mkdir(parents=True)
    (project / ".env").write_text(f"DOCKER_DEFAULT_PLATFORM=linux/amd64\nDOCKER_REGISTRY_PASSWORD={DOTENV_SECRET}\n"
                                  f"COMPOSE_PROJECT_NAME=shop\n")
    (project / "compose.yaml").write_text("services:\n  db:\n    image: postgres:16\n    environment:\n"
                                          "      PASSWORD: ${DOCKER_REGISTRY_PASSWORD}\n")
    cfg = home / ".docker"
    meta = cfg / "contexts" / "meta" / hashlib.sha256(b"build-box").hexdigest()
    meta.mkdir(parents=True)
    auth = base64.b64encode(f"{USER}:{REGISTRY_PASSWORD}".encode()).decode()
    (cfg / "config.json").write_text(json.dumps({
        "auths": {"registry.corp.example:5000": {"auth": auth, "identitytoken": TOKEN}},
        "currentContext": "build-box", "proxies": {"default": {"httpProxy": f"http://{USER}:{PROXY_PASSWORD}@p:3128"}}}))
    (meta / "meta.json").write_text(json.dumps({
        "Name": "build-box", "Metadata": {"Description": f"{USER}'s box"},
        "Endpoints": {"docker": {"Host": f"unix://{home}/.colima/default/docker.sock"}}}))
    return home


def _engine_with_planted_proxies():
    info = info_from_text(read_recording(RECORDED / "docker-info.linux-amd64.1.txt")[1])
    info.update(HttpProxy=f"http://{USER}:{PROXY_PASSWORD}@proxy.corp.example:3128",
                HttpsProxy=f"https://{USER}:{PROXY_PASSWORD}@proxy.corp.example:3129", NoProxy="localhost,.corp",
                Name=HOST, Labels=[f"owner={USER}", f"auth=Bearer {TOKEN}"])
    version = version_from_text(read_recording(RECORDED / "docker-version.linux-amd64.1.txt")[1])
    from support.recorded import RecordedEngine

    return RecordedEngine(info=info, version=version)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root to set a host name")
def test_no_planted_secret_survives_in_any_output(tmp_path: Path) -> None:
    home = _planted_home(tmp_path)
    with _engine_with_planted_proxies() as engine:
        env = isolated_env(tmp_path, HOME=str(home), USER=USER, LOGNAME=USER, DOCKER_CONFIG=str(home / ".docker"),
                           DOCKER_HOST=engine.base_url, DOCKER_PASSWORD=ENV_SECRET,
                           COMPOSE_PROJECT_NAME="shop", DOCKER_DEFAULT_PLATFORM="linux/amd64")
        uts = ("unshare", "--uts", "sh", "-c", f'hostname {HOST} && exec "$@"', "sh")
        project = home / "shop"
        outputs = {fmt: dockdoctor("check", "--format", fmt, "--save-facts", str(tmp_path / f"{fmt}.json"),
                                   env=env, prefix=uts, cwd=project) for fmt in ("text", "json", "markdown")}
        bundle = tmp_path / "bundle.zip"
        made = dockdoctor("report", "-o", str(bundle), env=env, prefix=uts, cwd=project)
    assert made.code == 0, made.stderr
    report = outputs["json"].json()
    assert report["facts"]["engine"]["reachable"] and report["facts"]["redacted"]
    assert report["facts"]["engine"]["http_proxy"] == "http://<redacted>@proxy.corp.example:3128"
    assert ["DOCKER_PASSWORD", "<redacted>"] in report["facts"]["environment"]
    assert ["DOCKER_DEFAULT_PLATFORM", "linux/amd64"] in report["facts"]["environment"]
    assert ["DOCKER_REGISTRY_PASSWORD", "<redacted>", ".env:2"] in report["facts"]["project"]["dotenv"]
    texts = {f"{fmt} stdout": r.stdout + r.stderr for fmt, r in outputs.items()}
    texts |= {f"{fmt} saved facts": (tmp_path / f"{fmt}.json").read_text() for fmt in outputs}
    with zipfile.ZipFile(bundle) as archive:
        texts |= {f"bundle {name}": archive.read(name).decode() for name in archive.namelist()}
        assert "DOCKER_REGISTRY_PASSWORD" in archive.read("facts.json").decode()  # the project was scanned
        assert any(name.startswith("raw/") for name in archive.namelist())
    for where, text in texts.items():
        for secret in SECRETS + (str(tmp_path),):  # tmp_path holds the planted home directory
            assert secret not in text, f"{secret!r} leaked into {where}"
    assert not any(secret in made.stdout for secret in SECRETS)  # it names the bundle path the user gave


def test_no_redact_keeps_what_the_user_asked_for(tmp_path: Path) -> None:
    with engine_for("linux-amd64") as engine:
        env = isolated_env(tmp_path, DOCKER_HOST=engine.base_url, DOCKER_PASSWORD=ENV_SECRET)
        result = dockdoctor("check", "--json", "--no-redact", env=env)
    assert ["DOCKER_PASSWORD", ENV_SECRET] in result.json()["facts"]["environment"]
    assert result.json()["facts"]["redacted"] is False


def test_redact_registries_and_consistent_placeholders() -> None:
    from dockdoctor.model import EndpointRule, EngineFacts, HostFacts, ImageFacts, RemoteImage

    facts = Facts(host=HostFacts(os="linux", arch="amd64", machine="x86_64", hostname="ci-7", user="bob",
                                 home="/home/bob"),
                  engine=EngineFacts(endpoint="unix:///home/bob/.docker/run/docker.sock", endpoint_rule=EndpointRule.DEFAULT,
                                     context="default", insecure_registries=("registry.corp.example:5000",)),
                  images=ImageFacts(remote=(RemoteImage(reference="registry.corp.example:5000/app:1",
                                                        canonical="registry.corp.example:5000/app:1"),
                                            RemoteImage(reference="nginx", canonical="docker.io/library/nginx:latest"))))
    plain = redact(facts)
    assert plain.engine.endpoint == "unix://~/.docker/run/docker.sock"
    assert plain.images.remote[0].canonical == "registry.corp.example:5000/app:1"
    hidden = redact(facts, registries=True)
    assert hidden.engine.insecure_registries == ("<registry-1>",)
    assert hidden.images.remote[0].canonical == "<registry-1>/app:1"
    assert hidden.images.remote[1].canonical == "docker.io/library/nginx:latest"
    assert (hidden.host.user, hidden.host.hostname, hidden.host.home) == ("<user>", "<host>", "~")
    assert redact(hidden) == hidden
