"""Where the stack runs. Scenarios talk to a `Target` and never ask which one it is."""

from __future__ import annotations

from pathlib import Path

from odin_acceptance.provisioning.supplied import Supplied
from odin_acceptance.provisioning.versions import SUPPLIED
from odin_acceptance.target_api import tags as tag_table
from odin_acceptance.target_api.base import (
    LOG_COMPONENTS,
    REAL_CONTAINERS,
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
    preflight returned), or None if it can: what each tag needs is the tag table's (target_api.tags)."""
    for row in tag_table.TAGS:
        if row.name in tags and row.skip_reason and row.needs not in capabilities:
            return row.skip_reason
    programs = {row.name for row in tag_table.TAGS if row.needs == tag_table.PROGRAMS}
    if supplied is not None and tags & programs:  # programs run on this machine, whatever the target
        reason = supplied.reason_missing(tags & programs)
        if reason:
            return reason
    if SUPPLIED_EXECUTABLES in capabilities:
        return supplied.reason_missing(tags) if supplied is not None else None
    running = {row.name for row in tag_table.TAGS if row.needs == tag_table.RUNNING_LOGS}
    if tags & running and REAL_CONTAINERS not in capabilities:
        return (
            "needs Loki, Promtail or Grafana at work: on this cluster they run as containers, and its nodes run none "
            "(KWOK simulates them): --target kind, or a cluster with real nodes"
        )
    # ... and those that need only their pods to run (one Promtail per node) where they have no image.
    if tags & (running | {"per_node"}) and LOG_COMPONENTS not in capabilities:
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
