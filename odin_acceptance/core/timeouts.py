"""The one place for timeouts, sized per operation. Alert deadlines are not here: they
come from the delivery formula (odin_acceptance.core.timing_profiles) applied to the plan's numbers."""

# A component process answers its readiness endpoint. Measured 0.12–0.23 s for
# Prometheus/Alertmanager; Loki needs a few seconds for its ring to settle.
PROCESS_READY = 60.0
# One HTTP request to a component on loopback.
HTTP_REQUEST = 10.0
# A process asked to stop (SIGTERM) before it is killed.
PROCESS_STOP = 10.0
# A config check tool (promtool, amtool, loki -verify-config) on one file.
CONFIG_CHECK = 60.0
# Prometheus sees a new target as up: one scrape interval plus its own start-up.
TARGET_UP = 30.0
# Every rule group evaluates once after a given moment: one interval of the longest group
# (Loki's ruler, 1 minute in the real profile) and the evaluation itself.
RULE_GROUPS_EVALUATED = 90.0
# Processing time the delivery formula does not model (rule evaluation, HTTP hops, the
# webhook's write): real time, so the timing profile does not scale it. Measured here as
# "firing → notified" minus the group wait in the GPU and ExporterDown scenarios of fast runs
# on this machine (2 cores, the suite running): 0.005–0.012 s (on kind, fast profile, a
# notification came up to 0.45 s after the formula's latest). 0.5 s leaves room for a loaded
# CI machine and still keeps a bound within one evaluation interval of the formula (rapid
# 0.5 s, fast 1 s).
DELIVERY_SLACK = 0.5
# A log line becomes countable by Loki's ruler: the ingestion feature's own bound ("99 in
# 100 lines within 10 seconds"). Real time like DELIVERY_SLACK: ingestion does not speed
# up with the timing profile.
INGEST_ALLOWANCE = 10.0
# A notification that Alertmanager sends immediately (posted alert, group_wait applies).
ROUTED_NOTIFICATION = 30.0
# promtool test rules over the whole rules file.
RULE_UNIT_TEST = 120.0
# A new log stream becomes searchable (field notes §3: a new stream can take 10–15 s).
NEW_STREAM = 30.0
# 100k lines through Promtail into Loki on a 2-core machine.
CORPUS_INGEST = 300.0
# One kubectl call (kustomize, apply, port-forward's start) against a cluster.
KUBECTL = 60.0
# One request of the kubernetes client (a list of 1,000 nodes included); a wait retries it.
KUBE_REQUEST = 30.0
# `kubectl port-forward` prints its local port.
PORT_FORWARD = 30.0
# One workload's rollout on a fresh kind node (image pulls included).
ROLLOUT = 300.0
# What every simulated node adds to a wait that covers them all (registering nodes, a
# DaemonSet settling on each): on two cores the API server is the bottleneck, and 5,000
# nodes came Ready at about 4.4 per second while the DaemonSets' pods were being created.
PER_SIMULATED_NODE = 0.4


def for_nodes(count: int) -> float:
    """A rollout's deadline on a cluster of `count` simulated nodes."""
    return ROLLOUT + PER_SIMULATED_NODE * count


# `kind create cluster` with three nodes, or loading an image into it.
CLUSTER_CREATE = 600.0
# A kind cluster's node containers gone after Ctrl-C cut its creation short (Docker may still
# finish a node the interrupted kind asked for).
NODES_GONE = 60.0
# An alert fires while Alertmanager is down: S + E + the plan's longest GPU hold (2 m).
FIRING_UNDER_FAULT = 300.0
# A node's CPU calms down after the stack started (its burst averages out of the window).
QUIET_NODE = 300.0
