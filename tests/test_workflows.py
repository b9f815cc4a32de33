"""CI workflow checks DKD701-DKD704 on real workflow files (fixtures/projects/ci-*, each citing its source), run as
a CI job runs dockdoctor: `check --no-engine`, through the real CLI; and the scanner and runner rules as units."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest
from clirun import dockdoctor, isolated_env

from dockdoctor.checks.workflows import adds_provenance, foreign, runner_arch
from dockdoctor.model import CiJob, CiStep
from dockdoctor.project.workflows import parse_workflow

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = ROOT / "fixtures" / "projects"
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())
TWO = ("--platform", "linux/amd64", "--platform", "linux/arm64")
CODES = {"DKD701", "DKD702", "DKD703", "DKD704"}


def _check(tmp_path: Path, project: str | Path, *args: str) -> dict:
    result = dockdoctor(
        "check", "--no-engine", "--offline", "--json", "--project", str(project), *args, env=isolated_env(tmp_path)
    )
    assert result.code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.json()


CASES = [
    # project, extra args, the DKD7 findings expected as (code, file, line)
    ("ci-buildpush-noplatforms", TWO, [("DKD701", ".github/workflows/release.yaml", 62)]),
    ("ci-buildpush-arm64", TWO, [("DKD702", ".github/workflows/release.yaml", 62)]),
    ("ci-buildpush-arm64", (), [("DKD702", ".github/workflows/release.yaml", 62)]),
    ("ci-gitlab-buildx", (), [("DKD702", ".gitlab-ci.yml", 18)]),
    ("ci-qemu-pin-9-2-0", (), [("DKD703", ".github/workflows/test-packages.yml", 32)]),
    ("ci-qemu-pin", (), []),
    ("ci-release-manifest", (), [("DKD704", ".github/workflows/release.yaml", 99)]),
    ("ci-release-manifest-fixed", TWO, []),
]


@pytest.mark.parametrize(("project", "args", "expected"), CASES, ids=[f"{c[0]}{'-2' if c[1] else ''}" for c in CASES])
def test_each_workflow_finding_is_on_its_file_and_line(
    project: str, args: tuple[str, ...], expected: list, tmp_path: Path
) -> None:
    report = _check(tmp_path, PROJECTS / project, *args)
    found = [(f["id"], f["location"]["file"], f["location"]["line"]) for f in report["findings"] if f["id"] in CODES]
    assert found == expected, [f["message"] for f in report["findings"]]
    assert CODES <= set(report["checks_run"])  # engine-free: they run under --no-engine
    for finding in report["findings"]:
        if finding["id"] in CODES:
            edits = [s for fix in finding["fixes"] for s in fix["steps"] if s["kind"] == "edit"]
            assert edits, f"{finding['id']} offers an edit fix"
            assert all(e["path"].startswith(str(PROJECTS / project)) for e in edits)


def test_the_github_release_workflow_reads_as_its_jobs_and_steps() -> None:
    text = (PROJECTS / "ci-release-manifest" / ".github/workflows/release.yaml").read_text()
    workflow = parse_workflow(text, path=".github/workflows/release.yaml", kind="github-actions")
    assert workflow.error is None
    jobs = {j.name: j for j in workflow.jobs}
    assert set(jobs) == {"docker-build-amd64", "docker-build-arm64", "docker-create-manifest"}
    (push,) = jobs["docker-build-amd64"].steps
    assert (push.kind, push.uses, push.platforms, push.push, push.provenance) == (
        "build-push-action",
        "docker/build-push-action@v5",
        ("linux/amd64",),
        True,
        "",
    )
    assert push.text.strip() == "- name: Build and push AMD64 Docker image" and push.with_text.strip() == "with:"
    (build,) = jobs["docker-build-arm64"].steps
    assert (build.kind, build.platforms, build.push) == ("buildx-build", ("linux/arm64",), False)
    assert build.text.strip().startswith("docker build --platform linux/arm64")
    assert jobs["docker-build-arm64"].runner == ("ubuntu-24.04-arm",)
    assert [s.kind for s in jobs["docker-create-manifest"].steps] == ["manifest-create", "manifest-create"]
    lines = text.splitlines()
    assert all("docker manifest create" in lines[s.line - 1] for s in jobs["docker-create-manifest"].steps)


def test_a_gitlab_command_folded_over_lines_keeps_its_platforms() -> None:
    text = (PROJECTS / "ci-gitlab-buildx" / ".gitlab-ci.yml").read_text()
    workflow = parse_workflow(text, path=".gitlab-ci.yml", kind="gitlab-ci")
    (job,) = workflow.jobs
    assert job.name == "build-multiplatform" and job.runner == ()
    (step,) = job.steps
    assert (step.kind, step.platforms, step.push, step.line) == (
        "buildx-build",
        ("linux/amd64", "linux/arm64"),
        True,
        18,
    )


@pytest.mark.parametrize(
    ("labels", "kind", "arch"),
    [
        (("ubuntu-latest",), "github-actions", "amd64"),
        (("ubuntu-24.04-arm",), "github-actions", "arm64"),
        (("self-hosted", "linux", "ARM64"), "github-actions", "arm64"),
        (("self-hosted", "linux", "X64"), "github-actions", "amd64"),
        (("self-hosted", "gpu"), "github-actions", None),
        (("ubuntu-20.04-4-cores",), "github-actions", "amd64"),
        ((), "gitlab-ci", "amd64"),
        (("saas-linux-small-arm64",), "gitlab-ci", "arm64"),
        (("docker-build",), "gitlab-ci", None),
    ],
)
def test_the_runner_architecture_comes_from_documented_labels(labels: tuple, kind: str, arch: str | None) -> None:
    assert runner_arch(CiJob(name="j", line=1, runner=labels), kind) == arch
    assert runner_arch(CiJob(name="j", line=1, runner=("${{ matrix.os }}",), runner_expression=True), kind) is None


def test_what_a_runner_runs_natively() -> None:
    assert foreign(("linux/amd64", "linux/386", "linux/arm64"), "amd64") == ["linux/arm64"]
    assert foreign(("linux/amd64", "linux/arm64"), "arm64") == ["linux/amd64"]
    assert foreign(("linux/arm/v7",), "arm64") == []  # undecided: some arm64 CPUs run 32-bit arm, some do not


def test_provenance_follows_the_action_releases() -> None:
    def step(uses: str, **kw: object) -> CiStep:
        return CiStep(kind="build-push-action", line=1, uses=uses, push=True, **kw)  # type: ignore[arg-type]

    assert adds_provenance(step("docker/build-push-action@v4"))
    assert adds_provenance(step("docker/build-push-action@v6.18.0"))
    assert adds_provenance(step("docker/build-push-action@3.3.0")) and adds_provenance(step("x@v3.3"))
    assert not adds_provenance(step("docker/build-push-action@v3"))  # v3.3.1 turned it off again
    assert not adds_provenance(step("docker/build-push-action@v6", provenance="false"))
    assert adds_provenance(step("docker/build-push-action@0d4c9c5ea7693da7b068278f7b52bda2a190a446"))  # a SHA
    assert not adds_provenance(CiStep(kind="build-push-action", line=1, uses="docker/build-push-action@v6"))


def test_an_emulator_set_up_after_the_build_does_not_count(tmp_path: Path) -> None:
    project = tmp_path / "late"
    shutil.copytree(PROJECTS / "ci-buildpush-arm64", project)
    path = project / ".github/workflows/release.yaml"
    path.write_text(path.read_text() + "      - uses: docker/setup-qemu-action@v3\n")
    report = _check(tmp_path, project)
    assert [f["id"] for f in report["findings"] if f["id"] in CODES] == ["DKD702"]
    text = path.read_text().replace(
        "      - name: Set up Docker Buildx\n",
        "      - uses: docker/setup-qemu-action@v3\n      - name: Set up Docker Buildx\n",
    )
    path.write_text(text)
    assert not [f for f in _check(tmp_path, project)["findings"] if f["id"] in CODES]


def test_workflows_are_read_whatever_dockerignore_says_and_odd_files_are_skipped(tmp_path: Path) -> None:
    """`.github` is often in .dockerignore (it is not build context); a FIFO named like a workflow is not opened
    (it would block), and broken YAML is reported without a traceback."""
    project = tmp_path / "odd"
    shutil.copytree(PROJECTS / "ci-buildpush-arm64", project)
    (project / ".dockerignore").write_text(".github\n")
    os.mkfifo(project / ".github/workflows/fifo.yml")
    (project / ".github/workflows/broken.yml").write_text("jobs:\n  a: [\n")
    report = _check(tmp_path, project)
    assert [f["id"] for f in report["findings"] if f["id"] in CODES] == ["DKD702"]
    skipped = {Path(p).name: reason for p, reason in report["facts"]["project"]["skipped"]}
    assert "FIFO" in skipped.get("fifo.yml", ""), skipped
    broken = next(w for w in report["facts"]["project"]["workflows"] if w["path"].endswith("broken.yml"))
    assert broken["error"]["kind"] == "parse" and "broken.yml:" in broken["error"]["detail"]
    # without the .dockerignore the deploy-file scan sees the FIFOs too: it must not block on them either
    (project / ".dockerignore").unlink()
    os.mkfifo(project / "deploy.yaml")
    report = _check(tmp_path, project)
    assert "DKD001" not in [f["id"] for f in report["findings"]], report["findings"]
    assert any(p.endswith("fifo.yml") for p, _ in report["facts"]["project"]["skipped"])


def test_workflow_findings_are_sarif_results_and_gitlab_issues(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    project = PROJECTS / "ci-release-manifest"
    sarif = json.loads(
        dockdoctor("check", "--no-engine", "--offline", "--format", "sarif", "--project", str(project), env=env).stdout
    )
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "DKD704"]
    assert results and results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 99
    gitlab = json.loads(
        dockdoctor("check", "--no-engine", "--offline", "--format", "gitlab", "--project", str(project), env=env).stdout
    )
    (issue,) = [i for i in gitlab if i["check_name"] == "DKD704"]
    assert issue["location"]["lines"]["begin"] == 99 and issue["location"]["path"].endswith("release.yaml")


WORKFLOW_FRAGMENTS = [
    "jobs:\n",
    "  build:\n",
    "    runs-on: ",
    "ubuntu-latest",
    "${{ matrix.os }}",
    "[self-hosted, ARM64]",
    "\n",
    "    steps:\n",
    "      - uses: docker/build-push-action@v",
    "      - uses: docker/setup-qemu-action@v3\n",
    "        with:\n",
    "          platforms: ",
    "linux/amd64,linux/arm64",
    "          image: tonistiigi/binfmt:qemu-v9.2.0",
    "          push: true\n",
    "      - run: |\n",
    "          docker buildx build --platform linux/arm64 --push .\n",
    "          docker manifest create a b\n",
    "  script:\n",
    "    - docker buildx build\n        --platform linux/arm64\n",
    "  tags: [saas-linux-small-arm64]\n",
    "# dockdoctor: ignore=DKD702 ",
    "\\\n",
    "'",
    '"',
    "- ",
    ": ",
    "{",
    "[",
    "&a ",
    "*a",
    "!!binary ",
]


def test_the_scanner_and_the_checks_never_raise_on_any_workflow_text() -> None:
    """Arbitrary mixes of workflow fragments: the parser returns jobs or an error value, the checks and the
    suppression parser never raise (hypothesis, fixed seed, as tests/test_fuzz_parsers.py does)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from dockdoctor.app import diagnose
    from dockdoctor.checks import lookup
    from dockdoctor.model import EndpointRule, EngineFacts, Facts, HostFacts, ProjectFacts, Target
    from dockdoctor.project.suppressions import parse_suppressions

    text_strategy = st.lists(st.one_of(st.sampled_from(WORKFLOW_FRAGMENTS), st.text(max_size=20)), max_size=30)
    checks = tuple(lookup(c) for c in ("DKD701", "DKD702", "DKD703", "DKD704", "DKD719"))
    targets = (Target(platform="linux/amd64", source="t"), Target(platform="linux/arm64", source="t"))

    @settings(max_examples=300, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(parts=text_strategy, kind=st.sampled_from(["github-actions", "gitlab-ci"]))
    def run(parts: list[str], kind: str) -> None:
        text = "".join(parts)
        workflow = parse_workflow(text, path=".github/workflows/x.yml", kind=kind)
        facts = Facts(
            host=HostFacts(os="", arch="", machine=""),
            engine=EngineFacts(endpoint="", endpoint_rule=EndpointRule.DEFAULT, context=None),
            project=ProjectFacts(
                root="/p", workflows=(workflow,), suppressions=parse_suppressions(text, path=".github/workflows/x.yml")
            ),
        )
        report = diagnose(facts, targets=targets, checks=checks)
        assert not any(f.message.startswith("internal error") for f in report.findings), report.findings

    run()
