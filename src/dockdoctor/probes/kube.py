"""The Kubernetes probe (`check --kube [CONTEXT]`): the cluster read through the user's own `kubectl`, read-only.

Why kubectl and not a Python client: kubectl already is the user's working client, so every kubeconfig it accepts
works here unchanged: KUBECONFIG with several files merged, contexts and namespaces, tokens and token files,
client certificates, certificate authorities, insecure-skip-tls-verify, exec plugins
(client.authentication.k8s.io ExecCredential, with kubectl's own credential cache), auth-provider entries and
proxy-url. Credentials never enter this process: `kubectl config view` (without --raw) prints certificate and key
data as DATA+OMITTED and tokens as REDACTED, and only four names are kept from it. Importing nothing costs
nothing at start (the `kubernetes` client costs 0.3-0.9 s of imports here, lightkube 0.1-0.2 s, kr8s about
0.3 s, and each covers fewer of those auth kinds). `kubectl get --chunk-size` pages every list with limit/continue.

Only `kubectl config view`, `kubectl get` and `kubectl logs` are ever run (`_READ_ONLY`): GET requests only.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import Any

from dockdoctor.model import (
    KubeContainer,
    KubeFacts,
    KubeFailure,
    KubeNode,
    KubeRequirement,
    KubeTaint,
    KubeToleration,
    KubeWorkload,
    ProbeError,
    ProbeErrorKind,
    RemoteImage,
)
from dockdoctor.probes._pool import Pool
from dockdoctor.probes._run import Completed, run
from dockdoctor.probes.images import escape_controls

KINDS = ("pods", "deployments", "statefulsets", "daemonsets", "jobs", "cronjobs")
CHUNK = 500  # items per list page (kubectl's --chunk-size; the API server's limit/continue)
MAX_LOGS = 8  # failing containers whose last log lines are read
LOG_LINES = 20
MAX_IMAGES = 300  # distinct images looked up in their registries; the others are listed as not judged
MAX_WORKLOADS = 20000
_FAILING = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "RunContainerError", "CreateContainerError")
_READ_ONLY = (("config", "view"), ("get",), ("logs",))
_USERINFO = re.compile(r"//[^/@\s]*@")
_KLOG = re.compile(r"^[EWIF]\d{4} \d\d:\d\d:\d\d")  # client-go's log lines: their last `error:` line says it


@dataclass(frozen=True, slots=True)
class KubeRequest:
    """What `--kube [CONTEXT]` asked: the context ("" = kubectl's current one) and a namespace (None = all)."""

    context: str = ""
    namespace: str | None = None
    kubectl: str = "kubectl"


class _Kubectl:
    """The one door to kubectl: read-only verbs, one deadline, the context chosen once."""

    def __init__(self, request: KubeRequest, deadline: float) -> None:
        self.request, self.deadline = request, deadline

    def __call__(self, *args: str) -> Completed | ProbeError:
        if not any(args[: len(verb)] == verb for verb in _READ_ONLY):
            raise ValueError(f"kubectl {' '.join(args[:2])} is not a read-only command")  # a bug, never user input
        left = self.deadline - time.monotonic()
        if left <= 0.2:
            return ProbeError(probe="kube", kind=ProbeErrorKind.TIMEOUT, detail="no time left in the run (--timeout)")
        argv = [self.request.kubectl]
        if self.request.context:
            argv += ["--context", self.request.context]
        if args[0] != "config":
            argv.append(f"--request-timeout={max(1, int(left))}s")
        return run("kube", (*argv, *args), timeout=left, secret=True)


def gather_kube(
    request: KubeRequest,
    *,
    deadline: float,
    lookup: Callable[[tuple[str, ...], float], tuple[RemoteImage, ...]] | None = None,
) -> KubeFacts:
    """Read the cluster: its context, nodes, workloads and failing pods, then what the registries offer for the
    workloads' images (`lookup(refs, finish)`, the registry client). Failures are values (KubeFacts.error)."""
    kubectl = _Kubectl(request, deadline)
    facts = _context(kubectl, request)
    if facts.error is not None:
        return facts
    listed = _lists(kubectl, request.namespace)
    if isinstance(listed, ProbeError):
        return replace(facts, error=listed)
    items, errors, notes, scope = listed
    nodes = tuple(_node(o) for o in items.get("Node", ()))
    workloads = tuple(_workloads(items))[:MAX_WORKLOADS]
    failures = tuple(_failures(items.get("Pod", [])))
    failures, log_errors, log_note = _logs(kubectl, failures)
    facts = replace(
        facts,
        namespace=scope,
        nodes=nodes,
        workloads=workloads,
        failures=failures,
        errors=errors + log_errors,
        notes=notes + log_note,
    )
    if lookup is not None:
        refs = tuple(dict.fromkeys(c.image for w in workloads for c in w.containers if c.image))
        refs += tuple(f.image for f in failures if f.image and f.image not in refs)
        asked, beyond = refs[:MAX_IMAGES], refs[MAX_IMAGES:]
        facts = replace(facts, images=lookup(asked, deadline))
        if beyond:
            facts = replace(
                facts,
                notes=facts.notes
                + (f"{len(beyond)} more images than the {MAX_IMAGES} looked up were not judged (not looked up)",),
            )
    return facts


def _context(kubectl: _Kubectl, request: KubeRequest) -> KubeFacts:
    """The context's names from `kubectl config view --minify` (no --raw: kubectl omits every credential)."""
    done = kubectl("config", "view", "--minify", "-o", "json")
    name = request.context or "(current context)"
    if isinstance(done, ProbeError):
        if done.kind == "not-found":
            done = ProbeError(
                probe="kube",
                kind=ProbeErrorKind.NOT_FOUND,
                detail=f"{request.kubectl}: command not found; --kube reads the cluster with kubectl: install it "
                "(https://kubernetes.io/docs/tasks/tools/) or put it on PATH",
            )
        return KubeFacts(context=name, error=done)
    if done.code != 0:
        return KubeFacts(context=name, error=_error(done, "config"))
    try:
        config = json.loads(done.stdout)
    except ValueError:
        return KubeFacts(
            context=name,
            error=ProbeError(probe="kube", kind=ProbeErrorKind.PROTOCOL, detail="kubectl config view: not JSON"),
        )
    context = (config.get("contexts") or [{}])[0]
    cluster = (config.get("clusters") or [{}])[0]
    ctx = context.get("context") or {}
    server = str((cluster.get("cluster") or {}).get("server") or "")
    return KubeFacts(
        context=str(context.get("name") or config.get("current-context") or name),
        cluster=str(ctx.get("cluster") or cluster.get("name") or ""),
        server=_USERINFO.sub("//", server),
        namespace=str(ctx["namespace"]) if ctx.get("namespace") else None,
        client=request.kubectl,
    )


def _error(done: Completed, what: str) -> ProbeError:
    """kubectl's own words for a failure, classified: unauthorized, forbidden, refused, tls, timeout, config."""
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip() and not _KLOG.match(line)]
    text = " ".join(dict.fromkeys(lines))[:600] or f"exit {done.code}"
    lowered = text.lower()
    kind = ProbeErrorKind.ERROR
    if "unauthorized" in lowered or "must be logged in" in lowered or "getting credentials" in lowered:
        kind = ProbeErrorKind.UNAUTHORIZED
    elif "forbidden" in lowered:
        kind = ProbeErrorKind.PERMISSION
    elif "refused" in lowered or "no such host" in lowered or "unable to connect" in lowered:
        kind = ProbeErrorKind.REFUSED
    elif "x509" in lowered or "certificate" in lowered or "tls" in lowered:
        kind = ProbeErrorKind.TLS
    elif "timeout" in lowered or "deadline exceeded" in lowered:
        kind = ProbeErrorKind.TIMEOUT
    elif what == "config" or "context" in lowered or "kubeconfig" in lowered or "configuration" in lowered:
        kind = ProbeErrorKind.CONFIG
    return ProbeError(probe="kube", kind=kind, detail=text)


def _parse(done: Completed) -> list[dict[str, Any]] | None:
    try:
        doc = json.loads(done.stdout) if done.stdout.strip() else {"items": []}
    except ValueError:
        return None
    items = doc.get("items") if isinstance(doc, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else None


def _lists(
    kubectl: _Kubectl, namespace: str | None
) -> tuple[dict[str, list[dict[str, Any]]], tuple[ProbeError, ...], tuple[str, ...], str | None] | ProbeError:
    """Nodes and the workload kinds, each paged by kubectl; every namespace unless one was asked, and the
    context's namespace when listing across namespaces is forbidden."""
    chunk = f"--chunk-size={CHUNK}"
    pool = Pool(2, "kube")
    try:
        nodes_f = pool.submit(kubectl, "get", "nodes", "-o", "json", chunk)
        scope = ("-n", namespace) if namespace else ("-A",)
        kinds_f = pool.submit(kubectl, "get", ",".join(KINDS), *scope, "-o", "json", chunk)
        nodes, kinds = _result(nodes_f), _result(kinds_f)
    finally:
        pool.shutdown()
    errors: list[ProbeError] = []
    notes: list[str] = []
    items: dict[str, list[dict[str, Any]]] = {}
    if isinstance(nodes, ProbeError):
        return nodes
    if nodes.code != 0:
        error = _error(nodes, "nodes")
        if error.kind != "permission":
            return error  # nothing answers: down, unauthorized, bad config
        errors.append(replace(error, detail=f"nodes: {error.detail}"))
    else:
        found = _parse(nodes)
        if found is None:
            return ProbeError(
                probe="kube", kind=ProbeErrorKind.PROTOCOL, detail="kubectl get nodes: the answer is not a JSON list"
            )
        items["Node"] = found
    if isinstance(kinds, ProbeError):
        return kinds
    listed_in: str | None = namespace
    if kinds.code != 0 and not namespace and "forbidden" in kinds.stderr.lower():
        fallback = _namespace_of(kubectl)
        retry = kubectl("get", ",".join(KINDS), "-n", fallback, "-o", "json", chunk)
        if not isinstance(retry, ProbeError):
            notes.append(f"listing across namespaces is forbidden: read the namespace {fallback} only")
            kinds, listed_in = retry, fallback
    if kinds.code != 0:
        error = _error(kinds, "workloads")
        if _parse(kinds) in (None, []):
            if error.kind != "permission" or "Node" not in items:
                return error
        errors.append(replace(error, detail=f"workloads: {error.detail}"))
    for item in _parse(kinds) or ():
        items.setdefault(str(item.get("kind") or ""), []).append(item)
    return items, tuple(errors), tuple(notes), listed_in


def _namespace_of(kubectl: _Kubectl) -> str:
    done = kubectl("config", "view", "--minify", "-o", "jsonpath={..namespace}")
    if isinstance(done, Completed) and done.code == 0 and done.stdout.strip():
        return done.stdout.split()[0]
    return "default"


def _result(future: Any) -> Completed | ProbeError:
    try:
        return future.result()  # type: ignore[no-any-return]
    except FutureTimeout:  # pragma: no cover - run() has its own timeout
        return ProbeError(probe="kube", kind=ProbeErrorKind.TIMEOUT, detail="kubectl did not finish")


# --- API objects -> facts ------------------------------------------------------------------------------------


def _str(value: object) -> str:
    return escape_controls(str(value)) if value is not None else ""


def _node(obj: dict[str, Any]) -> KubeNode:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    info = status.get("nodeInfo") or {}
    labels = meta.get("labels") or {}
    ready = next((c.get("status") == "True" for c in status.get("conditions") or () if c.get("type") == "Ready"), True)
    return KubeNode(
        name=_str(meta.get("name")),
        architecture=_str(info.get("architecture")),
        os=_str(info.get("operatingSystem")),
        labels=tuple(sorted((_str(k), _str(v)) for k, v in labels.items())),
        taints=tuple(
            KubeTaint(key=_str(t.get("key")), value=_str(t.get("value") or ""), effect=_str(t.get("effect") or ""))
            for t in spec.get("taints") or ()
            if isinstance(t, dict)
        ),
        unschedulable=bool(spec.get("unschedulable")),
        ready=bool(ready),
    )


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def _requirements(term: dict[str, Any]) -> tuple[KubeRequirement, ...]:
    return tuple(
        KubeRequirement(
            key=_str(e.get("key")),
            operator=_str(e.get("operator")),
            values=tuple(_str(v) for v in e.get("values") or ()),
            field=field,
        )
        for field, entries in ((False, term.get("matchExpressions")), (True, term.get("matchFields")))
        for e in entries or ()
        if isinstance(e, dict)
    )


def _workload(obj: dict[str, Any]) -> KubeWorkload:
    meta, spec = obj.get("metadata") or {}, _pod_spec(obj)
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}).get("nodeSelectorTerms") or ()  # fmt: skip
    containers = [
        KubeContainer(name=_str(c.get("name")), image=_str(c.get("image") or ""), init=init)
        for init, key in ((True, "initContainers"), (False, "containers"))
        for c in spec.get(key) or ()
        if isinstance(c, dict)
    ]
    return KubeWorkload(
        kind=_str(obj.get("kind")),
        namespace=_str(meta.get("namespace") or ""),
        name=_str(meta.get("name")),
        containers=tuple(containers),
        node_selector=tuple(sorted((_str(k), _str(v)) for k, v in (spec.get("nodeSelector") or {}).items())),
        affinity=tuple(_requirements(t) for t in required if isinstance(t, dict)),
        tolerations=tuple(
            KubeToleration(
                key=_str(t.get("key") or ""),
                operator=_str(t.get("operator") or "Equal"),
                value=_str(t.get("value") or ""),
                effect=_str(t.get("effect") or ""),
            )
            for t in spec.get("tolerations") or ()
            if isinstance(t, dict)
        ),
        node_name=_str(spec.get("nodeName") or ""),
    )


def _controller(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def _workloads(items: dict[str, list[dict[str, Any]]]) -> Iterator[KubeWorkload]:
    """Every workload once: a Job a CronJob made, and a pod a controller made, belong to their owner."""
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"):
        for obj in items.get(kind, ()):
            owner = _controller(obj)
            if kind == "Job" and owner is not None and owner.get("kind") == "CronJob":
                continue
            if kind == "Pod" and owner is not None:
                continue
            yield _workload(obj)


def _owner(obj: dict[str, Any]) -> str:
    """The workload a pod belongs to: its controller, a ReplicaSet taken as its Deployment (name minus hash)."""
    ref = _controller(obj)
    if ref is None:
        return ""
    namespace = _str((obj.get("metadata") or {}).get("namespace") or "")
    kind, name = _str(ref.get("kind")), _str(ref.get("name"))
    if kind == "ReplicaSet" and "-" in name:
        kind, name = "Deployment", name.rsplit("-", 1)[0]
    return f"{kind}/{namespace}/{name}"


def _failures(pods: list[dict[str, Any]]) -> Iterator[KubeFailure]:
    for pod in pods:
        meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
        for init, key in ((True, "initContainerStatuses"), (False, "containerStatuses")):
            for cs in status.get(key) or ():
                if not isinstance(cs, dict):
                    continue
                waiting = (cs.get("state") or {}).get("waiting") or {}
                last = (cs.get("lastState") or {}).get("terminated") or {}
                reason = _str(waiting.get("reason") or "")
                if reason not in _FAILING:
                    continue
                yield KubeFailure(
                    namespace=_str(meta.get("namespace") or ""),
                    pod=_str(meta.get("name")),
                    container=_str(cs.get("name")),
                    image=_str(cs.get("image") or _spec_image(spec, str(cs.get("name")))),
                    node=_str(spec.get("nodeName") or ""),
                    owner=_owner(pod),
                    init=init,
                    reason=reason,
                    message=_str(waiting.get("message") or "")[:1000],
                    last_reason=_str(last.get("reason") or ""),
                    last_message=_str(last.get("message") or "")[:1000],
                    exit_code=last.get("exitCode") if isinstance(last.get("exitCode"), int) else None,
                    restarts=int(cs.get("restartCount") or 0),
                )


def _spec_image(spec: dict[str, Any], name: str) -> str:
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or ():
            if isinstance(c, dict) and c.get("name") == name:
                return str(c.get("image") or "")
    return ""


def _logs(
    kubectl: _Kubectl, failures: tuple[KubeFailure, ...]
) -> tuple[tuple[KubeFailure, ...], tuple[ProbeError, ...], tuple[str, ...]]:
    """The last lines of the previous run of crash-looping containers (at most MAX_LOGS, 4 at a time)."""
    wanted = [i for i, f in enumerate(failures) if f.reason == "CrashLoopBackOff"][:MAX_LOGS]
    if not wanted:
        return failures, (), ()
    pool = Pool(min(4, len(wanted)), "kube-logs")
    try:
        futures = {
            i: pool.submit(
                kubectl,
                "logs",
                "--previous",
                f"--tail={LOG_LINES}",
                "-n",
                failures[i].namespace,
                failures[i].pod,
                "-c",
                failures[i].container,
            )
            for i in wanted
        }
        done = {i: _result(f) for i, f in futures.items()}
    finally:
        pool.shutdown()
    out, errors = list(failures), []
    for i, result in done.items():
        if isinstance(result, Completed) and result.code == 0:
            lines = tuple(escape_controls(line)[:500] for line in result.stdout.splitlines()[-LOG_LINES:])
            out[i] = replace(out[i], log=lines)
        else:
            error = result if isinstance(result, ProbeError) else _error(result, "logs")
            errors.append(replace(error, detail=f"logs of {failures[i].namespace}/{failures[i].pod}: {error.detail}"))
    crashing = sum(1 for f in failures if f.reason == "CrashLoopBackOff")
    note = (
        (f"last log lines read for {len(wanted)} of {crashing} crash-looping containers",)
        if crashing > len(wanted)
        else ()
    )
    return tuple(out), tuple(errors), note


__all__ = ["KubeRequest", "gather_kube"]
