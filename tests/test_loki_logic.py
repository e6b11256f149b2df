"""The suite's own logic that judges Loki's answers (loss accounting, stream matching, search
statistics, ruler alerts, the CRI writer), on responses kept as test data in the shapes of
Loki's documented HTTP API (tests/data/loki). Unit tests of our code: no acceptance scenario
ever runs against a stand-in for Loki."""

from __future__ import annotations

import copy
import json
import random
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from odin_acceptance.clients.loki_api import LokiApi
from odin_acceptance.clients.metrics_text import metric_sum
from odin_acceptance.core.workloads import Workload
from odin_acceptance.pipelines.log_path import Summary, percentile, sequence_numbers_of
from odin_acceptance.pipelines.log_searches import SEARCHES, Corpus, run_search
from odin_acceptance.pipelines.promtail_reread import READ_LINES, Reread, file_of, read_twice
from odin_acceptance.targets.local_pods import cri_line, parse_cri_line
from odin_acceptance.verdicts import line_accounting

DATA = Path(__file__).parent / "data" / "loki"
WORKLOAD = Workload("odin-test-1a2b3c4d", "soak-0-1a2b3c4d", "app")
Handler = Callable[[str, dict[str, str]], dict]


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@pytest.fixture
def loki() -> Iterator[tuple[LokiApi, dict[str, Handler], list[dict[str, str]]]]:
    """A LokiApi talking HTTP to a server on 127.0.0.1 that answers from recorded responses."""
    routes: dict[str, Handler] = {}
    asked: list[dict[str, str]] = []

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            asked.append({"path": url.path, **params})
            body = json.dumps(routes[url.path](url.path, params)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield LokiApi(f"http://127.0.0.1:{server.server_port}"), routes, asked
    server.shutdown()


def paged(response: dict) -> Handler:
    """query_range as Loki pages it: entries from `start` on, at most `limit`, oldest first."""

    def answer(_path: str, params: dict[str, str]) -> dict:
        out = copy.deepcopy(response)
        for stream in out["data"]["result"]:
            values = sorted(v for v in stream["values"] if int(v[0]) >= int(params["start"]))
            stream["values"] = values[: int(params["limit"])]
        return out

    return answer


def test_loss_accounting_classifies_missing_duplicate_and_out_of_order(loki, monkeypatch):
    api, routes, asked = loki
    # The recording's timestamps are fixed; the checker asks for the last `since` seconds of now.
    monkeypatch.setattr(line_accounting.time, "time", lambda: 1764756000.5)
    routes["/loki/api/v1/query_range"] = paged(recorded("query_range_streams.json"))
    got = line_accounting.account(api, WORKLOAD, expected=9, since=60)
    assert got.missing == (4, 9), "seq 4 and 9 never arrived"
    assert (got.received, got.duplicates, got.out_of_order) == (7, 1, 1)
    assert len(asked) == 2, "missing lines are asked for once more (stragglers) before they count"
    assert asked[0]["query"] == WORKLOAD.selector and asked[0]["direction"] == "forward"


def test_loss_accounting_pages_forward_through_time(loki, monkeypatch):
    api, routes, asked = loki
    monkeypatch.setattr(line_accounting.time, "time", lambda: 1764756000.5)
    monkeypatch.setattr(line_accounting, "PAGE", 3)
    routes["/loki/api/v1/query_range"] = paged(recorded("query_range_streams.json"))
    assert line_accounting.read_sequences(api, WORKLOAD, since=60) == [1, 2, 3, 6, 5, 7, 7, 8]
    starts = [int(a["start"]) for a in asked]
    assert starts[1] == 1764756000100000001, "the next page starts just after the last entry seen"
    assert len(asked) == 3


def test_a_straggler_found_on_the_second_read_is_not_missing(loki, monkeypatch):
    api, routes, _ = loki
    monkeypatch.setattr(line_accounting.time, "time", lambda: 1764756000.5)
    full = recorded("query_range_streams.json")
    first = copy.deepcopy(full)
    first["data"]["result"][0]["values"] = first["data"]["result"][0]["values"][:-1]  # seq 8 not yet there
    answers = iter([first, full])
    routes["/loki/api/v1/query_range"] = lambda path, params: next(answers)
    got = line_accounting.account(api, WORKLOAD, expected=8, since=60)
    assert got.missing == (4,)


def test_loss_report_describes_each_stream_with_losses():
    report = line_accounting.LossReport(
        [
            line_accounting.StreamAccount(WORKLOAD, 9, 7, (4, 9), 1, 1),
            line_accounting.StreamAccount(Workload("n", "clean", "app"), 5, 5, (), 0, 0),
        ]
    )
    assert (report.expected, report.received, report.missing, report.duplicates) == (14, 12, 2, 1)
    assert report.describe() == "soak-0-1a2b3c4d: 2 missing (first [4, 9]), 1 duplicated"


def test_entries_and_series_keep_stream_labels(loki):
    api, routes, _ = loki
    routes["/loki/api/v1/query_range"] = lambda p, q: recorded("query_range_streams.json")
    routes["/loki/api/v1/series"] = lambda p, q: recorded("series.json")
    entries = api.entries(WORKLOAD.selector)
    assert entries[0].labels == {**WORKLOAD.__dict__, "node": "odin-local"}
    assert entries[0].timestamp_ns == 1764756000000000000 and sequence_numbers_of(entries[0].line) == [1]
    streams = {(s["namespace"], s["pod"], s["container"]) for s in api.series('{pod=~".+"}')}
    assert ("odin-test-1a2b3c4d", "marker-1a2b3c4d", "app") in streams


def test_ruler_alerts_are_parsed_with_their_activation_time(loki):
    api, routes, _ = loki
    routes["/prometheus/api/v1/alerts"] = lambda p, q: recorded("ruler_alerts.json")
    [alert] = api.alerts()
    assert alert.labels["alertname"] == "PodErrorBurst" and alert.state == "pending"
    assert alert.active_at == pytest.approx(1796292012.345678, abs=1e-5)
    assert alert.value == "1.2e+01"


def test_search_counts_entries_for_log_queries_and_series_with_data_for_metrics(loki):
    api, routes, asked = loki
    corpus = Corpus("odin-search-x", (WORKLOAD,), 8, 1.0)
    routes["/loki/api/v1/query_range"] = lambda p, q: recorded("query_range_streams.json")
    seconds, results, query = run_search(api, SEARCHES["one pod's lines containing a word"], corpus, random.Random(1))
    assert results == 8 and seconds > 0 and query.startswith(WORKLOAD.selector + ' |= "')
    routes["/loki/api/v1/query_range"] = lambda p, q: recorded("query_range_matrix.json")
    _, series, _ = run_search(api, SEARCHES["log rate by pod"], corpus, random.Random(1))
    assert series == 2, "a series without samples is no result"
    assert asked[-1]["step"] == "15s" and "step" not in asked[0]


def test_percentiles_are_observed_values():
    values = [0.5, 0.1, 0.3, 0.2, 0.4]
    assert percentile(values, 50) == 0.3 and percentile(values, 95) == 0.5
    assert Summary.of(values) == Summary(5, 0.3, 0.5, 0.5, 0.5)


def test_cri_lines_round_trip_with_nanoseconds():
    line = cri_line("level=info seq=42 alpha", when_ns=1764756000123456789)
    assert line == "2025-12-03T10:00:00.123456789Z stdout F level=info seq=42 alpha\n"
    assert parse_cri_line(line) == (1764756000123456789, "stdout", "F", "level=info seq=42 alpha")


PROMTAIL_METRICS = """\
# HELP promtail_read_lines_total Number of lines read.
# TYPE promtail_read_lines_total counter
promtail_read_lines_total{path="/var/log/pods/odin_writer-1_5d1e/app/0.log"} 312
promtail_read_lines_total{path="/var/log/pods/odin_writer-10_77aa/app/0.log"} 40
promtail_read_lines_total{path="/var/log/pods/monitoring_prometheus_19c2/prometheus/0.log"} 9
"""


def test_promtail_counters_are_read_for_the_workloads_file_only():
    where = file_of(Workload("odin", "writer-1", "app"))
    assert metric_sum(PROMTAIL_METRICS, READ_LINES, where) == 312, "writer-10 and other pods are other files"


@pytest.mark.parametrize(
    ("before", "after", "total", "again"),
    [
        (300, 300, 600, 0),  # resumed where it stopped
        (300, 290, 600, 0),  # it read 10 more lines between the last look and its stop
        (300, 360, 600, 60),  # resumed from positions saved 3 s before the stop (20 lines/s)
        (300, 600, 600, 300),  # positions lost (D4): the whole file again
    ],
)
def test_lines_read_again_after_a_promtail_restart(before, after, total, again):
    assert Reread(before, after, total).lines == again


@pytest.mark.parametrize(
    ("read", "written", "twice"), [(600, 600, 0), (900, 600, 300), (1200, 600, 600), (590, 600, 0)]
)
def test_a_soak_file_read_again_counts_its_lines_twice(read, written, twice):
    # Loki drops identical re-sent lines: only Promtail's own count shows a re-read.
    assert read_twice(read, written) == twice
