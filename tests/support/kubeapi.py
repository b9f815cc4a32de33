"""A loopback Kubernetes API server for the tests: discovery, paginated lists and pod logs, over HTTPS with the
auth kubectl sends (bearer token or client certificate), answering with the objects a test gives it.

It implements only what `kubectl get -o json` and `kubectl logs` ask: GET requests. Any other method is answered
405 and recorded, so a test can assert that nothing tried to change the cluster. The objects themselves come from
fixtures/recorded/kube/ (real objects with their sources); this module only serves them.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded" / "kube"

# resource name -> (group/version path, kind, namespaced)
RESOURCES = {
    "nodes": ("api/v1", "Node", False),
    "pods": ("api/v1", "Pod", True),
    "namespaces": ("api/v1", "Namespace", False),
    "deployments": ("apis/apps/v1", "Deployment", True),
    "statefulsets": ("apis/apps/v1", "StatefulSet", True),
    "daemonsets": ("apis/apps/v1", "DaemonSet", True),
    "replicasets": ("apis/apps/v1", "ReplicaSet", True),
    "jobs": ("apis/batch/v1", "Job", True),
    "cronjobs": ("apis/batch/v1", "CronJob", True),
}
SHORT = {"pods": ["po"], "nodes": ["no"], "deployments": ["deploy"], "daemonsets": ["ds"], "statefulsets": ["sts"]}


def recorded_text(name: str) -> str:
    """The body of a file of fixtures/recorded/kube/: what follows its `# source: ...` header and blank line."""
    text = (RECORDED / name).read_text()
    head, _, body = text.partition("\n\n")
    assert head.startswith("# source: https://"), f"{name}: no source header"
    return body


def recorded(name: str) -> Any:
    """A recorded JSON or YAML object (or list) of fixtures/recorded/kube/."""
    body = recorded_text(name)
    if name.endswith(".json"):
        return json.loads(body)
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(body)


@dataclasses.dataclass
class Cluster:
    """What the fake API serves: objects by resource name, pod logs by (namespace, pod, container), auth rules."""

    objects: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    logs: dict[tuple[str, str, str], str] = dataclasses.field(default_factory=dict)
    token: str | None = None  # the bearer token it accepts (None: no token needed)
    client_cn: str | None = None  # the client certificate CN it requires (None: none needed)
    forbid: set[str] = dataclasses.field(default_factory=set)  # "nodes", "pods@all" (cluster-wide list), ...
    status: int | None = None  # answer every request with this status (401, 403, 500)
    page_limit: int | None = None  # the most items one page holds (None: the client's limit)


@dataclasses.dataclass
class Served:
    """A running fake API: its URL, the CA that signed it, and every request line it got."""

    url: str
    ca: Path
    seen: list[str]
    client_cert: Path | None = None
    client_key: Path | None = None

    def lists(self) -> list[str]:
        """The list and log requests (discovery left out)."""
        return [s for s in self.seen if "limit=" in s or "/log" in s or s.startswith("GET /api/v1/nodes")]


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _discovery(path: str) -> dict[str, Any] | None:
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }
    if path == "/apis":
        groups = [("apps", "v1"), ("batch", "v1")]
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": f"{g}/{v}", "version": v}],
                    "preferredVersion": {"groupVersion": f"{g}/{v}", "version": v},
                }
                for g, v in groups
            ],
        }
    for gv in ("api/v1", "apis/apps/v1", "apis/batch/v1"):
        if path == "/" + gv:
            resources = []
            for name, (where, kind, namespaced) in RESOURCES.items():
                if where == gv:
                    resources.append(
                        {
                            "name": name,
                            "singularName": kind.lower(),
                            "namespaced": namespaced,
                            "kind": kind,
                            "verbs": ["get", "list", "watch"],
                            "shortNames": SHORT.get(name, []),
                        }
                    )
            if gv == "api/v1":
                resources.append(
                    {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
                )
            return {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": gv.removeprefix("api/").removeprefix("apis/"),
                "resources": resources,
            }
    return None


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def certificates(d: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (CN=dockdoctor-user), made with openssl."""
    d.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=kube test CA",
        "-keyout",
        str(d / "ca-key.pem"),
        "-out",
        str(d / "ca.pem"),
    )
    for name, cn, ext in (
        ("server", "kube-apiserver", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
        ("client", "dockdoctor-user", "extendedKeyUsage=clientAuth"),
    ):
        (d / f"{name}.ext").write_text(ext + "\n")
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={cn}",
            "-keyout",
            str(d / f"{name}-key.pem"),
            "-out",
            str(d / f"{name}.csr"),
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            str(d / f"{name}.csr"),
            "-CA",
            str(d / "ca.pem"),
            "-CAkey",
            str(d / "ca-key.pem"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(d / f"{name}.ext"),
            "-out",
            str(d / f"{name}.pem"),
        )
    return {k: d / f"{k}.pem" for k in ("ca", "server", "client")} | {
        "server-key": d / "server-key.pem",
        "client-key": d / "client-key.pem",
    }


@contextlib.contextmanager
def kube_api(cluster: Cluster, certs: dict[str, Path]) -> Iterator[Served]:
    """Serve `cluster` over HTTPS on a loopback port until the block ends."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, doc: Any) -> None:
            self._send(code, json.dumps(doc).encode())

        def _refuse(self) -> None:
            seen.append(f"{self.command} {self.path}")
            self._json(405, _status(405, "MethodNotAllowed", "this test API is read-only"))

        do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

        def _authorized(self) -> bool:
            if cluster.status is not None:
                reason = {401: "Unauthorized", 403: "Forbidden"}.get(cluster.status, "InternalError")
                self._json(cluster.status, _status(cluster.status, reason, reason))
                return False
            if cluster.token is not None and self.headers.get("Authorization") != f"Bearer {cluster.token}":
                self._json(401, _status(401, "Unauthorized", "Unauthorized"))
                return False
            if cluster.client_cn is not None:
                peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
                subject = dict(x[0] for x in (peer or {}).get("subject", ()))
                if subject.get("commonName") != cluster.client_cn:
                    self._json(401, _status(401, "Unauthorized", "Unauthorized"))
                    return False
            return True

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            seen.append(f"GET {self.path}")
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            found = _discovery(url.path)
            # a real API server lets any authenticated user read discovery (system:discovery): 403 is for the rest
            if (found is None or cluster.status != 403) and not self._authorized():
                return
            if found is not None:
                self._json(200, found)
                return
            if url.path == "/version":
                self._json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0", "platform": "linux/amd64"})
                return
            parts = url.path.strip("/").split("/")
            # /api/v1/namespaces/NS/pods/NAME/log
            if (
                len(parts) == 7
                and parts[:3] == ["api", "v1", "namespaces"]
                and parts[4] == "pods"
                and parts[6] == "log"
            ):
                key = (parts[3], parts[5], query.get("container", ""))
                text = cluster.logs.get(key)
                if text is None:
                    self._json(400, _status(400, "BadRequest", f"previous terminated container {key[2]!r} not found"))
                    return
                lines = text.splitlines()[-int(query.get("tailLines", "100000")) :]
                self._send(200, ("\n".join(lines) + "\n").encode(), "text/plain")
                return
            # one object: /api/v1/namespaces/NS/pods/NAME (kubectl logs reads the pod first)
            if len(parts) >= 6 and parts[-4] == "namespaces" and parts[-2] in RESOURCES:
                ns, resource, name = parts[-3], parts[-2], parts[-1]
                for o in cluster.objects.get(resource, []):
                    meta = o.get("metadata", {})
                    if meta.get("namespace") == ns and meta.get("name") == name:
                        where, kind, _ = RESOURCES[resource]
                        self._json(200, {"kind": kind, "apiVersion": where.split("/", 1)[1], **o})
                        return
                self._json(404, _status(404, "NotFound", f'{resource} "{name}" not found'))
                return
            namespace = None
            if len(parts) >= 5 and parts[-3] == "namespaces":
                namespace, resource = parts[-2], parts[-1]
                prefix = "/".join(parts[:-3])
            else:
                resource, prefix = parts[-1], "/".join(parts[:-1])
            spec = RESOURCES.get(resource)
            if spec is None or spec[0] != prefix:
                self._json(404, _status(404, "NotFound", "the server could not find the requested resource"))
                return
            scope = f"{resource}@all" if spec[2] and namespace is None else resource
            if resource in cluster.forbid or scope in cluster.forbid:
                where = "at the cluster scope" if namespace is None else f'in the namespace "{namespace}"'
                group = spec[0].split("/")[1] if spec[0].startswith("apis") else ""
                self._json(
                    403,
                    _status(
                        403,
                        "Forbidden",
                        f'{resource} is forbidden: User "dockdoctor-user" cannot list '
                        f'resource "{resource}" in API group "{group}" {where}',
                    ),
                )
                return
            items = [
                o
                for o in cluster.objects.get(resource, [])
                if namespace is None or o.get("metadata", {}).get("namespace") == namespace
            ]
            start = int(query.get("continue") or 0)
            limit = int(query.get("limit") or 0) or len(items)
            if cluster.page_limit:
                limit = min(limit, cluster.page_limit)
            page = items[start : start + limit]
            meta: dict[str, Any] = {"resourceVersion": "4242"}
            if start + limit < len(items):
                meta["continue"] = str(start + limit)
                meta["remainingItemCount"] = len(items) - start - limit
            kind = spec[1]
            api_version = spec[0].removeprefix("api/").removeprefix("apis/")
            body = {
                "kind": f"{kind}List",
                "apiVersion": api_version,
                "metadata": meta,
                "items": [{"kind": kind, "apiVersion": api_version, **o} for o in page],
            }
            self._json(200, body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs["server"]), str(certs["server-key"]))
    if cluster.client_cn is not None:
        context.load_verify_locations(str(certs["ca"]))
        context.verify_mode = ssl.CERT_OPTIONAL
    server = Server(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Served(
            url=f"https://127.0.0.1:{server.server_address[1]}",
            ca=certs["ca"],
            seen=seen,
            client_cert=certs["client"],
            client_key=certs["client-key"],
        )
    finally:
        server.shutdown()
        server.server_close()


def kubeconfig(
    path: Path,
    served: Served,
    *,
    user: dict[str, Any],
    context: str = "test-cluster",
    namespace: str | None = None,
    inline_ca: bool = True,
    extra_contexts: tuple[str, ...] = (),
) -> Path:
    """A kubeconfig for `served` with one user entry (token, client certificate or exec), as kubectl writes them."""
    cluster: dict[str, Any] = {"server": served.url}
    if inline_ca:
        cluster["certificate-authority-data"] = base64.b64encode(served.ca.read_bytes()).decode()
    else:
        cluster["certificate-authority"] = str(served.ca)
    ctx: dict[str, Any] = {"cluster": context, "user": f"{context}-user"}
    if namespace:
        ctx["namespace"] = namespace
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": f"{context}-user", "user": user}],
        "contexts": [{"name": context, "context": ctx}]
        + [{"name": n, "context": {"cluster": context, "user": f"{context}-user"}} for n in extra_contexts],
        "current-context": context,
    }
    path.write_text(json.dumps(doc, indent=2))
    path.chmod(0o600)
    return path


def token_user(token: str) -> dict[str, Any]:
    return {"token": token}


def cert_user(served: Served) -> dict[str, Any]:
    assert served.client_cert is not None and served.client_key is not None
    return {
        "client-certificate-data": base64.b64encode(served.client_cert.read_bytes()).decode(),
        "client-key-data": base64.b64encode(served.client_key.read_bytes()).decode(),
    }


def exec_user(script: Path, token: str, *, env_secret: str = "") -> dict[str, Any]:
    """An exec-plugin user whose plugin prints a client.authentication.k8s.io/v1 ExecCredential with `token`."""
    script.write_text(
        "#!/bin/sh\n"
        'printf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
        f'"status":{{"token":"{token}"}}}}\\n\'\n'
    )
    script.chmod(0o755)
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(script),
            "args": ["--cluster", "test"],
            "env": [{"name": "PLUGIN_SECRET", "value": env_secret}] if env_secret else None,
            "interactiveMode": "Never",
            "provideClusterInfo": False,
        }
    }


# --- scenes: clusters made of recorded objects --------------------------------------------------------------


def _items(name: str) -> list[dict[str, Any]]:
    doc = recorded(name)
    return list(doc["items"]) if isinstance(doc, dict) and "items" in doc else [doc]


def _retag(obj: dict[str, Any], registry: str) -> dict[str, Any]:
    """The object with every container image moved to the test registry (`registry/<path>:<tag>`), so the
    registry client asks a loopback registry instead of ECR or ghcr.io; nothing else changes."""
    obj = json.loads(json.dumps(obj))
    specs = [obj.get("spec") or {}]
    template = (obj.get("spec") or {}).get("template") or {}
    specs.append(template.get("spec") or {})
    for spec in specs:
        for key in ("initContainers", "containers"):
            for c in spec.get(key) or ():
                c["image"] = f"{registry}/{c['image'].split('/', 1)[1]}"
    for cs in (obj.get("status") or {}).get("containerStatuses") or ():
        cs["image"] = f"{registry}/{cs['image'].split('/', 1)[1]}"
    return obj


def crashlooping(pod: dict[str, Any], node: str) -> dict[str, Any]:
    """A recorded pod whose container status is the recorded CrashLoopBackOff one (its name and image set to the
    pod's own container's), bound to `node`: the scene of node-problem-detector#797."""
    pod = json.loads(json.dumps(pod))
    status = recorded("pod-status.crashloopbackoff.neoshowcase-725.yaml")["containerStatuses"][0]
    container = pod["spec"]["containers"][0]
    status.update(name=container["name"], image=container["image"])
    pod["status"]["containerStatuses"] = [status]
    pod["status"]["phase"] = "Running"
    pod["spec"]["nodeName"] = node
    pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchFields"
    ][0]["values"] = [node]
    return pod


def mixed_eks(registry: str) -> Cluster:
    """An EKS cluster of two real node groups (hpc6a amd64, hpc7g arm64), the real EFA device plugin DaemonSet,
    one of its pods crash-looping on an arm64 node with node-problem-detector#797's log line, and the Flux
    Operator's Deployment from its manifest; every image on the test registry."""
    amd, arm = _items("eks-nodes.hpc6a-amd64.json"), _items("eks-nodes.hpc7g-arm64.json")
    ds = _retag(recorded("eks-daemonset.aws-efa-k8s-device-plugin.json"), registry)
    pod = crashlooping(_retag(recorded("eks-pod.aws-efa-k8s-device-plugin.json"), registry), arm[0]["metadata"]["name"])
    deployment = _retag(recorded("manifest.flux-operator-deployment.yaml"), registry)
    log = recorded_text("log.exec-format-error.node-problem-detector-797.txt")
    return Cluster(
        objects={"nodes": amd + arm, "daemonsets": [ds], "pods": [pod], "deployments": [deployment]},
        logs={(pod["metadata"]["namespace"], pod["metadata"]["name"], pod["spec"]["containers"][0]["name"]): log},
    )


def gke_tainted(registry: str) -> Cluster:
    """A GKE cluster of real amd64 e2-medium nodes and real tainted t2a arm64 nodes, running the Flux Operator's
    Deployment (its images on the test registry)."""
    nodes = _items("gke-nodes.e2-medium-amd64.json") + _items("gke-nodes.t2a-arm64-tainted.json")
    deployment = _retag(recorded("manifest.flux-operator-deployment.yaml"), registry)
    return Cluster(objects={"nodes": nodes, "deployments": [deployment]})
