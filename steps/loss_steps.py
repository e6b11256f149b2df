"""Steps about lost log lines and alerts: the soak, and component failures."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest
import yaml
from pytest_bdd import parsers, then, when

from fixtures import links, timeouts
from fixtures.alerting import AlertPipeline, Stimulus
from fixtures.evidence import ScenarioEvidence
from fixtures.logs import LogPipeline, Summary, sequence_numbers, sequence_numbers_of
from fixtures.loss import LossReport, account_all
from fixtures.phrases import seconds
from fixtures.polling import Poll, eventually, holds_for
from fixtures.targets.base import Workload
from fixtures.timing import TimingProfile, parse_duration
from steps.log_steps import SteadyWriter

DROPPED = "promtail_dropped_entries_total"
DISCARDED = "loki_discarded_samples_total"


@pytest.fixture
def soak_seconds(pytestconfig: pytest.Config) -> float:
    return parse_duration(pytestconfig.getoption("--soak-duration"))


@dataclass
class Soak:
    writers: list[tuple[Workload, int]]
    seconds: float
    dropped_before: float
    discarded_before: float
    # (workload, seq, unix time first returned by a query) sampled while writing
    samples: list[tuple[Workload, int, float]] = field(default_factory=list)


def _latest_seq(logs: LogPipeline, workload: Workload) -> int | None:
    entries = logs.loki.entries(workload.selector, since=300, limit=1, direction="backward")
    seqs = sequence_numbers(entries)
    return seqs[0] if seqs else None


@when(
    parsers.parse("{count:d} workloads each write {rate:d} lines per second for the soak duration"),
    target_fixture="soak",
)
def soak_writers(logs: LogPipeline, soak_seconds: float, count: int, rate: int) -> Soak:
    lines = int(rate * soak_seconds)
    soak = Soak([], soak_seconds, logs.target.promtail_metric(DROPPED), logs.loki.metric(DISCARDED))
    for i in range(count):
        workload = logs.start(f"soak-{i}", "--lines", str(lines), "--rate", str(rate), "--size", "150")
        soak.writers.append((workload, lines))

    def all_written() -> None:
        # The soak is over when every stream's last line is searchable; each look also
        # samples ingest latency (the newest line each stream shows right now).
        now, behind = time.time(), []
        for workload, expected in soak.writers:
            seq = _latest_seq(logs, workload)
            if seq is not None:
                soak.samples.append((workload, seq, now))
            if seq != expected:
                behind.append(f"{workload.pod} at {seq or 0}/{expected}")
        assert not behind, f"still writing: {', '.join(behind)}"

    eventually(
        all_written,
        timeout=soak_seconds + timeouts.NEW_STREAM,
        what=f"the {soak_seconds:.0f} s soak to be written and searchable",
        poll=Poll(interval=1.0, max_interval=1.0),
        needs=(links.LOGS,),
    )
    for workload, _ in soak.writers:
        logs.target.wait_workload_done(workload, timeout=timeouts.NEW_STREAM)
    return soak


def _settled_account(
    logs: LogPipeline, writers: list[tuple[Workload, int]], since: float, expected_missing: int = 0
) -> LossReport:
    """Account once the pipeline has delivered what it is going to deliver."""

    def settled() -> LossReport:
        report = account_all(logs.loki, writers, since)
        late = [s.workload.pod for s in report.streams if s.expected in s.missing]
        assert not late, f"the last line of {late} is not in Loki yet"
        assert report.missing <= expected_missing, f"{report.missing} lines not (yet) in Loki: {report.describe()}"
        return report

    try:
        return eventually(
            settled,
            timeout=timeouts.NEW_STREAM,
            what="every line to reach Loki",
            poll=Poll(interval=1.0, max_interval=2.0),
            needs=(links.LOGS,),
        )
    except AssertionError:
        return account_all(logs.loki, writers, since)


def _record(evidence: ScenarioEvidence, report: LossReport, why: str) -> None:
    """The accounting of lines that must all arrive; `why` is the criterion's words on a loss."""
    evidence.record("lines written", report.expected, "lines")
    evidence.record("lines received", report.received, "lines", low=float(report.expected), fails=why)
    evidence.record("lines missing", report.missing, "lines", high=0.0, fails=why)
    evidence.record("lines duplicated", report.duplicates, "lines", note="reported; Loki drops exact duplicates")
    evidence.record("lines out of order", report.out_of_order, "lines")


@then("every line written is in Loki: none missing and none duplicated", target_fixture="loss_report")
def soak_complete(logs: LogPipeline, soak: Soak, scenario_evidence: ScenarioEvidence) -> LossReport:
    report = _settled_account(logs, soak.writers, soak.seconds + 600)
    _record(scenario_evidence, report, f"loss during the soak: {report.describe()}")
    written = {
        (w, seq): ts / 1e9
        for w, _ in soak.writers
        for ts, line in logs.target.container_log(w)
        for seq in sequence_numbers_of(line)
    }
    latencies = [seen - written[(w, seq)] for w, seq, seen in soak.samples if (w, seq) in written]
    if latencies:
        summary = Summary.of(latencies)
        scenario_evidence.record("ingest latency p50 (sampled)", summary.p50, "s")
        scenario_evidence.record("ingest latency p99 (sampled)", summary.p99, "s", note=f"{summary.count} samples")
        scenario_evidence.histogram("soak ingest latency (newest line per poll)", "s", latencies)
    # Duplicates are reported, not bounded by a measurement: a soak must have none.
    assert report.duplicates == 0, f"duplicates during the soak: {report.describe()}"
    return report


@then(parsers.parse("the first {count:d} lines of each workload are still in Loki after it flushed them to storage"))
def survives_flush(logs: LogPipeline, soak: Soak, scenario_evidence: ScenarioEvidence, count: int) -> None:
    flushed_before = logs.loki.metric("loki_ingester_chunks_flushed_total")
    logs.loki.flush()
    eventually(
        lambda: _assert_more(logs.loki.metric("loki_ingester_chunks_flushed_total"), flushed_before),
        timeout=timeouts.NEW_STREAM,
        what="Loki to flush chunks to storage",
    )
    report = account_all(logs.loki, [(w, count) for w, _ in soak.writers], soak.seconds + 600)
    scenario_evidence.record(
        "early lines missing after flush",
        report.missing,
        "lines",
        high=0.0,
        fails=f"lines lost after the flush to storage: {report.describe()}",
    )


def _assert_more(now: float, before: float) -> None:
    assert now > before, f"chunks flushed: {now:g} (before {before:g})"


@then("neither Promtail nor Loki dropped or discarded a line")
def nothing_dropped(logs: LogPipeline, soak: Soak, scenario_evidence: ScenarioEvidence) -> None:
    dropped = logs.target.promtail_metric(DROPPED) - soak.dropped_before
    discarded = logs.loki.metric(DISCARDED) - soak.discarded_before
    why = f"Promtail dropped {dropped:g}, Loki discarded {discarded:g}"
    scenario_evidence.record("Promtail dropped entries", dropped, "lines", high=0.0, fails=why)
    scenario_evidence.record("Loki discarded samples", discarded, "lines", high=0.0, fails=why)


# -- faults ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    dropped_before: float
    down_seconds: float
    down_from: float = 0.0  # unix seconds: stop
    down_until: float = 0.0  # unix seconds: ready again


def _down_for(logs: LogPipeline, component: str, duration: float, probe, dropped_before: float) -> Fault:
    """Stop a component and keep it down for `duration` (checked, not assumed)."""
    stopped = time.time()
    logs.target.stop_component(component)

    def still_down() -> None:
        try:
            probe()
        except Exception:  # unreachable is what we want to see
            return
        raise AssertionError(f"{component} answers while it should be down")

    holds_for(still_down, duration=duration, what=f"{component} staying down")
    logs.target.start_component(component)
    back = time.time()
    return Fault(dropped_before, back - stopped, stopped, back)


@when(parsers.parse("Loki is down for {down:d} seconds while it writes"), target_fixture="fault")
def loki_down(logs: LogPipeline, timing_profile: TimingProfile, steady: SteadyWriter, down: int) -> Fault:
    dropped = logs.target.promtail_metric(DROPPED)
    eventually(lambda: _assert_some(logs, steady), timeout=timeouts.NEW_STREAM, what="the writer's first lines in Loki")
    return _down_for(logs, "loki", float(down), logs.loki.ready, dropped)


def _assert_some(logs: LogPipeline, steady: SteadyWriter) -> None:
    assert logs.entries(steady.workload), "no line in Loki yet"


@when("Promtail is restarted while it writes", target_fixture="fault")
def promtail_restarted(logs: LogPipeline, steady: SteadyWriter) -> Fault:
    dropped = logs.target.promtail_metric(DROPPED)
    eventually(lambda: _assert_some(logs, steady), timeout=timeouts.NEW_STREAM, what="the writer's first lines in Loki")
    started = time.time()
    logs.target.stop_component("promtail")
    logs.target.start_component("promtail")
    return Fault(dropped, time.time() - started, started, time.time())


def retry_budget(promtail_config: str) -> float:
    """Seconds Promtail keeps retrying a batch: the backoff waits of every retry."""
    client = yaml.safe_load(promtail_config)["clients"][0]
    backoff = client.get("backoff_config", {})
    low = parse_duration(backoff.get("min_period", "500ms"))
    high = parse_duration(backoff.get("max_period", "5m"))
    return sum(min(low * 2**i, high) for i in range(int(backoff.get("max_retries", 10))))


@when("Loki is down for longer than Promtail's retry budget while it writes", target_fixture="fault")
def loki_down_long(logs: LogPipeline, steady: SteadyWriter, scenario_evidence: ScenarioEvidence) -> Fault:
    budget = retry_budget(logs.target.deployed_config("promtail.yaml"))
    scenario_evidence.record("Promtail retry budget", budget, "s", note="sum of backoff waits (deployed config)")
    dropped = logs.target.promtail_metric(DROPPED)
    eventually(lambda: _assert_some(logs, steady), timeout=timeouts.NEW_STREAM, what="the writer's first lines in Loki")
    # Long enough that a batch written at the start of the outage exhausts every retry.
    return _down_for(logs, "loki", budget * 1.5 + 5, logs.loki.ready, dropped)


@then("every line it wrote is in Loki, none missing", target_fixture="loss_report")
def fault_no_loss(
    logs: LogPipeline, steady: SteadyWriter, fault: Fault, scenario_evidence: ScenarioEvidence
) -> LossReport:
    logs.target.wait_workload_done(steady.workload, timeout=steady.seconds + timeouts.NEW_STREAM)
    report = _settled_account(logs, [(steady.workload, steady.lines)], 3600)
    scenario_evidence.record("component down (stop → ready again)", fault.down_seconds, "s")
    _record(scenario_evidence, report, f"lines lost across the restart: {report.describe()}")
    return report


@then(parsers.parse("at most {limit:d} seconds of its lines are duplicated"))
def duplicates_bounded(
    loss_report: LossReport, steady: SteadyWriter, scenario_evidence: ScenarioEvidence, limit: int
) -> None:
    # Promtail saves read positions every 10 s, so a restart may re-send that much; Loki
    # drops exact duplicates (same stream, timestamp and line), so usually none remain.
    bound = steady.lines / steady.seconds * limit
    scenario_evidence.record(
        "duplicates after the fault",
        loss_report.duplicates,
        "lines",
        high=bound,
        note="re-sent lines Loki did not deduplicate",
        fails=f"{loss_report.duplicates} duplicated lines, more than {limit} s of writing ({bound:g})",
    )


@then("the checker finds lines missing, every one written while Loki was down", target_fixture="loss_report")
def loss_seen_where_it_happened(
    logs: LogPipeline, steady: SteadyWriter, fault: Fault, scenario_evidence: ScenarioEvidence
) -> LossReport:
    logs.target.wait_workload_done(steady.workload, timeout=steady.seconds + timeouts.NEW_STREAM)
    report = _settled_account(logs, [(steady.workload, steady.lines)], 3600, expected_missing=steady.lines)
    written = {
        seq: ts / 1e9 for ts, line in logs.target.container_log(steady.workload) for seq in sequence_numbers_of(line)
    }
    missing = report.streams[0].missing
    # A line is lost when every retry of its batch failed: it was written after Loki went
    # down (less one batch wait) and before it came back.
    outside = [seq for seq in missing if not fault.down_from - 2.0 <= written[seq] <= fault.down_until]
    scenario_evidence.record("component down (stop → ready again)", fault.down_seconds, "s")
    scenario_evidence.record(
        "lines missing (checker)",
        len(missing),
        "lines",
        low=1.0,
        note="lines written while Loki was down beyond the retry budget",
        fails="no line missing: the outage did not exceed the retry budget, so loss could not be seen",
    )
    assert not outside, f"lines missing that were written while Loki was up: {outside[:10]}"
    return report


@then("Promtail's count of dropped lines covers them")
def promtail_counted_drops(
    logs: LogPipeline, fault: Fault, loss_report: LossReport, scenario_evidence: ScenarioEvidence
) -> None:
    # Promtail counts drops over every stream it tails (the components' own logs too), so
    # its count bounds ours from above rather than equalling it.
    dropped = logs.target.promtail_metric(DROPPED) - fault.dropped_before
    scenario_evidence.record(
        "lines dropped (Promtail, all streams)",
        dropped,
        "lines",
        low=float(loss_report.missing),
        fails=f"Promtail reports {dropped:g} dropped, fewer than the {loss_report.missing} missing",
    )


@when(parsers.parse('Alertmanager is down until "{alert}" fires'), target_fixture="am_back")
def alertmanager_down(pipeline: AlertPipeline, stimulus: Stimulus, alert: str) -> float:
    def state(wanted: str) -> None:
        states = [a.state for a in pipeline.rule_alerts(alert, stimulus.labels)]
        assert wanted in states, f"{alert}: {states or 'inactive'}"

    eventually(lambda: state("pending"), timeout=timeouts.TARGET_UP, what=f"{alert} to be pending")
    pipeline.target.stop_component("alertmanager")
    eventually(lambda: state("firing"), timeout=timeouts.FIRING_UNDER_FAULT, what=f"{alert} to fire")
    pipeline.target.start_component("alertmanager")
    return time.time()


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
    assert stimulus.labels["gpu"] == str(gpu)
    limit = timing_profile.scale(seconds(delay)) + timing_profile.scale(seconds(wait)) + timeouts.DELIVERY_SLACK
    delivery = pipeline.wait_delivery(
        receiver,
        {"alertname": alert, **stimulus.labels},
        since=am_back,
        deadline=limit,
        what=f"{receiver!r} to hear of {alert} after Alertmanager restarted",
    )
    scenario_evidence.record(
        "Alertmanager back → notified",
        delivery.latency,
        "s",
        high=limit,
        fails=f"{alert} reached {receiver!r} {delivery.latency:.2f} s after Alertmanager was back "
        f"(limit {limit:.3g} s)",
    )
