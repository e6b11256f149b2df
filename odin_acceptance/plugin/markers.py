"""The suite's tags as pytest markers, registered by the suite itself when a run asks for it
(so another repository's `--strict-markers` run knows them, and an unrelated run never sees them)."""

from __future__ import annotations

MARKERS: dict[str, str] = {
    "alerting": "the alert pipeline (rules -> Alertmanager -> receivers)",
    "gpu": "GPU alerts driven by the fake DCGM exporter",
    "routing": "Alertmanager routing and inhibition",
    "rules": "offline checks of rules and configs with promtool/amtool",
    "logs": "Loki and Promtail (health, ingestion, search, log-based alerts)",
    "loki": "needs Loki and Promtail; on local and kwok they run only where supplied (--component), else skipped",
    "loki_programs": "runs the loki and promtail programs on this machine (offline checks): supplied on every target",
    "search": "log search latency against a loaded Loki",
    "dashboard": "the plan's logs dashboard",
    "manifests": "how the manifests deploy the stack (offline checks of the plan's deployment defects)",
    "offline": "judges the manifests or configs without running the stack: never credits a criterion about a "
    "running component",
    "kubernetes": "needs a Kubernetes API (--target kwok, kind or cluster); skipped on the local target",
    "containers": "needs real containers on every node (--target kind or cluster); skipped on local and kwok",
    "cluster_api": "what the Kubernetes API itself decides (rollouts, endpoints, RBAC)",
    "pod_discovery": "Prometheus's Kubernetes pod discovery against the cluster (kwok: a witness Prometheus)",
    "slow": "takes many minutes even in the fast profile (CPU stress); runs only with --include slow",
    "cpu_stress": "HighCPUUsage under a real CPU load",
    "per_node_cpu": "needs each node's CPU counters to be its own; skipped on kind, whose nodes share the host's "
    "kernel",
    "soak": "the no-loss soak (--soak-duration); runs only with --include soak",
    "fault": "component failures injected mid-stream; runs only with --include fault",
    "scale": "a kwok cluster grown to thousands of simulated GPU nodes; runs only with --include scale",
    "local_only": "needs to stop and start components (the local target)",
}

# Opt-in tag -> (what it is, what it costs), for the option's help and the "left out" sentence.
OPT_IN = {
    "slow": ("a slow scenario", "the CPU stress takes many minutes even in the fast profile"),
    "soak": ("the soak", "it writes for as long as --soak-duration"),
    "fault": ("a fault scenario", "it stops components mid-stream"),
    "scale": ("a scale scenario", "it grows the kwok cluster to thousands of simulated GPU nodes"),
}
