"""What a scenario's tag means, in one table: the marker's text, the capability a target needs
to run it, whether a run includes it only when asked (`--include`), and the criteria of the plan
it credits. The markers the suite registers, the scenarios a target skips, the opt-in
selection and each criterion's scenarios are all read from here, so a new tag is one row.

It sits in the target interface's layer: it names the target capabilities (base.py), and the
verdicts above it read the criteria column."""

from __future__ import annotations

from dataclasses import dataclass

from odin_acceptance.target_api.base import (
    COMPONENT_FAULTS,
    KUBERNETES_API,
    PER_NODE_CPU,
    POD_DISCOVERY,
    REAL_CONTAINERS,
    SIMULATED_FLEET,
)

# What a scenario needs beyond a capability: the loki/promtail programs on this machine
# (offline checks, every target), or Loki, Promtail or Grafana at work in the stack.
PROGRAMS = "programs"
RUNNING_LOGS = "running logs"


@dataclass(frozen=True)
class OptIn:
    """A tag whose scenarios run only when `--include` names it."""

    kind: str  # "a slow scenario": what the left-out sentence calls it
    cost: str  # why it is left out by default


@dataclass(frozen=True)
class Tag:
    name: str
    marker: str  # the marker's text (pytest --markers)
    needs: str | None = None  # a target capability (target_api.base), or PROGRAMS / RUNNING_LOGS
    skip_reason: str = ""  # why it is skipped where that is lacking (capabilities only)
    opt_in: OptIn | None = None
    credits: tuple[str, ...] = ()  # criteria idents (verdicts.criteria) a scenario with this tag bears on


def _criterion(*idents: str) -> str:
    return f"proves {', '.join(idents)} of the plan (odin_acceptance/verdicts/criteria.py)"


TAGS: tuple[Tag, ...] = (
    # What a scenario is about.
    Tag("alerting", "the alert pipeline (rules -> Alertmanager -> receivers)"),
    Tag(
        "gpu",
        "GPU alerts driven by the fake DCGM exporter; " + _criterion("A5", "A6", "I2"),
        credits=("A5", "A6", "I2"),
    ),
    Tag(
        "routing",
        "Alertmanager routing and inhibition; " + _criterion("A1", "A3", "A4", "I3"),
        credits=("A1", "A3", "A4", "I3"),
    ),
    Tag("rules", "offline checks of rules and configs with promtool/amtool; " + _criterion("A2"), credits=("A2",)),
    Tag("logs", "Loki and Promtail (health, ingestion, search, log-based alerts)"),
    Tag(
        "loki",
        "needs Loki and Promtail; on local and kwok they run only where supplied (--component), else skipped",
        needs=RUNNING_LOGS,
    ),
    Tag(
        "loki_programs",
        "runs the loki and promtail programs on this machine (offline checks): supplied on every target",
        needs=PROGRAMS,
    ),
    Tag("search", "log search latency against a loaded Loki"),
    Tag("dashboard", "the plan's logs dashboard; " + _criterion("L5"), credits=("L5",)),
    Tag("manifests", "how the manifests deploy the stack (offline checks of the plan's deployment defects)"),
    Tag(
        "offline",
        "judges the manifests or configs without running the stack: never credits a criterion about a running "
        "component",
    ),
    Tag("cluster_api", "what the Kubernetes API itself decides (rollouts, endpoints, RBAC)"),
    Tag("cpu_stress", "HighCPUUsage under a real CPU load"),
    # What a scenario needs of its target.
    Tag(
        "kubernetes",
        "needs a Kubernetes API (--target kwok, kind or cluster); skipped on the local target",
        needs=KUBERNETES_API,
        skip_reason="needs a Kubernetes API (--target kwok, kind or cluster)",
    ),
    Tag(
        "containers",
        "needs real containers on every node (--target kind or cluster); skipped on local and kwok",
        needs=REAL_CONTAINERS,
        skip_reason="needs real containers on every node (KWOK simulates them): --target kind or cluster",
    ),
    Tag(
        "pod_discovery",
        "Prometheus's Kubernetes pod discovery against the cluster (kwok: a witness Prometheus)",
        needs=POD_DISCOVERY,
        skip_reason="needs Prometheus's Kubernetes discovery against a cluster: --target kind or cluster, or kwok "
        "on a host that allows unprivileged user namespaces (its witness Prometheus sees a service-account mount)",
    ),
    Tag(
        "local_only",
        "needs to stop and start components (the local target)",
        needs=COMPONENT_FAULTS,
        skip_reason="stops and starts components: runs on the local target",
    ),
    Tag(
        "per_node_cpu",
        "needs each node's CPU counters to be its own; skipped on kind, whose nodes share the host's kernel",
        needs=PER_NODE_CPU,
        skip_reason="needs each node's CPU counters to be its own: this target's nodes share the host's kernel "
        "(kind), so every node reads the same load, and its stress keeps only 90 % of the cores busy; the rule's "
        "promtool test shows the same on every target",
    ),
    # What a run includes only when asked.
    Tag(
        "slow",
        "takes many minutes even in a scaled profile (CPU stress); runs only with --include slow",
        opt_in=OptIn("a slow scenario", "the CPU stress takes many minutes even in a scaled profile"),
    ),
    Tag(
        "soak",
        "the no-loss soak (--soak-duration); runs only with --include soak",
        opt_in=OptIn("the soak", "it writes for as long as --soak-duration"),
    ),
    Tag(
        "fault",
        "component failures injected mid-stream; runs only with --include fault",
        opt_in=OptIn("a fault scenario", "it stops components mid-stream"),
    ),
    Tag(
        "scale",
        "a kwok cluster grown to thousands of simulated GPU nodes; runs only with --include scale",
        needs=SIMULATED_FLEET,
        skip_reason="needs a cluster of thousands of simulated GPU nodes on this machine: --target kwok, on a host "
        "that allows unprivileged user namespaces (the fleet's Prometheus runs in-cluster, as a pod would)",
        opt_in=OptIn("a scale scenario", "it grows the kwok cluster to thousands of simulated GPU nodes"),
    ),
    # The criteria a scenario proves (the features name them by these tags).
    Tag("sc1", _criterion("SC1"), credits=("SC1",)),
    Tag("sc2", _criterion("SC2"), credits=("SC2",)),
    Tag("sc3", _criterion("SC3"), credits=("SC3",)),
    Tag("sc4", _criterion("SC4"), credits=("SC4",)),
    Tag("sc5", _criterion("SC5"), credits=("SC5",)),
    Tag("sc6", _criterion("SC6"), credits=("SC6",)),
    Tag("loki_health", _criterion("L1"), credits=("L1",)),
    Tag("loki_persistence", _criterion("L1"), credits=("L1",)),
    Tag("deployed", _criterion("L1", "L2", "A1"), credits=("L1", "L2", "A1")),
    Tag("per_node", _criterion("L2"), credits=("L2",)),
    Tag("log_parsing", _criterion("L3"), credits=("L3",)),
    Tag("grafana", _criterion("L4", "I1") + "; needs Grafana at work", needs=RUNNING_LOGS, credits=("L4", "I1")),
    Tag("retention", _criterion("L6"), credits=("L6",)),
    Tag("log_alerts", _criterion("A6", "I4"), credits=("A6", "I4")),
    Tag("discovery", _criterion("I2"), credits=("I2",)),
    Tag("correlation", _criterion("I5"), credits=("I5",)),
)
BY_NAME = {tag.name: tag for tag in TAGS}
OPT_IN = {tag.name: tag.opt_in for tag in TAGS if tag.opt_in is not None}


def crediting(ident: str) -> tuple[str, ...]:
    """The tags whose scenarios bear on criterion `ident`, in the table's order."""
    return tuple(tag.name for tag in TAGS if ident in tag.credits)
