"""Steps about Alertmanager's routing tree and inhibition."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pytest_bdd import given, parsers, then, when

from fixtures import links, timeouts
from fixtures.alerting import AlertPipeline
from fixtures.evidence import ScenarioEvidence
from fixtures.http import ApiError
from fixtures.phrases import quoted_list, seconds
from fixtures.polling import eventually, holds_for
from fixtures.routing import routes_for
from fixtures.targets import Target
from fixtures.timing import TimingProfile


@dataclass(frozen=True)
class ProbeAlert:
    labels: dict[str, str]
    sent_at: float = 0.0


def _probe(alertname: str, severity: str, run_id: str, machine: str | None = None) -> ProbeAlert:
    # A unique `service` puts each probe in an aggregation group of its own (group_by has
    # alertname, cluster, service), so probes never wait on each other's group timers.
    return ProbeAlert(
        {
            "alertname": alertname,
            "severity": severity,
            "cluster": "odin",
            "service": f"acceptance-{run_id}",
            "instance": machine or f"probe-{run_id}",
        }
    )


@given(parsers.parse('an alert "{alertname}" with severity "{severity}"'), target_fixture="probe_alert")
def an_alert(alertname: str, severity: str, run_id: str) -> ProbeAlert:
    return _probe(alertname, severity, run_id)


@then(parsers.parse("the routing tree sends it to {receivers}"))
def routing_tree_sends(pipeline: AlertPipeline, tools: dict, probe_alert: ProbeAlert, receivers: str) -> None:
    expected = quoted_list(receivers)
    got = routes_for(tools["amtool"], pipeline.target.deployed_config("alertmanager.yml"), probe_alert.labels)
    assert sorted(got) == sorted(expected), (
        f"amtool: an alert with {probe_alert.labels} is routed to {got}; the plan says {expected}"
    )


@then(parsers.parse("Alertmanager delivers it to {receivers}"))
def alertmanager_delivers(
    pipeline: AlertPipeline, probe_alert: ProbeAlert, scenario_evidence: ScenarioEvidence, receivers: str
) -> None:
    expected = quoted_list(receivers)
    sent = pipeline.api.alertmanager.post_alert(probe_alert.labels, {"summary": "acceptance routing probe"})
    for receiver in expected:
        delivery = pipeline.wait_delivery(
            receiver,
            probe_alert.labels,
            since=sent,
            deadline=timeouts.ROUTED_NOTIFICATION,
            what=f"Alertmanager to deliver {probe_alert.labels['alertname']} to {receiver!r}",
            needs=(links.NOTIFICATIONS,),  # posted straight to Alertmanager
        )
        scenario_evidence.record(f"posted → delivered to {receiver}", delivery.latency, "s")
    got = sorted({n.receiver for n, _ in pipeline.api.webhook.deliveries(probe_alert.labels)})
    assert got == sorted(expected), f"delivered to {got}; the plan says exactly {sorted(expected)}"
    pipeline.api.alertmanager.resolve_alert(probe_alert.labels)


@given(parsers.parse('a critical alert "{alertname}" is firing for a machine'), target_fixture="inhibiting_alert")
def critical_alert_firing(pipeline: AlertPipeline, run_id: str, alertname: str) -> ProbeAlert:
    alert = _probe(alertname, "critical", run_id, machine=f"machine-{run_id}")
    sent = pipeline.api.alertmanager.post_alert(alert.labels)

    def active() -> None:
        states = [a["status"]["state"] for a in pipeline.api.alertmanager.alerts(**alert.labels)]
        assert states == ["active"], f"Alertmanager state of the critical alert: {states}"

    eventually(active, timeout=timeouts.ROUTED_NOTIFICATION, what=f"{alertname} to be active in Alertmanager")
    return ProbeAlert(alert.labels, sent)


@when(parsers.parse('a warning alert "{alertname}" fires for the same machine'), target_fixture="inhibited_alert")
def warning_alert_same_machine(
    pipeline: AlertPipeline, inhibiting_alert: ProbeAlert, run_id: str, alertname: str
) -> ProbeAlert:
    alert = _probe(alertname, "warning", run_id, machine=inhibiting_alert.labels["instance"])
    return ProbeAlert(alert.labels, pipeline.api.alertmanager.post_alert(alert.labels))


@then("Alertmanager marks the warning as inhibited by the critical alert")
def warning_inhibited(pipeline: AlertPipeline, inhibited_alert: ProbeAlert) -> None:
    def inhibited() -> None:
        found = pipeline.api.alertmanager.alerts(**inhibited_alert.labels)
        assert found, "Alertmanager does not have the warning"
        status = found[0]["status"]
        assert status["state"] == "suppressed" and status["inhibitedBy"], f"warning status: {status}"

    eventually(
        inhibited,
        timeout=timeouts.ROUTED_NOTIFICATION,
        what="the warning to be inhibited",
        hint="the inhibit rule's matchers or `equal` labels do not cover this pair",
    )


@then(parsers.parse("no receiver is told about the warning, with a group wait of {wait}"))
def warning_not_delivered(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    inhibited_alert: ProbeAlert,
    inhibiting_alert: ProbeAlert,
    scenario_evidence: ScenarioEvidence,
    wait: str,
) -> None:
    window = timing_profile.scale(seconds(wait)) + timeouts.DELIVERY_SLACK
    remaining = inhibited_alert.sent_at + window - time.time()

    def not_delivered() -> None:
        got = [n.receiver for n, _ in pipeline.api.webhook.deliveries(inhibited_alert.labels)]
        assert not got, f"the inhibited warning reached {got}"

    holds_for(not_delivered, duration=max(0.0, remaining), what="silence about the inhibited warning")
    scenario_evidence.record(
        "watched for a leaked warning", window, "s", note="group wait plus delivery slack after the warning was posted"
    )
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
    period = timing_profile.scale(seconds(repeat))
    tick = timing_profile.scale(seconds(interval))
    start = time.time()

    def two_new() -> list[float]:
        times = sorted(
            n.received_at
            for n, _ in pipeline.api.webhook.deliveries({"alertname": alertname})
            if n.receiver == receiver and n.received_at >= start
        )
        assert len(times) >= 2, f"{len(times)} notifications to {receiver!r} since the scenario started"
        return times

    times = eventually(
        two_new,
        timeout=2 * (period + tick) + timeouts.DELIVERY_SLACK,
        what=f"two {alertname} notifications to {receiver!r}",
        needs=(links.ALERTS, links.NOTIFICATIONS),
    )
    gap = times[1] - times[0]
    scenario_evidence.record(
        "gap between heartbeats",
        gap,
        "s",
        low=period - 0.01,
        high=period + tick + timeouts.DELIVERY_SLACK,
        fails=f"heartbeats {gap:.2f} s apart; the plan repeats every {period:g} s (+ up to {tick:g} s)",
    )


# -- persistence across a restart ------------------------------------------------------


@dataclass(frozen=True)
class AlertmanagerMemory:
    """What Alertmanager must still know after a restart: a silence, and a notification."""

    silence_id: str
    receiver: str


@given(parsers.parse('Alertmanager has delivered it to "{receiver}" and holds a silence'), target_fixture="am_memory")
def delivered_and_silenced(pipeline: AlertPipeline, probe_alert: ProbeAlert, run_id: str, receiver: str):
    sent = pipeline.api.alertmanager.post_alert(probe_alert.labels, {"summary": "acceptance persistence probe"})
    pipeline.wait_delivery(
        receiver,
        probe_alert.labels,
        since=sent,
        deadline=timeouts.ROUTED_NOTIFICATION,
        what=f"Alertmanager to deliver {probe_alert.labels['alertname']} to {receiver!r}",
        needs=(links.NOTIFICATIONS,),
    )
    silence = pipeline.api.alertmanager.create_silence({"service": f"silenced-{run_id}"}, 3600, "persistence probe")
    return AlertmanagerMemory(silence, receiver)


@when(parsers.parse("{component} is replaced by a new pod"))
def component_replaced(stack: Target, component: str) -> None:
    # A new pod keeps only what the manifests put on a volume claim (the local target wipes
    # the rest), which is what "persistence" means for the plan.
    name = component.lower()
    stack.stop_component(name)
    stack.start_component(name)


@then("the silence is still in force")
def silence_kept(pipeline: AlertPipeline, am_memory: AlertmanagerMemory) -> None:
    try:
        state = pipeline.api.alertmanager.silence(am_memory.silence_id)["status"]["state"]
    except ApiError as exc:
        state = f"unknown ({exc})"
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
    resent = pipeline.api.alertmanager.post_alert(probe_alert.labels, {"summary": "acceptance persistence probe"})
    window = timing_profile.scale(seconds(wait)) + timing_profile.scale(seconds(interval)) + timeouts.DELIVERY_SLACK

    def none_new() -> int:
        new = [n for n, _ in pipeline.api.webhook.deliveries(probe_alert.labels) if n.received_at >= resent]
        assert not new, f"{am_memory.receiver!r} was notified again after the restart: the notification log was lost"
        return 0

    holds_for(none_new, duration=window, what="no second notification after the restart")
    scenario_evidence.record("notifications after the restart", 0, "notifications", note=f"watched {window:.2f} s")
