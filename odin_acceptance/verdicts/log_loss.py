"""Lost log lines: the soak that must lose none, the outages that may lose some only
while they last, and the accounting both are judged by."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from odin_acceptance.clients import links
from odin_acceptance.core import timeouts
from odin_acceptance.core.errors import WaitTimeout
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import Poll, eventually, holds_for
from odin_acceptance.core.timing_profiles import parse_duration
from odin_acceptance.core.workloads import Workload
from odin_acceptance.pipelines import promtail_reread
from odin_acceptance.pipelines.log_path import LogPipeline, Summary, sequence_numbers, sequence_numbers_of
from odin_acceptance.pipelines.log_workloads import Fault, Soak, SteadyWriter
from odin_acceptance.stack_config.model import StackConfig
from odin_acceptance.verdicts.line_accounting import LossReport, account_all

DROPPED = "promtail_dropped_entries_total"
DISCARDED = "loki_discarded_samples_total"


def _latest_seq(logs: LogPipeline, workload: Workload) -> int | None:
    entries = logs.loki.entries(workload.selector, since=300, limit=1, direction="backward")
    seqs = sequence_numbers(entries)
    return seqs[0] if seqs else None


def write_soak(logs: LogPipeline, soak_seconds: float, count: int, rate: int) -> Soak:
    """`count` workloads each writing `rate` lines per second for `soak_seconds`, waited
    for until every stream's last line is searchable."""
    lines = int(rate * soak_seconds)
    soak = Soak([], soak_seconds, logs.target.stack.promtail_metric(DROPPED), logs.loki.metric(DISCARDED))
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
        logs.target.nodes.wait_workload_done(workload, timeout=timeouts.NEW_STREAM)
    return soak


def settled_account(
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
    except WaitTimeout:  # not a broken link: that ends the scenario with its cause
        return account_all(logs.loki, writers, since)


def record_accounting(evidence: ScenarioEvidence, report: LossReport, why: str) -> None:
    """The accounting of lines that must all arrive; `why` is the criterion's words on a loss."""
    evidence.record("lines written", report.expected, "lines")
    evidence.record("lines received", report.received, "lines", low=float(report.expected), fails=why)
    evidence.record("lines missing", report.missing, "lines", high=0.0, fails=why)
    # Not bounds: Loki drops a re-sent line identical to one it holds and returns a stream in
    # time order, so neither can exceed 0 whatever Promtail did (Promtail's counters judge re-reads).
    evidence.record("lines duplicated in Loki", report.duplicates, "lines", note="reported, cannot exceed 0")
    evidence.record("lines out of time order", report.out_of_order, "lines", note="reported, cannot exceed 0")


def judge_soak(logs: LogPipeline, evidence: ScenarioEvidence, soak: Soak) -> LossReport:
    """Every line of the soak in Loki, none missing, and each read once by Promtail (its own
    per-file count: a Promtail that re-reads a file re-sends lines Loki silently drops);
    the sampled ingest latencies recorded."""
    report = settled_account(logs, soak.writers, soak.seconds + 600)
    record_accounting(evidence, report, f"loss during the soak: {report.describe()}")
    written = {
        (w, seq): ts / 1e9
        for w, _ in soak.writers
        for ts, line in logs.target.nodes.container_log(w)
        for seq in sequence_numbers_of(line)
    }
    latencies = [seen - written[(w, seq)] for w, seq, seen in soak.samples if (w, seq) in written]
    if latencies:
        summary = Summary.of(latencies)
        evidence.record("ingest latency p50 (sampled)", summary.p50, "s")
        evidence.record("ingest latency p99 (sampled)", summary.p99, "s", note=f"{summary.count} samples")
        evidence.histogram("soak ingest latency (newest line per poll)", "s", latencies)
    reread = sum(promtail_reread.read_twice(promtail_reread.lines_read(logs.target, w), n) for w, n in soak.writers)
    evidence.record(
        "lines Promtail read more than once",
        reread,
        "lines",
        high=0.0,
        note="promtail_read_lines_total of each writer's file less the lines written",
        fails=f"Promtail read {reread:g} lines a second time: its positions were lost or reset",
    )
    return report


def flushed_lines_kept(logs: LogPipeline, evidence: ScenarioEvidence, soak: Soak, count: int) -> None:
    """The first `count` lines of each soak workload are still in Loki once it has flushed
    chunks to storage."""
    flushed_before = logs.loki.metric("loki_ingester_chunks_flushed_total")
    logs.loki.flush()
    eventually(
        lambda: _assert_more(logs.loki.metric("loki_ingester_chunks_flushed_total"), flushed_before),
        timeout=timeouts.NEW_STREAM,
        what="Loki to flush chunks to storage",
    )
    report = account_all(logs.loki, [(w, count) for w, _ in soak.writers], soak.seconds + 600)
    evidence.record(
        "early lines missing after flush",
        report.missing,
        "lines",
        high=0.0,
        fails=f"lines lost after the flush to storage: {report.describe()}",
    )


def _assert_more(now: float, before: float) -> None:
    assert now > before, f"chunks flushed: {now:g} (before {before:g})"


def down_for(
    logs: LogPipeline, component: str, duration: float, probe: Callable[[], object], dropped_before: float
) -> Fault:
    """Stop a component and keep it down for `duration` (checked, not assumed)."""
    stopped = time.time()
    logs.target.stack.stop_component(component)

    def still_down() -> None:
        try:
            probe()
        except Exception:  # unreachable is what we want to see
            return
        raise AssertionError(f"{component} answers while it should be down")

    holds_for(still_down, duration=duration, what=f"{component} staying down")
    logs.target.stack.start_component(component)
    back = time.time()
    return Fault(dropped_before, back - stopped, stopped, back)


def first_lines_in(logs: LogPipeline, steady: SteadyWriter) -> None:
    """The steady writer's first lines are in Loki: the pipeline works before a fault."""
    eventually(lambda: _assert_some(logs, steady), timeout=timeouts.NEW_STREAM, what="the writer's first lines in Loki")


def _assert_some(logs: LogPipeline, steady: SteadyWriter) -> None:
    assert logs.entries(steady.workload), "no line in Loki yet"


@dataclass(frozen=True)
class RetryBudget:
    """How long Promtail keeps retrying one batch before it drops it: the sum of its backoff
    waits. dskit's backoff (Promtail's client) sends, then waits before each retry; retry k
    (1-based) waits a random time in [min·2^(k-1), min·2^k), both ends capped at max_period,
    and after the last of `max_retries` sends it gives up without waiting: so max_retries - 1
    waits. The defaults (500 ms, 5 m, 10) give 255.5-511 s."""

    shortest: float
    longest: float
    retries: int

    def describe(self) -> str:
        return f"{self.shortest:.1f}-{self.longest:.1f} s over {self.retries} sends"


def retry_budget(config: StackConfig) -> RetryBudget:
    """Promtail's retry budget for its first client (Promtail's defaults where it sets none)."""
    backoff = config.promtail_client().get("backoff_config", {})
    low = parse_duration(backoff.get("min_period", "500ms"))
    high = parse_duration(backoff.get("max_period", "5m"))
    retries = int(backoff.get("max_retries", 10))
    waits = [(min(low * 2 ** (k - 1), high), min(low * 2**k, high)) for k in range(1, retries)]
    return RetryBudget(sum(lo for lo, _ in waits), sum(hi for _, hi in waits), retries)


def loss_only_during_outage(
    logs: LogPipeline, evidence: ScenarioEvidence, steady: SteadyWriter, fault: Fault
) -> LossReport:
    """Lines are missing, and every one was written while Loki was down."""
    logs.target.nodes.wait_workload_done(steady.workload, timeout=steady.seconds + timeouts.NEW_STREAM)
    report = settled_account(logs, [(steady.workload, steady.lines)], 3600, expected_missing=steady.lines)
    written = {
        seq: ts / 1e9
        for ts, line in logs.target.nodes.container_log(steady.workload)
        for seq in sequence_numbers_of(line)
    }
    missing = report.streams[0].missing
    # A line is lost when every retry of its batch failed: it was written after Loki went
    # down (less one batch wait) and before it came back.
    outside = [seq for seq in missing if not fault.down_from - 2.0 <= written[seq] <= fault.down_until]
    evidence.record("component down (stop → ready again)", fault.down_seconds, "s")
    evidence.record(
        "lines missing (checker)",
        len(missing),
        "lines",
        low=1.0,
        note="lines written while Loki was down beyond the retry budget",
        fails="no line missing: the outage did not exceed the retry budget, so loss could not be seen",
    )
    assert not outside, f"lines missing that were written while Loki was up: {outside[:10]}"
    return report
