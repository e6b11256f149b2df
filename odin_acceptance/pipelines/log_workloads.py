"""What the logs scenarios hand from one step to the next: the workloads writing lines,
the soak, and a component fault, each a named type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from odin_acceptance.core.workloads import Workload


@dataclass(frozen=True)
class ErrorWriter:
    workload: Workload
    started_at: float
    expected_lines: int  # 0: writes until the scenario ends


@dataclass(frozen=True)
class SteadyWriter:
    workload: Workload
    lines: int
    seconds: float


@dataclass
class Soak:
    writers: list[tuple[Workload, int]]
    seconds: float
    dropped_before: float
    discarded_before: float
    # (workload, seq, unix time first returned by a query) sampled while writing
    samples: list[tuple[Workload, int, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Fault:
    dropped_before: float
    down_seconds: float
    down_from: float = 0.0  # unix seconds: stop
    down_until: float = 0.0  # unix seconds: ready again
    lines_read_before: float = 0.0  # a restarted Promtail: lines of the writer's file it had read


class MarkerLine(NamedTuple):
    """A workload that wrote one unique line."""

    workload: Workload
    marker: str


class MarkerEntry(NamedTuple):
    """The marker as Loki holds it, and when the container runtime recorded it."""

    timestamp_ns: int
    written: float  # unix seconds
