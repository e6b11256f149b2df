"""When HighCPUUsage's rate window crosses its busy threshold under full load.

The rule reads `100 - avg(rate(node_cpu_seconds_total{mode="idle"}[W])) * 100`. `rate`
divides the idle time found in the window by the whole window W, even when Prometheus holds
less than W of history (a freshly started stack then looks almost fully busy). Under full
load idle time stops accruing and the old idle time slides out, so the value passes p after

    x = W · (p − b0) / (1 − b0)

of load, where b0 is the node's real busy fraction before it, provided the value was below
p when the load started. Once a load at least W long stops, busy time slides out the same
way and the value falls back below p

    W · (1 − p) / (1 − b1)

after the load's end, b1 the busy fraction since: the plan's 300 s stress on an idle node
keeps the condition true for 300 − 240 + 60 = 120 s, under its 5-minute hold (D10).
That is the window's own arithmetic, with W and p from the feature and b0 measured on the
node (the stimulus's baseline, like a GPU's idle temperature), never read from the rule
under test.
"""

from __future__ import annotations

from dataclasses import dataclass

from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import eventually


@dataclass(frozen=True)
class CpuBaseline:
    busy: float  # the node's real busy fraction over the history in the window (from deriv)
    as_the_rule_sees_it: float  # 1 − avg(rate(idle[W])): what the alert's expression computes


def crossing_after(window: float, threshold: float, before: CpuBaseline, load: float = 1.0) -> float:
    """Seconds of load until the rule's value passes `threshold`: full load by default; a
    `load` below 1 (a share of the cores) gives the latest crossing, W · (p − b0) / (l − b0),
    since the node is at least that busy while it lasts."""
    if before.as_the_rule_sees_it >= threshold:
        raise AssertionError(
            f"the rule already sees the node {before.as_the_rule_sees_it:.0%} busy: the load's effect cannot be timed"
        )
    if load <= threshold:
        raise AssertionError(f"a load of {load:.0%} of the cores never passes {threshold:.0%} on a quiet node")
    return window * (threshold - before.busy) / (load - before.busy)


def drain_after(window: float, threshold: float, busy_since: float) -> float:
    """Seconds after a load that filled the whole window until the rule's value falls back
    below `threshold`, the node `busy_since` busy (a fraction) once the load ended."""
    return window * (1.0 - threshold) / (1.0 - busy_since)


def crossing_uncertainty(window: float, threshold: float, before: CpuBaseline, points: float = 0.01) -> float:
    """How far the crossing moves if b0 is off by `points` (one percentage point by default):
    b0 comes from the node's own sampled counters, which jitter by about that much."""
    return window * (1.0 - threshold) / (1.0 - before.busy) ** 2 * points


def baseline(prometheus: PrometheusApi, instance: str, window: float) -> CpuBaseline:
    """The node's CPU now: its real busy fraction, and the rule's view of it."""
    idle = f'node_cpu_seconds_total{{mode="idle",instance="{instance}"}}[{int(window)}s]'
    real = prometheus.query(f"1 - avg(deriv({idle}))")
    seen = prometheus.query(f"1 - avg(rate({idle}))")
    assert real and seen, f"Prometheus has no CPU samples of {instance} yet"
    return CpuBaseline(max(0.0, float(real[0]["value"][1])), float(seen[0]["value"][1]))


def quiet_baseline(prometheus: PrometheusApi, instance: str, window: float, busy: float) -> CpuBaseline:
    """The node's baseline once the rule sees it less than `busy` (a fraction) busy over
    `window` seconds: a stack that just started was busy starting."""

    def quiet() -> CpuBaseline:
        now = baseline(prometheus, instance, window)
        seen = now.as_the_rule_sees_it
        assert seen < busy, f"the rule sees the node {seen:.0%} busy ({now.busy:.0%} really)"
        return now

    return eventually(quiet, timeout=timeouts.QUIET_NODE, what=f"the node to be less than {busy:.0%} busy")
