"""KWOK plays kubelets at a kubelet's cost (odin_acceptance/targets/kwok_node_stages.yaml):
a simulated node renews its Lease every 10 s and does not rewrite its status on a loop.
KWOK 0.7.0's own default stages patch every node's status every 20-25 s when leases are on,
which at 5,000 nodes spends the two cores of this machine on status writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import yaml

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

# KWOK's default heartbeat stage writes the status again within 20-25 s of the last write.
DEFAULT_HEARTBEAT_MAX_S = 25


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_the_configuration_gives_kwok_both_node_stages_and_keeps_the_port_forwards() -> None:
    docs = [d for d in yaml.safe_load_all(kwok_configuration(port_forward_config("m", {80: "127.0.0.1:9"}))) if d]
    stages = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "Stage"}
    assert sorted(stages) == ["node-initialize", "node-status-report"]
    delay = stages["node-status-report"]["delay"]
    # A kubelet's nodeStatusReportFrequency is 5 min: nothing shorter rewrites the status.
    assert delay["durationMilliseconds"] >= 300_000 and delay["jitterDurationMilliseconds"] >= 300_000
    assert [d["kind"] for d in docs].count("ClusterPortForward") == 1
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
