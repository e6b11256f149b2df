"""Where the stack runs. Scenarios talk to a `Target` and never ask which one it is."""

from __future__ import annotations

from pathlib import Path

from odin_acceptance.provisioning.supplied import Supplied
from odin_acceptance.provisioning.versions import SUPPLIED
from odin_acceptance.targets.base import (
    COMPONENT_FAULTS,
    KUBERNETES_API,
    LOG_COMPONENTS,
    PER_NODE_CPU,
    POD_DISCOVERY,
    REAL_CONTAINERS,
    SIMULATED_FLEET,
    SUPPLIED_EXECUTABLES,
    Endpoints,
    Target,
    TargetError,
    TargetOptions,
)

__all__ = [
    "NAMES",
    "Endpoints",
    "Target",
    "TargetError",
    "TargetOptions",
    "create",
    "preflight",
    "skip_reason",
    "target_class",
]

NAMES = ("local", "kwok", "kind", "cluster")

# A scenario tag -> the capability it needs, and the reason it is skipped where that is lacking.
NEEDS: dict[str, tuple[str, str]] = {
    "kubernetes": (KUBERNETES_API, "needs a Kubernetes API (--target kwok, kind or cluster)"),
    "containers": (
        REAL_CONTAINERS,
        "needs real containers on every node (KWOK simulates them): --target kind or cluster",
    ),
    "pod_discovery": (
        POD_DISCOVERY,
        "needs Prometheus's Kubernetes discovery against a cluster: --target kind or cluster, or kwok on a host "
        "that allows unprivileged user namespaces (its witness Prometheus sees a service-account mount)",
    ),
    "scale": (
        SIMULATED_FLEET,
        "needs a cluster of thousands of simulated GPU nodes on this machine: --target kwok, on a host that "
        "allows unprivileged user namespaces (the fleet's Prometheus runs in-cluster, as a pod would)",
    ),
    "local_only": (COMPONENT_FAULTS, "stops and starts components: runs on the local target"),
    "per_node_cpu": (
        PER_NODE_CPU,
        "needs each node's CPU counters to be its own: this target's nodes share the host's kernel (kind), so "
        "every node reads the same load, and its stress keeps only 90 % of the cores busy; the rule's promtool "
        "test shows the same on every target",
    ),
}
# Tags of scenarios that run the loki/promtail programs on this machine (offline checks):
# they need them supplied on every target.
PROGRAM_TAGS = {"loki_programs"}
# Tags of scenarios that need Loki, Promtail or Grafana running in the stack.
RUNNING_LOGS = {"loki", "grafana"}
# ... and of those that need only their pods to run (one Promtail per node).
DEPLOYED_LOGS = {*RUNNING_LOGS, "per_node"}


def target_class(name: str) -> type[Target]:
    """The class of a target by name; each declares what it can do (`capabilities`), its
    default timing and what it needs built. Imported on demand: a local run never loads
    the Kubernetes client's targets."""
    if name == "local":
        from odin_acceptance.targets.local import LocalTarget

        return LocalTarget
    if name == "kwok":
        from odin_acceptance.targets.kwok import KwokTarget

        return KwokTarget
    if name == "kind":
        from odin_acceptance.targets.kubernetes import KindTarget

        return KindTarget
    if name == "cluster":
        from odin_acceptance.targets.kubernetes import ClusterTarget

        return ClusterTarget
    raise TargetError(f"unknown target {name!r}: choose one of {', '.join(NAMES)}")


def skip_reason(capabilities: frozenset[str], tags: set[str], supplied: Supplied | None = None) -> str | None:
    """Why a scenario with `tags` cannot run on a target that can do `capabilities` (what its
    preflight returned), or None if it can."""
    for tag, (capability, reason) in NEEDS.items():
        if tag in tags and capability not in capabilities:
            return reason
    if supplied is not None and tags & PROGRAM_TAGS:  # programs run on this machine, whatever the target
        reason = supplied.reason_missing(tags & PROGRAM_TAGS)
        if reason:
            return reason
    if SUPPLIED_EXECUTABLES in capabilities:
        return supplied.reason_missing(tags) if supplied is not None else None
    if tags & RUNNING_LOGS and REAL_CONTAINERS not in capabilities:
        return (
            "needs Loki, Promtail or Grafana at work: on this cluster they run as containers, and its nodes run none "
            "(KWOK simulates them): --target kind, or a cluster with real nodes"
        )
    if tags & DEPLOYED_LOGS and LOG_COMPONENTS not in capabilities:
        return (
            "needs Loki, Promtail and Grafana in the cluster: their images "
            f"({', '.join(image for c in SUPPLIED for image in c.images)}) are not in this machine's Docker, and the "
            "suite never fetches them (AGPL-3.0): pull or load them into Docker, and kind loads them into the cluster"
        )
    return None


def preflight(name: str, options: TargetOptions) -> frozenset[str]:
    """Host (and cluster) checks that need no component: run before anything is fetched or
    started. Returns what the target can do here."""
    return target_class(name).preflight(options)


def create(name: str, *, options: TargetOptions, tools: dict[str, Path]) -> Target:
    return target_class(name)(options=options, tools=tools)
