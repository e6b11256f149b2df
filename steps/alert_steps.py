"""Steps that follow an alert from Prometheus to a receiver, and judge its timing."""

from __future__ import annotations

from pytest_bdd import parsers, then

from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.timing_profiles import DeliveryWindow, TimingProfile
from odin_acceptance.pipelines.alert_journey import AlertPipeline, Delivery, FiredAlert, Stimulus
from odin_acceptance.pipelines.gpu_node import GpuNode
from odin_acceptance.verdicts import alert_verdicts

JOB = "dcgm-exporter"  # the scrape job that brings the GPU series: the link a wait names when it breaks


def _window_for(
    pipeline: AlertPipeline, profile: TimingProfile, stimulus: Stimulus, gpu: int, hold: str
) -> DeliveryWindow:
    """The delivery window of the last stimulus, which must be the GPU the sentence names."""
    assert stimulus.labels["gpu"] == str(gpu), f"the last change was to GPU {stimulus.labels['gpu']}, not {gpu}"
    return pipeline.window(profile.plan(hold), 0.0)


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
    window = _window_for(pipeline, timing_profile, stimulus, gpu, hold)
    return alert_verdicts.fires(pipeline, stimulus, scenario_evidence, alert, window, JOB)


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
    window = pipeline.window(timing_profile.plan(hold), 0.0)
    return alert_verdicts.fires(pipeline, stimulus, scenario_evidence, alert, window, job)


@then(parsers.parse('receiver "{receiver}" is notified, with a group wait of {wait}'), target_fixture="delivery")
def receiver_notified(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    fired_alert: FiredAlert,
    scenario_evidence: ScenarioEvidence,
    receiver: str,
    wait: str,
) -> Delivery:
    group_wait = timing_profile.plan(wait)
    return alert_verdicts.notified(pipeline, scenario_evidence, fired_alert, receiver, group_wait)


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
    group_interval = timing_profile.plan(interval)
    alert_verdicts.told_resolved(pipeline, scenario_evidence, fired_alert, stimulus, receiver, group_interval)


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
    window = _window_for(pipeline, timing_profile, stimulus, gpu, hold)
    alert_verdicts.stays_quiet(pipeline, scenario_evidence, stimulus, alert, window)
