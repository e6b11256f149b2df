"""The kind node image built here carries a real cluster: kind v0.33.0 creates a control
plane and a worker from it without a registry, both nodes become Ready, and a pod on the
worker reaches a Service backed by a pod on the control plane by its cluster DNS name
(the CNI agent's routes, kube-proxy's rules and CoreDNS, all from the image). With
keep_dns_in_cluster, a name outside the cluster no longer resolves from a pod."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from odin_acceptance.core.polling import eventually
from odin_acceptance.provisioning.components import ensure
from odin_acceptance.provisioning.kind_node_files import IMAGES
from odin_acceptance.provisioning.kind_node_image import NodeImageError, ensure_node_image
from odin_acceptance.provisioning.versions import KIND, KUBECTL
from odin_acceptance.targets.kind_dns import keep_dns_in_cluster

pytestmark = [pytest.mark.slow, pytest.mark.kind]  # needs Docker: the kind tier (make test-kind)

TWO_NODES = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
"""
ANSWER = "hello-from-the-control-plane"
# Both pods run the small Debian image the node holds for local-path's helper (sh, socat).
PODS = f"""apiVersion: v1
kind: Pod
metadata: {{name: echo, labels: {{app: echo}}}}
spec:
  nodeSelector: {{node-role.kubernetes.io/control-plane: ""}}
  tolerations: [{{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}}]
  containers:
    - name: echo
      image: {IMAGES.storage_helper}
      imagePullPolicy: Never
      command: [socat, "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo {ANSWER}"]
---
apiVersion: v1
kind: Service
metadata: {{name: echo}}
spec:
  selector: {{app: echo}}
  ports: [{{port: 8080}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec:
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        - {{labelSelector: {{matchLabels: {{app: echo}}}}, topologyKey: kubernetes.io/hostname}}
  containers:
    - name: client
      image: {IMAGES.storage_helper}
      imagePullPolicy: Never
      command: [sleep, infinity]
"""


def _docker_reason() -> str | None:
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        return "Docker is not installed"
    return None if info.returncode == 0 else f"Docker does not answer: {info.stderr.strip()[:200]}"


@pytest.fixture(scope="module")
def node_image() -> str:
    reason = _docker_reason()
    if reason:
        pytest.skip(reason)
    try:
        return ensure_node_image()
    except NodeImageError as exc:
        if "--privileged" in str(exc) and ("apply caps" in str(exc) or "not permitted" in str(exc)):
            pytest.skip(f"Docker cannot run privileged containers here (see .ci/prepare-docker): {exc}")
        raise


def test_a_two_node_cluster_from_the_built_image_routes_a_service_across_nodes_by_dns(node_image, tmp_path: Path):
    kind, kubectl = ensure(KIND)["kind"], ensure(KUBECTL)["kubectl"]
    name = f"odin-node-{uuid.uuid4().hex[:6]}"
    kubeconfig = tmp_path / "kubeconfig"
    config = tmp_path / "cluster.yaml"
    config.write_text(TWO_NODES)

    def kube(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(kubectl), "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=180, **kw
        )

    started = time.monotonic()
    try:
        create = subprocess.run(
            [
                str(kind),
                "create",
                "cluster",
                "--name",
                name,
                "--config",
                str(config),
                "--image",
                node_image,
                "--kubeconfig",
                str(kubeconfig),
                "--wait",
                "180s",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert create.returncode == 0, f"kind create cluster failed:\n{create.stderr[-3000:]}"
        print(f"kind create cluster (2 nodes): {time.monotonic() - started:.0f} s")

        def both_ready() -> list[str]:
            nodes = json.loads(kube("get", "nodes", "-o", "json", check=True).stdout)["items"]
            ready = [
                n["metadata"]["name"]
                for n in nodes
                if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
            ]
            assert len(ready) == 2, f"Ready: {ready} of {[n['metadata']['name'] for n in nodes]}"
            return ready

        eventually(
            both_ready, timeout=180, what="both kind nodes Ready", hint="the CNI agent writes each node's config"
        )
        kube("apply", "-f", "-", input=PODS, check=True)
        waited = kube("wait", "--for=condition=Ready", "pod/echo", "pod/client", "--timeout=180s")
        assert waited.returncode == 0, waited.stderr + kube("get", "pods", "-o", "wide").stdout
        pods = json.loads(kube("get", "pods", "-o", "json", check=True).stdout)["items"]
        where = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in pods}
        assert where["client"] != where["echo"] and where["echo"].endswith("control-plane"), where

        def answered() -> str:
            out = kube("exec", "client", "--", "socat", "-u", "TCP:echo.default.svc.cluster.local:8080", "STDOUT")
            assert out.stdout.strip() == ANSWER, out.stdout + out.stderr
            return out.stdout

        eventually(answered, timeout=60, what="the worker's pod reaching the Service on the control plane by DNS")

        def lookup(name: str) -> bool:
            return kube("exec", "client", "--", "getent", "hosts", name).returncode == 0

        # A name only Docker's own DNS answers (the control plane's container, on kind's network),
        # so the probe sees forwarding on a machine without outside DNS too.
        outside = f"{name}-control-plane"
        assert lookup(outside), f"{outside} does not resolve from a pod even with kubeadm's forwarding Corefile"
        keep_dns_in_cluster([str(kubectl), "--kubeconfig", str(kubeconfig)])

        def cluster_names_only() -> None:
            assert lookup("echo.default.svc.cluster.local"), "the Service's name no longer resolves"
            assert not lookup(outside), f"{outside} (a name outside the cluster) still resolves from a pod"

        eventually(cluster_names_only, timeout=60, what="cluster DNS answering cluster names only")
    finally:
        subprocess.run(
            [str(kind), "delete", "cluster", "--name", name, "--kubeconfig", str(kubeconfig)],
            capture_output=True,
            timeout=180,
            check=False,
        )
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=io.x-k8s.kind.cluster={name}"], capture_output=True, text=True
    )
    assert not left.stdout.strip(), f"kind left containers of {name}: {left.stdout}"
