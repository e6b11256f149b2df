"""Judging the alerts Loki's ruler raises from log lines: when they fire, who hears of
them, and that they stay quiet below their threshold."""

from __future__ import annotations

import time

from odin_acceptance.clients import links
from odin_acceptance.clients.prometheus_api import RuleAlert
from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import eventually, holds_for
from odin_acceptance.core.workloads import Workload
from odin_acceptance.pipelines.alert_journey import AlertPipeline
from odin_acceptance.pipelines.log_path import LogPipeline
from odin_acceptance.pipelines.log_workloads import ErrorWriter
from odin_acceptance.stack_config import plan_durations

# PodErrorBurst (plan deliverable "log-based alerts possible"): more than 10 error lines in
# its 1-minute window; at one line per second that is the 11th second.
ERRORS_TO_CROSS = 11.0


def _log_alerts(logs: LogPipeline, alert: str, workload: Workload) -> list[RuleAlert]:
    return [a for a in logs.loki.alerts() if a.labels.get("alertname") == alert and a.labels.get("pod") == workload.pod]


def evaluation_interval(logs: LogPipeline) -> float:
    """E of Loki's ruler: the plan's (alert_rules.feature's table), in the run's profile, once
    the running ruler's groups agree; never the running config's own, which would widen the
    bounds below to match."""
    return plan_durations.interval(plan_durations.LOKI_EVALUATION, logs.target.stack.config, logs.target.profile)


def fires(
    logs: LogPipeline, evidence: ScenarioEvidence, error_writer: ErrorWriter, alert: str, held: float
) -> RuleAlert:
    """Waits for the ruler to fire `alert` for the writer's pod, judging when it turned
    pending: the threshold's crossing, ingest and one evaluation."""
    evaluation = evaluation_interval(logs)
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
    evidence.record(
        "errors start → pending",
        pending,
        "s",
        high=ERRORS_TO_CROSS + timeouts.INGEST_ALLOWANCE + evaluation,
        note="threshold crossed at the 11th line, then ingest and one evaluation",
        fails=f"{alert} turned pending {pending:.1f} s after the errors started: later than the threshold's "
        "crossing, ingest and one evaluation of the ruler",
    )
    return fired


def delivered(
    logs: LogPipeline,
    evidence: ScenarioEvidence,
    error_writer: ErrorWriter,
    log_alert: RuleAlert,
    receiver: str,
    group_wait: float,
) -> None:
    """`receiver` hears of the fired log alert within the group wait and an evaluation."""
    alert = log_alert.labels["alertname"]
    pipeline = AlertPipeline(logs.target)
    deadline = group_wait + evaluation_interval(logs) + timeouts.DELIVERY_SLACK
    delivery = pipeline.wait_delivery(
        receiver,
        {"alertname": alert, "pod": error_writer.workload.pod},
        since=log_alert.active_at,
        deadline=time.time() - log_alert.active_at + deadline,
        what=f"receiver {receiver!r} to be told about {alert} for {error_writer.workload.pod}",
    )
    evidence.record(
        "errors start → notified",
        delivery.notification.received_at - error_writer.started_at,
        "s",
        note=f"delivered to {delivery.notification.receiver}",
    )
    assert delivery.alert["labels"].get("namespace") == error_writer.workload.namespace


def stays_quiet(
    logs: LogPipeline, evidence: ScenarioEvidence, error_writer: ErrorWriter, alert: str, held: float
) -> None:
    """Once all the writer's lines are countable in Loki, `alert` does not fire for as long
    as it could take to (ingest, one evaluation, the hold)."""
    # First prove the lines are countable, or staying quiet would prove nothing.
    eventually(
        lambda: _assert_count(logs, error_writer),
        timeout=timeouts.NEW_STREAM,
        what=f"the {error_writer.expected_lines} error lines to be in Loki",
    )
    window = timeouts.INGEST_ALLOWANCE + evaluation_interval(logs) + held

    def quiet() -> None:
        states = [a.state for a in _log_alerts(logs, alert, error_writer.workload)]
        assert "firing" not in states, f"{alert} fired for {error_writer.expected_lines} error lines"

    holds_for(quiet, duration=window, what=f"{alert} staying quiet")
    evidence.record("watched without firing", window, "s", note="ingest + one evaluation + hold")


def _assert_count(logs: LogPipeline, writer: ErrorWriter) -> None:
    got = len(logs.entries(writer.workload, "level=error"))
    assert got == writer.expected_lines, f"{got} of {writer.expected_lines} error lines in Loki"
