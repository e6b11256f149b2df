"""The log path as an engineer sees it: workloads write, Loki answers.

Latency here is measured the way the criteria name it: from the timestamp the container
runtime put on a line to the first moment a query returns it (ingest), and from sending a
query to receiving its answer (search).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from odin_acceptance.clients import links
from odin_acceptance.clients.loki_api import LogEntry, LokiApi
from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import Poll, eventually
from odin_acceptance.core.workloads import Workload
from odin_acceptance.target_api.base import Target

_SEQ = re.compile(r"\bseq=(\d+)\b")


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: every reported figure was observed)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class Summary:
    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        return cls(len(values), statistics.median(values), percentile(values, 95), percentile(values, 99), max(values))


def judge_latencies(
    evidence: ScenarioEvidence,
    what: str,
    values: list[float],
    count: int,
    total: int,
    limit: float,
    title: str,
    note: str,
) -> None:
    """p50, max and a histogram of `values` for context; the "count in total" percentile is
    the verdict against `limit` (the criteria's own wording: "95 in 100 within 2 seconds")."""
    summary = Summary.of(values)
    pct = 100 * count / total
    evidence.record(f"{what} p50", summary.p50, "s")
    evidence.record(f"{what} max", summary.max, "s", note=f"{summary.count} {note}")
    evidence.histogram(title, "s", values, limit)
    judged = percentile(values, pct)
    evidence.record(
        f"{what} p{pct:g}",
        judged,
        "s",
        high=limit,
        fails=f"p{pct:g} {what} {judged:.2f} s exceeds {limit:g} s (max {summary.max:.2f} s)",
    )


class LogPipeline:
    def __init__(self, target: Target, run_id: str) -> None:
        self.target = target
        self.run_id = run_id
        self.namespace = f"odin-test-{run_id}"
        self._started: list[Workload] = []

    @property
    def loki(self) -> LokiApi:
        return self.target.stack.endpoints.require_loki()

    @contextmanager
    def workloads(self) -> Iterator[LogPipeline]:
        """Stops every workload this pipeline started, however the scenario ends."""
        try:
            yield self
        finally:
            for workload in self._started:
                self.target.nodes.stop_workload(workload)

    def await_stream_per_node(self, nodes: set[str], timeout: float) -> None:
        """Wait until Loki holds a stream labelled with each of `nodes`."""

        def covered() -> None:
            seen = {s.get("node") for s in self.loki.series('{node=~".+"}', since=900)}
            assert nodes <= seen, f"nodes without a log stream: {sorted(nodes - seen)}"

        eventually(covered, timeout=timeout, what="a log stream from every node", needs=(links.LOGS,))

    def await_ruler_loaded(self, alert: str) -> None:
        """Wait until Loki's ruler has loaded the rule of `alert`."""

        def loaded() -> None:
            groups = self.loki.rule_groups()
            names = [r.get("alert") for ns in groups.values() for g in ns for r in g.get("rules", [])]
            assert alert in names, f"ruler has {names or 'no rules'}"

        eventually(loaded, timeout=timeouts.PROCESS_READY, what=f"Loki's ruler to load {alert}")

    def start(self, name: str, *args: str, labels: Mapping[str, str] | None = None) -> Workload:
        workload = self.target.nodes.start_workload(
            self.namespace, f"{name}-{self.run_id}", ["--stream-id", f"{name}-{self.run_id}", *args], labels
        )
        self._started.append(workload)
        return workload

    def entries(self, workload: Workload, line_filter: str = "", since: float = 3600.0) -> list[LogEntry]:
        query = workload.selector + (f' |= "{line_filter}"' if line_filter else "")
        return self.loki.entries(query, since=since, limit=5000, direction="forward")

    def written_at(self, workload: Workload) -> dict[int, float]:
        """Sequence number -> unix time the container runtime recorded the line."""
        return {
            seq: ts / 1e9 for ts, line in self.target.nodes.container_log(workload) for seq in sequence_numbers_of(line)
        }

    def wait_for_line(self, workload: Workload, text: str, timeout: float) -> tuple[LogEntry, float]:
        """The entry containing `text`, and when it was first returned (unix seconds)."""

        def found() -> tuple[LogEntry, float]:
            hits = self.entries(workload, text)
            assert hits, f"no entry of {workload.selector} contains {text!r} yet"
            return hits[0], time.time()

        return eventually(
            found,
            timeout=timeout,
            what=f"{text!r} from {workload.selector} to be searchable",
            poll=Poll(interval=0.1, max_interval=0.25),
            hint="is Promtail tailing the pod's log directory (its targets page), and Loki ready?",
            needs=(links.LOGS,),
        )

    def track_arrivals(self, workload: Workload, expected: int, timeout: float) -> dict[int, float]:
        """Poll Loki until `expected` sequence numbers arrived; seq -> first time seen."""
        first_seen: dict[int, float] = {}

        def all_arrived() -> dict[int, float]:
            now = time.time()
            for entry in self.entries(workload):
                match = _SEQ.search(entry.line)
                if match:
                    first_seen.setdefault(int(match[1]), now)
            assert len(first_seen) >= expected, f"{len(first_seen)} of {expected} lines arrived"
            return first_seen

        return eventually(
            all_arrived,
            timeout=timeout,
            what=f"all {expected} lines of {workload.pod} in Loki",
            poll=Poll(interval=0.2, max_interval=0.2),
            needs=(links.LOGS,),
        )


def sequence_numbers_of(line: str) -> list[int]:
    """The writer's sequence number in a line ([] for lines of other writers)."""
    match = _SEQ.search(line)
    return [int(match[1])] if match else []


def sequence_numbers(entries: list[LogEntry]) -> list[int]:
    return [seq for e in entries for seq in sequence_numbers_of(e.line)]
