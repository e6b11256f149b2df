"""The searches engineers and the logs dashboard run, and the volume they run against.

Searches are named in the feature in plain words; the LogQL lives here. Each run varies
the pod or word it asks for and ends "now", so Loki's results cache cannot answer from a
previous identical query.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from odin_acceptance.clients import links
from odin_acceptance.clients.loki_api import LokiApi
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import Poll, eventually
from odin_acceptance.core.workloads import Workload
from odin_acceptance.target_api.base import Target

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett")


@dataclass(frozen=True)
class Corpus:
    namespace: str
    workloads: tuple[Workload, ...]
    lines: int
    ingest_seconds: float


@dataclass(frozen=True)
class Search:
    kind: str  # "log" or "metric"
    build: Callable[[Corpus, random.Random], str]


SEARCHES: dict[str, Search] = {
    "one pod's lines containing a word": Search(
        "log", lambda c, r: f'{r.choice(c.workloads).selector} |= "{r.choice(WORDS)}"'
    ),
    "error lines across the namespace": Search("log", lambda c, r: f'{{namespace="{c.namespace}"}} |= "level=error"'),
    "lines matching a pattern across the pod": Search(
        "log", lambda c, r: f'{r.choice(c.workloads).selector} |~ "seq=[0-9]*{r.randrange(10)}7 "'
    ),
    "log rate by pod": Search("metric", lambda c, r: f'sum by (pod) (rate({{namespace="{c.namespace}"}}[5m]))'),
    "error count by container": Search(
        "metric",
        lambda c, r: f'sum by (container) (count_over_time({{namespace="{c.namespace}"}} |= "level=error" [5m]))',
    ),
}


class SearchRun(NamedTuple):
    seconds: float
    results: int
    query: str


def run_search(loki: LokiApi, search: Search, corpus: Corpus, rnd: random.Random) -> SearchRun:
    """One run over the last hour, as Grafana asks it."""
    query = search.build(corpus, rnd)
    started = time.perf_counter()
    data = loki.query_range(query, since=3600, limit=1000, step="15s" if search.kind == "metric" else None)
    elapsed = time.perf_counter() - started
    if search.kind == "log":
        results = sum(len(s["values"]) for s in data["result"])
    else:
        results = sum(1 for s in data["result"] if s["values"])
    return SearchRun(elapsed, results, query)


@dataclass
class Corpora:
    """Loaded once per session and shared by the search scenarios (loading is the slow part)."""

    target: Target
    loaded: dict[tuple[int, int], Corpus] = field(default_factory=dict)

    def get(self, lines: int, workloads: int, run_id: str) -> Corpus:
        key = (lines, workloads)
        if key not in self.loaded:
            self.loaded[key] = self._load(lines, workloads, run_id)
        return self.loaded[key]

    def _load(self, lines: int, count: int, run_id: str) -> Corpus:
        namespace = f"odin-search-{run_id}"
        per = lines // count
        started = time.time()
        workloads = tuple(
            self.target.nodes.start_workload(
                namespace,
                f"search-{i}",
                [
                    "--stream-id",
                    f"search-{i}",
                    "--lines",
                    str(per),
                    "--size",
                    "120",
                    "--error-every",
                    "20",
                    "--words",
                    ",".join(WORDS),
                ],
            )
            for i in range(count)
        )
        loki = self.target.stack.endpoints.require_loki()

        def all_in() -> int:
            result = loki.instant(f'sum(count_over_time({{namespace="{namespace}"}}[1h]))')
            have = int(float(result[0]["value"][1])) if result else 0
            assert have >= per * count, f"{have} of {per * count} lines in Loki"
            return have

        eventually(
            all_in,
            timeout=timeouts.CORPUS_INGEST,
            what=f"{per * count} lines of {namespace} in Loki",
            poll=Poll(interval=1.0, max_interval=2.0),
            needs=(links.LOGS,),
        )
        return Corpus(namespace, workloads, per * count, time.time() - started)
