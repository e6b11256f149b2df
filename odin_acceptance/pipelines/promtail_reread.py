"""How much of a file Promtail reads a second time after a restart, by its own counters.

`promtail_read_lines_total{path}` counts the lines a Promtail process has read from a file
since it started (a restart counts from 0 again); `promtail_read_bytes_total{path}` is its
offset in the file and `promtail_file_bytes_total{path}` the file's size. A Promtail that
resumes from its saved positions reads after the restart only what it had not read before;
one that lost them (positions inside the container, D4) reads the file from its start.

Loki cannot show this: it drops a re-sent line that is identical to one it holds (same
stream, timestamp and text), so "no duplicates in Loki" holds whether or not Promtail
re-sent the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass

from odin_acceptance.clients.metrics_text import LabelFilter
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import eventually
from odin_acceptance.core.workloads import Workload
from odin_acceptance.target_api.base import Target

READ_LINES = "promtail_read_lines_total"
READ_BYTES = "promtail_read_bytes_total"
FILE_BYTES = "promtail_file_bytes_total"


def file_of(workload: Workload) -> LabelFilter:
    """The samples of the workload's log file: /var/log/pods/<ns>_<pod>_<uid>/<container>/…"""
    pod_dir = f"/{workload.namespace}_{workload.pod}_"
    container_dir = f"/{workload.container}/"
    return lambda labels: pod_dir in labels.get("path", "") and container_dir in labels.get("path", "")


def lines_read(target: Target, workload: Workload) -> float:
    return target.stack.promtail_metric(READ_LINES, file_of(workload))


def read_twice(read: float, written: int) -> float:
    """Lines Promtail read more than once from a file of `written` lines it read `read` times
    in total (promtail_read_lines_total): a file re-read from its start counts every line twice."""
    return max(0.0, read - written)


def wait_lines_read(target: Target, workload: Workload, lines: float) -> float:
    """Until Promtail has read at least `lines` of the workload's file; how many it has."""

    def enough() -> float:
        read = lines_read(target, workload)
        assert read >= lines, f"Promtail has read {read:g} lines of {workload.pod}"
        return read

    return eventually(enough, timeout=timeouts.NEW_STREAM, what=f"Promtail to read {lines:g} lines of {workload.pod}")


def wait_caught_up(target: Target, workload: Workload) -> float:
    """Until Promtail's offset in the workload's file is the file's size; its lines read."""

    def at_end() -> float:
        offset = target.stack.promtail_metric(READ_BYTES, file_of(workload))
        size = target.stack.promtail_metric(FILE_BYTES, file_of(workload))
        assert size > 0 and offset == size, f"Promtail at byte {offset:g} of {size:g} in {workload.pod}'s log"
        return lines_read(target, workload)

    return eventually(at_end, timeout=timeouts.NEW_STREAM, what=f"Promtail to reach the end of {workload.pod}'s log")


@dataclass(frozen=True)
class Reread:
    before: float  # lines the stopped process had read when last asked, just before its stop
    after: float  # lines the new process read, once at the end of the file
    total: int  # lines in the file at the end

    @property
    def lines(self) -> float:
        """Lines read by both processes: the new one needed only the lines the old one had not
        read (at most total − before); the rest it read again. The old one may have read a
        few lines between the last look and its stop, so this is a floor, never more."""
        return max(0.0, self.after - (self.total - self.before))
