"""Judging what Loki makes of the lines workloads write: how soon a line is searchable,
under what labels, and whether every panel of the plan's dashboard has data."""

from __future__ import annotations

import time

from odin_acceptance.clients import links
from odin_acceptance.clients.grafana_dashboards import Panel, PlanDashboard, panels_of
from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import eventually
from odin_acceptance.pipelines.log_path import LogPipeline, judge_latencies
from odin_acceptance.pipelines.log_workloads import MarkerEntry, MarkerLine, SteadyWriter
from odin_acceptance.target_api.base import Stack


def marker_searchable(
    logs: LogPipeline, evidence: ScenarioEvidence, marker_workload: MarkerLine, limit: int
) -> MarkerEntry:
    """The marker is found by its workload's namespace, pod and container within `limit`
    seconds of the runtime writing it."""
    workload, marker = marker_workload
    entry, seen_at = logs.wait_for_line(workload, marker, timeout=limit + timeouts.DELIVERY_SLACK)
    written_ns = next(ts for ts, line in logs.target.nodes.container_log(workload) if marker in line)
    took = seen_at - written_ns / 1e9
    evidence.record(
        "written → searchable (new stream)",
        took,
        "s",
        high=float(limit),
        note="first line of a new stream",
        fails=f"the marker took {took:.1f} s to become searchable (limit {limit} s)",
    )
    for label, value in (("namespace", workload.namespace), ("pod", workload.pod), ("container", workload.container)):
        assert entry.labels.get(label) == value, f"stream label {label}={entry.labels.get(label)!r}, expected {value!r}"
    return MarkerEntry(entry.timestamp_ns, written_ns / 1e9)


def ingest_latencies(
    logs: LogPipeline,
    evidence: ScenarioEvidence,
    steady: SteadyWriter,
    arrivals: dict[int, float],
    count: int,
    total: int,
    limit: int,
) -> None:
    """`count` in `total` of the steady writer's lines were first returned by a query within
    `limit` seconds of the runtime's timestamp."""
    written = logs.written_at(steady.workload)
    latencies = [arrivals[seq] - written[seq] for seq in arrivals if seq in written]
    assert len(latencies) == steady.lines, f"{len(latencies)} of {steady.lines} lines could be timed"
    judge_latencies(
        evidence,
        "ingest latency",
        latencies,
        count,
        total,
        float(limit),
        "ingest latency: runtime timestamp → first returned by a query",
        "lines, polled every 0.2 s",
    )


def dashboard_queries(stack: Stack, plan_dashboard: PlanDashboard) -> list[tuple[str, str]]:
    """(panel, query) of each panel of the plan's dashboard as this run provisioned it. On a
    shared cluster the stack runs in the run's namespace and Promtail ships only the run's
    pods, so the plan's literal `{namespace="monitoring"}` can only come back empty: each
    query is scoped as the deployed dashboard's were, and must be the one it holds."""
    deployed = panels_of(stack.deployed_dashboard(plan_dashboard.title))
    out = []
    for panel in plan_dashboard.panels:
        query = stack.deployed_query(panel.query)
        assert Panel(panel.title, panel.type, query) in deployed, (
            f"panel {panel.title!r}: the deployed {plan_dashboard.title!r} dashboard does not ask {query} "
            f"(the plan's {panel.query} as this run scopes it); it asks {sorted(deployed)}"
        )
        out.append((panel.title, query))
    return out


def dashboard_has_data(logs: LogPipeline, evidence: ScenarioEvidence, plan_dashboard: PlanDashboard) -> None:
    """Every panel query of the plan's dashboard, as the run deployed it, returns data from
    Loki (each waited for, since the streams behind them may still be arriving)."""
    queries = dashboard_queries(logs.target.stack, plan_dashboard)

    def answered(panel: str, expr: str) -> int:
        data = logs.loki.query_range(expr, since=3600, limit=100, step="60s" if "rate(" in expr else None)
        assert data["result"], f"panel {panel!r}: {expr} returned no data"
        return len(data["result"])

    for panel, expr in queries:
        started = time.perf_counter()
        series = eventually(
            lambda p=panel, e=expr: answered(p, e), timeout=timeouts.NEW_STREAM, what=f"panel {panel!r} to have data"
        )
        evidence.record(f"panel “{panel}”", time.perf_counter() - started, "s", note=f"{series} series of {expr}")


def every_container_has_stream(logs: LogPipeline, evidence: ScenarioEvidence, run_started: float, limit: float) -> None:
    """Every container of this run that wrote a line (Target.running_containers) has a stream
    in Loki within `limit` seconds, looking back over the whole run: a container may have
    been quiet for longer than any fixed window (a 24-hour soak)."""
    containers = logs.target.nodes.running_containers()
    since = time.time() - run_started + limit

    def all_streams() -> int:
        found = logs.loki.series('{pod=~".+"}', since=since)
        streams = {(s.get("namespace"), s.get("pod"), s.get("container")) for s in found}
        missing = [c.selector for c in containers if (c.namespace, c.pod, c.container) not in streams]
        assert not missing, f"{len(missing)} of {len(containers)} containers have no stream: {missing}"
        return len(containers)

    count = eventually(all_streams, timeout=limit, what="a log stream for every running container", needs=(links.LOGS,))
    evidence.record("containers with a stream", count, "containers", low=float(len(containers)))
