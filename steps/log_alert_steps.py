"""Steps about alerts that Loki's ruler raises from log lines."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pytest_bdd import parsers, then, when

from fixtures import links, timeouts
from fixtures.alerting import AlertPipeline
from fixtures.evidence import ScenarioEvidence
from fixtures.logs import LogPipeline
from fixtures.phrases import seconds
from fixtures.polling import eventually, holds_for
from fixtures.prometheus_api import RuleAlert
from fixtures.targets.base import Workload
from fixtures.timing import TimingProfile

# PodErrorBurst (plan deliverable "log-based alerts possible"): more than 10 error lines in
# its 1-minute window; at one line per second that is the 11th second.
ERRORS_TO_CROSS = 11.0


@dataclass(frozen=True)
class ErrorWriter:
    workload: Workload
    started_at: float
    expected_lines: int  # 0: writes until the scenario ends


def _log_alerts(logs: LogPipeline, alert: str, workload: Workload) -> list[RuleAlert]:
    return [a for a in logs.loki.alerts() if a.labels.get("alertname") == alert and a.labels.get("pod") == workload.pod]


def _evaluation_interval(logs: LogPipeline, alert: str) -> float:
    return AlertPipeline(logs.target).evaluation_interval(alert, rules="log-alerts.yaml")


@when("a workload logs an error line every second", target_fixture="error_writer")
def errors_every_second(logs: LogPipeline) -> ErrorWriter:
    workload = logs.start("errors", "--lines", "0", "--rate", "1", "--level", "error", "--marker", "disk I/O failed")
    return ErrorWriter(workload, time.time(), 0)


@when(parsers.parse("a workload logs {count:d} error lines"), target_fixture="error_writer")
def a_few_errors(logs: LogPipeline, count: int) -> ErrorWriter:
    workload = logs.start("few-errors", "--lines", str(count), "--level", "error", "--linger")
    return ErrorWriter(workload, time.time(), count)


@then(
    parsers.parse('the log alert "{alert}" fires for the workload\'s pod once it has held for {hold}'),
    target_fixture="log_alert",
)
def log_alert_fires(
    logs: LogPipeline,
    timing_profile: TimingProfile,
    error_writer: ErrorWriter,
    scenario_evidence: ScenarioEvidence,
    alert: str,
    hold: str,
) -> RuleAlert:
    held = timing_profile.scale(seconds(hold))
    evaluation = _evaluation_interval(logs, alert)
    latest = ERRORS_TO_CROSS + timeouts.INGEST_ALLOWANCE + evaluation + held + timeouts.DELIVERY_SLACK

    def firing() -> RuleAlert:
        states = _log_alerts(logs, alert, error_writer.workload)
        assert any(a.state == "firing" for a in states), f"{alert}: {[a.state for a in states] or 'inactive'}"
        return next(a for a in states if a.state == "firing")

    fired = eventually(
        firing,
        timeout=max(1.0, error_writer.started_at + latest - time.time()),
        what=f"Loki's ruler to fire {alert} for {error_writer.workload.pod}",
        hint="check the LogQL rule's threshold and `for`, and that the lines reach Loki",
        needs=(links.LOGS,),
    )
    pending = fired.active_at - error_writer.started_at
    scenario_evidence.record(
        "errors start → pending",
        pending,
        "s",
        high=ERRORS_TO_CROSS + timeouts.INGEST_ALLOWANCE + evaluation,
        note="threshold crossed at the 11th line, then ingest and one evaluation",
        fails=f"{alert} turned pending {pending:.1f} s after the errors started: later than the threshold's "
        "crossing, ingest and one evaluation of the ruler",
    )
    return fired


@then(
    parsers.parse('receiver "{receiver}" is told about "{alert}" for the workload\'s pod, with a group wait of {wait}')
)
def log_alert_delivered(
    logs: LogPipeline,
    timing_profile: TimingProfile,
    error_writer: ErrorWriter,
    log_alert: RuleAlert,
    scenario_evidence: ScenarioEvidence,
    receiver: str,
    alert: str,
    wait: str,
) -> None:
    pipeline = AlertPipeline(logs.target)
    deadline = timing_profile.scale(seconds(wait)) + _evaluation_interval(logs, alert) + timeouts.DELIVERY_SLACK
    delivery = pipeline.wait_delivery(
        receiver,
        {"alertname": alert, "pod": error_writer.workload.pod},
        since=log_alert.active_at,
        deadline=time.time() - log_alert.active_at + deadline,
        what=f"receiver {receiver!r} to be told about {alert} for {error_writer.workload.pod}",
    )
    scenario_evidence.record(
        "errors start → notified",
        delivery.notification.received_at - error_writer.started_at,
        "s",
        note=f"delivered to {delivery.notification.receiver}",
    )
    assert delivery.alert["labels"].get("namespace") == error_writer.workload.namespace


@then(parsers.parse('the log alert "{alert}" does not fire for the workload\'s pod while it would hold for {hold}'))
def log_alert_quiet(
    logs: LogPipeline,
    timing_profile: TimingProfile,
    error_writer: ErrorWriter,
    scenario_evidence: ScenarioEvidence,
    alert: str,
    hold: str,
) -> None:
    # First prove the lines are countable, or staying quiet would prove nothing.
    eventually(
        lambda: _assert_count(logs, error_writer),
        timeout=timeouts.NEW_STREAM,
        what=f"the {error_writer.expected_lines} error lines to be in Loki",
    )
    window = timeouts.INGEST_ALLOWANCE + _evaluation_interval(logs, alert) + timing_profile.scale(seconds(hold))

    def quiet() -> None:
        states = [a.state for a in _log_alerts(logs, alert, error_writer.workload)]
        assert "firing" not in states, f"{alert} fired for {error_writer.expected_lines} error lines"

    holds_for(quiet, duration=window, what=f"{alert} staying quiet")
    scenario_evidence.record("watched without firing", window, "s", note="ingest + one evaluation + hold")


def _assert_count(logs: LogPipeline, writer: ErrorWriter) -> None:
    got = len(logs.entries(writer.workload, "level=error"))
    assert got == writer.expected_lines, f"{got} of {writer.expected_lines} error lines in Loki"
