"""Compose files: our own resolution, the `docker compose config` model, and both compared with the real tools."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from dockdoctor.model import ComposeProject, Interpolated, Location, Origin, ServiceBuild, ServiceFacts
from dockdoctor.project.compose import from_config_json, parse_compose, service_lines

DATA = Path(__file__).parent / "data"
V2 = ("docker", "compose")
V1 = "/usr/bin/docker-compose"


def _one(text: str, env: dict[str, str] | None = None, **kwargs: object) -> ComposeProject:
    return parse_compose([("compose.yaml", text)], env=env or {}, **kwargs)  # type: ignore[arg-type]


def _svc(project: ComposeProject, name: str) -> ServiceFacts:
    return next(s for s in project.services if s.name == name)


# (compose.yaml text, env, service, expected image, platform, build)
RESOLUTION: tuple[tuple[str, dict[str, str], str, str | None, str | None, ServiceBuild | None], ...] = (
    ("services:\n  web:\n    image: nginx\n    platform: linux/amd64\n", {}, "web", "nginx", "linux/amd64", None),
    ("services:\n  web:\n    image: nginx:${TAG:-1.27}\n", {}, "web", "nginx:1.27", None, None),
    ("services:\n  web:\n    image: nginx:${TAG:-1.27}\n", {"TAG": "2"}, "web", "nginx:2", None, None),
    ("services:\n  web:\n    image: $${NOT_A_VAR}\n", {"NOT_A_VAR": "x"}, "web", "${NOT_A_VAR}", None, None),
    ("services:\n  app:\n    build: ./app\n", {}, "app", None, None, ServiceBuild(context="./app")),
    (
        "services:\n  app:\n    build:\n      dockerfile: Dockerfile.dev\n      target: dev\n"
        '      platforms: [linux/amd64, "linux/arm64"]\n',
        {},
        "app",
        None,
        None,
        ServiceBuild(context=".", dockerfile="Dockerfile.dev", target="dev", platforms=("linux/amd64", "linux/arm64")),
    ),
    (
        "x-base: &base\n  platform: linux/amd64\n  image: base\nservices:\n  app:\n    <<: *base\n    image: mine\n",
        {},
        "app",
        "mine",
        "linux/amd64",
        None,
    ),
    (
        "x-a: &a {platform: linux/arm64}\nx-b: &b {platform: linux/amd64, image: b}\nservices:\n"
        "  app:\n    <<: [*a, *b]\n",
        {},
        "app",
        "b",
        "linux/arm64",
        None,
    ),
    (
        "services:\n  base:\n    image: base\n    platform: linux/amd64\n  app:\n    extends: base\n    image: app\n",
        {},
        "app",
        "app",
        "linux/amd64",
        None,
    ),
    (
        "services:\n  base:\n    build: ./b\n  app:\n    extends:\n      service: base\n    platform: linux/arm64\n",
        {},
        "app",
        None,
        "linux/arm64",
        ServiceBuild(context="./b"),
    ),
    ("services:\n  web:\n", {}, "web", None, None, None),
    (
        "services:\n  web:\n    image: 'nginx'\n    platform: ${P:+linux/${P}}\n",
        {"P": "arm64"},
        "web",
        "nginx",
        "linux/arm64",
        None,
    ),
)


@pytest.mark.parametrize(("text", "env", "name", "image", "platform", "build"), RESOLUTION)
def test_resolution(
    text: str, env: dict[str, str], name: str, image: str | None, platform: str | None, build: ServiceBuild | None
) -> None:
    project = _one(text, env)
    assert project.error is None
    service = _svc(project, name)
    assert (service.image, service.platform, service.build) == (image, platform, build)
    assert project.resolved_by == "dockdoctor"


# (text, error kind, error detail)
ERRORS: tuple[tuple[str, str, str], ...] = (
    (
        "services:\n  db:\n    image: postgres\n   platform: x\n",
        "parse",
        "compose.yaml:4: expected <block end>, but found '<block mapping start>'",
    ),
    ("services:\n  web:\n    image: a: b\n", "parse", "compose.yaml:3: mapping values are not allowed here"),
    (
        "services:\n  db:\n    image: postgres:${DB_TAG:?}\n",
        "config",
        "compose.yaml:3: required variable DB_TAG is missing a value: set it in .env or the environment",
    ),
    (
        "services:\n  db:\n    image: postgres:${DB_TAG:?pin the tag}\n",
        "config",
        "compose.yaml:3: required variable DB_TAG is missing a value: pin the tag (set it in .env or the environment)",
    ),
    ("services:\n  db:\n    image: ${ bad}\n", "config", "compose.yaml:3: invalid template '${ bad}'"),
    (
        "services:\n  db:\n    image: a\n    image: b\n",
        "config",
        "compose.yaml:4: mapping key 'image' already defined at line 3",
    ),
    ("- a\n- b\n", "config", "compose.yaml:1: the top level must be a mapping"),
    ("services: [a]\n", "config", "compose.yaml: services must be a mapping"),
    ("services:\n  a:\n    extends: missing\n", "config", "compose.yaml: service 'a' extends 'missing'"),
    ("services:\n  a:\n    extends: b\n  b:\n    extends: a\n", "config", "compose.yaml: service 'a' extends itself"),
    ("a: &a [*a]\n", "config", "compose.yaml:1: too many nested or aliased values"),
)


@pytest.mark.parametrize(("text", "kind", "detail"), ERRORS)
def test_errors_name_file_and_line(text: str, kind: str, detail: str) -> None:
    project = _one(text)
    assert project.error is not None and project.services == ()
    assert (project.error.probe, project.error.kind) == ("project", kind)
    assert project.error.detail.startswith(detail), project.error.detail


def test_billion_laughs_is_refused() -> None:
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    project = _one(text)
    assert project.error is not None and "too many" in project.error.detail


def test_origins_name_file_line_and_variable_source() -> None:
    base = (
        "services:\n  api:\n    image: api:${TAG}\n    platform: ${API_PLATFORM:-linux/amd64}\n"
        "    build:\n      context: .\n      platforms:\n        - linux/${ARCH}\n"
    )
    override = "services:\n  api:\n    platform: linux/arm64\n"
    env = {"TAG": "1", "ARCH": "arm64"}
    sources = {"TAG": Location(".env", 3)}
    project = parse_compose([("compose.yaml", base)], env=env, env_sources=sources)
    arch = (Interpolated("ARCH"),)  # from the environment
    assert _svc(project, "api").origins == (
        Origin("image", "compose.yaml", 3, via=(Interpolated("TAG", ".env", 3),)),
        Origin("platform", "compose.yaml", 4),  # the default in the file supplied it
        Origin("build", "compose.yaml", 5, via=arch),
        Origin("build.platforms", "compose.yaml", 7, via=arch),
    )
    assert [o.source for o in _svc(project, "api").origins] == [  # as facts files and messages write them
        "compose.yaml:3 via ${TAG} from .env:3",
        "compose.yaml:4",
        "compose.yaml:5 via ${ARCH} from environment",
        "compose.yaml:7 via ${ARCH} from environment",
    ]
    merged = parse_compose([("compose.yaml", base), ("compose.override.yaml", override)], env=env, env_sources=sources)
    assert _svc(merged, "api").platform == "linux/arm64"
    assert Origin("platform", "compose.override.yaml", 3) in _svc(merged, "api").origins


def test_merge_rules() -> None:
    base = (
        "version: '3.7'\nservices:\n  a:\n    build: ./a\n    image: a\n  b:\n    build:\n"
        "      context: b\n      platforms: [linux/amd64]\n"
    )
    override = (
        "services:\n  a:\n    build:\n      dockerfile: D\n  b:\n    build:\n"
        "      platforms: [linux/arm64, linux/amd64]\n  c:\n    image: c\n"
    )
    project = parse_compose([("/p/compose.yaml", base), ("/p/o.yaml", override)], env={})
    assert project.version_key == "3.7"
    assert [s.name for s in project.services] == ["a", "b", "c"]
    assert _svc(project, "a").build == ServiceBuild(context="/p/a", dockerfile="D")  # absolute file: absolute context
    assert _svc(project, "b").build == ServiceBuild(
        context="/p/b", platforms=("linux/amd64", "linux/arm64", "linux/amd64")
    )


def test_extends_from_another_given_file() -> None:
    common = "services:\n  base:\n    image: base:1\n    platform: linux/amd64\n"
    main = "services:\n  app:\n    extends:\n      file: common.yaml\n      service: base\n"
    project = parse_compose([("/p/compose.yaml", main), ("/p/common.yaml", common)], env={})
    assert project.error is None
    app = _svc(project, "app")
    assert (app.image, app.platform) == ("base:1", "linux/amd64")
    assert Origin("platform", "/p/common.yaml", 4) in app.origins
    missing = parse_compose([("/p/compose.yaml", main)], env={})
    assert missing.error is not None and "common.yaml, which was not given" in missing.error.detail


def test_service_lines() -> None:
    text = "services:\n  web:\n    image: nginx\n    build:\n      context: .\n      platforms: [linux/amd64]\n"
    assert service_lines("compose.yaml", text) == {
        "web": {"": 2, "image": 3, "build": 4, "build.context": 5, "build.platforms": 6}
    }
    assert service_lines("compose.yaml", "a: b: c") == {}


@pytest.mark.parametrize(
    ("name", "files"), [("single", ("compose.yaml",)), ("multi", ("compose.yaml", "compose.override.yaml"))]
)
def test_recorded_config_json_agrees_with_our_resolution(name: str, files: tuple[str, ...]) -> None:
    recorded = from_config_json((DATA / f"{name}-config.json").read_text(), files=files)
    assert recorded.resolved_by == "docker compose config" and recorded.error is None
    assert all(o.source == "docker compose config" for s in recorded.services for o in s.origins)
    folder = DATA / name
    env = {"API_PLATFORM": "linux/arm64"} if name == "multi" else {}
    recorded_at = json.loads((DATA / f"{name}-config.json").read_text())["_source"].split("&&")[0][3:].strip()
    ours = parse_compose([(f"/work/main/{recorded_at}/{f}", (folder / f).read_text()) for f in files], env=env)
    assert _without_origins(ours.services) == _without_origins(recorded.services)


def test_from_config_json_fields_and_errors() -> None:
    project = from_config_json((DATA / "multi-config.json").read_text(), files=("compose.yaml",))
    api = _svc(project, "api")
    assert api.platform == "linux/arm64" and api.build is not None
    assert api.build.platforms == ("linux/amd64", "linux/arm64") and api.build.target == "prod"
    assert api.origins == (
        Origin("platform", resolved_by="docker compose config"),
        Origin("build", resolved_by="docker compose config"),
        Origin("build.platforms", resolved_by="docker compose config"),
    )
    assert all(o.location is None for o in api.origins)
    broken = from_config_json("{\n  nope", files=("compose.yaml",))
    assert (
        broken.error is not None
        and broken.error.detail == "docker compose config: line 2: Expecting property name enclosed in double quotes"
    )


def test_a_big_file_parses_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """The YAML nodes turned into values grow with the services, a few per service (no clock: a busy machine
    cannot fail it; the 5 MB case below, opt-in, keeps a time ceiling)."""
    from dockdoctor.project import compose

    text, size = _big_file(1_000_000)
    visited = 0
    value = compose._value

    def counted(*args: Any, **kwargs: Any) -> object:
        nonlocal visited
        visited += 1
        return value(*args, **kwargs)

    monkeypatch.setattr(compose, "_value", counted)
    project = _one(text)
    assert project.error is None and len(project.services) == size
    assert visited <= 20 * size, (visited, size)


@pytest.mark.skipif(not os.environ.get("DOCKDOCTOR_SLOW_TESTS"), reason="set DOCKDOCTOR_SLOW_TESTS=1 (about 20 s)")
def test_a_5_mb_file_parses_in_reasonable_time() -> None:
    text, size = _big_file(5_000_000)
    start = time.perf_counter()
    project = _one(text)
    assert project.error is None and len(project.services) == size
    assert time.perf_counter() - start < 120


def _big_file(limit: int) -> tuple[str, int]:
    chunks = ["services:\n"]
    total, count = len(chunks[0]), 0
    while total < limit:
        chunk = (
            f"  svc{count}:\n    image: nginx:${{TAG:-1.{count}}}\n    platform: linux/amd64\n"
            "    build:\n      context: ./s\n      platforms: [linux/amd64, linux/arm64]\n"
            f"    environment:\n      A: '{count}'\n"
        )
        chunks.append(chunk)
        total += len(chunk)
        count += 1
    return "".join(chunks), count


def _without_origins(services: tuple[ServiceFacts, ...]) -> tuple[ServiceFacts, ...]:
    return tuple(ServiceFacts(name=s.name, image=s.image, platform=s.platform, build=s.build) for s in services)


# ---- against the real tools, in tmp_path ----------------------------------------------------------------------


def _has_v2() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run([*V2, "version"], capture_output=True, check=False).returncode == 0


needs_v2 = pytest.mark.skipif(not _has_v2(), reason="docker compose v2 is not installed")
needs_v1 = pytest.mark.skipif(not os.path.exists(V1), reason="compose v1 is not installed at /usr/bin/docker-compose")

CASES: dict[str, dict[str, str]] = {
    "version-and-platform": {
        "compose.yaml": 'version: "3.7"\nservices:\n  web:\n    image: nginx:1.27\n    platform: linux/amd64\n'
        "  db:\n    image: postgres:16\n",
    },
    "overrides": {
        "compose.yaml": "services:\n  web:\n    image: nginx\n    platform: linux/amd64\n  app:\n    build: ./app\n",
        "compose.override.yaml": "services:\n  web:\n    platform: linux/arm64\n  app:\n    build:\n"
        "      dockerfile: Dockerfile.dev\n      target: dev\n    image: app:dev\n",
    },
    "dotenv": {
        "compose.yaml": "services:\n  db:\n    image: postgres:${DB_TAG}\n    platform: ${DB_PLATFORM:-linux/amd64}\n",
        ".env": "DB_TAG=16-alpine\n# comment\nexport DB_PLATFORM='linux/arm64'\n",
    },
}


def _write(tmp_path: Path, files: dict[str, str]) -> list[str]:
    (tmp_path / "app").mkdir(exist_ok=True)  # compose v1 checks that build contexts exist
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return [name for name in files if name != ".env"]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_DEFAULT_PLATFORM"))}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, env=env, check=False)


def _ours(tmp_path: Path, names: list[str]) -> ComposeProject:
    from dockdoctor.project.dotenv import parse_dotenv

    dotenv = tmp_path / ".env"
    found = parse_dotenv(dotenv.read_text(), path=".env") if dotenv.exists() else ()
    files = [(str(tmp_path / n), (tmp_path / n).read_text()) for n in names]
    return parse_compose(
        files, env={n: v for n, v, _ in found}, env_sources={n: Location(".env", line) for n, _, line in found}
    )


@needs_v2
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_compose_v2(tmp_path: Path, case: str) -> None:
    names = _write(tmp_path, CASES[case])
    argv = [*V2, *(a for n in names for a in ("-f", n)), "config", "--format", "json"]
    result = _run(argv, tmp_path)
    assert result.returncode == 0, result.stderr
    theirs = from_config_json(result.stdout, files=names)
    assert _without_origins(_ours(tmp_path, names).services) == _without_origins(theirs.services)


@needs_v1
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_compose_v1(tmp_path: Path, case: str) -> None:
    yaml = pytest.importorskip("ruamel.yaml")
    names = _write(tmp_path, CASES[case])
    result = _run([V1, *(a for n in names for a in ("-f", n)), "config"], tmp_path)
    assert result.returncode == 0, result.stderr
    printed = yaml.YAML(typ="safe").load(result.stdout)
    theirs = from_config_json(json.dumps(printed), files=names)
    ours = _ours(tmp_path, names)
    assert _without_origins(ours.services) == _without_origins(theirs.services)
    # v1 prints the `version:` key (it needs it); v2 drops it and warns that it is obsolete
    assert theirs.version_key == ("3.7" if case == "version-and-platform" else "3.9")  # 3.9: v1's default


@needs_v2
def test_missing_required_variable_v2(tmp_path: Path) -> None:
    names = _write(tmp_path, {"compose.yaml": "services:\n  db:\n    image: postgres:${DB_TAG:?}\n"})
    result = _run([*V2, "config", "--format", "json"], tmp_path)
    assert result.returncode != 0
    assert "required variable DB_TAG is missing a value" in result.stderr
    ours = _ours(tmp_path, names)
    assert ours.error is not None and "required variable DB_TAG is missing a value" in ours.error.detail
    assert ours.error.detail.startswith(f"{tmp_path / 'compose.yaml'}:3: ")


@needs_v1
def test_missing_required_variable_v1(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  db:\n    image: postgres:${DB_TAG:?}\n"})
    result = _run([V1, "-f", "compose.yaml", "config"], tmp_path)
    assert result.returncode != 0
    assert 'Missing mandatory value for "image" option' in result.stderr and "DB_TAG" in result.stderr


@needs_v2
def test_broken_yaml_v2_and_ours(tmp_path: Path) -> None:
    text = "services:\n  db:\n    image: postgres\n   platform: x\n"
    names = _write(tmp_path, {"compose.yaml": text})
    result = _run([*V2, "config", "--format", "json"], tmp_path)
    assert result.returncode != 0 and "yaml:" in result.stderr  # v2 says "yaml: line 1: did not find expected key"
    ours = _ours(tmp_path, names)
    assert ours.error is not None and ours.error.kind == "parse" and ":4: " in ours.error.detail


@needs_v1
def test_broken_yaml_v1(tmp_path: Path) -> None:
    _write(tmp_path, {"compose.yaml": "services:\n  db:\n    image: postgres\n   platform: x\n"})
    result = _run([V1, "-f", "compose.yaml", "config"], tmp_path)
    assert result.returncode != 0 and "line 4" in result.stderr


@needs_v1
def test_v1_rejects_build_platforms(tmp_path: Path) -> None:
    text = "services:\n  app:\n    build:\n      context: .\n      platforms: [linux/amd64]\n"
    _write(tmp_path, {"compose.yaml": text})
    result = _run([V1, "-f", "compose.yaml", "config"], tmp_path)
    assert result.returncode != 0 and "unsupported option: 'platforms'" in result.stderr
    assert _svc(_one(text), "app").build == ServiceBuild(context=".", platforms=("linux/amd64",))
