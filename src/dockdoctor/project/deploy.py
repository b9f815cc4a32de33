"""Deploy files: where the project says it runs (Kubernetes, Helm, ECS, SAM, Serverless, CDK, CI, fly.toml), pure.

Each parser takes a file's text and its path relative to the project and returns a DeployFile: the target
platforms it names, each with `file:line what`, and the images it runs. Nothing here touches the system.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dockdoctor.knowledge import load
from dockdoctor.model import DeployFile, DeployImage, DeployTarget, Line, Place, ProbeError, ProbeErrorKind
from dockdoctor.platforms import PlatformError, format_platform, parse

if TYPE_CHECKING:
    from ruamel.yaml.nodes import Node

WORKLOADS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController")
ARCH_LABELS = ("kubernetes.io/arch", "beta.kubernetes.io/arch")
_BUILD_RUN = re.compile(r"\bdocker\s+(?:buildx\s+)?build\b|\bbuildah\s+(?:bud|build)\b|/kaniko/executor")
_PLATFORM_FLAG = re.compile(r"--platform[=\s]+([\w/.,$-]+)")
_CDK_PATTERNS = (
    (re.compile(r"\bArchitecture\.ARM_64\b"), "arm64", "Architecture.ARM_64"),
    (re.compile(r"\bArchitecture\.X86_64\b"), "amd64", "Architecture.X86_64"),
    (re.compile(r"\bPlatform\.LINUX_ARM64\b"), "arm64", "Platform.LINUX_ARM64"),
    (re.compile(r"\bPlatform\.LINUX_AMD64\b"), "amd64", "Platform.LINUX_AMD64"),
    (re.compile(r"\bCpuArchitecture\.ARM64\b"), "arm64", "CpuArchitecture.ARM64"),
    (re.compile(r"\bCpuArchitecture\.X86_64\b"), "amd64", "CpuArchitecture.X86_64"),
)
_CDK_IMAGE = re.compile(r"ContainerImage\.(?:fromRegistry|from_registry)\(\s*['\"]([^'\"]+)['\"]")


def _facts() -> dict[str, Any]:  # knowledge/deploy.toml, as parsed
    return load("deploy")


def arch_platform(value: str) -> str | None:
    """linux/<arch> for an architecture as deploy files write it (X86_64, ARM64, arm64, amd64, x86_64)."""
    text = value.strip().lower().replace("-", "_")
    text = {"x86_64": "amd64", "arm_64": "arm64", "x64": "amd64", "aarch64": "arm64"}.get(text, text)
    try:
        platform = parse(f"linux/{text}") if "/" not in text else parse(text)
    except PlatformError:
        return None
    return format_platform(platform)


def _platforms(value: str) -> list[str]:
    """The platforms of a `platforms:` value: comma- or newline-separated, expressions skipped."""
    out = []
    for item in re.split(r"[,\s]+", value):
        if item and "$" not in item and "{" not in item:
            try:
                out.append(format_platform(parse(item)))
            except PlatformError:
                continue
    return out


# --- YAML nodes -------------------------------------------------------------------------------------


def _documents(text: str) -> list[Node]:
    from ruamel.yaml import YAML

    return [doc for doc in YAML(typ="safe").compose_all(text) if doc is not None]


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _get(node: Node | None, key: str) -> Node | None:
    from ruamel.yaml.nodes import MappingNode
    from ruamel.yaml.nodes import Node as YamlNode

    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if getattr(k, "value", None) == key:
            return v if isinstance(v, YamlNode) else None
    return None


def _path(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = _get(node, key)
    return node


def _pairs(node: Node | None) -> list[tuple[str, Node, Node]]:
    from ruamel.yaml.nodes import MappingNode

    if not isinstance(node, MappingNode):
        return []
    return [(str(k.value), k, v) for k, v in node.value if isinstance(getattr(k, "value", None), str)]


def _items(node: Node | None) -> list[Node]:
    from ruamel.yaml.nodes import SequenceNode

    return list(node.value) if isinstance(node, SequenceNode) else []


def _str(node: Node | None) -> str | None:
    """A plain string scalar (tagged values such as CloudFormation's !Sub are not plain)."""
    from ruamel.yaml.nodes import ScalarNode

    if isinstance(node, ScalarNode) and not str(node.tag).startswith("!") and isinstance(node.value, str):
        return node.value
    return None


def _strings(node: Node | None) -> list[str]:
    """A scalar or a sequence of scalars, as strings."""
    single = _str(node)
    return [single] if single is not None else [s for s in map(_str, _items(node)) if s is not None]


class _Out:
    """What one file yields, collected while walking it."""

    def __init__(self, path: str, kind: str) -> None:
        self.path, self.kind = path, kind
        self.targets: list[DeployTarget] = []
        self.images: list[DeployImage] = []

    def target(self, platform: str | None, line: int, what: str) -> str | None:
        if platform is not None:
            self.targets.append(DeployTarget(platform=platform, source=Place(self.path, line, what)))
        return platform

    def image(self, reference: str | None, line: int, what: str, platforms: list[str], **workload: object) -> None:
        if reference and "$" not in reference and "{{" not in reference:
            self.images.append(
                DeployImage(
                    reference=reference,
                    source=Place(self.path, line, what),
                    platforms=tuple(dict.fromkeys(platforms)),
                    **workload,  # type: ignore[arg-type]
                )
            )

    def done(self) -> DeployFile | None:
        if not self.targets and not self.images:
            return None
        return DeployFile(path=self.path, kind=self.kind, targets=tuple(self.targets), images=tuple(self.images))


# --- Kubernetes and Helm ----------------------------------------------------------------------------


def _selector_targets(spec: Node | None, out: _Out) -> list[str]:
    """Platforms a pod spec is constrained to: nodeSelector, and required node affinity with `In`."""
    found: list[str] = []
    selector = _get(spec, "nodeSelector")
    for key, _, value in _pairs(selector):
        if key in ARCH_LABELS and (text := _str(value)):
            found += [p for p in [out.target(arch_platform(text), _line(value), "nodeSelector")] if p]
    terms = _path(
        spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"
    )
    for term in _items(terms):
        for expression in _items(_get(term, "matchExpressions")):
            if _str(_get(expression, "key")) in ARCH_LABELS and _str(_get(expression, "operator")) == "In":
                for value in _items(_get(expression, "values")):
                    text = _str(value)
                    platform = out.target(arch_platform(text), _line(value), "nodeAffinity") if text else None
                    if platform:
                        found.append(platform)
    return found


def _pod_spec(doc: Node, kind: str) -> Node | None:
    if kind == "Pod":
        return _get(doc, "spec")
    if kind == "CronJob":
        return _path(doc, "spec", "jobTemplate", "spec", "template", "spec")
    return _path(doc, "spec", "template", "spec")


def _containers(spec: Node | None, out: _Out, platforms: list[str], **workload: object) -> None:
    for key in ("initContainers", "containers"):
        for index, container in enumerate(_items(_get(spec, key))):
            image = _get(container, "image")
            name = _str(_get(container, "name")) or str(index)
            if image is not None:
                out.image(_str(image), _line(image), f"{key}[{name}].image", platforms, **workload)


def _workload(item: Node, kind: str, spec: Node | None, lines: list[str]) -> dict[str, object]:
    """Where a Kubernetes workload's pod spec is, so a fix can add a key to it (`check --kube`, DKD240/241)."""
    from ruamel.yaml.nodes import MappingNode

    meta = _get(item, "metadata")
    out: dict[str, object] = {
        "workload": f"{kind}/{_str(_get(meta, 'namespace')) or ''}/{_str(_get(meta, 'name')) or ''}",
        "node_selector": _get(spec, "nodeSelector") is not None,
    }
    if isinstance(spec, MappingNode) and spec.value and not spec.flow_style:
        first = _line(spec.value[0][0])
        if 0 < first <= len(lines):
            out["pod_spec"] = Line(first, lines[first - 1])
    return out


def parse_kubernetes(text: str, *, path: str) -> DeployFile | None:
    """Workloads in a (multi-document) manifest: their architecture constraints and container images."""
    out = _Out(path, "kubernetes")
    for doc in _documents(text):
        for item in [doc, *_items(_get(doc, "items"))]:  # a `kind: List` holds its workloads in items
            kind = _str(_get(item, "kind"))
            api = _str(_get(item, "apiVersion")) or ""
            if api.startswith("serving.knative.dev") and kind == "Service" and "run.googleapis.com" in text:
                out.kind = "cloud-run"
                spec = _path(item, "spec", "template", "spec")
                platform = out.target(
                    str(_facts()["cloud_run"]["platform"]), _line(item), "Cloud Run (runs linux/amd64 only)"
                )
                _containers(spec, out, [platform] if platform else [])
            elif kind in WORKLOADS:
                spec = _pod_spec(item, kind)
                workload = _workload(item, kind, spec, text.splitlines())
                _containers(spec, out, _selector_targets(spec, out), **workload)
    return out.done()


def _helm_images(node: Node | None, out: _Out, platforms: list[str], depth: int = 0) -> None:
    """`image: {repository, tag}` blocks anywhere in Helm values, as the usual chart templates join them."""
    if depth > 20:
        return
    for key, _, value in _pairs(node):
        if key == "image" and (repository := _str(_get(value, "repository"))):
            tag = _str(_get(value, "tag"))
            registry = _str(_get(value, "registry"))
            reference = (f"{registry}/" if registry else "") + repository + (f":{tag}" if tag else "")
            out.image(reference, _line(value), "image.repository", platforms)
        else:
            _helm_images(value, out, platforms, depth + 1)
        for item in _items(value):
            _helm_images(item, out, platforms, depth + 1)


def _helm_selectors(node: Node | None, out: _Out, depth: int = 0) -> list[str]:
    if depth > 20:
        return []
    found = _selector_targets(node, out) if (_get(node, "nodeSelector") or _get(node, "affinity")) else []
    for key, _, value in _pairs(node):
        if key not in ("nodeSelector", "affinity"):
            found += _helm_selectors(value, out, depth + 1)
    return found


def parse_helm_values(text: str, *, path: str) -> DeployFile | None:
    """A chart's values: `nodeSelector`/`affinity` on kubernetes.io/arch at any level, and image blocks."""
    out = _Out(path, "helm")
    for doc in _documents(text):
        platforms = _helm_selectors(doc, out)
        _helm_images(doc, out, platforms)
    return out.done()


# --- AWS: ECS, SAM/CloudFormation, Serverless, CDK --------------------------------------------------


def parse_ecs(text: str, *, path: str) -> DeployFile | None:
    """An ECS task definition (JSON, as `aws ecs register-task-definition` takes it)."""
    out = _Out(path, "ecs")
    for doc in _documents(text):
        cpu = _path(doc, "runtimePlatform", "cpuArchitecture")
        platform = (
            out.target(arch_platform(_str(cpu) or ""), _line(cpu), "runtimePlatform.cpuArchitecture")
            if cpu is not None
            else None
        )
        for container in _items(_get(doc, "containerDefinitions")):
            image = _get(container, "image")
            name = _str(_get(container, "name")) or "?"
            if image is not None:
                out.image(
                    _str(image), _line(image), f"containerDefinitions[{name}].image", [platform] if platform else []
                )
    return out.done()


def _lambda_default(out: _Out, line: int, what: str) -> str | None:
    return out.target(str(_facts()["lambda"]["default_platform"]), line, f"{what} (Lambda's default x86_64)")


def parse_cloudformation(text: str, *, path: str) -> DeployFile | None:
    """SAM and CloudFormation: Lambda functions' Architectures (default x86_64), ImageUri, ECS task definitions."""
    out = _Out(path, "sam")
    for doc in _documents(text):
        global_arch = _path(doc, "Globals", "Function", "Architectures")
        for name, key, resource in _pairs(_get(doc, "Resources")):
            kind = _str(_get(resource, "Type")) or ""
            props = _get(resource, "Properties")
            if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
                arch = _get(props, "Architectures") or (global_arch if kind.startswith("AWS::Serverless") else None)
                platforms = (
                    [
                        p
                        for p in (out.target(arch_platform(a), _line(arch), "Architectures") for a in _strings(arch))
                        if p
                    ]
                    if arch is not None
                    else []
                )
                if arch is None:
                    platforms = [p for p in [_lambda_default(out, _line(key), f"Resources.{name}")] if p]
                image = _get(props, "ImageUri") or _path(props, "Code", "ImageUri")
                if image is not None:
                    out.image(_str(image), _line(image), f"Resources.{name}.ImageUri", platforms)
            elif kind == "AWS::ECS::TaskDefinition":
                cpu = _path(props, "RuntimePlatform", "CpuArchitecture")
                platform = (
                    out.target(arch_platform(_str(cpu) or ""), _line(cpu), "RuntimePlatform.CpuArchitecture")
                    if cpu is not None
                    else None
                )
                for container in _items(_get(props, "ContainerDefinitions")):
                    image = _get(container, "Image")
                    if image is not None:
                        out.image(
                            _str(image),
                            _line(image),
                            f"Resources.{name}.ContainerDefinitions.Image",
                            [platform] if platform else [],
                        )
    if not out.targets and not out.images:
        return None
    return out.done()


def parse_serverless(text: str, *, path: str) -> DeployFile | None:
    """serverless.yml: `provider.architecture`, each function's `architecture` (default x86_64) and `image`."""
    out = _Out(path, "serverless")
    for doc in _documents(text):
        provider = _get(doc, "provider")
        default = _get(provider, "architecture")
        images = _path(provider, "ecr", "images")
        for name, key, function in _pairs(_get(doc, "functions")):
            arch = _get(function, "architecture") or default
            text_arch = _str(arch) if arch is not None else None
            platform = (
                out.target(arch_platform(text_arch), _line(arch), "architecture")
                if text_arch and arch is not None
                else _lambda_default(out, _line(key), f"functions.{name}")
            )
            image = _get(function, "image")
            uri = _str(image) or _str(_get(image, "uri"))
            named = _str(_get(image, "name"))
            if named and not uri:
                uri = _str(_get(_get(images, named), "uri"))
            if image is not None and uri:
                out.image(uri, _line(image), f"functions.{name}.image", [platform] if platform else [])
    return out.done()


def parse_cdk(text: str, *, path: str) -> DeployFile | None:
    """CDK source (TypeScript or Python): Architecture/Platform/CpuArchitecture constants, registry images."""
    out = _Out(path, "cdk")
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(("//", "#")):
            continue
        for pattern, arch, what in _CDK_PATTERNS:
            if pattern.search(line):
                out.target(arch_platform(arch), number, what)
        for match in _CDK_IMAGE.finditer(line):
            out.image(match.group(1), number, "ContainerImage.fromRegistry", [])
    return out.done()


# --- CI ---------------------------------------------------------------------------------------------


def _runner_platform(labels: list[str]) -> str | None:
    """The architecture a CI runner label set implies (GitHub- and GitLab-hosted labels, self-hosted arch labels)."""
    known = _facts()["runners"]
    for label in (lab.lower() for lab in labels):
        if "${{" in label:
            return None
        if label in known["arm64"] or label.endswith("-arm") or label.endswith("-arm64") or label == "arm64":
            return "linux/arm64"
    for label in (lab.lower() for lab in labels):
        if label in known["amd64"] or label == "x64":
            return "linux/amd64"
    return None


def _run_platforms(script: str) -> list[str]:
    return [
        p
        for line in script.splitlines()
        if _BUILD_RUN.search(line)
        for m in _PLATFORM_FLAG.finditer(line)
        for p in _platforms(m.group(1))
    ]


def parse_github_actions(text: str, *, path: str) -> DeployFile | None:
    """A workflow's image builds: build-push-action `platforms:`, `docker buildx build --platform`, else the
    architecture of the runner (`runs-on: ubuntu-24.04-arm`) that builds them."""
    out = _Out(path, "github-actions")
    for doc in _documents(text):
        for _, _, job in _pairs(_get(doc, "jobs")):
            runs_on = _get(job, "runs-on")
            labels = _strings(runs_on) or _strings(_get(runs_on, "labels"))
            builds_unpinned = False
            for step in _items(_get(job, "steps")):
                uses = _str(_get(step, "uses")) or ""
                run = _get(step, "run")
                if uses.startswith("docker/build-push-action"):
                    platforms = _get(_get(step, "with"), "platforms")
                    if platforms is not None:
                        for platform in _platforms(_str(platforms) or ""):
                            out.target(platform, _line(platforms), "platforms")
                    builds_unpinned |= platforms is None
                elif run is not None and _BUILD_RUN.search(_str(run) or ""):
                    found = _run_platforms(_str(run) or "")
                    for platform in found:
                        out.target(platform, _line(run), "docker build --platform")
                    builds_unpinned |= not found
            if builds_unpinned and runs_on is not None:
                out.target(_runner_platform(labels), _line(runs_on), "runs-on")
    return out.done()


def parse_gitlab_ci(text: str, *, path: str) -> DeployFile | None:
    """.gitlab-ci.yml jobs that build images: `--platform` in their script, else the runner their `tags` pick."""
    out = _Out(path, "gitlab-ci")
    for doc in _documents(text):
        for _, _, job in _pairs(doc):
            script = _get(job, "script")
            lines = _strings(script)
            if script is None or not any(_BUILD_RUN.search(line) for line in lines):
                continue
            found = _run_platforms("\n".join(lines))
            for platform in found:
                out.target(platform, _line(script), "docker build --platform")
            tags = _get(job, "tags")
            if not found and tags is not None:
                out.target(_runner_platform(_strings(tags)), _line(tags), "tags")
    return out.done()


# --- fly.toml ---------------------------------------------------------------------------------------


def parse_fly(text: str, *, path: str) -> DeployFile | None:
    """fly.toml: Fly Machines run linux/amd64; `[build] image` names the image deployed."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return DeployFile(
            path=path, kind="fly", error=ProbeError(probe="project", kind=ProbeErrorKind.PARSE, detail=f"{path}: {err}")
        )
    lines = text.splitlines()
    app = next((n for n, line in enumerate(lines, start=1) if re.match(r"\s*app\s*=", line)), 1)
    out = _Out(path, "fly")
    platform = out.target(str(_facts()["fly"]["platform"]), app, "Fly Machines (run linux/amd64)")
    build = data.get("build")
    image = build.get("image") if isinstance(build, dict) else None
    if isinstance(image, str):
        number = next((n for n, line in enumerate(lines, start=1) if re.match(r"\s*image\s*=", line)), app)
        out.image(image, number, "build.image", [platform] if platform else [])
    return out.done()


# --- dispatch ---------------------------------------------------------------------------------------


def deploy_kind(rel: str, *, helm_values: bool = False, cdk: bool = False, text: str = "") -> str | None:
    """Which deploy parser a project file needs (by path, plus a cheap look at the text), or None."""
    name = posixpath.basename(rel)
    lower = name.lower()
    yaml = lower.endswith((".yaml", ".yml"))
    if yaml and (rel.startswith(".github/workflows/") or "/.github/workflows/" in rel):
        return "github-actions"
    if lower in (".gitlab-ci.yml", ".gitlab-ci.yaml"):
        return "gitlab-ci"
    if lower == "fly.toml":
        return "fly"
    if lower in ("serverless.yml", "serverless.yaml"):
        return "serverless"
    if cdk and lower.endswith((".ts", ".py")) and not lower.endswith(".d.ts"):
        return "cdk" if re.search(r"aws-cdk|aws_cdk", text) else None
    if lower.endswith(".json") and "containerDefinitions" in text:
        return "ecs"
    if not yaml:
        return None
    if "AWS::" in text and "Resources" in text:
        return "sam"
    if helm_values and lower.startswith("values"):
        return "helm"
    if "{{" not in text and re.search(r"(?m)^\s*apiVersion\s*:", text) and re.search(r"(?m)^\s*kind\s*:", text):
        return "kubernetes"
    return None


PARSERS = {
    "kubernetes": parse_kubernetes,
    "helm": parse_helm_values,
    "ecs": parse_ecs,
    "sam": parse_cloudformation,
    "serverless": parse_serverless,
    "cdk": parse_cdk,
    "github-actions": parse_github_actions,
    "gitlab-ci": parse_gitlab_ci,
    "fly": parse_fly,
}


def parse_deploy(text: str, *, path: str, kind: str) -> DeployFile | None:
    """The DeployFile for `text` with the parser of `kind`; a file that is not valid YAML becomes an error value."""
    from ruamel.yaml.error import YAMLError

    try:
        return PARSERS[kind](text, path=path)
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        return DeployFile(
            path=path,
            kind=kind,
            error=ProbeError(probe="project", kind=ProbeErrorKind.PARSE, detail=f"{where}: {problem}"),
        )


def all_targets(files: tuple[DeployFile, ...]) -> Iterator[DeployTarget]:
    """Every target the deploy files name, in file order."""
    for deploy in files:
        yield from deploy.targets
