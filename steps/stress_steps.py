"""Steps about load on a node: the CPU-stress instrument and the alert it must raise."""

from __future__ import annotations

from collections.abc import Iterator

from pytest_bdd import given, parsers, then, when

from fixtures import timeouts
from fixtures.alerting import AlertPipeline, FiredAlert, Stimulus
from fixtures.cpu_window import CpuBaseline, baseline, crossing_after, crossing_uncertainty
from fixtures.evidence import ScenarioEvidence
from fixtures.phrases import seconds
from fixtures.polling import eventually
from fixtures.targets.base import StressedNode
from fixtures.timing import TimingProfile, delivery_window


@given(
    parsers.parse("the node's CPUs are less than {busy:d} % busy over the last {window:d} minutes"),
    target_fixture="cpu_baseline",
)
def quiet_node(pipeline: AlertPipeline, busy: int, window: int) -> CpuBaseline:
    # A stack that just started was busy starting: the load's effect is timed from quiet.
    node = pipeline.target.loadable_node()

    def quiet() -> CpuBaseline:
        now = baseline(pipeline.api.prometheus, node.instance, window * 60)
        seen = now.as_the_rule_sees_it
        assert seen < busy / 100, f"the rule sees the node {seen:.0%} busy ({now.busy:.0%} really)"
        return now

    return eventually(quiet, timeout=timeouts.QUIET_NODE, what=f"the node to be less than {busy} % busy")


@when(parsers.parse("every core of the node is kept busy for up to {duration}"), target_fixture="stressed")
def stress_a_node(pipeline: AlertPipeline, run_id: str, duration: str) -> Iterator[StressedNode]:
    target = pipeline.target
    stressed = target.stress_cpu(target.loadable_node(), f"cpu-stress-{run_id}", seconds(duration))
    yield stressed
    pipeline.target.stop_workload(stressed.workload)  # the load ends with the scenario, however it ends


@then(
    parsers.parse(
        '"{alert}" fires for that node once its {window:d}-minute rate window is {busy:d} % busy '
        "and it has held for {hold}"
    ),
    target_fixture="cpu_alert",
)
def cpu_alert_fires(
    pipeline: AlertPipeline,
    stressed: StressedNode,
    cpu_baseline: CpuBaseline,
    timing_profile: TimingProfile,
    scenario_evidence: ScenarioEvidence,
    alert: str,
    window: int,
    busy: int,
    hold: str,
) -> FiredAlert:
    before = cpu_baseline
    scrape, evaluation = pipeline.scrape_interval("node-exporter"), pipeline.evaluation_interval(alert)
    held = delivery_window(scrape=scrape, evaluation=evaluation, for_=timing_profile.scale(seconds(hold)), group_wait=0)
    # The load "crosses" the threshold once the window's average passes it: the stimulus's moment.
    fill = crossing_after(window * 60, busy / 100, before)
    labels = {"instance": stressed.instance}
    stimulus = Stimulus(f"{stressed.node} under full load for {fill:.0f} s", labels, stressed.started_at + fill)
    fired = pipeline.wait_firing(alert, stimulus, held, "node-exporter")
    # Prometheus's own pending time (activeAt): the first evaluation after the crossing. The
    # hold after it is Prometheus's to keep, and `wait_firing` saw it kept.
    took = fired.pending_at - stressed.started_at
    uncertainty = crossing_uncertainty(window * 60, busy / 100, before)
    scenario_evidence.record(
        "busy before the load", before.busy * 100, "%", note=f"the rule saw {before.as_the_rule_sees_it:.0%}"
    )
    scenario_evidence.record(
        "load start → pending (window crossed)",
        took,
        "s",
        low=fill - scrape - uncertainty,
        high=fill + scrape + evaluation + uncertainty + timeouts.DELIVERY_SLACK,
        note=f"the window passes {busy} % after {fill:.0f} s of load, then the next evaluation; ± a scrape "
        "(the rate's extrapolation at the window's edge) and one point of the measured busy fraction",
        fails=f"{alert} turned pending {took:.0f} s after the load started; a {window}-minute window at {busy} % "
        f"(from {before.busy * 100:.0f} % busy) is crossed after {fill:.0f} s",
    )
    return fired


@then(parsers.parse('receiver "{receiver}" is told about "{alert}" for that node, with a group wait of {wait}'))
def cpu_alert_delivered(
    pipeline: AlertPipeline, cpu_alert: FiredAlert, timing_profile: TimingProfile, receiver: str, alert: str, wait: str
) -> None:
    # From pending: held H, then the group wait W, each seen within an evaluation.
    window = cpu_alert.window
    deadline = window.hold + timing_profile.scale(seconds(wait)) + window.evaluation + timeouts.DELIVERY_SLACK
    pipeline.wait_delivery(
        receiver,
        {"alertname": alert, **cpu_alert.labels},
        since=cpu_alert.pending_at,
        deadline=deadline,
        what=f"{receiver!r} to be told about {alert} on {cpu_alert.labels.get('instance')}",
    )
