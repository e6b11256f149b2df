from odin_acceptance.clients.metrics_text import metric_sum

TEXT = """# HELP promtail_request_duration_seconds Duration of send requests.
# TYPE promtail_request_duration_seconds histogram
promtail_request_duration_seconds_bucket{host="127.0.0.1:3100",status_code="204",le="+Inf"} 7
promtail_request_duration_seconds_sum{host="127.0.0.1:3100",status_code="204"} 0.5
promtail_request_duration_seconds_count{host="127.0.0.1:3100",status_code="204"} 7
promtail_request_duration_seconds_count{host="127.0.0.1:3100",status_code="failed"} 3
# TYPE promtail_dropped_entries_total counter
promtail_dropped_entries_total{host="a \\"quoted\\" host",reason="rate_limited"} 2 1764756000000
promtail_dropped_entries_total{host="b",reason="ingester_error"} 5
"""


def test_samples_are_summed_by_name_with_a_trailing_timestamp_and_escaped_labels():
    assert metric_sum(TEXT, "promtail_dropped_entries_total") == 7
    assert metric_sum(TEXT, "promtail_request_duration_seconds_count") == 10
    assert metric_sum(TEXT, "absent_total") == 0


def test_samples_are_filtered_by_their_labels():
    failed = metric_sum(
        TEXT, "promtail_request_duration_seconds_count", lambda labels: labels["status_code"] == "failed"
    )
    assert failed == 3
    quoted = metric_sum(TEXT, "promtail_dropped_entries_total", lambda labels: labels["host"] == 'a "quoted" host')
    assert quoted == 2
