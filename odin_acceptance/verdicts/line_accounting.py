"""Loss accounting the loki-canary way: every sequence-numbered line is classified as
received, missing, duplicated or out of order; stragglers are queried again before they
count as missing; and early lines are checked again after Loki flushed its chunks.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from odin_acceptance.clients.loki_api import LokiApi
from odin_acceptance.core.workloads import Workload
from odin_acceptance.pipelines.log_path import sequence_numbers_of

PAGE = 5000  # entries per query: Loki's default max_entries_limit_per_query


@dataclass(frozen=True)
class StreamAccount:
    workload: Workload
    expected: int
    received: int
    missing: tuple[int, ...]
    duplicates: int
    out_of_order: int

    @property
    def missing_count(self) -> int:
        return len(self.missing)


@dataclass
class LossReport:
    streams: list[StreamAccount] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return sum(s.expected for s in self.streams)

    @property
    def received(self) -> int:
        return sum(s.received for s in self.streams)

    @property
    def missing(self) -> int:
        return sum(s.missing_count for s in self.streams)

    @property
    def duplicates(self) -> int:
        return sum(s.duplicates for s in self.streams)

    @property
    def out_of_order(self) -> int:
        return sum(s.out_of_order for s in self.streams)

    def describe(self) -> str:
        parts = [
            f"{s.workload.pod}: {s.missing_count} missing (first {list(s.missing[:5])}), {s.duplicates} duplicated"
            for s in self.streams
            if s.missing or s.duplicates
        ]
        return "; ".join(parts) or "every line accounted for"


def read_sequences(loki: LokiApi, workload: Workload, since: float) -> list[int]:
    """Every sequence number of the stream, oldest first, paging forward through time."""
    seqs: list[int] = []
    now_ns = int(time.time() * 1e9)
    start, end = now_ns - int(since * 1e9), now_ns + 1_000_000_000
    while True:
        data = loki.query_range_ns(workload.selector, start, end, limit=PAGE, direction="forward")
        values = sorted((int(ts), line) for stream in data["result"] for ts, line in stream["values"])
        seqs.extend(seq for _, line in values for seq in sequence_numbers_of(line))
        if len(values) < PAGE:
            return seqs
        start = values[-1][0] + 1  # the next page starts just after the last entry


def account(loki: LokiApi, workload: Workload, expected: int, since: float) -> StreamAccount:
    seqs = read_sequences(loki, workload, since)
    seen = set(seqs)
    missing = [n for n in range(1, expected + 1) if n not in seen]
    if missing:  # stragglers: ask once more before calling them lost
        seen |= set(read_sequences(loki, workload, since))
        missing = [n for n in missing if n not in seen]
    out_of_order = sum(1 for a, b in itertools.pairwise(seqs) if b < a)
    return StreamAccount(
        workload,
        expected,
        len(seen & set(range(1, expected + 1))),
        tuple(missing),
        len(seqs) - len(set(seqs)),
        out_of_order,
    )


def account_all(loki: LokiApi, workloads: Iterable[tuple[Workload, int]], since: float) -> LossReport:
    return LossReport([account(loki, w, n, since) for w, n in workloads])
