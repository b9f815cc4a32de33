"""DKD24x: the Kubernetes cluster (`check --kube`): images against the nodes their workloads can land on, pods that
crash-loop on a foreign architecture, and a cluster that could not be read. Pure functions of Facts.kube."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from dockdoctor.checks._signatures import recognise
from dockdoctor.checks._spec import Context, check
from dockdoctor.checks._util import ev, platform_or_none
from dockdoctor.model import (
    DeployImage,
    EditFile,
    Facts,
    Fix,
    Fixable,
    KubeFacts,
    KubeFailure,
    KubeNode,
    KubeRequirement,
    KubeTaint,
    KubeWorkload,
    Problem,
    RemoteImage,
    Safety,
    Severity,
    Step,
    manual,
    run,
)
from dockdoctor.platforms import MatchKind, Platform, best_match

_KIND_RESOURCE = {
    "Deployment": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "Job": "job",
    "CronJob": "cronjob",
    "Pod": "pod",
}


# --- scheduling (which nodes a workload can land on), as the scheduler's node filters decide it ---------------


def node_platform(node: KubeNode) -> str | None:
    """os/arch of a node: the kubelet's nodeInfo, else its kubernetes.io labels; None when neither says."""
    return node.platform


def _value(node: KubeNode, req: KubeRequirement) -> str | None:
    if req.field:
        return node.name if req.key == "metadata.name" else None
    return node.label(req.key)


def _holds(node: KubeNode, req: KubeRequirement) -> bool:
    value = _value(node, req)
    match req.operator:
        case "In":
            return value is not None and value in req.values
        case "NotIn":
            return value is None or value not in req.values
        case "Exists":
            return value is not None
        case "DoesNotExist":
            return value is None
        case "Gt" | "Lt":
            try:
                have, bound = int(value or ""), int(req.values[0])
            except (ValueError, IndexError):
                return False
            return have > bound if req.operator == "Gt" else have < bound
    return False


def tolerated(workload: KubeWorkload, taint: KubeTaint) -> bool:
    """Whether a NoSchedule/NoExecute taint keeps the workload off the node (PreferNoSchedule never does)."""
    if taint.effect not in ("NoSchedule", "NoExecute"):
        return True
    for t in workload.tolerations:
        if t.effect and t.effect != taint.effect:
            continue
        if t.operator == "Exists" and (not t.key or t.key == taint.key):
            return True
        if t.operator != "Exists" and t.key == taint.key and t.value == taint.value:
            return True
    return False


def can_land(workload: KubeWorkload, node: KubeNode) -> bool:
    """nodeName, nodeSelector, required node affinity (any term, all its parts), taints and cordons."""
    if workload.node_name:
        return node.name == workload.node_name
    if node.unschedulable and workload.kind != "DaemonSet":
        return False
    if any(node.label(k) != v for k, v in workload.node_selector):
        return False
    if workload.affinity and not any(all(_holds(node, r) for r in term) for term in workload.affinity):
        return False
    return all(tolerated(workload, t) for t in node.taints)


def landing_nodes(workload: KubeWorkload, nodes: tuple[KubeNode, ...]) -> tuple[KubeNode, ...]:
    return tuple(n for n in nodes if can_land(workload, n))


class _Cluster:
    """What the checks ask of one KubeFacts again and again, computed once: node platforms, landing nodes per
    scheduling rule (most workloads share theirs), registry answers by reference, image verdicts."""

    def __init__(self, kube: KubeFacts) -> None:
        self.kube = kube
        self.platform = {n.name: n.platform for n in kube.nodes}
        self.by_name = {n.name: n for n in kube.nodes}
        self.platforms = tuple(sorted({p for p in self.platform.values() if p}))
        self.images = {r.reference: r for r in kube.images}
        self._landing: dict[object, dict[str, list[str]]] = {}
        self._runs: dict[tuple[str, str], bool | None] = {}

    def landing(self, workload: KubeWorkload) -> dict[str, list[str]]:
        """node platform -> the names of the nodes the workload can land on."""
        if workload.node_name:
            node = self.by_name.get(workload.node_name)
            platform = self.platform.get(workload.node_name)
            return {platform: [node.name]} if node is not None and platform else {}
        rule = (workload.kind == "DaemonSet", workload.node_selector, workload.affinity, workload.tolerations)
        found = self._landing.get(rule)
        if found is None:
            found = {}
            for node in landing_nodes(workload, self.kube.nodes):
                platform = self.platform[node.name]
                if platform is not None:
                    found.setdefault(platform, []).append(node.name)
            self._landing[rule] = found
        return found

    def runs_on(self, image: RemoteImage, platform: str) -> bool | None:
        key = (image.reference, platform)
        if key not in self._runs:
            self._runs[key] = runs_on(image, platform)
        return self._runs[key]


_LAST: list[_Cluster] = []  # the index of the KubeFacts the checks read last (one run judges one cluster)


def cluster(kube: KubeFacts) -> _Cluster:
    """The index of `kube`, built once for all the checks of a run."""
    if _LAST and _LAST[0].kube is kube:
        return _LAST[0]
    index = _Cluster(kube)
    _LAST[:] = [index]
    return index


def _remote(kube: KubeFacts, reference: str) -> RemoteImage | None:
    return cluster(kube).images.get(reference)


def _offered(image: RemoteImage) -> tuple[Platform, ...]:
    return tuple(p for p in (platform_or_none(x.platform) for x in image.platforms) if p is not None)


def runs_on(image: RemoteImage, platform: str) -> bool | None:
    """Whether the image has a variant a node of `platform` runs natively; None when the registry did not say."""
    target = platform_or_none(platform)
    offered = _offered(image)
    if target is None or image.error is not None or image.artifact_type or not offered:
        return None
    return best_match(target, offered).kind in (MatchKind.EXACT, MatchKind.COMPATIBLE)


@dataclass(frozen=True, slots=True)
class Placement:
    """One container image of one workload: the node platforms it can land on, the ones its image runs on."""

    workload: KubeWorkload
    image: RemoteImage
    container: str
    landing: dict[str, list[str]]  # node platform -> node names the workload can land on
    good: tuple[str, ...]  # node platforms the image runs on
    bad: tuple[str, ...]  # node platforms it can land on and the image does not run on


def placements(kube: KubeFacts) -> Iterator[Placement]:
    """Every (workload, image) whose image the registry answered for, with its landing platforms, once each."""
    index = cluster(kube)
    for workload in kube.workloads:
        landing = index.landing(workload)
        if not landing:
            continue
        seen: set[str] = set()
        for container in workload.containers:
            if container.image in seen:
                continue
            seen.add(container.image)
            image = index.images.get(container.image)
            if image is None:
                continue
            verdict = {p: index.runs_on(image, p) for p in landing}
            if any(v is None for v in verdict.values()):
                continue
            yield Placement(
                workload=workload,
                image=image,
                container=container.name,
                landing=landing,
                good=tuple(sorted(p for p, ok in verdict.items() if ok)),
                bad=tuple(sorted(p for p, ok in verdict.items() if not ok)),
            )


# --- fixes --------------------------------------------------------------------------------------------------


def _arch(platform: str) -> str:
    return platform.split("/")[1]


def _tolerations_for(kube: KubeFacts, workload: KubeWorkload, platform: str) -> list[KubeTaint]:
    """The taints of the `platform` nodes that keep this workload off every one of them (GKE taints arm64 nodes
    `kubernetes.io/arch=arm64:NoSchedule`)."""
    index = cluster(kube)
    nodes = [n for n in kube.nodes if index.platform[n.name] == platform and not n.unschedulable]
    if not nodes or any(all(tolerated(workload, t) for t in n.taints) for n in nodes):
        return []
    first = nodes[0]
    return [t for t in first.taints if not tolerated(workload, t)]


def _patch(workload: KubeWorkload, arch: str, taints: list[KubeTaint]) -> str:
    spec: dict[str, object] = {"nodeSelector": {"kubernetes.io/arch": arch}}
    if taints:  # a merge patch replaces the whole list: the workload's own tolerations stay in it
        own = [
            {k: v for k, v in (("key", t.key), ("operator", t.operator), ("value", t.value), ("effect", t.effect)) if v}
            for t in workload.tolerations
        ]
        spec["tolerations"] = own + [
            {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect} for t in taints
        ]
    body: dict[str, object] = {"spec": spec} if workload.kind == "Pod" else {"spec": {"template": {"spec": spec}}}
    if workload.kind == "CronJob":
        body = {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
    return json.dumps(body, separators=(",", ":"))


def _manifest(facts: Facts, workload: KubeWorkload, image: str) -> DeployImage | None:
    """The project's manifest entry for this workload's image, when the project holds its Kubernetes file."""
    project = facts.project
    for deploy in project.deploy if project is not None else ():
        if deploy.kind != "kubernetes":
            continue
        for entry in deploy.images:
            kind, _, rest = entry.workload.partition("/")
            namespace, _, name = rest.partition("/")
            if (kind, name) == (workload.kind, workload.name) and namespace in ("", workload.namespace):
                if entry.reference == image:
                    return entry
    return None


def _insert_before(root: str, rel: str, line: int, anchor: str, new: list[str]) -> EditFile:
    plus = "".join(f"+{text}\n" for text in new)
    return EditFile(
        path=posixpath.join(root, rel),
        diff=f"--- a/{rel}\n+++ b/{rel}\n@@ -{line},1 +{line},{len(new) + 1} @@\n{plus} {anchor}\n",
    )


def _selector_fix(ctx: Context, workload: KubeWorkload, image: str, platform: str) -> Fix:
    """Run the workload only where its image runs: an edit of the project's manifest, else a `kubectl patch`."""
    kube = ctx.facts.kube
    assert kube is not None
    arch = _arch(platform)
    taints = _tolerations_for(kube, workload, platform)
    title = f"schedule {workload.ref} on {platform} nodes only (nodeSelector kubernetes.io/arch: {arch})"
    entry = _manifest(ctx.facts, workload, image)
    project = ctx.facts.project
    editable = entry is not None and entry.pod_spec.number > 0 and not entry.node_selector
    if entry is not None and project is not None and editable and not (taints and workload.tolerations):
        line, anchor = entry.pod_spec.number, entry.pod_spec.text
        indent = anchor[: len(anchor) - len(anchor.lstrip())]
        new = [f"{indent}nodeSelector:", f"{indent}  kubernetes.io/arch: {arch}"]
        if taints:  # the workload has no tolerations (else the patch below): a new key
            new.append(f"{indent}tolerations:")
            for t in taints:
                new += [
                    f"{indent}  - key: {t.key}",
                    f"{indent}    operator: Equal",
                    f"{indent}    value: {t.value}",
                    f"{indent}    effect: {t.effect}",
                ]
        rel = entry.source.file
        steps: tuple[Step, ...] = (
            _insert_before(project.root, rel, line, anchor, new),
            manual(f"then apply it as you deploy (`kubectl apply -f {rel}`)"),
        )
        return Fix(title=title, steps=steps, safety=Safety.UNSAFE, serves="deploy")
    namespace = ("-n", workload.namespace) if workload.namespace else ()
    argv = ("kubectl", "patch", _KIND_RESOURCE.get(workload.kind, workload.kind.lower()), workload.name, *namespace)
    steps = (
        run(*argv, "--type", "merge", "-p", _patch(workload, arch, taints)),
        manual(
            "or add the same nodeSelector"
            + (" and tolerations" if taints else "")
            + " to the manifest or chart you deploy it from (a patch is undone by the next deploy)"
        ),
    )
    return Fix(title=title, steps=steps, safety=Safety.DISPLAY_ONLY, serves="deploy")


def _publish_fix(image: RemoteImage, missing: tuple[str, ...]) -> Fix:
    every = ",".join(dict.fromkeys([*(p.platform for p in image.platforms), *missing]))
    return Fix(
        title=f"publish {image.reference} for {', '.join(missing)} too",
        safety=Safety.DISPLAY_ONLY,
        serves="deploy",
        steps=(run("docker", "buildx", "build", "--platform", every, "-t", image.reference, "--push", "."),),
    )


def _nodes_text(landing: dict[str, list[str]], platforms: tuple[str, ...]) -> str:
    parts = []
    for p in platforms:
        names = landing[p]
        parts.append(
            f"{len(names)} {p} node{'s' if len(names) > 1 else ''} ({', '.join(names[:3])}"
            + (", ..." if len(names) > 3 else "")
            + ")"
        )
    return ", ".join(parts)


def _cluster_platforms(kube: KubeFacts) -> tuple[str, ...]:
    return cluster(kube).platforms


@check("DKD240", "kube-image-runs-on-no-node", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def kube_image_runs_on_no_node(ctx: Context) -> Iterator[Problem]:
    """A workload's image runs on none of the nodes the workload can be scheduled on

    ## What it checks
    With `check --kube`: for every Deployment, StatefulSet, DaemonSet, Job, CronJob and bare Pod (init containers
    too), the nodes it can land on (its `nodeSelector`, required node affinity, the nodes' taints against its
    tolerations, cordons) and their architectures (`status.nodeInfo.architecture`, else the `kubernetes.io/arch`
    label), against the platforms the registry says its image offers. This check fires when the image runs on
    none of them.

    ## Why it matters
    Every pod of it fails: `exec /usr/local/bin/docker-entrypoint.sh: exec format error` in CrashLoopBackOff when
    the image is single-platform, or `ErrImagePull` with `failed to pull and unpack image ...: no match for
    platform in manifest: not found` when it is an index without that platform. On GKE, arm64 nodes carry the
    taint `kubernetes.io/arch=arm64:NoSchedule`, so an arm64-only image lands on the amd64 nodes.

    ## Example
    `fixtures/checks/DKD240/bad-arm64-image-amd64-nodes.json`: an arm64-only image whose Deployment lands on amd64
    nodes only (the arm64 nodes are tainted). `good-multi-platform-image.json`: the image offers both.

    ## Fix
    Schedule the workload on nodes its image runs on: `nodeSelector: {kubernetes.io/arch: ARCH}` (and a toleration
    for those nodes' taints) as an edit of the project's manifest when the project holds it (unsafe: it changes
    where the workload runs), else a `kubectl patch` shown, never run (display only). Or publish the image for the
    nodes' platform (`docker buildx build --platform linux/amd64,linux/arm64 -t IMAGE --push .`, display only).

    ## Facts used
    `kube.nodes` (`architecture`, `os`, `labels`, `taints`, `unschedulable`), `kube.workloads` (`containers`,
    `node_selector`, `affinity`, `tolerations`, `node_name`), `kube.images` (`platforms`), `project.deploy`.
    """
    kube = ctx.facts.kube
    if kube is None or not kube.reachable:
        return
    platforms = _cluster_platforms(kube)
    for placed in placements(kube):
        if placed.good:
            continue
        w, image = placed.workload, placed.image
        have = ", ".join(p.platform for p in image.platforms) or "nothing"
        elsewhere = [p for p in platforms if runs_on(image, p)]
        fixes = tuple(_selector_fix(ctx, w, image.reference, p) for p in elsewhere[:1]) + (
            _publish_fix(image, placed.bad),
        )
        yield Problem(
            message=f"{w.ref}: {image.reference} (container {placed.container}) offers {have}, but the workload "
            f"can only be scheduled on {_nodes_text(placed.landing, placed.bad)}: every pod fails there"
            + (f"; the cluster has {', '.join(elsewhere)} nodes it runs on" if elsewhere else ""),
            subject=w.ref,
            target=placed.bad[0],
            evidence=(
                ev("kube.workloads.image", image.reference),
                ev("kube.images.platforms", have),
                ev("kube.nodes.platforms", ", ".join(placed.landing)),
            ),
            fixes=fixes,
        )


@check("DKD241", "kube-image-lacks-some-node-platform", severity=Severity.WARNING, fixable=Fixable.SOMETIMES)
def kube_image_lacks_some_node_platform(ctx: Context) -> Iterator[Problem]:
    """A workload can be scheduled on nodes of a platform its image does not offer

    ## What it checks
    With `check --kube`: as DKD240, the nodes each workload can land on against its image's platforms; this one
    fires when the image runs on some of those nodes but not on others (a cluster whose node groups mix amd64 and
    arm64, such as EKS with Graviton node groups, and a workload without a `kubernetes.io/arch` selector).

    ## Why it matters
    The pods that the scheduler happens to place on the other nodes fail with `exec format error` (or `no match
    for platform in manifest`), the others run: the failure comes and goes with scaling, node rotation and
    DaemonSets, which run on every node.

    ## Example
    `fixtures/checks/DKD241/bad-amd64-image-mixed-nodes.json`: amd64-only images of a DaemonSet and a Deployment
    without a selector on an EKS cluster of amd64 and arm64 node groups. `good-multi-platform-images.json`: the
    same cluster, every image offering both.

    ## Fix
    Add `nodeSelector: {kubernetes.io/arch: ARCH}` for the architecture the image has (an edit of the project's
    manifest when the project holds it, unsafe; else a `kubectl patch` shown, never run), or publish the image for
    the missing platform (`docker buildx build --platform ... --push`, display only).

    ## Facts used
    `kube.nodes`, `kube.workloads`, `kube.images`, `project.deploy`.
    """
    kube = ctx.facts.kube
    if kube is None or not kube.reachable:
        return
    for placed in placements(kube):
        if not placed.good or not placed.bad:
            continue
        w, image = placed.workload, placed.image
        have = ", ".join(p.platform for p in image.platforms)
        fixes = tuple(_selector_fix(ctx, w, image.reference, p) for p in placed.good[:1]) + (
            _publish_fix(image, placed.bad),
        )
        yield Problem(
            message=f"{w.ref}: {image.reference} (container {placed.container}) offers {have}; the workload can "
            f"also be scheduled on {_nodes_text(placed.landing, placed.bad)}, where its pods fail with "
            "`exec format error`",
            subject=w.ref,
            target=placed.bad[0],
            evidence=(
                ev("kube.workloads.image", image.reference),
                ev("kube.images.platforms", have),
                ev("kube.nodes.platforms", ", ".join(placed.landing)),
            ),
            fixes=fixes,
        )


def _classify(failure: KubeFailure) -> tuple[str, str] | None:
    """(signature class, the line) of the first platform error in the kubelet's words or the last log lines."""
    for text in (failure.message, failure.last_message, *failure.log):
        for match in recognise(text):
            if match.signature.cls in ("exec-format", "no-matching-manifest"):
                return match.signature.cls, match.text
    return None


@check("DKD242", "kube-pod-platform-error", severity=Severity.ERROR, fixable=Fixable.SOMETIMES)
def kube_pod_platform_error(ctx: Context) -> Iterator[Problem]:
    """A pod crash-loops or cannot pull its image because of the node's architecture

    ## What it checks
    With `check --kube`: containers (init containers too) in `CrashLoopBackOff`, `ImagePullBackOff` or
    `ErrImagePull` whose waiting message, last termination message or last log lines (`kubectl logs --previous`)
    hold a platform error, recognised by the same signatures as `dockdoctor explain-error`; named with the node's
    architecture and what the registry says the image offers.

    ## Why it matters
    This is the failure as the cluster shows it: `exec /node-problem-detector: exec format error` on an arm64
    node, or `failed to pull and unpack image "docker.io/foundationdb/fdb-kubernetes-operator:v2.6.0": no match
    for platform in manifest: not found`. Restarting the pod changes nothing.

    ## Example
    `fixtures/checks/DKD242/bad-exec-format-crashloop.json`: a DaemonSet pod on an arm64 node in CrashLoopBackOff,
    its log says `exec format error`. `good-crashloop-other-cause.json`: the same crash loop, its log unread and
    its status naming no platform.

    ## Fix
    As DKD240: schedule the workload on nodes its image runs on (nodeSelector, an edit of the project's manifest or
    a `kubectl patch` shown), or publish the image for the node's platform; display only unless the manifest is in
    the project.

    ## Facts used
    `kube.failures` (`reason`, `message`, `last_message`, `log`, `node`, `owner`, `image`), `kube.nodes`,
    `kube.images`, `kube.workloads`.
    """
    kube = ctx.facts.kube
    if kube is None or not kube.reachable:
        return
    nodes = {n.name: n for n in kube.nodes}
    workloads = {w.ref: w for w in kube.workloads}
    seen: set[tuple[str, str]] = set()
    for failure in kube.failures:
        found = _classify(failure)
        if found is None:
            continue
        cls, line = found
        key = (failure.owner or f"Pod/{failure.namespace}/{failure.pod}", failure.image)
        if key in seen:
            continue
        seen.add(key)
        node = nodes.get(failure.node)
        platform = node_platform(node) if node is not None else None
        image = _remote(kube, failure.image)
        have = ", ".join(p.platform for p in image.platforms) if image is not None and image.platforms else ""
        where = (
            f" on node {failure.node} ({platform})"
            if platform
            else (f" on node {failure.node}" if failure.node else "")
        )
        workload = workloads.get(key[0])
        fixes: tuple[Fix, ...] = ()
        if image is not None and workload is not None and have:
            good = [p for p in _cluster_platforms(kube) if runs_on(image, p)]
            fixes = tuple(_selector_fix(ctx, workload, image.reference, p) for p in good[:1])
            if platform and not runs_on(image, platform):
                fixes += (_publish_fix(image, (platform,)),)
        what = "crash-loops" if failure.reason == "CrashLoopBackOff" else f"is in {failure.reason}"
        yield Problem(
            message=f"pod {failure.namespace}/{failure.pod} ({key[0]}), container {failure.container}{where} {what}: "
            f"`{line}`" + (f"; {failure.image} offers {have}" if have else ""),
            subject=key[0],
            target=platform,
            evidence=(
                ev("kube.failures.reason", failure.reason),
                ev("kube.failures.error", line),
                ev("kube.failures.class", cls),
                *((ev("kube.images.platforms", have),) if have else ()),
            ),
            fixes=fixes,
        )


_HINTS = {
    "not-found": "install kubectl (https://kubernetes.io/docs/tasks/tools/) or put it on PATH",
    "unauthorized": "the credentials were refused or have expired: log in again (for EKS `aws eks update-kubeconfig`, "
    "for GKE `gcloud container clusters get-credentials`), then check `kubectl get nodes` works",
    "permission": "your user may not list nodes or pods: ask for a role that can get and list nodes, pods and "
    "workloads (read-only), or name a namespace you can read with --kube-namespace",
    "refused": "the API server did not answer: check the context's server address, your VPN or tunnel "
    "(`kubectl cluster-info`)",
    "tls": "the server's certificate was not trusted: check the context's certificate-authority",
    "timeout": "no answer in time: raise --timeout, or check the network to the API server",
    "config": "check the kubeconfig and the context name (`kubectl config get-contexts`)",
}


@check("DKD243", "kube-cluster-unreadable", severity=Severity.ERROR, fixable=Fixable.NEVER)
def kube_cluster_unreadable(ctx: Context) -> Iterator[Problem]:
    """The Kubernetes cluster could not be read

    ## What it checks
    `check --kube [CONTEXT]` could not read the cluster through kubectl: kubectl is not installed, the context does
    not exist, the API server does not answer, refused the credentials (401) or the listing (403), or did not
    answer in time. The message is kubectl's own, without credentials.

    ## Why it matters
    Nothing about the cluster's nodes and workloads could be judged. kubectl says, for example, `error: You must be
    logged in to the server (Unauthorized)` or `The connection to the server 127.0.0.1:6443 was refused - did you
    specify the right host or port?`.

    ## Example
    `fixtures/checks/DKD243/bad-unauthorized.json` (the API server answered 401). `good-cluster-read.json`.

    ## Fix
    Display only: the step that matches the failure (install kubectl, log in again, ask for read access, check the
    server address or the context name).

    ## Facts used
    `kube.error`, `kube.context`, `kube.server`.
    """
    kube = ctx.facts.kube
    if kube is None or kube.error is None:
        return
    error = kube.error
    where = f"context {kube.context}" + (f" ({kube.server})" if kube.server else "")
    yield Problem(
        message=f"{where}: the cluster could not be read: {error.kind}: {error.detail}",
        subject=where,
        evidence=(ev("kube.error.kind", error.kind), ev("kube.error.detail", error.detail)),
        fixes=(
            Fix(
                title="make kubectl reach the cluster",
                safety=Safety.DISPLAY_ONLY,
                steps=(manual(_HINTS.get(error.kind, "run `kubectl get nodes` and fix what it says")),),
            ),
        ),
    )


@check("DKD244", "kube-partly-judged", severity=Severity.INFO, fixable=Fixable.NEVER)
def kube_partly_judged(ctx: Context) -> Iterator[Problem]:
    """Part of the cluster could not be judged

    ## What it checks
    With `check --kube`: lists that were forbidden (the nodes, or the workloads across namespaces), log lines that
    could not be read, images whose registry did not answer (private registries without credentials here, an
    unknown tag), and what was bounded (the number of images looked up, of logs read).

    ## Why it matters
    A workload whose image platforms or whose nodes are unknown is not judged by DKD240 and DKD241: silence there
    does not mean it runs. kubectl says `nodes is forbidden: User "dev" cannot list resource "nodes" in API group ""
    at the cluster scope`; a private registry answers `unauthorized: authentication required`.

    ## Example
    `fixtures/checks/DKD244/bad-nodes-forbidden.json`. `good-everything-read.json`.

    ## Fix
    Display only: read access to nodes, pods and workloads; `docker login REGISTRY` for the private registries.

    ## Facts used
    `kube.errors`, `kube.notes`, `kube.images` (`error`).
    """
    kube = ctx.facts.kube
    if kube is None or not kube.reachable:
        return
    gaps = [f"{e.kind}: {e.detail}" for e in kube.errors] + list(kube.notes)
    failed = [i for i in kube.images if i.error is not None]
    if failed:
        names = ", ".join(f"{i.reference} ({i.error.kind})" for i in failed[:5] if i.error is not None)
        gaps.append(f"{len(failed)} image(s) not looked up: {names}" + (", ..." if len(failed) > 5 else ""))
    if not gaps:
        return
    yield Problem(
        message=f"context {kube.context}: not everything was judged: " + "; ".join(gaps),
        subject=f"context {kube.context}",
        evidence=tuple(ev("kube.errors", g) for g in gaps[:8]),
        fixes=(
            Fix(
                title="give dockdoctor what it needs to read",
                safety=Safety.DISPLAY_ONLY,
                steps=(
                    manual(
                        "read access (get, list) to nodes, pods and workloads; `docker login REGISTRY` "
                        "for private registries"
                    ),
                ),
            ),
        ),
    )
