"""Deploy files as pure parsers: targets with file:line sources, images with their platforms, precedence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dockdoctor.app import resolve_targets
from dockdoctor.config import Settings
from dockdoctor.model import EndpointRule, EngineFacts, Facts, HostFacts, ProjectFacts
from dockdoctor.probes.project import probe_project
from dockdoctor.project.deploy import deploy_kind, parse_deploy

PROJECTS = Path(__file__).resolve().parents[2] / "fixtures" / "projects"

# fixture project -> (kind, [(platform, source)], [(image, source, platforms)])
EXPECTED = {
    "deploy-kubernetes": (
        "kubernetes",
        [("linux/arm64", "deploy/api.yaml:22 nodeSelector"), ("linux/amd64", "deploy/api.yaml:51 nodeAffinity")],
        [
            ("127.0.0.1:5555/busybox:multi", "deploy/api.yaml:25 initContainers[migrate].image", ("linux/arm64",)),
            ("127.0.0.1:5555/busybox:amd64", "deploy/api.yaml:29 containers[api].image", ("linux/arm64",)),
            ("127.0.0.1:5555/busybox:multi", "deploy/api.yaml:54 containers[report].image", ("linux/amd64",)),
        ],
    ),
    "deploy-helm": (
        "helm",
        [("linux/arm64", "chart/values.yaml:11 nodeSelector")],
        [("127.0.0.1:5555/busybox:amd64", "chart/values.yaml:6 image.repository", ("linux/arm64",))],
    ),
    "deploy-ecs": (
        "ecs",
        [("linux/arm64", "task-definition.json:10 runtimePlatform.cpuArchitecture")],
        [("127.0.0.1:5555/busybox:amd64", "task-definition.json:15 containerDefinitions[web].image", ("linux/arm64",))],
    ),
    "deploy-sam": (
        "sam",
        [("linux/arm64", "template.yaml:13 Architectures")],
        [("127.0.0.1:5555/busybox:amd64", "template.yaml:11 Resources.HelloFunction.ImageUri", ("linux/arm64",))],
    ),
    "deploy-serverless": (
        "serverless",
        [("linux/arm64", "serverless.yml:6 architecture")],
        [("127.0.0.1:5555/busybox:amd64", "serverless.yml:10 functions.resize.image", ("linux/arm64",))],
    ),
    "deploy-cdk": (
        "cdk",
        [
            ("linux/amd64", "lib/stack.ts:12 Platform.LINUX_AMD64"),
            ("linux/arm64", "lib/stack.ts:13 Architecture.ARM_64"),
        ],
        [],
    ),
    "deploy-github-actions": ("github-actions", [("linux/arm64", ".github/workflows/build.yml:10 runs-on")], []),
    "deploy-gitlab-ci": ("gitlab-ci", [("linux/arm64", ".gitlab-ci.yml:8 docker build --platform")], []),
    "deploy-fly": (
        "fly",
        [("linux/amd64", "fly.toml:3 Fly Machines (run linux/amd64)")],
        [("127.0.0.1:5555/busybox:arm64", "fly.toml:7 build.image", ("linux/amd64",))],
    ),
    "deploy-cloud-run": (
        "cloud-run",
        [("linux/amd64", "service.yaml:3 Cloud Run (runs linux/amd64 only)")],
        [("127.0.0.1:5555/busybox:arm64", "service.yaml:13 containers[0].image", ("linux/amd64",))],
    ),
    "deploy-compose-build": ("compose", [("linux/arm64", "compose.yaml:7 services.api.build.platforms")], []),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_projects(name: str) -> None:
    kind, targets, images = EXPECTED[name]
    project = probe_project(str(PROJECTS / name), env={})
    (deploy,) = project.deploy
    assert deploy.kind == kind and deploy.error is None
    assert [(t.platform, str(t.source)) for t in deploy.targets] == targets
    assert [(i.reference, str(i.source), i.platforms) for i in deploy.images] == images
    assert project.skipped == ()


def test_every_fixture_kind_is_covered() -> None:
    assert sorted(p.name for p in PROJECTS.iterdir() if p.name.startswith("deploy-")) == sorted(EXPECTED)


def test_helm_templates_and_plain_yaml_are_not_deploy_files() -> None:
    assert deploy_kind("chart/templates/deployment.yaml", text="apiVersion: v1\nkind: Pod\nimage: {{ .x }}\n") is None
    assert deploy_kind("config/settings.yaml", text="name: x\n") is None
    assert deploy_kind("package.json", text='{"name": "x"}') is None
    assert deploy_kind("src/app.py", cdk=False, text="import aws_cdk") is None


def test_list_kind_and_documents_without_workloads() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  spec:\n    nodeSelector:\n"
        "      kubernetes.io/arch: amd64\n    containers:\n    - name: a\n      image: nginx:1.27\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
    )
    deploy = parse_deploy(text, path="k.yaml", kind="kubernetes")
    assert [(t.platform, str(t.source)) for t in deploy.targets] == [("linux/amd64", "k.yaml:8 nodeSelector")]
    assert [(i.reference, i.platforms) for i in deploy.images] == [("nginx:1.27", ("linux/amd64",))]


def test_broken_yaml_is_an_error_value_with_the_line() -> None:
    deploy = parse_deploy("apiVersion: v1\nkind: Pod\nspec:\n  a: b\n   c: d\n", path="bad.yaml", kind="kubernetes")
    assert deploy.error is not None and deploy.error.detail.startswith("bad.yaml:5")


def test_cloudformation_tags_defaults_and_ecs() -> None:
    text = (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n"
        "    Properties:\n      Code:\n        ImageUri: !Sub '${Repo}:latest'\n  Task:\n"
        "    Type: AWS::ECS::TaskDefinition\n    Properties:\n      RuntimePlatform:\n"
        "        CpuArchitecture: X86_64\n      ContainerDefinitions:\n        - Image: nginx:1.27\n"
    )
    deploy = parse_deploy(text, path="t.yaml", kind="sam")
    assert [(t.platform, str(t.source)) for t in deploy.targets] == [
        ("linux/amd64", "t.yaml:3 Resources.Fn (Lambda's default x86_64)"),
        ("linux/amd64", "t.yaml:12 RuntimePlatform.CpuArchitecture"),
    ]
    assert [i.reference for i in deploy.images] == ["nginx:1.27"]  # the !Sub image is not a reference


def test_github_actions_platforms_runners_and_expressions() -> None:
    text = (
        "jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: docker/build-push-action@v6\n"
        "        with:\n          platforms: |\n            linux/amd64\n            linux/arm64\n"
        "  b:\n    runs-on: ${{ matrix.runner }}\n    steps:\n      - uses: docker/build-push-action@v6\n"
        "  c:\n    runs-on: [self-hosted, linux, ARM64]\n    steps:\n      - run: docker build -t x .\n"
        "  d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n"
    )
    deploy = parse_deploy(text, path="w.yml", kind="github-actions")
    assert [(t.platform, str(t.source)) for t in deploy.targets] == [
        ("linux/amd64", "w.yml:7 platforms"),
        ("linux/arm64", "w.yml:7 platforms"),
        ("linux/arm64", "w.yml:15 runs-on"),
    ]


def _facts(project: ProjectFacts | None) -> Facts:
    return Facts(
        host=HostFacts(os="linux", arch="amd64", machine="x86_64"),
        engine=EngineFacts(
            endpoint="unix:///x", endpoint_rule=EndpointRule.DEFAULT, context=None, platform="linux/amd64"
        ),
        project=project,
    )


def test_precedence_platform_then_settings_then_deploy_files_then_engine() -> None:
    facts = _facts(probe_project(str(PROJECTS / "deploy-kubernetes"), env={}))
    settings = Settings(source="pyproject.toml", targets=("linux/arm/v7",))
    assert [(t.platform, t.source, t.intent) for t in resolve_targets(facts, ["linux/riscv64"], settings)] == [
        ("linux/riscv64", "--platform", "deploy")
    ]
    assert [(t.platform, t.intent) for t in resolve_targets(facts, [], settings)] == [("linux/arm/v7", "deploy")]
    assert [(t.platform, t.source, t.intent) for t in resolve_targets(facts, [])] == [
        ("linux/arm64", "deploy/api.yaml:22 nodeSelector", "deploy"),
        ("linux/amd64", "deploy/api.yaml:51 nodeAffinity", "deploy"),
    ]
    assert [(t.platform, t.source, t.intent) for t in resolve_targets(_facts(None), [])] == [
        ("linux/amd64", "engine", "local")
    ]


def test_deploy_files_that_disagree_are_named() -> None:
    from dockdoctor.app import diagnose
    from dockdoctor.checks import lookup

    project = probe_project(str(PROJECTS / "deploy-ecs"), env={})
    fly = probe_project(str(PROJECTS / "deploy-fly"), env={})
    facts = _facts(dataclasses.replace(project, deploy=project.deploy + fly.deploy))
    report = diagnose(facts, targets=resolve_targets(facts, []), checks=(lookup("DKD610"),))
    (finding,) = report.findings
    assert finding.subject == "task-definition.json" and "fly.toml (fly) on linux/amd64" in finding.message
    given = diagnose(facts, targets=resolve_targets(facts, ["linux/amd64"]), checks=(lookup("DKD610"),))
    assert any("this report does not check linux/arm64" in f.message for f in given.findings)
