"""Steps about alerts that Loki's ruler raises from log lines."""

from __future__ import annotations

import time

from pytest_bdd import parsers, then, when

from odin_acceptance.clients.prometheus_api import RuleAlert
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.pipelines.log_path import LogPipeline
from odin_acceptance.pipelines.log_workloads import ErrorWriter
from odin_acceptance.verdicts import log_alerts


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
    return log_alerts.fires(logs, scenario_evidence, error_writer, alert, timing_profile.plan(hold))


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
    assert log_alert.labels.get("alertname") == alert, f"the alert that fired is {log_alert.labels}, not {alert}"
    group_wait = timing_profile.plan(wait)
    log_alerts.delivered(logs, scenario_evidence, error_writer, log_alert, receiver, group_wait)


@then(parsers.parse('the log alert "{alert}" does not fire for the workload\'s pod while it would hold for {hold}'))
def log_alert_quiet(
    logs: LogPipeline,
    timing_profile: TimingProfile,
    error_writer: ErrorWriter,
    scenario_evidence: ScenarioEvidence,
    alert: str,
    hold: str,
) -> None:
    log_alerts.stays_quiet(logs, scenario_evidence, error_writer, alert, timing_profile.plan(hold))
