"""Loki HTTP API: the queries engineers and Grafana run, and its status endpoints."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import yaml

from odin_acceptance.clients.json_http import ApiError, JsonApi
from odin_acceptance.clients.metrics_text import metric_sum
from odin_acceptance.clients.prometheus_api import RuleAlert, parse_time


@dataclass(frozen=True)
class LogEntry:
    labels: dict[str, str]
    timestamp_ns: int
    line: str


class LokiApi(JsonApi):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, "Loki")

    def ready(self) -> None:
        self.probe("/ready")

    def buildinfo(self) -> dict[str, Any]:
        return self.get_json("/loki/api/v1/status/buildinfo")

    def running_config(self) -> dict[str, Any]:
        """The configuration Loki is running with (defaults included), from /config."""
        return yaml.safe_load(self.get_text("/config"))

    def query_range(
        self,
        query: str,
        *,
        since: float = 3600.0,
        limit: int = 1000,
        direction: str = "backward",
        end: float | None = None,
        step: str | None = None,
    ) -> dict[str, Any]:
        """A range query over the last `since` seconds (log queries on the instant endpoint
        are refused from Loki 3.2 on: field notes D6)."""
        end = end if end is not None else time.time() + 1
        return self.query_range_ns(
            query, int((end - since) * 1e9), int(end * 1e9), limit=limit, direction=direction, step=step
        )

    def query_range_ns(
        self, query: str, start_ns: int, end_ns: int, *, limit: int, direction: str, step: str | None = None
    ) -> dict[str, Any]:
        """A range query between two nanosecond timestamps: exact where seconds as floats are
        not (a float of ~1.7e9 s resolves ~0.2 µs, so paging by it re-reads entries)."""
        params = {
            "query": query,
            "start": str(start_ns),
            "end": str(end_ns),
            "limit": str(limit),
            "direction": direction,
        }
        if step:
            params["step"] = step
        return self.get_json("/loki/api/v1/query_range", **params)["data"]

    def instant(self, query: str) -> list[dict[str, Any]]:
        """A metric query at this instant (metric queries may use the instant endpoint)."""
        return self.get_json("/loki/api/v1/query", query=query)["data"]["result"]

    def alerts(self) -> list[RuleAlert]:
        """Alerts of Loki's ruler, in Prometheus's format."""
        data = self.get_json("/prometheus/api/v1/alerts")["data"]["alerts"]
        return [
            RuleAlert(a["labels"], a.get("annotations", {}), a["state"], parse_time(a["activeAt"]), a.get("value", ""))
            for a in data
        ]

    def entries(self, query: str, **kwargs: Any) -> list[LogEntry]:
        data = self.query_range(query, **kwargs)
        return [LogEntry(stream["stream"], int(ts), line) for stream in data["result"] for ts, line in stream["values"]]

    def series(self, selector: str, since: float = 3600.0) -> list[dict[str, str]]:
        end = time.time() + 1
        return self.get_json(
            "/loki/api/v1/series",
            **{"match[]": selector, "start": f"{int((end - since) * 1e9)}", "end": f"{int(end * 1e9)}"},
        )["data"]

    def flush(self) -> None:
        """Ask the ingesters to flush their in-memory chunks to storage (asynchronous)."""
        self.request("POST", "/flush")

    def rule_health(self) -> list[dict[str, Any]]:
        """The ruler's groups in Prometheus's format, with each rule's health and last error."""
        return self.get_json("/prometheus/api/v1/rules")["data"]["groups"]

    def rule_groups(self) -> dict[str, Any]:
        """The ruler's rule groups by namespace. Until the ruler has loaded a group it answers
        404 "no rule groups found": that is "none yet", which a wait for a group retries."""
        try:
            return yaml.safe_load(self.get_text("/loki/api/v1/rules")) or {}
        except ApiError as exc:
            if exc.status == 404 and "no rule groups found" in str(exc):
                return {}
            raise

    def metric(self, name: str) -> float:
        """Sum of one metric family on Loki's /metrics."""
        return metric_sum(self.get_text("/metrics"), name)
