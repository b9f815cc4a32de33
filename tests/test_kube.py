"""`dockdoctor check --kube`: the real kubectl against a loopback Kubernetes API serving recorded objects.

No API server can run on this machine, so tests/support/kubeapi.py serves what real clusters answered (EKS and
GKE node lists, a DaemonSet and its pod, a Deployment's manifest, all in fixtures/recorded/kube/ with their
sources) over HTTPS, with token, client-certificate or exec-plugin auth. The images are served by a loopback
registry. The CLI runs as a user runs it (tests/clirun.py), with the real /usr/bin/kubectl.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import dockdoctor, isolated_env
from tests.support.kubeapi import (
    Cluster,
    Served,
    cert_user,
    certificates,
    exec_user,
    gke_tainted,
    kube_api,
    kubeconfig,
    mixed_eks,
    recorded,
    token_user,
)
from tests.support.servers import OCI_INDEX, OCI_MANIFEST, closed_port, documents, index_doc, registry_server

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the kubectl CLI")

TOKEN = "kube-token-9f8e7d6c5b4a-SECRET"
SLOW = ("--timeout", "60")  # the run's budget on a loaded machine (kubectl starts several times), not a speed claim
AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64"}


def _index(*platforms: dict[str, str]) -> tuple[str, bytes]:
    return OCI_INDEX, index_doc([("sha256:" + f"{i + 1:x}" * 64, OCI_MANIFEST, p) for i, p in enumerate(platforms)])


DOCS: dict[str, tuple[str, bytes]] = {}


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    with registry_server(documents(DOCS)) as reg:
        yield reg.host


@pytest.fixture(autouse=True)
def images() -> Iterator[None]:
    DOCS.clear()
    DOCS.update(
        {
            "aws-efa-k8s-device-plugin/manifests/v0.3.3": _index(AMD64),
            "kube-rbac-proxy/manifests/v0.11.0": _index(AMD64, ARM64),
            "flux-operator/manifests/latest": _index(AMD64),
        }
    )
    yield


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return certificates(tmp_path_factory.mktemp("kube-certs"))


def _env(tmp: Path, config: Path | str, **extra: str) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return isolated_env(tmp, KUBECONFIG=str(config), HOME=str(home), DOCKDOCTOR_CACHE_DIR=str(tmp / "cache"), **extra)


def _check(env: dict[str, str], *args: str) -> Any:
    if "--timeout" not in args:  # a budget for a loaded machine, not a speed claim
        args = (*args, "--timeout", "60")
    result = dockdoctor("check", "--kube", *args, "--json", "--no-project", env=env, timeout=180)
    assert result.code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    return result.json()


def _findings(data: Any, check: str) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["id"] == check]


def _only_gets(served: Served) -> None:
    assert served.seen and all(line.startswith("GET ") for line in served.seen), served.seen


def test_mixed_eks_cluster_with_a_token(tmp_path: Path, certs: dict[str, Path], registry: str) -> None:
    with kube_api(Cluster(**{**mixed_eks(registry).__dict__, "token": TOKEN}), certs) as served:
        config = kubeconfig(tmp_path / "config", served, user=token_user(TOKEN))
        data = _check(_env(tmp_path, config))
    kube = data["facts"]["kube"]
    assert kube["error"] is None and kube["context"] == "test-cluster"
    assert sorted({n["architecture"] for n in kube["nodes"]}) == ["amd64", "arm64"]
    assert {w["kind"] for w in kube["workloads"]} == {
        "DaemonSet",
        "Deployment",
    }  # the DaemonSet's pod is not a workload
    mixed = {f["subject"]: f for f in _findings(data, "DKD241")}
    efa = "DaemonSet/kube-system/aws-efa-k8s-device-plugin-daemonset"
    assert set(mixed) == {efa, "Deployment/operator-system/operator-controller-manager"}
    assert mixed[efa]["target"] == "linux/arm64" and "2 linux/arm64 nodes" in mixed[efa]["message"]
    patch = mixed[efa]["fixes"][0]["steps"][0]["argv"]
    assert patch[:4] == ["kubectl", "patch", "daemonset", "aws-efa-k8s-device-plugin-daemonset"]
    assert json.loads(patch[-1]) == {"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/arch": "amd64"}}}}}
    assert mixed[efa]["fixes"][0]["safety"] == "display-only"
    (crash,) = _findings(data, "DKD242")
    assert crash["subject"] == efa and "exec /node-problem-detector: exec format error" in crash["message"]
    assert "(linux/arm64)" in crash["message"] and "offers linux/amd64" in crash["message"]
    assert not _findings(data, "DKD240") and not _findings(data, "DKD243")
    # the engine checks were not run: --kube asks no docker engine
    assert "DKD201" in {s["id"] for s in data["checks_skipped"]}
    _only_gets(served)
    lists = served.lists()
    assert any(line.startswith("GET /api/v1/nodes?limit=500") for line in lists), lists
    assert any("/log?" in line and "previous=true" in line and "tailLines=20" in line for line in lists), lists


def test_gke_arm64_taint_keeps_an_arm64_only_image_off_its_nodes(
    tmp_path: Path, certs: dict[str, Path], registry: str
) -> None:
    DOCS["flux-operator/manifests/latest"] = _index(ARM64)
    with kube_api(gke_tainted(registry), certs) as served:
        config = kubeconfig(tmp_path / "config", served, user=token_user("unused"))
        data = _check(_env(tmp_path, config))
    (none,) = _findings(data, "DKD240")
    assert none["subject"] == "Deployment/operator-system/operator-controller-manager"
    assert "linux/amd64 node" in none["message"] and "has linux/arm64 nodes it runs on" in none["message"]
    patch = json.loads(none["fixes"][0]["steps"][0]["argv"][-1])["spec"]["template"]["spec"]
    assert patch == {
        "nodeSelector": {"kubernetes.io/arch": "arm64"},
        "tolerations": [{"key": "kubernetes.io/arch", "operator": "Equal", "value": "arm64", "effect": "NoSchedule"}],
    }
    assert none["fixes"][1]["steps"][0]["argv"][:4] == ["docker", "buildx", "build", "--platform"]


def test_client_certificate_kubeconfig(tmp_path: Path, certs: dict[str, Path], registry: str) -> None:
    scene = mixed_eks(registry)
    scene.client_cn = "dockdoctor-user"
    with kube_api(scene, certs) as served:
        config = kubeconfig(tmp_path / "config", served, user=cert_user(served), inline_ca=False)
        data = _check(_env(tmp_path, config))
    assert data["facts"]["kube"]["error"] is None and len(data["facts"]["kube"]["nodes"]) == 4


def test_exec_plugin_kubeconfig(tmp_path: Path, certs: dict[str, Path], registry: str) -> None:
    scene = mixed_eks(registry)
    scene.token = TOKEN
    with kube_api(scene, certs) as served:
        user = exec_user(tmp_path / "credential-plugin", TOKEN, env_secret="plugin-env-SECRET-value")
        config = kubeconfig(tmp_path / "config", served, user=user)
        data = _check(_env(tmp_path, config))
    assert data["facts"]["kube"]["error"] is None and _findings(data, "DKD242")
    # the API accepts only TOKEN, which only the plugin's ExecCredential holds


def test_kubeconfig_files_merged_and_a_named_context(tmp_path: Path, certs: dict[str, Path], registry: str) -> None:
    """KUBECONFIG=a:b as kubectl merges it: the first file's current-context wins, `--kube NAME` picks another."""
    scene = mixed_eks(registry)
    scene.token = TOKEN
    with kube_api(scene, certs) as served:
        first = kubeconfig(tmp_path / "a", served, user=token_user("wrong-token"), context="stale")
        second = kubeconfig(tmp_path / "b", served, user=token_user(TOKEN), context="prod", namespace="kube-system")
        env = _env(tmp_path, f"{first}:{second}")
        stale = _check(env)
        prod = _check(env, "prod")
    assert stale["facts"]["kube"]["context"] == "stale" and stale["facts"]["kube"]["error"]["kind"] == "unauthorized"
    (unread,) = _findings(stale, "DKD243")
    assert "log in again" in unread["fixes"][0]["steps"][0]["text"]
    assert prod["facts"]["kube"]["context"] == "prod" and prod["facts"]["kube"]["error"] is None
    assert _findings(prod, "DKD241")


def test_one_namespace(tmp_path: Path, certs: dict[str, Path], registry: str) -> None:
    with kube_api(mixed_eks(registry), certs) as served:
        config = kubeconfig(tmp_path / "config", served, user=token_user("t"))
        data = _check(_env(tmp_path, config), "--kube-namespace", "operator-system")
    assert data["facts"]["kube"]["namespace"] == "operator-system"
    assert {w["namespace"] for w in data["facts"]["kube"]["workloads"]} == {"operator-system"}
    assert all("/namespaces/operator-system/" in line for line in served.lists() if "nodes" not in line)


def test_api_server_down(tmp_path: Path, certs: dict[str, Path]) -> None:
    port = closed_port()
    served = Served(url=f"https://127.0.0.1:{port}", ca=certs["ca"], seen=[])
    config = kubeconfig(tmp_path / "config", served, user=token_user(TOKEN))
    result = dockdoctor("check", "--kube", "--no-project", *SLOW, env=_env(tmp_path, config), timeout=120)
    assert result.code == 1 and "Traceback" not in result.stderr
    assert (
        "DKD243" in result.stdout and "was refused" in result.stdout
    )  # kubectl: "The connection to the server ... was refused"
    assert "VPN" in result.stdout  # the hint for a server that does not answer


@pytest.mark.parametrize(("status", "kind"), [(401, "unauthorized"), (403, "permission")])
def test_api_refuses(tmp_path: Path, certs: dict[str, Path], registry: str, status: int, kind: str) -> None:
    scene = mixed_eks(registry)
    scene.status = status
    with kube_api(scene, certs) as served:
        config = kubeconfig(tmp_path / "config", served, user=token_user(TOKEN))
        data = _check(_env(tmp_path, config))
    assert data["facts"]["kube"]["error"]["kind"] == kind
    (unread,) = _findings(data, "DKD243")
    assert unread["severity"] == "error" and "Traceback" not in unread["message"]


def test_nodes_forbidden_and_workloads_across_namespaces_forbidden(
    tmp_path: Path, certs: dict[str, Path], registry: str
) -> None:
    scene = mixed_eks(registry)
    scene.forbid = {"nodes", "pods@all", "daemonsets@all", "deployments@all"}
    with kube_api(scene, certs) as served:
        config = kubeconfig(tmp_path / "config", served, user=token_user("t"), namespace="kube-system")
        data = _check(_env(tmp_path, config))
    kube = data["facts"]["kube"]
    assert kube["error"] is None and kube["nodes"] == [] and kube["namespace"] == "kube-system"
    assert {w["kind"] for w in kube["workloads"]} == {"DaemonSet"}
    (partial,) = _findings(data, "DKD244")
    assert "nodes is forbidden" in partial["message"] and "namespace kube-system only" in partial["message"]


def test_huge_cluster_is_paged(tmp_path: Path, certs: dict[str, Path], registry: str) -> None:
    """1200 nodes and 1100 pods: kubectl pages every list by 500 (limit/continue) and every item arrives."""
    node = recorded("eks-nodes.hpc7g-arm64.json")["items"][0]
    nodes = [json.loads(json.dumps(node).replace(node["metadata"]["name"], f"node-{i}")) for i in range(1200)]
    pod = recorded("eks-pod.aws-efa-k8s-device-plugin.json")
    pods = [json.loads(json.dumps(pod).replace(pod["metadata"]["name"], f"pod-{i}")) for i in range(1100)]
    for i, p in enumerate(pods):
        del p["metadata"]["ownerReferences"]  # bare pods: each one a workload, bound to one of the nodes
        del p["spec"]["affinity"]
        p["spec"]["nodeName"] = f"node-{i}"
        for c in p["spec"]["containers"]:
            c["image"] = f"{registry}/eks/aws-efa-k8s-device-plugin:v0.3.3"
    with kube_api(Cluster(objects={"nodes": nodes, "pods": pods}), certs) as served:
        config = kubeconfig(tmp_path / "config", served, user=token_user("t"))
        data = _check(_env(tmp_path, config), "--timeout", "110")
    kube = data["facts"]["kube"]
    assert kube["error"] is None, kube["error"]
    assert len(kube["nodes"]) == 1200 and len(kube["workloads"]) == 1100
    pages = [line for line in served.lists() if line.startswith("GET /api/v1/nodes")]
    assert len(pages) == 3 and "continue=500" in pages[1] and "continue=1000" in pages[2]
    assert sum(1 for line in served.lists() if line.startswith("GET /api/v1/pods")) == 3
    assert len(_findings(data, "DKD240")) == 1100  # an amd64-only image on arm64 nodes, for each bare pod


def test_kubectl_not_installed(tmp_path: Path) -> None:
    env = _env(tmp_path, tmp_path / "none", PATH="/nonexistent")
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "dockdoctor", "check", "--kube", "--no-project"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "DKD243" in result.stdout and "kubectl: command not found" in result.stdout


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path, tmp_path / "none")
    for args in (("--kube", "--all-contexts"), ("--kube-namespace", "x"), ("--kube", "--deep")):
        result = dockdoctor("check", *args, "--no-project", env=env)
        assert result.code == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("Error: ")


def test_kubeconfig_credentials_never_appear(tmp_path: Path, certs: dict[str, Path], registry: str) -> None:
    """Token, client key, exec env and args: in no output format, no facts file, no Markdown."""
    plugin_secret = "exec-env-SECRET-4711"
    scene = mixed_eks(registry)
    scene.token = TOKEN
    with kube_api(scene, certs) as served:
        cert = cert_user(served)
        user = {**exec_user(tmp_path / "plugin", TOKEN, env_secret=plugin_secret), **cert}
        config = kubeconfig(tmp_path / "config", served, user=user)
        env = _env(tmp_path, config)
        outputs = [
            dockdoctor("check", "--kube", "--no-project", *fmt, *SLOW, env=env, timeout=180).stdout
            for fmt in ((), ("--json",), ("--format", "markdown"), ("-v",), ("--no-redact", "--json"))
        ]
        dockdoctor("check", "--kube", "--no-project", "--save-facts", str(tmp_path / "facts.json"), *SLOW, env=env)
    outputs.append((tmp_path / "facts.json").read_text())
    key_lines = [ln for ln in served.client_key.read_text().splitlines() if ln and not ln.startswith("-----")]
    secrets = [TOKEN, plugin_secret, cert["client-key-data"][:40], cert["client-certificate-data"][:40], *key_lines[:3]]
    assert all("DKD24" in out or "kube" in out for out in outputs)
    for out in outputs:
        for secret in secrets:
            assert secret not in out
    assert json.loads(outputs[1])["facts"]["kube"]["server"] == served.url  # the server is kept, it names the cluster


def test_manifest_in_the_project_gets_an_edit_that_closes_the_finding(
    tmp_path: Path, certs: dict[str, Path], registry: str
) -> None:
    """The Deployment's manifest is in the project: the fix is an edit adding the nodeSelector; applied with
    patch(1) and deployed (the test API then serves the edited object), the finding is gone."""
    from ruamel.yaml import YAML

    from tests.support.kubeapi import recorded_text

    project = tmp_path / "project"
    (project / "k8s").mkdir(parents=True)
    manifest = project / "k8s" / "operator.yaml"
    text = recorded_text("manifest.flux-operator-deployment.yaml")
    manifest.write_text(re.sub(r"(image: )[^/\s]+/", rf"\g<1>{registry}/", text))  # as the test API serves them
    scene = mixed_eks(registry)
    with kube_api(scene, certs) as served:
        config = kubeconfig(tmp_path / "config", served, user=token_user("t"))
        env = _env(tmp_path, config)
        before = dockdoctor("check", "--kube", "--json", "--project", str(project), *SLOW, env=env, timeout=180).json()
        (finding,) = [
            f
            for f in _findings(before, "DKD241")
            if f["subject"] == "Deployment/operator-system/operator-controller-manager"
        ]
        edit = finding["fixes"][0]
        assert edit["safety"] == "unsafe" and edit["steps"][0]["kind"] == "edit"
        assert edit["steps"][0]["path"] == str(project / "k8s" / "operator.yaml")
        diff = edit["steps"][0]["diff"]
        assert "+      nodeSelector:\n+        kubernetes.io/arch: amd64\n       containers:" in diff
        subprocess.run(["patch", "-p1", "--quiet"], input=diff, text=True, cwd=project, check=True)
        deployed = YAML(typ="safe").load(manifest.read_text())
        assert deployed["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
        scene.objects["deployments"] = [deployed]  # `kubectl apply -f k8s/operator.yaml`
        after = dockdoctor("check", "--kube", "--json", "--project", str(project), *SLOW, env=env, timeout=180).json()
    assert not [f for f in _findings(after, "DKD241") if f["subject"].startswith("Deployment/")]
    _only_gets(served)


def test_scheduling_rules_of_the_recorded_objects() -> None:
    """Pure: the GKE arm64 taint, the EFA DaemonSet's instance-type affinity and tolerations, cordons."""
    from dockdoctor.checks.kube import can_land
    from dockdoctor.model import KubeNode, KubeTaint, KubeToleration, KubeWorkload
    from dockdoctor.probes.kube import _node, _workload

    gke_arm = _node(recorded("gke-nodes.t2a-arm64-tainted.json")["items"][0])
    gke_amd = _node(recorded("gke-nodes.e2-medium-amd64.json")["items"][0])
    eks_arm = _node(recorded("eks-nodes.hpc7g-arm64.json")["items"][0])
    assert gke_arm.platform == "linux/arm64" and gke_amd.platform == "linux/amd64"
    assert gke_arm.taints == (KubeTaint(key="kubernetes.io/arch", value="arm64", effect="NoSchedule"),)
    ds = _workload(recorded("eks-daemonset.aws-efa-k8s-device-plugin.json"))
    assert can_land(ds, eks_arm) and not can_land(ds, gke_amd)  # its affinity names hpc instance types only
    plain = KubeWorkload(kind="Deployment", namespace="a", name="b")
    assert can_land(plain, gke_amd) and not can_land(plain, gke_arm)
    tolerant = KubeWorkload(
        kind="Deployment",
        namespace="a",
        name="b",
        tolerations=(KubeToleration(key="kubernetes.io/arch", operator="Equal", value="arm64", effect="NoSchedule"),),
    )
    assert can_land(tolerant, gke_arm)
    cordoned = KubeNode(name="n", architecture="amd64", unschedulable=True)
    assert not can_land(plain, cordoned) and can_land(KubeWorkload(kind="DaemonSet", namespace="a", name="d"), cordoned)
    pinned = KubeWorkload(kind="Pod", namespace="a", name="p", node_name=gke_arm.name)
    assert can_land(pinned, gke_arm) and not can_land(
        pinned, gke_amd
    )  # bound pods ignore taints: the kubelet runs them


def test_only_read_only_kubectl_commands_can_run() -> None:
    """The one door to kubectl refuses any verb but `config view`, `get` and `logs`, before starting anything."""
    import time

    from dockdoctor.probes.kube import KubeRequest, _Kubectl

    door = _Kubectl(KubeRequest(kubectl="/nonexistent/kubectl"), time.monotonic() + 5)
    for verb in (
        ("apply", "-f", "x.yaml"),
        ("patch", "deployment", "x"),
        ("delete", "pod", "x"),
        ("config", "use-context"),
    ):
        with pytest.raises(ValueError, match="not a read-only command"):
            door(*verb)
    assert door("get", "nodes").kind == "not-found"  # allowed: it is only missing here


def test_recorded_kubelet_messages_are_platform_errors() -> None:
    """The kubelet's pull error (FoundationDB operator #2294) and the crash log (node-problem-detector #797) are
    recognised by explain-error's signatures; the recorded CrashLoopBackOff status alone names no platform."""
    from dockdoctor.checks.kube import _classify
    from dockdoctor.model import KubeFailure
    from tests.support.kubeapi import recorded_text

    pull = recorded_text("kubelet.no-match-for-platform.fdb-kubernetes-operator-2294.txt").strip()
    log = recorded_text("log.exec-format-error.node-problem-detector-797.txt").strip()
    status = recorded("pod-status.crashloopbackoff.neoshowcase-725.yaml")["containerStatuses"][0]
    base = KubeFailure(namespace="n", pod="p", container="c", image="i")
    assert _classify(dataclasses.replace(base, reason="ErrImagePull", message=pull)) == ("no-matching-manifest", pull)
    assert _classify(dataclasses.replace(base, reason="CrashLoopBackOff", log=(log,))) == ("exec-format", log)
    quiet = dataclasses.replace(base, reason="CrashLoopBackOff", message=status["state"]["waiting"]["message"])
    assert _classify(quiet) is None
