"""KWOK plays kubelets as kubelets behave (odin_acceptance/targets/kwok_stages.yaml): a
simulated node renews its Lease every 10 s and does not rewrite its status on a loop (KWOK
0.7.0's own default stages patch every node's status every 20-25 s when leases are on, which
at 5,000 nodes spends the two cores of this machine on status writes), and a pod whose Ready
condition the node controller turned False is made Ready again, as a live kubelet does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest
import yaml

from odin_acceptance.clients.kube_api import is_ready
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import eventually
from odin_acceptance.provisioning import components
from odin_acceptance.provisioning.versions import CONTROL_PLANE
from odin_acceptance.targets.kube_control_plane import (
    NODE_LEASE_SECONDS,
    ControlPlane,
    cluster_nodes,
    kwok_configuration,
    port_forward_config,
)
from odin_acceptance.verdicts import cluster_checks

# KWOK's default heartbeat stage writes the status again within 20-25 s of the last write.
DEFAULT_HEARTBEAT_MAX_S = 25


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_the_configuration_gives_kwok_both_node_stages_and_keeps_the_port_forwards() -> None:
    docs = [d for d in yaml.safe_load_all(kwok_configuration(port_forward_config("m", {80: "127.0.0.1:9"}))) if d]
    stages = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Stage"}
    # Every stage KWOK needs, as a config with any stage of a kind replaces all its defaults.
    assert sorted(stages) == [
        "node-initialize",
        "node-status-report",
        "pod-complete",
        "pod-delete",
        "pod-ready",
        "pod-ready-again",
    ]
    delay = stages["node-status-report"]["delay"]
    # A kubelet's nodeStatusReportFrequency is 5 min: nothing shorter rewrites the status.
    assert delay["durationMilliseconds"] >= 300_000 and delay["jitterDurationMilliseconds"] >= 300_000
    assert [d["kind"] for d in docs].count("ClusterPortForward") == 1
    [options] = [d["options"] for d in docs if d["kind"] == "KwokConfiguration"]
    assert options["nodeLeaseParallelism"] >= 32, "4 at a time cannot renew 5,000 Leases every 10 s"
    assert kwok_configuration() == kwok_configuration("  \n")


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    tools = components.ensure_all(lambda message: None, CONTROL_PLANE)
    control_plane = ControlPlane(tools, tmp_path_factory.mktemp("kube"))
    try:
        control_plane.start("")
        control_plane.register_nodes(cluster_nodes(2))
        yield control_plane
    finally:
        control_plane.stop()


@pytest.mark.slow
@pytest.mark.usefixtures("provisioned")
def test_a_simulated_node_renews_its_lease_and_leaves_its_status_alone(plane: ControlPlane) -> None:
    from kubernetes import client

    api = plane.api()
    leases = client.CoordinationV1Api(api.api_client)
    name = "odin-kwok-worker"

    def ready_heartbeat() -> datetime:
        node = next(n for n in api.nodes() if n["metadata"]["name"] == name)
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        return _time(ready["lastHeartbeatTime"])

    status_written = ready_heartbeat()

    def renewed_long_after_the_status() -> float:
        lease = leases.read_namespaced_lease(name, "kube-node-lease")
        assert lease.spec.lease_duration_seconds == NODE_LEASE_SECONDS
        since = (lease.spec.renew_time - status_written).total_seconds()
        assert since > DEFAULT_HEARTBEAT_MAX_S, f"lease renewed {since:.1f} s after the last status write"
        return since

    since = eventually(
        renewed_long_after_the_status,
        timeout=DEFAULT_HEARTBEAT_MAX_S + 3 * NODE_LEASE_SECONDS / 4,
        what=f"{name}'s Lease to be renewed over {DEFAULT_HEARTBEAT_MAX_S} s after its status was written",
    )
    assert ready_heartbeat() == status_written, (
        f"{name}'s status was rewritten within {since:.0f} s (the Ready heartbeat moved): "
        "KWOK is patching node status on a loop, not every 5 min as a kubelet does"
    )


def _promtail_daemonset() -> dict:
    labels = {"app": "promtail"}
    pod = {
        "metadata": {"labels": labels},
        "spec": {
            "containers": [{"name": "promtail", "image": "promtail:test"}],
            "tolerations": [{"operator": "Exists"}],
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "promtail", "namespace": "default"},
        "spec": {"selector": {"matchLabels": labels}, "template": pod},
    }


@pytest.mark.slow
@pytest.mark.usefixtures("provisioned")
def test_the_per_node_check_reads_two_tables_and_agrees_with_the_whole_objects_on_a_real_api_server(
    plane: ControlPlane,
) -> None:
    sent: list[str] = []
    k = plane.api(sent=sent)
    plane.kubectl().apply(json.dumps(_promtail_daemonset()))
    eventually(
        lambda: cluster_checks.daemonset_settled(k, "promtail"),
        timeout=timeouts.ROLLOUT,
        what="the test's promtail DaemonSet on both nodes",
    )
    plane.kubectl().run("cordon", "odin-kwok-worker")
    try:

        def whole_objects() -> dict[str, int]:
            counts = {n["metadata"]["name"]: 0 for n in k.nodes() if not n["spec"].get("unschedulable")}
            for pod in k.pods("app=promtail"):
                if pod["spec"].get("nodeName") in counts and is_ready(pod):
                    counts[pod["spec"]["nodeName"]] += 1
            return counts

        before = k.received_bytes
        expected = whole_objects()
        whole_bytes = k.received_bytes - before
        eventually(
            lambda: _same(cluster_checks.promtail_per_node(k), expected),
            timeout=10,
            what="the table-based check to see the cordon the objects show",
        )
        sent.clear()
        before = k.received_bytes
        assert cluster_checks.promtail_per_node(k) == {"odin-kwok-control-plane": 1}
        assert sent == ["GET /api/v1/nodes", "GET /api/v1/namespaces/default/pods"], f"one check sent {sent}"
        table_bytes = k.received_bytes - before
        assert table_bytes < whole_bytes / 2, f"the tables cost {table_bytes} bytes, the objects {whole_bytes}"
    finally:
        plane.kubectl().run("uncordon", "odin-kwok-worker")


def _same(counted: dict[str, int], expected: dict[str, int]) -> dict[str, int]:
    assert counted == expected, f"table: {counted}, objects: {expected}"
    return counted


@pytest.mark.slow
@pytest.mark.usefixtures("provisioned")
def test_a_pod_the_node_controller_marked_not_ready_is_ready_again(plane: ControlPlane) -> None:
    """What the node controller does to the pods of a node whose Lease lapsed (Ready False,
    containers untouched), done here by hand: the simulated kubelet must undo it."""
    api = plane.api()
    plane.kubectl().apply(json.dumps(_promtail_daemonset()))
    eventually(
        lambda: cluster_checks.daemonset_settled(api, "promtail"),
        timeout=timeouts.ROLLOUT,
        what="the test's promtail DaemonSet on both nodes",
    )
    pod = api.pods("app=promtail")[0]["metadata"]["name"]
    not_ready = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "NodeNotReady"}]}}
    plane.kubectl().run("patch", "pod", pod, "--subresource=status", "--type=strategic", "-p", json.dumps(not_ready))

    def ready_again() -> None:
        assert is_ready(api.pod(pod)), f"pod {pod} is still not Ready"

    eventually(ready_again, timeout=10, what=f"KWOK to make pod {pod} Ready again, as a live kubelet would")
