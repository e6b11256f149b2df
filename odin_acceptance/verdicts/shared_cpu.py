"""HighCPUUsage on nodes that share one kernel (a target without per-node CPU isolation:
kind, whose nodes are containers on one host). Every node-exporter there reads the host's
/proc/stat, so a load on one node shows on every node: that the alert fires *for that node*
alone cannot be shown. What can be: it fires for that node's exporter, no later than the
load's share of the cores allows."""

from __future__ import annotations

from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.workloads import StressedNode
from odin_acceptance.pipelines.alert_journey import AlertPipeline, FiredAlert, Stimulus
from odin_acceptance.verdicts.cpu_window import CpuBaseline, crossing_after, crossing_uncertainty

NOT_SHOWN = (
    "for that node cannot be shown on this target: its nodes share the host's kernel, so every "
    "node's exporter reads the same CPU counters and the load shows on every node"
)


def fires_on_shared_counters(
    pipeline: AlertPipeline,
    evidence: ScenarioEvidence,
    alert: str,
    stressed: StressedNode,
    before: CpuBaseline,
    window: float,
    busy: float,
    hold: float,
) -> FiredAlert:
    """Waits for a CPU alert to fire on the stressed node's exporter, by the latest moment a
    load of `stressed.load` of the cores passes `busy` over `window` seconds, then S+E+H.
    Its lower bound is the earliest any load allows: every core busy (the host's other work
    can add to the stress, never past that), less a scrape and the baseline's jitter, then the
    hold, so a lowered threshold, a shorter window or a shorter hold still fails here."""
    held = pipeline.window(hold, 0.0)
    scrape, evaluation = held.scrape, held.evaluation
    latest = crossing_after(window, busy, before, load=stressed.load)
    earliest = crossing_after(window, busy, before) - scrape - crossing_uncertainty(window, busy, before) + hold
    description = f"{stressed.node} (and every node on its kernel) at {stressed.load:.0%} load for {latest:.0f} s"
    stimulus = Stimulus(description, {"instance": stressed.instance}, stressed.started_at + latest)
    fired = pipeline.wait_firing(alert, stimulus, held, "node-exporter")
    evidence.record("busy before the load", before.busy * 100, "%", note=NOT_SHOWN)
    evidence.record("share of the node's cores loaded", stressed.load * 100, "%", note="the stress pod's CPU limit")
    took = fired.observed_firing_at - stressed.started_at
    evidence.record(
        "load start → firing",
        took,
        "s",
        low=earliest,
        high=latest + scrape + evaluation + hold + timeouts.DELIVERY_SLACK,
        note=f"the window passes {busy:.0%} by {latest:.0f} s of load at {stressed.load:.0%} (not before "
        f"{earliest - hold:.0f} s at full load), then S+E+H; {NOT_SHOWN}",
        fails=f"{alert} fired {took:.0f} s after the load started on {stressed.node}",
    )
    return fired
