"""Steps about logs: Loki's health, ingestion, search and the logs dashboard."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from pytest_bdd import given, parsers, then, when

from odin_acceptance.clients.grafana_dashboards import Panel, PlanDashboard, panels_of
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.timing_profiles import parse_duration
from odin_acceptance.pipelines.log_path import LogPipeline, judge_latencies
from odin_acceptance.pipelines.log_searches import SEARCHES, Corpora, Corpus, SearchRun, run_search
from odin_acceptance.pipelines.log_workloads import MarkerEntry, MarkerLine, SteadyWriter
from odin_acceptance.provisioning.versions import LOKI
from odin_acceptance.stack_config import manifests
from odin_acceptance.target_api.base import Target
from odin_acceptance.verdicts import log_verdicts
from odin_acceptance.verdicts.line_accounting import account


@given("the logging stack is running", target_fixture="logs")
def logging_stack(target: Target, run_id: str) -> Iterator[LogPipeline]:
    with LogPipeline(target, run_id).workloads() as pipeline:
        yield pipeline


# -- Loki health -----------------------------------------------------------------------


@then("Loki reports ready")
def loki_ready(logs: LogPipeline) -> None:
    logs.loki.ready()


@then("Loki's build version is the one the suite pins")
def loki_version(logs: LogPipeline) -> None:
    version = logs.loki.buildinfo()["version"]
    assert version == LOKI.version, f"Loki reports version {version}; the suite pins {LOKI.version}"


@then(parsers.parse("Loki's running configuration deletes logs older than {days:d} days, our decision {why}"))
def loki_retention(logs: LogPipeline, days: int) -> None:
    config = logs.loki.running_config()
    enabled = config["compactor"].get("retention_enabled")
    period = config["limits_config"].get("retention_period", "0s")
    assert enabled, "the compactor's retention is off: old logs are never deleted (retention_enabled: false)"
    assert parse_duration(period) == days * 86400, f"Loki keeps logs for {period}; our decision is {days} days"


@then("Loki's running configuration sends ruler alerts to an Alertmanager")
def loki_ruler_wired(logs: LogPipeline) -> None:
    # Loki 3 speaks only Alertmanager's v2 API, so D13 cannot come back there; the URL can be
    # missing. That it is the right one is proven live: "Log-based alerting" reaches a receiver.
    url = logs.loki.running_config()["ruler"].get("alertmanager_url", "")
    assert url, "Loki's ruler has no Alertmanager URL: log alerts go nowhere"


@then(parsers.parse('Loki\'s ruler has loaded the alert "{alert}"'))
def loki_rule_loaded(logs: LogPipeline, alert: str) -> None:
    logs.await_ruler_loaded(alert)


# -- ingestion -------------------------------------------------------------------------


@given("a workload writes a unique marker line", target_fixture="marker_workload")
@when("a workload writes a unique marker line", target_fixture="marker_workload")
def marker_workload(logs: LogPipeline) -> MarkerLine:
    marker = f"ODIN-MARKER-{logs.run_id}"
    return MarkerLine(logs.start("marker", "--lines", "1", "--marker", marker, "--linger"), marker)


@when(
    parsers.parse("a workload carrying {count:d} pod labels writes a unique marker line"),
    target_fixture="marker_workload",
)
def labelled_marker_workload(logs: LogPipeline, count: int) -> MarkerLine:
    # More labels than a Loki stream may carry (15): a Promtail mapping every pod label (D19)
    # makes a stream Loki refuses, and the marker is never found.
    labels = {f"odin.example/label-{i:02d}": f"v{i}" for i in range(count)}
    marker = f"ODIN-MARKER-{logs.run_id}"
    return MarkerLine(logs.start("marker", "--lines", "1", "--marker", marker, "--linger", labels=labels), marker)


@given(
    parsers.parse(
        "the marker is found in Loki by the workload's namespace, pod and container within {limit:d} seconds"
    ),
    target_fixture="marker_entry",
)
@then(
    parsers.parse(
        "the marker is found in Loki by the workload's namespace, pod and container within {limit:d} seconds"
    ),
    target_fixture="marker_entry",
)
def marker_found(
    logs: LogPipeline, marker_workload: MarkerLine, scenario_evidence: ScenarioEvidence, limit: int
) -> MarkerEntry:
    return log_verdicts.marker_searchable(logs, scenario_evidence, marker_workload, limit)


@then(parsers.parse("the marker is still found in Loki within {limit:d} seconds"))
def marker_found_again(logs: LogPipeline, marker_workload: MarkerLine, limit: int) -> None:
    workload, marker = marker_workload
    # Found at all is the criterion: from the WAL replayed or the chunks flushed, both on the claim.
    logs.wait_for_line(workload, marker, timeout=float(limit))


@then("the entry carries the time the container runtime recorded, not the time it was read")
def marker_timestamp(logs: LogPipeline, marker_workload: MarkerLine, marker_entry: MarkerEntry) -> None:
    entry_ns, written = marker_entry
    written_ns = round(written * 1e9)
    # Nanosecond equality proves the cri stage parsed the runtime's timestamp; a docker stage
    # or no stage would stamp the time Promtail read the line.
    assert abs(entry_ns - written_ns) < 1000, (
        f"Loki stamps the line {(entry_ns - written_ns) / 1e9:+.3f} s from the runtime's time: the pipeline does not "
        "parse CRI lines (is the `cri` stage configured?)"
    )


@then(parsers.parse("its stream has at most {limit:d} labels"))
def stream_labels(
    logs: LogPipeline, marker_workload: MarkerLine, scenario_evidence: ScenarioEvidence, limit: int
) -> None:
    workload, _ = marker_workload
    [stream] = logs.loki.series(workload.selector)
    scenario_evidence.record(
        "labels on the stream",
        len(stream),
        "labels",
        high=float(limit),
        note=", ".join(sorted(stream)),
        fails=f"{len(stream)} labels (Loki drops streams over {limit}): {sorted(stream)}",
    )


@then(parsers.parse("every running container has a log stream in Loki within {limit:d} seconds"))
def every_container_has_stream(
    logs: LogPipeline, scenario_evidence: ScenarioEvidence, run_started: float, limit: int
) -> None:
    log_verdicts.every_container_has_stream(logs, scenario_evidence, run_started, float(limit))


@when(parsers.parse("a workload writes {rate:d} lines per second for {seconds:d} seconds"), target_fixture="steady")
def steady_workload(logs: LogPipeline, rate: int, seconds: int) -> SteadyWriter:
    lines = rate * seconds
    workload = logs.start("steady", "--lines", str(lines), "--rate", str(rate), "--size", "100")
    return SteadyWriter(workload, lines, float(seconds))


@then(
    parsers.parse("every line it wrote is in Loki, none missing, within {limit:d} seconds of the last one"),
    target_fixture="arrivals",
)
def steady_complete(
    logs: LogPipeline, steady: SteadyWriter, scenario_evidence: ScenarioEvidence, limit: int
) -> dict[int, float]:
    workload, lines = steady.workload, steady.lines
    arrivals = logs.track_arrivals(workload, lines, timeout=steady.seconds + limit)
    stream = account(logs.loki, workload, lines, since=3600)
    scenario_evidence.record("lines written", lines, "lines")
    why = f"missing {list(stream.missing[:10])}…"
    scenario_evidence.record("lines missing", stream.missing_count, "lines", high=0.0, fails=why)
    return arrivals


@then(parsers.parse("{count:d} in {total:d} lines were searchable within {limit:d} seconds of being written"))
def ingest_latency(
    logs: LogPipeline,
    steady: SteadyWriter,
    arrivals: dict[int, float],
    scenario_evidence: ScenarioEvidence,
    count: int,
    total: int,
    limit: int,
) -> None:
    log_verdicts.ingest_latencies(logs, scenario_evidence, steady, arrivals, count, total, limit)


# -- search ----------------------------------------------------------------------------


@given(parsers.parse("{lines:d} log lines from {count:d} workloads are in Loki"), target_fixture="corpus")
def search_corpus(
    corpora: Corpora, logs: LogPipeline, scenario_evidence: ScenarioEvidence, lines: int, count: int
) -> Corpus:
    corpus = corpora.get(lines, count, logs.run_id)
    scenario_evidence.record("lines in Loki", corpus.lines, "lines", low=float(lines))
    scenario_evidence.record("corpus ingest time", corpus.ingest_seconds, "s", note="written → all countable")
    return corpus


@when(
    parsers.parse('an engineer runs the search "{search}" over the last hour {runs:d} times'),
    target_fixture="search_runs",
)
def run_searches(logs: LogPipeline, corpus: Corpus, search: str, runs: int) -> list[SearchRun]:
    assert search in SEARCHES, (
        f"unknown search {search!r}: add it to odin_acceptance/pipelines/log_searches.py ({sorted(SEARCHES)})"
    )
    rnd = random.Random(f"{search}-{logs.run_id}")
    return [run_search(logs.loki, SEARCHES[search], corpus, rnd) for _ in range(runs)]


@then("every run returns results")
def searches_return_results(search_runs: list[SearchRun]) -> None:
    empty = [query for _, results, query in search_runs if results == 0]
    assert not empty, f"{len(empty)} of {len(search_runs)} searches returned nothing, e.g. {empty[0]}"


@then(parsers.parse("{count:d} in {total:d} runs return within {limit:d} seconds"))
def searches_fast(
    search_runs: list[SearchRun], scenario_evidence: ScenarioEvidence, count: int, total: int, limit: int
) -> None:
    times = [elapsed for elapsed, _, _ in search_runs]
    title = f"search latency ({search_runs[0].query[:60]}…)"
    judge_latencies(scenario_evidence, "search latency", times, count, total, float(limit), title, "runs")


# -- dashboard -------------------------------------------------------------------------


@given(parsers.parse('the plan\'s "{title}" dashboard:'), target_fixture="plan_dashboard")
def plan_dashboard(title: str, datatable: list[list[str]]) -> PlanDashboard:
    return PlanDashboard(title, tuple(Panel(*row) for row in datatable[1:]))  # the first row names the columns


@then("the dashboard in the manifests has exactly these panels and queries")
def dashboard_provisioned(manifest_dir: Path, plan_dashboard: PlanDashboard) -> None:
    dashboard = manifests.load(manifest_dir).dashboard(plan_dashboard.title)
    found = panels_of(dashboard)
    planned = set(plan_dashboard.panels)
    assert found == planned, (
        f"the {plan_dashboard.title!r} dashboard differs from the plan: missing {sorted(planned - found)}, "
        f"not in the plan {sorted(found - planned)}"
    )


@then("every query of the dashboard returns data from Loki")
def dashboard_queries(logs: LogPipeline, plan_dashboard: PlanDashboard, scenario_evidence: ScenarioEvidence) -> None:
    log_verdicts.dashboard_has_data(logs, scenario_evidence, plan_dashboard)
