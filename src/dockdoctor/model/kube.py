"""Kubernetes facts (`check --kube`): the cluster's nodes, its workloads and their scheduling rules, failing pods.

Only what the checks read is kept: never a kubeconfig credential, never a raw API object.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockdoctor.model.facts import ProbeError, RemoteImage
from dockdoctor.platforms import PlatformError, format_platform, parse


@dataclass(frozen=True, slots=True)
class KubeTaint:
    """A node taint (`kubectl taint`): pods that do not tolerate it are not scheduled there (NoSchedule)."""

    key: str
    value: str = ""
    effect: str = ""  # NoSchedule | PreferNoSchedule | NoExecute


@dataclass(frozen=True, slots=True)
class KubeNode:
    """One node: the architecture its kubelet reports, its labels and taints."""

    name: str
    architecture: str = ""  # status.nodeInfo.architecture (amd64, arm64, ...)
    os: str = ""  # status.nodeInfo.operatingSystem
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[KubeTaint, ...] = ()
    unschedulable: bool = False  # cordoned (spec.unschedulable)
    ready: bool = True

    def label(self, key: str) -> str | None:
        """The value of a label, or None when the node does not carry it."""
        for name, value in self.labels:
            if name == key:
                return value
        return None

    @property
    def platform(self) -> str | None:
        """os/arch: the kubelet's nodeInfo, else the kubernetes.io labels; None when neither says (normalized)."""
        arch = self.architecture or self.label("kubernetes.io/arch") or self.label("beta.kubernetes.io/arch") or ""
        os_name = self.os or self.label("kubernetes.io/os") or self.label("beta.kubernetes.io/os") or "linux"
        try:
            return format_platform(parse(f"{os_name}/{arch}")) if arch else None
        except PlatformError:
            return None


@dataclass(frozen=True, slots=True)
class KubeRequirement:
    """One node selector requirement (matchExpressions, or matchFields when `field` is set)."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: tuple[str, ...] = ()
    field: bool = False  # a matchFields requirement (metadata.name)


@dataclass(frozen=True, slots=True)
class KubeToleration:
    """A pod toleration: which taints the pod accepts."""

    key: str = ""
    operator: str = "Equal"  # Equal | Exists
    value: str = ""
    effect: str = ""  # "" tolerates every effect


@dataclass(frozen=True, slots=True)
class KubeContainer:
    """A container of a pod template: its name, image reference and whether it is an init container."""

    name: str
    image: str
    init: bool = False


@dataclass(frozen=True, slots=True)
class KubeWorkload:
    """A Deployment, StatefulSet, DaemonSet, Job, CronJob or bare Pod, with the rules that choose its nodes."""

    kind: str
    namespace: str
    name: str
    containers: tuple[KubeContainer, ...] = ()
    node_selector: tuple[tuple[str, str], ...] = ()
    affinity: tuple[tuple[KubeRequirement, ...], ...] = ()  # required nodeSelectorTerms: any term, all of its parts
    tolerations: tuple[KubeToleration, ...] = ()
    node_name: str = ""  # spec.nodeName, for a pod bound to one node

    @property
    def ref(self) -> str:
        """kind/namespace/name, as the findings name a workload."""
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class KubeFailure:
    """A container of a pod that is crash-looping or cannot pull its image: what the kubelet said, and its log."""

    namespace: str
    pod: str
    container: str
    image: str
    node: str = ""
    owner: str = ""  # the workload the pod belongs to (kind/namespace/name), "" for a bare pod
    init: bool = False
    reason: str = ""  # CrashLoopBackOff | ImagePullBackOff | ErrImagePull | ...
    message: str = ""  # the waiting state's message
    last_reason: str = ""  # the last terminated state's reason (Error, StartError, ...)
    last_message: str = ""
    exit_code: int | None = None
    restarts: int = 0
    log: tuple[str, ...] = ()  # the last lines of the previous run (`kubectl logs --previous --tail`), escaped


@dataclass(frozen=True, slots=True)
class KubeFacts:
    """What `check --kube` read from the cluster (read-only): nodes, workloads, failing containers, image platforms."""

    context: str  # the kubeconfig context
    cluster: str = ""  # its cluster entry's name
    server: str = ""  # the API server URL (credentials removed)
    namespace: str | None = None  # the namespace read; None: every namespace
    client: str = ""  # how the cluster was read: "kubectl v1.32.4"
    nodes: tuple[KubeNode, ...] = ()
    workloads: tuple[KubeWorkload, ...] = ()
    failures: tuple[KubeFailure, ...] = ()
    images: tuple[RemoteImage, ...] = ()  # what the registries offer for the workloads' images (de-duplicated)
    error: ProbeError | None = None  # the cluster could not be read
    errors: tuple[ProbeError, ...] = ()  # parts that could not be read (a list forbidden, a log, the registries)
    notes: tuple[str, ...] = ()  # what was bounded (too many images, logs read for N of M failing pods)

    @property
    def reachable(self) -> bool:
        return self.error is None

    @property
    def node_platforms(self) -> tuple[tuple[str, int], ...]:
        """(platform, number of nodes) for the cluster's nodes, most first ("unknown" for a node that says none)."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            key = node.platform or "unknown"
            counts[key] = counts.get(key, 0) + 1
        return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def summary(self) -> str:
        """One line: the context, its nodes by platform, its workloads and failing containers."""
        if self.error is not None:
            return f"context {self.context}: not read ({self.error.kind})"
        nodes = ", ".join(f"{n} {p}" for p, n in self.node_platforms) or "none listed"
        where = f"namespace {self.namespace}" if self.namespace else "every namespace"
        return (
            f"context {self.context}: {len(self.nodes)} node(s) ({nodes}), {len(self.workloads)} workload(s) in "
            f"{where}, {len(self.failures)} failing container(s), {len(self.images)} image(s) looked up"
        )


__all__ = [
    "KubeContainer",
    "KubeFacts",
    "KubeFailure",
    "KubeNode",
    "KubeRequirement",
    "KubeTaint",
    "KubeToleration",
    "KubeWorkload",
]
