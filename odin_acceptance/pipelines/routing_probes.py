"""Alerts posted straight to Alertmanager, and what its routing, inhibition, repetition
and persistence must do with them.

Each judging function waits for what it judges (never past its bound), records the
measurement with its bound, and fails with the criterion's words.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from odin_acceptance.clients import links
from odin_acceptance.clients.json_http import ApiError
from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import eventually, holds_for
from odin_acceptance.pipelines.alert_journey import AlertPipeline


@dataclass(frozen=True)
class ProbeAlert:
    labels: dict[str, str]
    sent_at: float = 0.0


@dataclass(frozen=True)
class AlertmanagerMemory:
    """What Alertmanager must still know after a restart: a silence, and a notification."""

    silence_id: str
    receiver: str


def probe(alertname: str, severity: str, run_id: str, machine: str | None = None) -> ProbeAlert:
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


def send(pipeline: AlertPipeline, alert: ProbeAlert, summary: str = "acceptance probe") -> ProbeAlert:
    return ProbeAlert(alert.labels, pipeline.api.alertmanager.post_alert(alert.labels, {"summary": summary}))


def delivered_exactly_to(
    pipeline: AlertPipeline, evidence: ScenarioEvidence, alert: ProbeAlert, receivers: list[str]
) -> None:
    """Posted now, `alert` reaches each of `receivers`, and no other."""
    sent = send(pipeline, alert, "acceptance routing probe").sent_at
    for receiver in receivers:
        delivery = _delivered(pipeline, alert, receiver, sent)
        evidence.record(f"posted → delivered to {receiver}", delivery, "s")
    got = sorted({n.receiver for n, _ in pipeline.api.webhook.deliveries(alert.labels)})
    assert got == sorted(receivers), f"delivered to {got}; the plan says exactly {sorted(receivers)}"
    pipeline.api.alertmanager.resolve_alert(alert.labels)


def _delivered(pipeline: AlertPipeline, alert: ProbeAlert, receiver: str, sent: float) -> float:
    delivery = pipeline.wait_delivery(
        receiver,
        alert.labels,
        since=sent,
        deadline=timeouts.ROUTED_NOTIFICATION,
        what=f"Alertmanager to deliver {alert.labels['alertname']} to {receiver!r}",
        needs=(links.NOTIFICATIONS,),  # posted straight to Alertmanager
    )
    return delivery.latency


def active(pipeline: AlertPipeline, alert: ProbeAlert) -> ProbeAlert:
    """`alert` posted, once Alertmanager holds it as active."""
    sent = send(pipeline, alert)

    def is_active() -> None:
        states = [a["status"]["state"] for a in pipeline.api.alertmanager.alerts(**alert.labels)]
        assert states == ["active"], f"Alertmanager state of the critical alert: {states}"

    name = alert.labels["alertname"]
    eventually(is_active, timeout=timeouts.ROUTED_NOTIFICATION, what=f"{name} to be active in Alertmanager")
    return sent


def inhibited(pipeline: AlertPipeline, alert: ProbeAlert) -> None:
    def is_inhibited() -> None:
        found = pipeline.api.alertmanager.alerts(**alert.labels)
        assert found, "Alertmanager does not have the warning"
        status = found[0]["status"]
        assert status["state"] == "suppressed" and status["inhibitedBy"], f"warning status: {status}"

    eventually(
        is_inhibited,
        timeout=timeouts.ROUTED_NOTIFICATION,
        what="the warning to be inhibited",
        hint="the inhibit rule's matchers or `equal` labels do not cover this pair",
    )


def never_delivered(pipeline: AlertPipeline, evidence: ScenarioEvidence, alert: ProbeAlert, group_wait: float) -> None:
    """No receiver hears of `alert` until its group wait (plus slack) has passed since it was sent."""
    window = group_wait + timeouts.DELIVERY_SLACK
    remaining = alert.sent_at + window - time.time()

    def not_delivered() -> None:
        got = [n.receiver for n, _ in pipeline.api.webhook.deliveries(alert.labels)]
        assert not got, f"the inhibited warning reached {got}"

    holds_for(not_delivered, duration=max(0.0, remaining), what="silence about the inhibited warning")
    evidence.record(
        "watched for a leaked warning", window, "s", note="group wait plus delivery slack after the warning was posted"
    )


def heartbeat_gap(
    pipeline: AlertPipeline, evidence: ScenarioEvidence, receiver: str, alertname: str, period: float, tick: float
) -> float:
    """The gap between two notifications of an always-firing alert: its repeat interval,
    late by at most one group interval tick."""
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
    evidence.record(
        "gap between heartbeats",
        gap,
        "s",
        low=period - 0.01,
        high=period + tick + timeouts.DELIVERY_SLACK,
        fails=f"heartbeats {gap:.2f} s apart; the plan repeats every {period:g} s (+ up to {tick:g} s)",
    )
    return gap


def delivered_and_silenced(
    pipeline: AlertPipeline, alert: ProbeAlert, receiver: str, run_id: str
) -> AlertmanagerMemory:
    """Alertmanager has notified `receiver` of `alert` and holds a silence: what it must remember."""
    sent = send(pipeline, alert, "acceptance persistence probe").sent_at
    _delivered(pipeline, alert, receiver, sent)
    silence = pipeline.api.alertmanager.create_silence({"service": f"silenced-{run_id}"}, 3600, "persistence probe")
    return AlertmanagerMemory(silence, receiver)


def silence_state(pipeline: AlertPipeline, memory: AlertmanagerMemory) -> str:
    try:
        return pipeline.api.alertmanager.silence(memory.silence_id)["status"]["state"]
    except ApiError as exc:
        return f"unknown ({exc})"


def not_notified_again(
    pipeline: AlertPipeline, evidence: ScenarioEvidence, alert: ProbeAlert, memory: AlertmanagerMemory, window: float
) -> None:
    """Sent again, `alert` is not delivered again for `window` seconds (plus the delivery
    slack): the notification log survived."""
    window += timeouts.DELIVERY_SLACK
    resent = send(pipeline, alert, "acceptance persistence probe").sent_at

    def none_new() -> None:
        new = [n for n, _ in pipeline.api.webhook.deliveries(alert.labels) if n.received_at >= resent]
        assert not new, f"{memory.receiver!r} was notified again after the restart: the notification log was lost"

    holds_for(none_new, duration=window, what="no second notification after the restart")
    evidence.record("watched without a second notification", window, "s", note="group wait + group interval + slack")
