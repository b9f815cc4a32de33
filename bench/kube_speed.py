"""Benchmark: `dockdoctor check --kube` on a cluster of 500 nodes and 5000 workloads, served locally.

Usage: PYTHONPATH=src python bench/kube_speed.py [--nodes 500] [--workloads 5000] [--images 50] [--runs 3]

The cluster is made of recorded objects (fixtures/recorded/kube/: EKS amd64 and arm64 nodes, the EFA DaemonSet,
its pod, the Flux Operator Deployment), copied under new names by tests/support/kubeapi.py's API over HTTPS
with a bearer token; the workloads' images are spread over --images distinct references on a loopback registry
(half amd64-only, half multi-platform). It runs the CLI as a user does, with the real kubectl, and prints the wall
time, the API requests by kind (discovery, list pages, logs) and the registry requests of each run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.clirun import dockdoctor, isolated_env  # noqa: E402
from tests.support.kubeapi import Cluster, certificates, kube_api, kubeconfig, recorded, token_user  # noqa: E402
from tests.support.servers import OCI_INDEX, OCI_MANIFEST, documents, index_doc, registry_server  # noqa: E402

TOKEN = "bench-token"


def _copy(obj: dict[str, Any], name: str) -> dict[str, Any]:
    old = obj["metadata"]["name"]
    return json.loads(json.dumps(obj).replace(old, name))


def _image(obj: dict[str, Any], registry: str, n: int) -> dict[str, Any]:
    spec = obj["spec"].get("template", {}).get("spec") or obj["spec"]
    for c in spec.get("containers", ()):
        c["image"] = f"{registry}/bench/app-{n}:1"
    for cs in (obj.get("status") or {}).get("containerStatuses") or ():
        cs["image"] = f"{registry}/bench/app-{n}:1"
    return obj


def cluster(nodes: int, workloads: int, images: int, registry: str) -> Cluster:
    kinds = [
        *recorded("eks-nodes.hpc6a-amd64.json")["items"],
        *recorded("eks-nodes.hpc7g-arm64.json")["items"],
    ]
    node_objs = [_copy(kinds[i % len(kinds)], f"bench-node-{i}") for i in range(nodes)]
    deployment = recorded("manifest.flux-operator-deployment.yaml")
    daemonset = recorded("eks-daemonset.aws-efa-k8s-device-plugin.json")
    pod = recorded("eks-pod.aws-efa-k8s-device-plugin.json")
    del pod["metadata"]["ownerReferences"], pod["spec"]["affinity"]
    objects: dict[str, list[dict[str, Any]]] = {"nodes": node_objs, "deployments": [], "daemonsets": [], "pods": []}
    for i in range(workloads):
        kind, template = [("deployments", deployment), ("daemonsets", daemonset), ("pods", pod)][i % 3]
        obj = _image(_copy(template, f"bench-{kind}-{i}"), registry, i % images)
        obj["metadata"]["namespace"] = f"team-{i % 40}"
        if kind == "pods":
            obj["spec"]["nodeName"] = f"bench-node-{i % nodes}"
        objects[kind].append(obj)
    return Cluster(objects=objects, token=TOKEN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--workloads", type=int, default=5000)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    amd64 = {"os": "linux", "architecture": "amd64"}
    arm64 = {"os": "linux", "architecture": "arm64"}
    docs = {
        f"bench/app-{n}/manifests/1": (
            OCI_INDEX,
            index_doc(
                [("sha256:" + "a" * 64, OCI_MANIFEST, amd64)]
                + ([("sha256:" + "b" * 64, OCI_MANIFEST, arm64)] if n % 2 else [])
            ),
        )
        for n in range(args.images)
    }
    with tempfile.TemporaryDirectory() as tmp_name, registry_server(documents(docs)) as registry:
        tmp = Path(tmp_name)
        certs = certificates(tmp / "certs")
        scene = cluster(args.nodes, args.workloads, args.images, registry.host)
        counts = {k: len(v) for k, v in scene.objects.items()}
        print(f"cluster: {counts} ({args.images} distinct images, half of them amd64-only)")
        walls = []
        with kube_api(scene, certs) as served:
            config = kubeconfig(tmp / "config", served, user=token_user(TOKEN))
            (tmp / "home").mkdir()
            for run in range(args.runs):
                served.seen.clear()
                registry.seen.clear()
                env = isolated_env(
                    tmp, KUBECONFIG=str(config), HOME=str(tmp / "home"), DOCKDOCTOR_CACHE_DIR=str(tmp / f"cache-{run}")
                )
                start = time.perf_counter()
                result = dockdoctor(
                    "check", "--kube", "--json", "--no-project", "--timeout", "120", env=env, timeout=300
                )
                wall = time.perf_counter() - start
                if result.code not in (0, 1):
                    raise SystemExit(f"run {run + 1}: dockdoctor exited {result.code}: {result.stderr.strip()[-500:]}")
                data = json.loads(result.stdout)
                kube = data["facts"]["kube"]
                assert kube["error"] is None, kube["error"]
                walls.append(wall)
                by = Counter(
                    "list page" if "limit=" in line else "log" if "/log" in line else "discovery"
                    for line in served.seen
                )
                found = Counter(f["id"] for f in data["findings"])
                print(
                    f"run {run + 1}: {wall:.2f} s wall (cold registry cache, kubectl discovery cache "
                    f"{'cold' if run == 0 else 'warm'}); API requests {len(served.seen)} {dict(by)}; registry "
                    f"requests {len(registry.seen)}; read {len(kube['nodes'])} nodes, {len(kube['workloads'])} "
                    f"workloads, {len(kube['images'])} images; findings {dict(sorted(found.items()))}"
                )
        print(f"median wall {statistics.median(walls):.2f} s over {len(walls)} runs")


if __name__ == "__main__":
    main()
