"""Regenerate the DKD240-DKD244 example facts (fixtures/checks/DKD24x/) from real runs of `check --kube`.

Each example is gathered by the CLI with the real kubectl against the test API of tests/support/kubeapi.py, which
serves recorded objects (fixtures/recorded/kube/), and a loopback registry. Run from the repository root:
`PYTHONPATH=src python scripts/kube_examples.py`.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.clirun import dockdoctor, isolated_env  # noqa: E402
from tests.support.kubeapi import certificates, gke_tainted, kube_api, kubeconfig, mixed_eks, token_user  # noqa: E402
from tests.support.servers import OCI_INDEX, OCI_MANIFEST, documents, index_doc, registry_server  # noqa: E402

AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64"}


def index(*platforms: dict[str, str]) -> tuple[str, bytes]:
    return OCI_INDEX, index_doc([("sha256:" + f"{i + 1:x}" * 64, OCI_MANIFEST, p) for i, p in enumerate(platforms)])


def main() -> None:
    docs: dict[str, tuple[str, bytes]] = {}
    single = {
        "aws-efa-k8s-device-plugin/manifests/v0.3.3": index(AMD64),
        "kube-rbac-proxy/manifests/v0.11.0": index(AMD64, ARM64),
        "flux-operator/manifests/latest": index(AMD64),
    }
    both = {k: index(AMD64, ARM64) for k in single}
    with tempfile.TemporaryDirectory() as tmp_name, registry_server(documents(docs)) as reg:
        tmp = Path(tmp_name)
        certs = certificates(tmp / "certs")

        def save(check: str, name: str, scene, images) -> None:  # noqa: ANN001
            docs.clear()
            docs.update(images)
            with kube_api(scene, certs) as served:
                config = kubeconfig(tmp / "config", served, user=token_user("example-token"))
                home = tmp / "home"
                home.mkdir(exist_ok=True)
                env = isolated_env(tmp, KUBECONFIG=str(config), HOME=str(home), DOCKDOCTOR_CACHE_DIR=str(tmp / name))
                out = ROOT / "fixtures" / "checks" / check / f"{name}.json"
                out.parent.mkdir(parents=True, exist_ok=True)
                result = dockdoctor("check", "--kube", "--no-project", "--save-facts", str(out), env=env, timeout=120)
                assert result.code in (0, 1), result.stderr
                data = json.loads(out.read_text())
                out.write_text(json.dumps(data, indent=1) + "\n")
                print(out.relative_to(ROOT), (data["kube"] or {}).get("error"))

        save(
            "DKD240",
            "bad-arm64-image-amd64-nodes",
            gke_tainted(reg.host),
            {**single, **{"flux-operator/manifests/latest": index(ARM64)}},
        )
        save("DKD240", "good-multi-platform-image", gke_tainted(reg.host), both)
        save("DKD241", "bad-amd64-image-mixed-nodes", mixed_eks(reg.host), single)
        save("DKD241", "good-multi-platform-images", mixed_eks(reg.host), both)
        save("DKD242", "bad-exec-format-crashloop", mixed_eks(reg.host), single)
        quiet = mixed_eks(reg.host)
        quiet.logs = {}
        save("DKD242", "good-crashloop-other-cause", quiet, single)
        refused = mixed_eks(reg.host)
        refused.status = 401
        save("DKD243", "bad-unauthorized", refused, single)
        save("DKD243", "good-cluster-read", mixed_eks(reg.host), single)
        forbidden = mixed_eks(reg.host)
        forbidden.forbid = {"nodes"}
        save("DKD244", "bad-nodes-forbidden", forbidden, single)
        save("DKD244", "good-everything-read", mixed_eks(reg.host), single)


if __name__ == "__main__":
    main()
