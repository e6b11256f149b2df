"""Steps that follow an alert from Prometheus to a receiver, and judge its timing."""

from __future__ import annotations

import time

from pytest_bdd import parsers, then

from fixtures import timeouts
from fixtures.alerting import AlertPipeline, Delivery, FiredAlert, Stimulus
from fixtures.evidence import ScenarioEvidence
from fixtures.phrases import seconds
from fixtures.timing import DeliveryWindow, TimingProfile, delivery_window
from steps.gpu_steps import GpuNode

JOB = "dcgm-exporter"  # the scrape job whose interval bounds the GPU alerts


def _window_for(
    pipeline: AlertPipeline, profile: TimingProfile, stimulus: Stimulus, alert: str, gpu: int, hold: str
) -> DeliveryWindow:
    """The delivery window of the last stimulus, which must be the GPU the sentence names."""
    assert stimulus.labels["gpu"] == str(gpu), f"the last change was to GPU {stimulus.labels['gpu']}, not {gpu}"
    return pipeline.window(alert, JOB, profile.scale(seconds(hold)), 0.0)


@then(
    parsers.parse('"{alert}" fires for GPU {gpu:d} once the condition has held for {hold}'),
    target_fixture="fired_alert",
)
def alert_fires(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    stimulus: Stimulus,
    scenario_evidence: ScenarioEvidence,
    alert: str,
    gpu: int,
    hold: str,
) -> FiredAlert:
    window = _window_for(pipeline, timing_profile, stimulus, alert, gpu, hold)
    return _fires(pipeline, stimulus, scenario_evidence, alert, window, JOB)


@then(
    parsers.parse('"{alert}" fires for the {job} once it has been down for {hold}'),
    target_fixture="fired_alert",
)
def exporter_alert_fires(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    stimulus: Stimulus,
    scenario_evidence: ScenarioEvidence,
    alert: str,
    job: str,
    hold: str,
) -> FiredAlert:
    window = pipeline.window(alert, job, timing_profile.scale(seconds(hold)), 0.0)
    return _fires(pipeline, stimulus, scenario_evidence, alert, window, job)


def _fires(
    pipeline: AlertPipeline,
    stimulus: Stimulus,
    evidence: ScenarioEvidence,
    alert: str,
    window: DeliveryWindow,
    job: str,
) -> FiredAlert:
    """Waits for `alert` to fire after `stimulus` (a series of scrape `job`), judging when it
    turned pending (≤ S+E)."""
    fired = pipeline.wait_firing(alert, stimulus, window, job)
    pending = fired.pending_at - stimulus.changed_at
    evidence.record(
        "crossing → pending",
        pending,
        "s",
        low=0.0,
        high=window.scrape + window.evaluation + timeouts.DELIVERY_SLACK,
        note="first evaluation after the first scrape of the new value (≤ S+E)",
        fails=f"{alert} turned pending {pending:.2f} s after {stimulus.description}: later than one scrape and "
        "one evaluation (S+E), so the scrape or evaluation interval is longer than the plan's",
    )
    return fired


@then(parsers.parse('receiver "{receiver}" is notified, with a group wait of {wait}'), target_fixture="delivery")
def receiver_notified(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    fired_alert: FiredAlert,
    scenario_evidence: ScenarioEvidence,
    receiver: str,
    wait: str,
) -> Delivery:
    stim = fired_alert.stimulus
    w = fired_alert.window
    window = delivery_window(
        scrape=w.scrape, evaluation=w.evaluation, for_=w.hold, group_wait=timing_profile.scale(seconds(wait))
    )
    latest = window.latest + timeouts.DELIVERY_SLACK
    delivery = pipeline.wait_delivery(
        receiver,
        {"alertname": fired_alert.alertname, **stim.labels},
        since=stim.changed_at,
        deadline=latest,
        what=f"receiver {receiver!r} to be notified of {fired_alert.alertname} ({window.formula()})",
    )
    # A group that already notified sends on its group_interval tick, which may come
    # sooner than group_wait: then only the hold bounds the earliest delivery.
    reused = pipeline.group_seen_before(delivery.alert["labels"], delivery.notification.received_at - window.group_wait)
    earliest = window.hold if reused else window.earliest
    firing_at = delivery.notification.starts_at(delivery.alert)
    # The timeline first: on a failure below it shows what happened.
    series, threshold = pipeline.signal(
        fired_alert.alertname,
        stim.labels,
        stim.changed_at - 4 * window.scrape,
        delivery.notification.received_at + window.scrape,
        window.scrape / 2,
    )
    scenario_evidence.timeline(
        f"{fired_alert.alertname}: {stim.description}",
        "rule expression value",
        threshold,
        series,
        [
            (stim.changed_at, "crossing"),
            (fired_alert.pending_at, "pending"),
            (firing_at, "firing"),
            (delivery.notification.received_at, f"notified {receiver}"),
        ],
    )
    held = firing_at - fired_alert.pending_at
    scenario_evidence.record(
        "pending → firing (held)",
        held,
        "s",
        low=window.hold - 0.01,
        high=window.hold + window.evaluation,
        note="the rule's `for`, rounded up to evaluations (H)",
        fails=f"{fired_alert.alertname} was pending {held:.2f} s before firing; its `for` "
        f"(H, rounded up to evaluations) allows {window.hold:.3g}–{window.hold + window.evaluation:.3g} s",
    )
    scenario_evidence.record(
        "firing → notified", delivery.notification.received_at - firing_at, "s", note="group wait and delivery"
    )
    scenario_evidence.record(
        "crossing → notified",
        delivery.latency,
        "s",
        low=earliest - 0.01,
        high=latest,
        bound=f"{earliest:.3g}–{latest:.3g} s ({window.formula()}; +{timeouts.DELIVERY_SLACK:g} s slack)",
        note=("group existed: earliest is H" if reused else "new group: earliest is H+W"),
        fails=f"{fired_alert.alertname} reached {receiver!r} {delivery.latency:.2f} s after {stim.description}; "
        f"the plan allows {earliest:.3g}–{latest:.3g} s ({window.formula()}). Too early means a shorter "
        "`for` or group_wait than the plan; too late a longer one.",
    )
    return delivery


@then(parsers.parse('the notification has severity "{severity}" and names the GPU\'s host, index, UUID and model'))
def notification_identifies_gpu(delivery: Delivery, gpu_node: GpuNode, stimulus: Stimulus, severity: str) -> None:
    labels = delivery.alert["labels"]
    gpu = int(stimulus.labels["gpu"])
    expected = {"severity": severity, "Hostname": gpu_node.hostname, "gpu": str(gpu), "UUID": gpu_node.uuid(gpu)}
    wrong = {k: labels.get(k) for k, v in expected.items() if labels.get(k) != v}
    assert not wrong, f"notification labels differ from {expected}: got {wrong}"
    assert labels.get("modelName"), f"notification has no GPU model: {labels}"
    annotations = delivery.alert.get("annotations", {})
    assert annotations.get("summary") and annotations.get("description"), (
        f"a receiver needs a summary and a description to act on: got {annotations}"
    )


@then(parsers.parse('receiver "{receiver}" is told it is resolved, with a group interval of {interval}'))
def receiver_told_resolved(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    fired_alert: FiredAlert,
    stimulus: Stimulus,
    scenario_evidence: ScenarioEvidence,
    receiver: str,
    interval: str,
) -> None:
    w = fired_alert.window
    group_interval = timing_profile.scale(seconds(interval))
    latest = w.scrape + w.evaluation + group_interval + timeouts.DELIVERY_SLACK
    delivery = pipeline.wait_delivery(
        receiver,
        {"alertname": fired_alert.alertname, **stimulus.labels},
        since=stimulus.changed_at,
        deadline=latest,
        status="resolved",
        what=f"receiver {receiver!r} to be told {fired_alert.alertname} is resolved (≤ S+E+I = {latest:.3g} s)",
    )
    scenario_evidence.record(
        "recovery → resolved notification",
        delivery.latency,
        "s",
        low=0.0,
        high=latest,
        note="≤ S+E, then the next group_interval tick (I)",
    )


@then(parsers.parse('"{alert}" does not fire for GPU {gpu:d} while it holds for {hold}'))
def alert_does_not_fire(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    stimulus: Stimulus,
    scenario_evidence: ScenarioEvidence,
    alert: str,
    gpu: int,
    hold: str,
) -> None:
    window = _window_for(pipeline, timing_profile, stimulus, alert, gpu, hold)
    # Watch until the latest moment it could fire if the rule were wrong (S+E+H), plus slack.
    end = stimulus.changed_at + window.scrape + window.evaluation + window.hold + timeouts.DELIVERY_SLACK
    pipeline.wait_scraped(stimulus)
    observed = max(0.0, end - time.time())
    pipeline.never_fires(alert, stimulus.labels, observed, what=f"{alert} staying quiet after {stimulus.description}")
    series, threshold = pipeline.signal(
        alert, stimulus.labels, stimulus.changed_at - 4 * window.scrape, end, window.scrape / 2
    )
    scenario_evidence.timeline(
        f"{alert}: {stimulus.description}",
        "rule expression value",
        threshold,
        series,
        [(stimulus.changed_at, "crossing"), (end, "watched until (S+E+H)")],
    )
    scenario_evidence.record(
        "watched without firing",
        end - stimulus.changed_at,
        "s",
        low=window.scrape + window.evaluation + window.hold,
        note="from the change until the latest moment a firing could occur (S+E+H)",
    )
