"""Steps about load on a node: the CPU-stress instrument and the alert it must raise."""

from __future__ import annotations

from collections.abc import Iterator

from pytest_bdd import given, parsers, then, when

from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.phrases import seconds
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.core.workloads import StressedNode
from odin_acceptance.pipelines.alert_journey import AlertPipeline, FiredAlert
from odin_acceptance.target_api.base import PER_NODE_CPU
from odin_acceptance.verdicts import alert_verdicts, shared_cpu
from odin_acceptance.verdicts.cpu_window import CpuBaseline, quiet_baseline


@given(
    parsers.parse("the node's CPUs are less than {busy:d} % busy over the last {window:d} minutes"),
    target_fixture="cpu_baseline",
)
def quiet_node(pipeline: AlertPipeline, busy: int, window: int) -> CpuBaseline:
    # A stack that just started was busy starting: the load's effect is timed from quiet.
    node = pipeline.target.nodes.loadable_node()
    return quiet_baseline(pipeline.api.prometheus, node.instance, window * 60, busy / 100)


@when(parsers.parse("every core of the node is kept busy for up to {duration}"), target_fixture="stressed")
@when(
    parsers.parse("every core of the node is kept busy for {duration}, as the plan's test procedure does"),
    target_fixture="stressed",
)
def stress_a_node(pipeline: AlertPipeline, run_id: str, duration: str) -> Iterator[StressedNode]:
    target = pipeline.target
    stressed = target.nodes.stress_cpu(target.nodes.loadable_node(), f"cpu-stress-{run_id}", seconds(duration))
    yield stressed
    pipeline.target.nodes.stop_workload(stressed.workload)  # the load ends with the scenario, however it ends


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
    hold_s = timing_profile.plan(hold)
    # Where nodes share one kernel the load shows on every node: "for that node" cannot be
    # shown there, and the step says so and judges that the alert fires for its exporter.
    judge = (
        alert_verdicts.fires_under_load
        if PER_NODE_CPU in pipeline.target.capabilities
        else shared_cpu.fires_on_shared_counters
    )
    return judge(pipeline, scenario_evidence, alert, stressed, cpu_baseline, window * 60, busy / 100, hold_s)


@then(
    parsers.parse(
        '"{alert}" sees its {window:d}-minute rate window over {busy:d} % busy for less than '
        "the plan's hold of {hold}, so that load cannot fire it"
    )
)
def cpu_alert_cannot_fire(
    pipeline: AlertPipeline,
    stressed: StressedNode,
    scenario_evidence: ScenarioEvidence,
    alert: str,
    window: int,
    busy: int,
    hold: str,
) -> None:
    # The plan's hold, not this profile's: the window is never scaled, so only the plan's
    # hold says whether the plan's test could ever have fired the plan's rule.
    plan_hold = seconds(hold)
    span = alert_verdicts.active_span_under_load(pipeline, scenario_evidence, alert, stressed, window * 60, busy / 100)
    why = f"{alert}'s condition held {span:.0f} s under {stressed.seconds:.0f} s of load: the plan's test fires it"
    scenario_evidence.record(f"{alert} condition held, against the plan's hold", span, "s", high=plan_hold, fails=why)


@then(parsers.parse('receiver "{receiver}" is told about "{alert}" for that node, with a group wait of {wait}'))
def cpu_alert_delivered(
    pipeline: AlertPipeline,
    cpu_alert: FiredAlert,
    timing_profile: TimingProfile,
    scenario_evidence: ScenarioEvidence,
    receiver: str,
    alert: str,
    wait: str,
) -> None:
    # From pending: held H, then the group wait W, each seen within an evaluation.
    window = cpu_alert.window
    deadline = window.hold + timing_profile.plan(wait) + window.evaluation + timeouts.DELIVERY_SLACK
    delivery = pipeline.wait_delivery(
        receiver,
        {"alertname": alert, **cpu_alert.labels},
        since=cpu_alert.pending_at,
        deadline=deadline,
        what=f"{receiver!r} to be told about {alert} on {cpu_alert.labels.get('instance')}",
    )
    held = delivery.notification.starts_at(delivery.alert) - cpu_alert.pending_at
    alert_verdicts.held_bound(scenario_evidence, alert, held, window)
