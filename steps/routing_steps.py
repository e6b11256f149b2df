"""Steps about Alertmanager's routing tree, inhibition, repetition and persistence."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.phrases import quoted_list
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.offline.route_tests import routes_for
from odin_acceptance.pipelines import routing_probes
from odin_acceptance.pipelines.alert_journey import AlertPipeline
from odin_acceptance.pipelines.routing_probes import AlertmanagerMemory, ProbeAlert
from odin_acceptance.target_api.base import Target


@given(parsers.parse('an alert "{alertname}" with severity "{severity}"'), target_fixture="probe_alert")
def an_alert(alertname: str, severity: str, run_id: str) -> ProbeAlert:
    return routing_probes.probe(alertname, severity, run_id)


@then(parsers.parse("the routing tree sends it to {receivers}"))
def routing_tree_sends(pipeline: AlertPipeline, tools: dict, probe_alert: ProbeAlert, receivers: str) -> None:
    expected = quoted_list(receivers)
    got = routes_for(tools["amtool"], pipeline.target.stack.config.text("alertmanager.yml"), probe_alert.labels)
    assert sorted(got) == sorted(expected), (
        f"amtool: an alert with {probe_alert.labels} is routed to {got}; the plan says {expected}"
    )


@then(parsers.parse("Alertmanager delivers it to {receivers}"))
def alertmanager_delivers(
    pipeline: AlertPipeline, probe_alert: ProbeAlert, scenario_evidence: ScenarioEvidence, receivers: str
) -> None:
    routing_probes.delivered_exactly_to(pipeline, scenario_evidence, probe_alert, quoted_list(receivers))


@given(parsers.parse('a critical alert "{alertname}" is firing for a machine'), target_fixture="inhibiting_alert")
def critical_alert_firing(pipeline: AlertPipeline, run_id: str, alertname: str) -> ProbeAlert:
    alert = routing_probes.probe(alertname, "critical", run_id, machine=f"machine-{run_id}")
    return routing_probes.active(pipeline, alert)


@when(parsers.parse('a warning alert "{alertname}" fires for the same machine'), target_fixture="inhibited_alert")
def warning_alert_same_machine(
    pipeline: AlertPipeline, inhibiting_alert: ProbeAlert, run_id: str, alertname: str
) -> ProbeAlert:
    alert = routing_probes.probe(alertname, "warning", run_id, machine=inhibiting_alert.labels["instance"])
    return routing_probes.send(pipeline, alert)


@then("Alertmanager marks the warning as inhibited by the critical alert")
def warning_inhibited(pipeline: AlertPipeline, inhibited_alert: ProbeAlert) -> None:
    routing_probes.inhibited(pipeline, inhibited_alert)


@then(parsers.parse("no receiver is told about the warning, with a group wait of {wait}"))
def warning_not_delivered(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    inhibited_alert: ProbeAlert,
    inhibiting_alert: ProbeAlert,
    scenario_evidence: ScenarioEvidence,
    wait: str,
) -> None:
    group_wait = timing_profile.plan(wait)
    routing_probes.never_delivered(pipeline, scenario_evidence, inhibited_alert, group_wait)
    for alert in (inhibited_alert, inhibiting_alert):
        pipeline.api.alertmanager.resolve_alert(alert.labels)


@then(
    parsers.parse(
        'receiver "{receiver}" keeps hearing "{alertname}" every {repeat}, '
        "give or take the group interval of {interval}"
    )
)
def keeps_hearing(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    scenario_evidence: ScenarioEvidence,
    receiver: str,
    alertname: str,
    repeat: str,
    interval: str,
) -> None:
    period, tick = timing_profile.plan(repeat), timing_profile.plan(interval)
    routing_probes.heartbeat_gap(pipeline, scenario_evidence, receiver, alertname, period, tick)


# -- persistence across a restart ------------------------------------------------------


@given(parsers.parse('Alertmanager has delivered it to "{receiver}" and holds a silence'), target_fixture="am_memory")
def delivered_and_silenced(
    pipeline: AlertPipeline, probe_alert: ProbeAlert, run_id: str, receiver: str
) -> AlertmanagerMemory:
    return routing_probes.delivered_and_silenced(pipeline, probe_alert, receiver, run_id)


@when(parsers.parse("{component} is replaced by a new pod"))
def component_replaced(target: Target, component: str) -> None:
    # A new pod keeps only what the manifests put on a volume claim (the local target wipes
    # the rest), which is what "persistence" means for the plan.
    name = component.lower()
    target.stack.stop_component(name)
    target.stack.start_component(name)


@then("the silence is still in force")
def silence_kept(pipeline: AlertPipeline, am_memory: AlertmanagerMemory) -> None:
    state = routing_probes.silence_state(pipeline, am_memory)
    assert state == "active", (
        f"after a restart the silence is {state}: Alertmanager's --storage.path is not on the manifests' volume claim"
    )


@then(
    parsers.parse(
        "the alert, sent again, is not delivered again within its group wait of {wait} and group interval of {interval}"
    )
)
def not_sent_again(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    probe_alert: ProbeAlert,
    am_memory: AlertmanagerMemory,
    scenario_evidence: ScenarioEvidence,
    wait: str,
    interval: str,
) -> None:
    window = timing_profile.plan(wait) + timing_profile.plan(interval)
    routing_probes.not_notified_again(pipeline, scenario_evidence, probe_alert, am_memory, window)
