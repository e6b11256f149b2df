"""Every pod the suite itself starts on a cluster (log writers, the CPU stress, the fake DCGM
exporter, the webhook receiver) is admitted where Pod Security enforces `restricted`: judged
by a real kube-apiserver's PodSecurity admission, the kwok control plane's."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
import yaml

from odin_acceptance.clients.kubectl import KubectlError
from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.core.workloads import LoadableNode
from odin_acceptance.provisioning import components
from odin_acceptance.provisioning.versions import CONTROL_PLANE
from odin_acceptance.stack_config import manifests
from odin_acceptance.target_api.base import TargetOptions
from odin_acceptance.targets.kube_control_plane import ControlPlane, port_forward_config
from odin_acceptance.targets.kubernetes import ClusterTarget, workload_namespace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("provisioned")]

ENFORCE = "pod-security.kubernetes.io/enforce"


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A real API server (with etcd, the controllers and KWOK) and no node: admission is all
    these tests ask of it."""
    tools = components.ensure_all(lambda message: None, CONTROL_PLANE)
    control_plane = ControlPlane(tools, tmp_path_factory.mktemp("kube"))
    try:
        control_plane.start(port_forward_config(None, {}))
        yield control_plane
    finally:
        control_plane.stop()


def _cluster_target(plane: ControlPlane) -> ClusterTarget:
    options = TargetOptions(PROFILES["real"], manifests.BASE, kubeconfig=str(plane.kubeconfig))
    return ClusterTarget(options=options, tools={})


def _instrument_deployments() -> list[dict]:
    """The fake DCGM exporter's and the webhook receiver's Deployments, as the kind overlay renders them."""
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(manifests.OVERLAYS / "kind")], capture_output=True, text=True, check=True
    ).stdout
    names = {"dcgm-exporter", "webhook-receiver"}
    return [
        d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment" and d["metadata"]["name"] in names
    ]


def test_the_suites_pods_are_admitted_where_restricted_is_enforced(plane: ControlPlane) -> None:
    target = _cluster_target(plane)
    nodes = target.nodes
    namespace = "odin-test-a1b2c3"
    # The log writer as a scenario starts it: the target makes the namespace, then the pod.
    nodes.start_workload(namespace, "log-writer", ["--lines", "1"])
    api = plane.api(namespace)
    labels = api.cluster_object("Namespace", namespace)["metadata"]["labels"]
    assert labels.get(ENFORCE) == "restricted", f"the workload namespace enforces no Pod Security level: {labels}"
    assert api.pod("log-writer")["metadata"]["name"] == "log-writer"
    # The CPU stress goes into the stack's namespace, which cannot enforce restricted (node-exporter);
    # its pod must pass restricted all the same: here that namespace enforces it.
    stack_namespace = target.stack.scope.namespace
    plane.kubectl().apply(yaml.safe_dump(workload_namespace(stack_namespace)))
    nodes.stress_cpu(LoadableNode("odin-kwok-worker0", "10.244.0.9:9100", 2), "cpu-stress", 1)
    assert plane.api(stack_namespace).pod("cpu-stress")["metadata"]["name"] == "cpu-stress"
    # The instruments the overlay deploys, as pods of their templates.
    k = plane.kubectl(namespace)
    for deployment in _instrument_deployments():
        name = deployment["metadata"]["name"]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}}
        k.apply(yaml.safe_dump({**pod, "spec": deployment["spec"]["template"]["spec"]}))
        assert api.pod(name)["metadata"]["name"] == name


def test_a_pod_without_the_restricted_settings_is_refused_there(plane: ControlPlane) -> None:
    """What the test above would see of a pod as the suite wrote them before: the check can fail."""
    target = _cluster_target(plane)
    namespace = "odin-test-d4e5f6"
    target.nodes.start_workload(namespace, "log-writer", ["--lines", "1"])
    api = plane.api(namespace)
    if api.cluster_object("Namespace", namespace)["metadata"]["labels"].get(ENFORCE) != "restricted":
        pytest.fail("the workload namespace enforces no Pod Security level")
    pod = api.pod("log-writer")
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare", "namespace": namespace}}
    spec = {k: v for k, v in pod["spec"].items() if k in {"containers", "volumes", "restartPolicy"}}
    spec["containers"] = [{k: v for k, v in c.items() if k != "securityContext"} for c in spec["containers"]]
    with pytest.raises(KubectlError, match="violates PodSecurity"):
        plane.kubectl(namespace).apply(yaml.safe_dump({**bare, "spec": spec}))
