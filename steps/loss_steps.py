"""Steps about lost log lines and alerts: the soak, and component failures."""

from __future__ import annotations

import time

from pytest_bdd import parsers, then, when

from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.pipelines import promtail_reread
from odin_acceptance.pipelines.alert_journey import AlertPipeline, Stimulus
from odin_acceptance.pipelines.log_path import LogPipeline
from odin_acceptance.pipelines.log_workloads import Fault, Soak, SteadyWriter
from odin_acceptance.pipelines.promtail_reread import Reread
from odin_acceptance.verdicts import alert_verdicts, log_loss
from odin_acceptance.verdicts.line_accounting import LossReport


@when(
    parsers.parse("{count:d} workloads each write {rate:d} lines per second for the soak duration"),
    target_fixture="soak",
)
def soak_writers(logs: LogPipeline, soak_seconds: float, count: int, rate: int) -> Soak:
    return log_loss.write_soak(logs, soak_seconds, count, rate)


@then(
    "every line written is in Loki, none missing, and Promtail read each line once by its own count",
    target_fixture="loss_report",
)
def soak_complete(logs: LogPipeline, soak: Soak, scenario_evidence: ScenarioEvidence) -> LossReport:
    return log_loss.judge_soak(logs, scenario_evidence, soak)


@then(parsers.parse("the first {count:d} lines of each workload are still in Loki after it flushed them to storage"))
def survives_flush(logs: LogPipeline, soak: Soak, scenario_evidence: ScenarioEvidence, count: int) -> None:
    log_loss.flushed_lines_kept(logs, scenario_evidence, soak, count)


@then("neither Promtail nor Loki dropped or discarded a line")
def nothing_dropped(logs: LogPipeline, soak: Soak, scenario_evidence: ScenarioEvidence) -> None:
    dropped = logs.target.stack.promtail_metric(log_loss.DROPPED) - soak.dropped_before
    discarded = logs.loki.metric(log_loss.DISCARDED) - soak.discarded_before
    why = f"Promtail dropped {dropped:g}, Loki discarded {discarded:g}"
    scenario_evidence.record("Promtail dropped entries", dropped, "lines", high=0.0, fails=why)
    scenario_evidence.record("Loki discarded samples", discarded, "lines", high=0.0, fails=why)


# -- faults ----------------------------------------------------------------------------


@when(parsers.parse("Loki is down for {down:d} seconds while it writes"), target_fixture="fault")
def loki_down(logs: LogPipeline, timing_profile: TimingProfile, steady: SteadyWriter, down: int) -> Fault:
    dropped = logs.target.stack.promtail_metric(log_loss.DROPPED)
    log_loss.first_lines_in(logs, steady)
    return log_loss.down_for(logs, "loki", float(down), logs.loki.ready, dropped)


@when(parsers.parse("Promtail is restarted once it has read {seconds:d} seconds of its lines"), target_fixture="fault")
def promtail_restarted(logs: LogPipeline, steady: SteadyWriter, seconds: int) -> Fault:
    dropped = logs.target.stack.promtail_metric(log_loss.DROPPED)
    log_loss.first_lines_in(logs, steady)
    promtail_reread.wait_lines_read(logs.target, steady.workload, steady.lines / steady.seconds * seconds)
    read = promtail_reread.lines_read(logs.target, steady.workload)
    started = time.time()
    logs.target.stack.stop_component("promtail")
    logs.target.stack.start_component("promtail")
    return Fault(dropped, time.time() - started, started, time.time(), lines_read_before=read)


@when("Loki is down for longer than Promtail's retry budget while it writes", target_fixture="fault")
def loki_down_long(logs: LogPipeline, steady: SteadyWriter, scenario_evidence: ScenarioEvidence) -> Fault:
    budget = log_loss.retry_budget(logs.target.stack.config)
    scenario_evidence.record(
        "Promtail retry budget, longest", budget.longest, "s", note=f"backoff waits with jitter: {budget.describe()}"
    )
    dropped = logs.target.stack.promtail_metric(log_loss.DROPPED)
    log_loss.first_lines_in(logs, steady)
    # Past the longest budget: a batch written at the start of the outage exhausts every retry.
    return log_loss.down_for(logs, "loki", budget.longest * 1.5 + 5, logs.loki.ready, dropped)


@then("every line it wrote is in Loki, none missing", target_fixture="loss_report")
def fault_no_loss(
    logs: LogPipeline, steady: SteadyWriter, fault: Fault, scenario_evidence: ScenarioEvidence
) -> LossReport:
    logs.target.nodes.wait_workload_done(steady.workload, timeout=steady.seconds + timeouts.NEW_STREAM)
    report = log_loss.settled_account(logs, [(steady.workload, steady.lines)], 3600)
    scenario_evidence.record("component down (stop → ready again)", fault.down_seconds, "s")
    log_loss.record_accounting(scenario_evidence, report, f"lines lost across the restart: {report.describe()}")
    return report


@then(parsers.parse("Promtail reads at most {limit:d} seconds of its lines a second time, by its own count"))
def promtail_reread_bounded(
    logs: LogPipeline, steady: SteadyWriter, fault: Fault, scenario_evidence: ScenarioEvidence, limit: int
) -> None:
    # Positions are saved every 10 s (sync_period) and at a clean stop: a restart may read
    # that much again. Lost positions (D4) mean the whole file again.
    after = promtail_reread.wait_caught_up(logs.target, steady.workload)
    reread = Reread(fault.lines_read_before, after, len(logs.target.nodes.container_log(steady.workload)))
    bound = steady.lines / steady.seconds * limit
    why = f"Promtail read {reread.lines:g} of its {reread.before:g} lines again: positions not kept across a restart?"
    note = f"read before the stop {reread.before:g}, after it {reread.after:g}, of {reread.total} lines"
    scenario_evidence.record("lines Promtail read again", reread.lines, "lines", high=bound, note=note, fails=why)


@then("the checker finds lines missing, every one written while Loki was down", target_fixture="loss_report")
def loss_seen_where_it_happened(
    logs: LogPipeline, steady: SteadyWriter, fault: Fault, scenario_evidence: ScenarioEvidence
) -> LossReport:
    return log_loss.loss_only_during_outage(logs, scenario_evidence, steady, fault)


@then("Promtail's count of dropped lines covers them")
def promtail_counted_drops(
    logs: LogPipeline, fault: Fault, loss_report: LossReport, scenario_evidence: ScenarioEvidence
) -> None:
    # Promtail counts drops over every stream it tails (the components' own logs too), so
    # its count bounds ours from above rather than equalling it.
    dropped = logs.target.stack.promtail_metric(log_loss.DROPPED) - fault.dropped_before
    scenario_evidence.record(
        "lines dropped (Promtail, all streams)",
        dropped,
        "lines",
        low=float(loss_report.missing),
        fails=f"Promtail reports {dropped:g} dropped, fewer than the {loss_report.missing} missing",
    )


@when(parsers.parse('Alertmanager is down until "{alert}" fires'), target_fixture="am_back")
def alertmanager_down(pipeline: AlertPipeline, stimulus: Stimulus, alert: str) -> float:
    pipeline.await_state(alert, stimulus.labels, "pending", timeout=timeouts.TARGET_UP)
    pipeline.target.stack.stop_component("alertmanager")
    pipeline.await_state(alert, stimulus.labels, "firing", timeout=timeouts.FIRING_UNDER_FAULT)
    back = time.time()  # before the start: it may deliver while the start still waits for it to be ready
    pipeline.target.stack.start_component("alertmanager")
    return back


@then(
    parsers.parse(
        'receiver "{receiver}" hears of "{alert}" for GPU {gpu:d} within the resend delay of {delay} '
        "and the group wait of {wait} after Alertmanager is back"
    )
)
def heard_after_restart(
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    stimulus: Stimulus,
    am_back: float,
    scenario_evidence: ScenarioEvidence,
    receiver: str,
    alert: str,
    gpu: int,
    delay: str,
    wait: str,
) -> None:
    assert stimulus.labels["gpu"] == str(gpu), f"the last change was to GPU {stimulus.labels['gpu']}, not {gpu}"
    limit = timing_profile.plan(delay) + timing_profile.plan(wait) + timeouts.DELIVERY_SLACK
    alert_verdicts.heard_after_restart(pipeline, scenario_evidence, stimulus, am_back, receiver, alert, limit)
