"""Checks of what the Kubernetes API says about the deployed stack.

Each reads whole lists (a constant number of API calls whatever the cluster's size, which
benchmarks/kwok_scale.py measures) and returns what is wrong, for the steps to assert on.
"""

from __future__ import annotations

from typing import Any

from odin_acceptance.clients.kube_api import KubeApi, row_is_ready
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import eventually


def promtail_per_node(k: KubeApi, *, from_cache: bool = True) -> dict[str, int]:
    """Ready Promtail pods on each schedulable node: two list calls whatever the node count,
    each answered as a table of the cells it needs (`from_cache`: as a poll reads, see
    KubeApi.table). A pod on a node that is not Ready counts as not ready, as its Ready
    condition would."""
    ready_node = k.node_readiness(schedulable_only=True, from_cache=from_cache)
    counts = dict.fromkeys(ready_node, 0)
    for pod in k.pod_rows("app=promtail", from_cache=from_cache):
        node = pod["Node"]
        if ready_node.get(node) and row_is_ready(pod):
            counts[node] += 1
    return counts


def settled_promtail_per_node(k: KubeApi) -> dict[str, int]:
    """Ready Promtail pods on each schedulable node, counted once the DaemonSet controller
    has placed and readied every pod it wants: a node it leaves out (an untolerated taint)
    is then a result, not something to wait for."""
    eventually(
        lambda: daemonset_settled(k, "promtail"),
        timeout=timeouts.for_nodes(len(k.node_names())),
        what="the Promtail DaemonSet to settle",
    )
    # Read once, after the DaemonSet's status said every pod is ready: consistent, not cached.
    return promtail_per_node(k, from_cache=False)


def desired_pods(k: KubeApi, name: str) -> int:
    return k.workload("daemonset", name).get("status", {}).get("desiredNumberScheduled", 0)


def await_daemonset_reacts(k: KubeApi, name: str, before: int, added: int) -> int:
    """After `added` plain worker nodes joined: wait until the DaemonSet controller wants more
    pods of `name` than `before` (a DaemonSet meant for every node must), so that "settled"
    then speaks of the grown cluster. Returns the new desired count."""

    def grew() -> int:
        now = desired_pods(k, name)
        assert now > before, f"{name} wants {now} pods, as before {added} nodes joined"
        return now

    return eventually(
        grew,
        timeout=timeouts.for_nodes(added),
        what=f"the {name} DaemonSet to want pods on the {added} new nodes",
        hint="a DaemonSet with a nodeSelector or without tolerations leaves nodes out",
    )


def daemonset_settled(k: KubeApi, name: str) -> dict[str, int]:
    """The DaemonSet controller has acted on the current spec and every pod it wants is
    ready and up to date (one get call); raises AssertionError until then."""
    ds = k.workload("daemonset", name)
    status = ds.get("status", {})
    counts = {
        key: status.get(key, 0)
        for key in ("desiredNumberScheduled", "currentNumberScheduled", "updatedNumberScheduled", "numberReady")
    }
    assert status.get("observedGeneration") == ds["metadata"]["generation"], f"{name}: spec change not yet observed"
    assert len(set(counts.values())) == 1, f"DaemonSet {name} still rolling out: {counts}"
    return counts


def unready_workloads(k: KubeApi) -> dict[str, str]:
    """Workload -> how far it is from fully ready, for each one that is not (three list calls)."""
    behind = {}
    for obj in k.workloads():
        status, name = obj.get("status", {}), f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "DaemonSet":
            want, ready = status.get("desiredNumberScheduled", 0), status.get("numberReady", 0)
        else:
            want, ready = obj["spec"].get("replicas", 1), status.get("readyReplicas", 0)
        if want == 0 or ready < want:
            behind[name] = f"{ready}/{want} ready"
    return behind


def services_without_endpoints(k: KubeApi) -> dict[str, str]:
    """Service -> what it lacks, for each Service with a port no ready endpoint serves
    (two list calls: Services and EndpointSlices)."""
    served: dict[str, set[str]] = {}
    for endpoint_slice in k.endpoint_slices():
        service = endpoint_slice["metadata"].get("labels", {}).get("kubernetes.io/service-name")
        ready = [e for e in endpoint_slice.get("endpoints") or [] if e.get("conditions", {}).get("ready")]
        if service and ready:
            served.setdefault(service, set()).update(p.get("name") or "" for p in endpoint_slice.get("ports") or [])
    missing = {}
    for service in k.services():
        name = service["metadata"]["name"]
        ports = {p.get("name") or "" for p in service["spec"].get("ports", [])}
        lacking = sorted(ports - served.get(name, set()))
        if lacking:
            missing[name] = f"no ready endpoint for port(s) {lacking}"
    return missing


def rollout_pending(obj: dict[str, Any]) -> str | None:
    """What a Deployment, StatefulSet or DaemonSet still waits for, None once rolled out:
    the conditions `kubectl rollout status` applies, read from one object."""
    spec, status, meta = obj.get("spec", {}), obj.get("status", {}), obj["metadata"]
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return "its controller has not yet observed the current spec"
    kind = obj["kind"]
    if kind == "Deployment":
        for condition in status.get("conditions", []):
            if condition.get("reason") == "ProgressDeadlineExceeded":
                raise RuntimeError(f"Deployment {meta['name']} exceeded its progress deadline")  # an answer
        want, updated = spec.get("replicas", 1), status.get("updatedReplicas", 0)
        if updated < want:
            return f"{updated} of {want} new replicas updated"
        if status.get("replicas", 0) > updated:
            return f"{status['replicas'] - updated} old replicas pending termination"
        if status.get("availableReplicas", 0) < updated:
            return f"{status.get('availableReplicas', 0)} of {updated} updated replicas available"
        return None
    if kind == "StatefulSet":
        want, ready = spec.get("replicas", 1), status.get("readyReplicas", 0)
        if ready < want:
            return f"{ready} of {want} pods ready"
        if status.get("updateRevision") != status.get("currentRevision"):
            return f"update to revision {status.get('updateRevision')} not yet complete"
        return None
    want = status.get("desiredNumberScheduled", 0)
    if status.get("updatedNumberScheduled", 0) < want:
        return f"{status.get('updatedNumberScheduled', 0)} of {want} new pods updated"
    if status.get("numberAvailable", 0) < want:
        return f"{status.get('numberAvailable', 0)} of {want} updated pods available"
    return None


# FailedCreate messages that no retry of the controller will change: admission refuses the pod.
_REFUSALS = ("violates PodSecurity", "admission webhook")


def pods_refused(events: list[dict[str, Any]], owner: str) -> str | None:
    """The newest message of a FailedCreate event on `owner` (a workload) whose pods
    admission refuses for good (Pod Security, a denying webhook), else None. A missing
    service account and other races also raise FailedCreate: those resolve on their own."""
    refusals = [
        e
        for e in events
        if e.get("reason") == "FailedCreate"
        and e.get("involvedObject", {}).get("name") == owner
        and any(marker in e.get("message", "") for marker in _REFUSALS)
    ]
    if not refusals:
        return None
    newest = max(refusals, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return newest["message"]


def every_service_has_endpoints(k: KubeApi) -> None:
    """Wait for a ready endpoint behind every port of every Service of the stack."""

    def none_missing() -> None:
        missing = services_without_endpoints(k)
        assert not missing, f"Services without endpoints: {missing}"

    eventually(
        none_missing,
        timeout=timeouts.ROLLOUT,
        what="a ready endpoint behind every Service port",
        hint="a Service whose selector or targetPort matches no container port of its pods",
    )
