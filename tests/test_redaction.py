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
from support.recorded import engine_for, info_from_text, read_recording, version_from_text

from dockdoctor.model import Facts
from dockdoctor.redact import redact

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "engines"
USER = "alicewonder"
OTHER_USER = "bobotheruser"  # the engine's user, not the one running dockdoctor (Docker Desktop's label)
HOST = "planted-host-7q"
PROXY_PASSWORD = "hunter2-proxy-pw"
REGISTRY_PASSWORD = "s3cr3t-registry-pw"
ENV_SECRET = "tok-5f2a9c-env"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.planted-bearer-token"
DOTENV_SECRET = "dotenv-pw-93kd"
# every place in a project that holds user text, each with its own secret
PROJECT_SECRETS = {
    "ARG default of a secret name": "npm_PlantedArgDefault000000000000000000",
    "ARG default of a plain name, GitHub token format": "ghp_PlantedValueOnly0000000000000000000",
    "curl -u password in a RUN line": "curl-planted-pw",
    ".env last line": "dotenv-last-line-pw",
    "env_file value of a plain name": "envfile-plain-planted",
    "compose environment API_KEY": "apikey-planted-val",
    "compose environment GITHUB_PAT": "github_pat_Planted0000000000000000000000",
    "compose build arg": "buildarg-planted-tok",
    "compose label of a secret name": "label-planted-tok",
    "compose label, AWS key format": "AKIAPLANTED00000TEST",
    "compose label, Slack token format": "xoxb-planted-000000000000",
    "compose label, sk- key format": "sk-proj-Planted0penAiKey000000000000",
    "command --password=": "cmd-planted-pw1",
    "command -p": "cmd-planted-pw2",
    "command --token": "cmd-planted-tok3",
    "entrypoint --api-key=": "ep-planted-key4",
    "healthcheck mysqladmin -pSECRET": "mysql-planted-pw5",
    "compose config content, PEM block": "MIIplantedPEMbody",
}
SECRETS = (
    USER,
    OTHER_USER,
    HOST,
    PROXY_PASSWORD,
    REGISTRY_PASSWORD,
    ENV_SECRET,
    TOKEN,
    DOTENV_SECRET,
    *PROJECT_SECRETS.values(),
)
P = PROJECT_SECRETS

DOCKERFILE = f"""ARG NPM_TOKEN={P["ARG default of a secret name"]}
ARG BUILD_REF={P["ARG default of a plain name, GitHub token format"]}
ARG TARGETARCH=amd64
FROM node:20
ENV API_TOKEN=envline-planted-secret
RUN curl -fsSL -u deploy:{P["curl -u password in a RUN line"]} https://example.com/tool-x86_64.tar.gz | tar -xz
"""
COMPOSE = f"""services:
  db:
    image: postgres:16
    platform: linux/amd64
    environment:
      PASSWORD: ${{DOCKER_REGISTRY_PASSWORD}}
  web:
    build:
      context: .
      args:
        NPM_TOKEN: {P["compose build arg"]}
        TARGETARCH: amd64
    image: shop/web:1
    configs: [app_key]
    env_file: [app.env]
    environment:
      API_KEY: {P["compose environment API_KEY"]}
      GITHUB_PAT: {P["compose environment GITHUB_PAT"]}
    labels:
      com.example.deploy-token: {P["compose label of a secret name"]}
      com.example.aws: {P["compose label, AWS key format"]}
      com.example.hook: {P["compose label, Slack token format"]}
      com.example.ai: {P["compose label, sk- key format"]}
    command: ["serve", "--password={P["command --password="]}", "-p", "{P["command -p"]}",
              "--token", "{P["command --token"]}", "-p", "8080"]
    entrypoint: ["/bin/app", "--api-key={P["entrypoint --api-key="]}"]
    healthcheck:
      test: ["CMD", "mysqladmin", "ping", "-uroot", "-p{P["healthcheck mysqladmin -pSECRET"]}"]
configs:
  app_key:
    content: "-----BEGIN PRIVATE KEY-----\\n{P["compose config content, PEM block"]}\\n-----END PRIVATE KEY-----"
"""


def _planted_home(tmp_path: Path) -> Path:
    home = tmp_path / "home" / USER
    project = home / "shop"
    project.mkdir(parents=True)
    (project / ".env").write_text(
        f"DOCKER_DEFAULT_PLATFORM=linux/amd64\nDOCKER_REGISTRY_PASSWORD={DOTENV_SECRET}\n"
        f"COMPOSE_PROJECT_NAME=shop\nDB_PASSWORD={P['.env last line']}\n"
    )
    (project / "app.env").write_text(f"PLAIN_SETTING={P['env_file value of a plain name']}\n")
    (project / "compose.yaml").write_text(COMPOSE)
    (project / "Dockerfile").write_text(DOCKERFILE)
    cfg = home / ".docker"
    meta = cfg / "contexts" / "meta" / hashlib.sha256(b"build-box").hexdigest()
    meta.mkdir(parents=True)
    auth = base64.b64encode(f"{USER}:{REGISTRY_PASSWORD}".encode()).decode()
    (cfg / "config.json").write_text(
        json.dumps(
            {
                "auths": {"registry.corp.example:5000": {"auth": auth, "identitytoken": TOKEN}},
                "currentContext": "build-box",
                "proxies": {"default": {"httpProxy": f"http://{USER}:{PROXY_PASSWORD}@p:3128"}},
            }
        )
    )
    (meta / "meta.json").write_text(
        json.dumps(
            {
                "Name": "build-box",
                "Metadata": {"Description": f"{USER}'s box"},
                "Endpoints": {"docker": {"Host": f"unix://{home}/.colima/default/docker.sock"}},
            }
        )
    )
    return home


def _engine_with_planted_proxies():
    info = info_from_text(read_recording(RECORDED / "docker-info.linux-amd64.1.txt")[1])
    desktop = f"unix:///Users/{OTHER_USER}/Library/Containers/com.docker.docker/Data/docker-cli.sock"
    info.update(
        HttpProxy=f"http://{USER}:{PROXY_PASSWORD}@proxy.corp.example:3128",
        HttpsProxy=f"https://{USER}:{PROXY_PASSWORD}@proxy.corp.example:3129",
        NoProxy="localhost,.corp",
        Name=HOST,
        Labels=[
            f"owner={USER}",
            f"auth=Bearer {TOKEN}",
            f"com.docker.desktop.address={desktop}",
            f"home.windows=C:\\Users\\{OTHER_USER}\\AppData",
            f"home.silverblue=/var/home/{OTHER_USER}",
        ],
    )
    version = version_from_text(read_recording(RECORDED / "docker-version.linux-amd64.1.txt")[1])
    from support.recorded import RecordedEngine

    return RecordedEngine(info=info, version=version)


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root to set a host name")
@pytest.mark.skipif(not shutil.which("docker"), reason="the raw `docker compose config` answer needs compose v2")
def test_no_planted_secret_survives_in_any_output(tmp_path: Path) -> None:
    home = _planted_home(tmp_path)
    with _engine_with_planted_proxies() as engine:
        env = isolated_env(
            tmp_path,
            HOME=str(home),
            USER=USER,
            LOGNAME=USER,
            DOCKER_CONFIG=str(home / ".docker"),
            DOCKER_HOST=engine.base_url,
            DOCKER_PASSWORD=ENV_SECRET,
            COMPOSE_PROJECT_NAME="shop",
            DOCKER_DEFAULT_PLATFORM="linux/amd64",
        )
        uts = ("unshare", "--uts", "sh", "-c", f'hostname {HOST} && exec "$@"', "sh")
        project = home / "shop"
        runs = {
            "text": ("--format", "text"),
            "text -v": ("--format", "text", "-v"),
            "json": ("--format", "json"),
            "markdown": ("--format", "markdown"),
        }
        outputs = {
            name: dockdoctor(
                "check",
                *args,
                "--platform",
                "linux/arm64",
                "--save-facts",
                str(tmp_path / f"{name}.json"),
                env=env,
                prefix=uts,
                cwd=project,
            )
            for name, args in runs.items()
        }
        bundle = tmp_path / "bundle.zip"
        made = dockdoctor("report", "-o", str(bundle), env=env, prefix=uts, cwd=project)
        plain = tmp_path / "plain.zip"
        dockdoctor("report", "--no-redact", "-o", str(plain), env=env, prefix=uts, cwd=project)
    assert made.code == 0, made.stderr
    with zipfile.ZipFile(plain) as archive:  # every planted place really reaches the outputs unredacted
        everything = "".join(archive.read(name).decode() for name in archive.namelist())
    assert [where for where, secret in PROJECT_SECRETS.items() if secret not in everything] == []
    report = outputs["json"].json()
    facts = report["facts"]
    assert facts["engine"]["reachable"] and facts["redacted"]
    assert facts["engine"]["http_proxy"] == "http://<redacted>@proxy.corp.example:3128"
    assert (
        "com.docker.desktop.address=unix:///Users/<user>/Library/Containers/com.docker.docker/Data/"
        "docker-cli.sock" in facts["engine"]["labels"]
    )
    assert ["DOCKER_PASSWORD", "<redacted>"] in facts["environment"]
    assert ["DOCKER_DEFAULT_PLATFORM", "linux/amd64"] in facts["environment"]
    assert ["DOCKER_REGISTRY_PASSWORD", "<redacted>", ".env:2"] in facts["project"]["dotenv"]
    assert facts["project"]["dotenv_end"] == [4, "DB_PASSWORD=<redacted>"]
    # what diagnosis needs stays: non-secret ARG values, platforms, image references, service names
    args = {a["name"]: a["default"] for a in facts["project"]["dockerfiles"][0]["args"]}
    assert args == {"NPM_TOKEN": "<redacted>", "BUILD_REF": "<redacted>", "TARGETARCH": "amd64"}
    services = {s["name"]: s for s in facts["project"]["compose"]["services"]}
    assert services["db"]["platform"] == "linux/amd64" and services["web"]["image"] == "shop/web:1"
    assert any(f["id"] == "DKD605" for f in report["findings"])  # the RUN line was read, and quoted redacted
    texts = {f"{name} stdout": r.stdout + r.stderr for name, r in outputs.items()}
    texts |= {f"{name} saved facts": (tmp_path / f"{name}.json").read_text() for name in outputs}
    with zipfile.ZipFile(bundle) as archive:
        texts |= {f"bundle {name}": archive.read(name).decode() for name in archive.namelist()}
        assert "DOCKER_REGISTRY_PASSWORD" in archive.read("facts.json").decode()  # the project was scanned
        config = [n for n in archive.namelist() if "config --format json" in archive.read(n).decode()[:300]]
        assert config, archive.namelist()
        answer = archive.read(config[0]).decode()
    assert '"API_KEY": "<redacted>"' in answer and '"PLAIN_SETTING": "<redacted>"' in answer
    assert '"TARGETARCH": "amd64"' in answer and '"8080"' in answer and '"image": "shop/web:1"' in answer
    for where, text in texts.items():
        for secret in SECRETS + (str(tmp_path),):  # tmp_path holds the planted home directory
            assert secret not in text, f"{secret!r} leaked into {where}"
    assert not any(secret in made.stdout for secret in SECRETS)  # it names the bundle path the user gave


def test_docker_host_token_and_userinfo_are_redacted(tmp_path: Path) -> None:
    host = "tcp://deploy:dh-planted-pw@127.0.0.1:9?token=dh-planted-token&tls=0"
    env = isolated_env(tmp_path, DOCKER_HOST=host)
    outputs = [
        dockdoctor("check", "--no-project", "--timeout", "2", "--format", fmt, "-v", env=env)
        for fmt in ("text", "json", "markdown")
    ]
    facts = outputs[1].json()["facts"]
    assert facts["engine"]["endpoint"] == "tcp://<redacted>@127.0.0.1:9?token=<redacted>&tls=0"
    assert ["DOCKER_HOST", "tcp://<redacted>@127.0.0.1:9?token=<redacted>&tls=0"] in facts["environment"]
    for result in outputs:
        assert "dh-planted" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "host",
    [
        "tcp://deploy:dh-planted-pw@127.0.0.1:9?token=dh-planted-token&tls=0",
        "unix:///nonexistent/docker.sock?token=dh-planted-token",
    ],
)
def test_docker_host_token_is_hidden_in_every_command_and_error(tmp_path: Path, host: str) -> None:
    """Every command's output, the bundle, and one-line errors (which quote what they were given)."""
    env = isolated_env(tmp_path, DOCKER_HOST=host, DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    project = tmp_path / "app"
    project.mkdir()
    (project / "Dockerfile").write_text("FROM --platform=$BUILDPLATFORM alpine:3.20\n")
    bundle = tmp_path / "bundle.zip"
    runs = [
        ("check", "--timeout", "2", "--project", str(project)),
        ("check", "--timeout", "2", "--json"),
        ("inspect", "--timeout", "2", "busybox"),
        ("fix", "--dry-run", "--project", str(project)),
        ("fix", "--dry-run", "--json", "--project", str(project)),
        ("report", "--timeout", "2", "-o", str(bundle)),
        ("check", "--from", str(tmp_path / "facts?token=dh-planted-token")),  # a one-line error quoting it
        ("check", "--platform", "linux/amd64?token=dh-planted-token"),
    ]
    outputs = {" ".join(args): dockdoctor(*args, env=env, timeout=60) for args in runs}
    with zipfile.ZipFile(bundle) as archive:
        outputs["bundle"] = "".join(archive.read(name).decode() for name in archive.namelist())
    for where, result in outputs.items():
        text = result if isinstance(result, str) else result.stdout + result.stderr
        assert "Traceback" not in text, (where, text)
        assert "dh-planted" not in text, f"the DOCKER_HOST secret leaked into {where}: {text[:3000]}"
    assert "token=<redacted>" in outputs["check --timeout 2 --json"].stdout
    assert outputs[" ".join(runs[-2])].stderr.startswith("dockdoctor: ")


def test_fix_shows_real_paths_but_no_secret(tmp_path: Path) -> None:
    """`fix` gathers unredacted facts (its edits need the real paths); its plan, outcomes and `--json` still hide
    the DOCKER_HOST token, environment values and ARG defaults (the unix socket form leaked all of them)."""
    project = tmp_path / "app"
    project.mkdir()
    (project / "Dockerfile").write_text(
        f"FROM scratch\nARG NPM_TOKEN={P['ARG default of a secret name']}\nARG TARGETARCH=amd64\nCOPY app /app\n"
    )
    env = isolated_env(
        tmp_path,
        DOCKER_HOST=f"unix://{tmp_path}/no.sock?token=dh-planted-token",
        DOCKER_PASSWORD=ENV_SECRET,
        DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"),
    )
    common = ("fix", "--project", str(project), "--platform", "linux/amd64")
    outputs = {
        "plan": dockdoctor(*common, "--dry-run", env=env),
        "json": dockdoctor(*common, "--dry-run", "--json", env=env),
        "applied": dockdoctor(*common, "--only", "DKD604", "--yes", env=env),
    }
    for where, result in outputs.items():
        out = result.stdout + result.stderr
        assert "Traceback" not in out and result.code in (0, 1), (where, out)
        for secret in ("dh-planted-token", ENV_SECRET, P["ARG default of a secret name"]):
            assert secret not in out, f"{secret!r} leaked into fix {where}"
    assert f"edit {project / 'Dockerfile'}:" in outputs["plan"].stdout  # the real path, not ~ or <user>
    assert "DKD604 declare TARGETARCH without a default: fixed" in outputs["applied"].stdout
    assert (
        (project / "Dockerfile")
        .read_text()
        .startswith(f"FROM scratch\nARG NPM_TOKEN={P['ARG default of a secret name']}\n")
    )
    assert ["DOCKER_PASSWORD", "<redacted>"] in outputs["json"].json()["before"]["facts"]["environment"]


def test_no_redact_keeps_what_the_user_asked_for(tmp_path: Path) -> None:
    with engine_for("linux-amd64") as engine:
        env = isolated_env(tmp_path, DOCKER_HOST=engine.base_url, DOCKER_PASSWORD=ENV_SECRET)
        result = dockdoctor("check", "--json", "--no-redact", env=env)
    assert ["DOCKER_PASSWORD", ENV_SECRET] in result.json()["facts"]["environment"]
    assert result.json()["facts"]["redacted"] is False


def test_redact_registries_and_consistent_placeholders() -> None:
    from dockdoctor.model import EndpointRule, EngineFacts, HostFacts, ImageFacts, RemoteImage

    facts = Facts(
        host=HostFacts(os="linux", arch="amd64", machine="x86_64", hostname="ci-7", user="bob", home="/home/bob"),
        engine=EngineFacts(
            endpoint="unix:///home/bob/.docker/run/docker.sock",
            endpoint_rule=EndpointRule.DEFAULT,
            context="default",
            insecure_registries=("registry.corp.example:5000",),
        ),
        images=ImageFacts(
            remote=(
                RemoteImage(reference="registry.corp.example:5000/app:1", canonical="registry.corp.example:5000/app:1"),
                RemoteImage(reference="nginx", canonical="docker.io/library/nginx:latest"),
            )
        ),
    )
    plain = redact(facts)
    assert plain.engine.endpoint == "unix://~/.docker/run/docker.sock"
    assert plain.images.remote[0].canonical == "registry.corp.example:5000/app:1"
    hidden = redact(facts, registries=True)
    assert hidden.engine.insecure_registries == ("<registry-1>",)
    assert hidden.images.remote[0].canonical == "<registry-1>/app:1"
    assert hidden.images.remote[1].canonical == "docker.io/library/nginx:latest"
    assert (hidden.host.user, hidden.host.hostname, hidden.host.home) == ("<user>", "<host>", "~")
    assert redact(hidden) == hidden


SCRUBBED = [  # (text as found, what redaction makes of it): every rule of the module docstring
    ("ARG NPM_TOKEN=abc123", "ARG NPM_TOKEN=<redacted>"),
    ('ARG NPM_TOKEN="a b c"', 'ARG NPM_TOKEN="<redacted>"'),
    ("ENV LEGACY_SECRET legacy value", "ENV LEGACY_SECRET <redacted>"),
    ("ENV A=1 API_TOKEN=t0k B=2", "ENV A=1 API_TOKEN=<redacted> B=2"),
    ("tcp://h:2376?token=abc&x=1", "tcp://h:2376?token=<redacted>&x=1"),
    ("https://bob:pw@git.example/x.git", "https://<redacted>@git.example/x.git"),
    ("--build-arg GITHUB_PAT=xyz", "--build-arg GITHUB_PAT=<redacted>"),
    ("serve --password=pw1 --token tok2 --port 80", "serve --password=<redacted> --token <redacted> --port 80"),
    ('["serve", "-p", "pw3", "-p", "8080:80"]', '["serve", "-p", "<redacted>", "-p", "8080:80"]'),
    ("curl -u deploy:pw4 https://x", "curl -u deploy:<redacted> https://x"),
    (
        "echo x | docker login -u bot -p pw5 ghcr.io && sshpass -p pw6 ssh h",
        "echo x | docker login -u bot -p <redacted> ghcr.io && sshpass -p <redacted> ssh h",
    ),
    ("Authorization: Bearer abcdefgh12345678", "Authorization: Bearer <redacted>"),
    (
        '{"auth": "YWxpY2U6cHc=", "identitytoken": "x", "credsStore": "desktop"}',
        '{"auth": "<redacted>", "identitytoken": "<redacted>", "credsStore": "desktop"}',
    ),
    ("API_KEY: abc\n  apiKey: def", "API_KEY: <redacted>\n  apiKey: <redacted>"),
    ("note=ghp_" + "a" * 36, "note=<redacted>"),
    ("x github_pat_" + "B" * 30 + " glpat-" + "c" * 20 + " dckr_pat_" + "d" * 27, "x <redacted> <redacted> <redacted>"),
    ("npm_" + "E" * 36 + " xoxb-1234567890-abc sk-" + "f9" * 12 + "X", "<redacted> <redacted> <redacted>"),
    ("AKIAPLANTED00000TEST AIza" + "g" * 35, "<redacted> <redacted>"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-part", "jwt <redacted>"),
    ("k: -----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\nnext", "k: <redacted>\nnext"),
    ("SEED=4f9c0a1b2c3d4e5f60718293a4b5c6d7e8f9", "SEED=<redacted>"),
    ("BLOB=QmFzZTY0IGlzIG5vdCBlbmNyeXB0aW9uIQ==", "BLOB=<redacted>"),
    (
        "com.docker.desktop.address=unix:///Users/leeaain/Library/x.sock",
        "com.docker.desktop.address=unix:///Users/<user>/Library/x.sock",
    ),
    (
        "C:\\Users\\bob\\AppData C:/Users/bob/x /var/home/bob /home/carol/.cache",
        "C:\\Users\\<user>\\AppData C:/Users/<user>/x /var/home/<user> /home/<user>/.cache",
    ),
    ('"C:\\\\Users\\\\bob\\\\src"', '"C:\\\\Users\\\\<user>\\\\src"'),
]
KEPT = [  # what diagnosis needs, and look-alikes that are not secrets
    "ARG TARGETARCH=amd64",
    "FROM --platform=$BUILDPLATFORM node:20 AS build",
    "linux/arm64/v8",
    "ref=nginx@sha256:" + "a" * 64,
    "mkdir -p /app",
    "PATH=/usr/local/sbin:/usr/bin",
    "SSH_AUTH_SOCK=/tmp/agent",
    "NPM_TOKEN_FILE=/run/secrets/npm",
    "--mount=type=secret,id=npmrc",
    "image: node:20",
    "/home/linuxbrew/.linuxbrew /Users/Shared/x",
    "org.opencontainers.image.authors=Jane",
    "PWD=/src",
    "com.docker.compose.project=shop",
    "VERSION=1.2.3",
    "ghcr.io/acme/sk-learn-notebook-environment-2024:1",
    "DOCKER_DEFAULT_PLATFORM=linux/amd64",
]


@pytest.mark.parametrize(("text", "expected"), SCRUBBED, ids=[t[:30] for t, _ in SCRUBBED])
def test_each_rule_hides_its_secret(text: str, expected: str) -> None:
    from dockdoctor.redact import other_homes, scrub

    assert other_homes(scrub(text)) == expected
    assert other_homes(scrub(expected)) == expected  # idempotent


@pytest.mark.parametrize("text", KEPT)
def test_what_diagnosis_needs_is_kept(text: str) -> None:
    from dockdoctor.redact import other_homes, scrub

    assert other_homes(scrub(text)) == text


def test_project_fields_by_name_and_replayed_tickets_get_todays_rules() -> None:
    from dockdoctor.model import (
        ArgDefault,
        DockerfileFacts,
        EndpointRule,
        EngineFacts,
        HostFacts,
        Line,
        ProjectFacts,
        RawAnswer,
    )

    facts = Facts(
        host=HostFacts(os="linux", arch="amd64", machine="x86_64"),
        engine=EngineFacts(
            endpoint="unix:///var/run/docker.sock",
            endpoint_rule=EndpointRule.DEFAULT,
            context=None,
            labels=("com.docker.desktop.address=unix:///Users/zed/x.sock",),
        ),
        project=ProjectFacts(
            root="/src",
            dotenv_end=Line(3, "# the token is hunter2"),
            dockerfiles=(
                DockerfileFacts(
                    path="Dockerfile",
                    args=(
                        ArgDefault(name="DEPLOY_PASSWORD", default="pw", line=1, text="ARG DEPLOY_PASSWORD=pw"),
                        ArgDefault(name="TARGETARCH", default="amd64", line=2, text="ARG TARGETARCH=amd64"),
                    ),
                ),
            ),
        ),
        raw=(
            RawAnswer(
                probe="project",
                source="docker compose -f compose.yaml config --format json",
                text='exit 0\n--- stdout\n{"services": {"a": {"environment": {"X": "plain-x", '
                '"DOCKER_DEFAULT_PLATFORM": "linux/amd64"}, "command": ["-p", "pw"], '
                '"healthcheck": {"test": ["CMD", "mysqladmin", "ping", "-uroot", "-ps3cret", '
                '"-P3306"]}}}}\n'
                "--- stderr\n",
            ),
        ),
        redacted=True,
    )  # as an older dockdoctor would have left it
    hidden = redact(facts)
    assert hidden.engine.labels == ("com.docker.desktop.address=unix:///Users/<user>/x.sock",)
    assert hidden.project.dotenv_end == Line(3, "<redacted>")
    assert [(a.default, a.text) for a in hidden.project.dockerfiles[0].args] == [
        ("<redacted>", "ARG DEPLOY_PASSWORD=<redacted>"),
        ("amd64", "ARG TARGETARCH=amd64"),
    ]
    raw = json.loads(hidden.raw[0].text.split("--- stdout\n", 1)[1].split("--- stderr", 1)[0])
    assert raw["services"]["a"] == {
        "environment": {"X": "<redacted>", "DOCKER_DEFAULT_PLATFORM": "linux/amd64"},
        "command": ["-p", "<redacted>"],
        "healthcheck": {"test": ["CMD", "mysqladmin", "ping", "-uroot", "-p<redacted>", "-P3306"]},
    }
    assert redact(hidden) == hidden


def test_a_host_named_like_a_platform_word_keeps_the_platform_strings(tmp_path: Path) -> None:
    """Found by the parser fuzzing: a host named `arm64` turned `linux/arm64` into `linux/<host>`, the replay died."""
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "checks" / "DKD101" / "bad-rosetta-terminal.json"
    data = json.loads(fixture.read_text())
    data["host"]["hostname"] = "arm64"
    data["host"]["user"] = "linux"
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(data))
    result = dockdoctor("check", "--from", str(facts_file), "--json", env=isolated_env(tmp_path))
    assert result.code in (0, 1), result.stderr
    report = result.json()
    assert report["facts"]["host"]["hostname"] == "<host>" and report["facts"]["host"]["user"] == "<user>"
    assert report["facts"]["engine"]["platform"] == data["engine"]["platform"]
