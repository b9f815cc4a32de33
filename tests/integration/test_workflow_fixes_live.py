"""The CI workflow fixes applied for real: `dockdoctor fix --yes --only DKD70x` on a copy of each fixture workflow
(with the test engine, as a user runs it), then the edited file is valid YAML, says what the fix promised, and
`check --no-engine` finds nothing more to say about it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from clirun import dockdoctor, isolated_env
from ruamel.yaml import YAML

PROJECTS = Path(__file__).resolve().parents[2] / "fixtures" / "projects"
TWO = ("--platform", "linux/amd64", "--platform", "linux/arm64")
CASES = [
    # project, check, workflow file, targets, what the edited file must say
    ("ci-buildpush-noplatforms", "DKD701", ".github/workflows/release.yaml", TWO,
     ["platforms: linux/amd64,linux/arm64", "uses: docker/setup-qemu-action@v3"]),
    ("ci-buildpush-arm64", "DKD702", ".github/workflows/release.yaml", (), ["uses: docker/setup-qemu-action@v3"]),
    ("ci-gitlab-buildx", "DKD702", ".gitlab-ci.yml", (),
     ["- docker run --privileged --rm tonistiigi/binfmt --install arm64"]),
    ("ci-qemu-pin-9-2-0", "DKD703", ".github/workflows/test-packages.yml", (),
     ["image: tonistiigi/binfmt:qemu-v9.2.2"]),
    ("ci-release-manifest", "DKD704", ".github/workflows/release.yaml", (), ["provenance: false"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("project", "code", "workflow", "targets", "says"), CASES, ids=[c[1] + "-" + c[0] for c in CASES]
)
def test_the_workflow_fix_applies_and_closes(
    testenv: dict, tmp_path: Path, project: str, code: str, workflow: str, targets: tuple, says: list[str]
) -> None:
    copy = tmp_path / project
    shutil.copytree(PROJECTS / project, copy)
    env = isolated_env(tmp_path, DOCKER_HOST=testenv["docker_host"], DOCKDOCTOR_CACHE_DIR=str(tmp_path / "cache"))
    fixed = dockdoctor("fix", "--project", str(copy), "--only", code, "--yes", "--json", *targets, env=env)
    assert fixed.code == 0, (fixed.stdout[-2000:], fixed.stderr)
    result = fixed.json()
    assert [a["outcomes"][0]["status"] for a in result["applied"]] == ["applied"]
    assert code not in [f["id"] for f in result["after"]["findings"]]
    text = (copy / workflow).read_text()
    list(YAML(typ="safe").load_all(text))  # still YAML
    for line in says:
        assert line in text, text
    again = dockdoctor("check", "--no-engine", "--offline", "--json", "--project", str(copy), *targets, env=env)
    assert not [f for f in again.json()["findings"] if f["id"].startswith("DKD7")], again.stdout
    undo = dockdoctor("fix", "--undo", "--project", str(copy), env=env)
    assert undo.code == 0 and (copy / workflow).read_text() == (PROJECTS / project / workflow).read_text()
