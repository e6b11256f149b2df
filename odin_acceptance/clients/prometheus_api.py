"""Prometheus HTTP API (v1) as the steps need it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from odin_acceptance.clients.json_http import JsonApi


@dataclass(frozen=True)
class RuleAlert:
    """One alert instance as Prometheus's rule manager sees it."""

    labels: dict[str, str]
    annotations: dict[str, str]
    state: str  # pending | firing
    active_at: float  # unix seconds: when it turned pending
    value: str


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class PrometheusApi(JsonApi):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, "Prometheus")

    def ready(self) -> None:
        self.probe("/-/ready")

    def alerts(self) -> list[RuleAlert]:
        data = self.get_json("/api/v1/alerts")["data"]["alerts"]
        return [
            RuleAlert(a["labels"], a.get("annotations", {}), a["state"], parse_time(a["activeAt"]), a.get("value", ""))
            for a in data
        ]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query, now or at unix time `at`."""
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        return self.get_json("/api/v1/query", **params)["data"]["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return self.get_json(
            "/api/v1/query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{max(step, 0.001):.3f}"
        )["data"]["result"]

    def targets(self) -> list[dict[str, Any]]:
        return self.get_json("/api/v1/targets", state="active")["data"]["activeTargets"]

    def discovered_targets(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(active, dropped) targets of every scrape job, each with its `discoveredLabels`."""
        data = self.get_json("/api/v1/targets", state="any")["data"]
        return data.get("activeTargets", []), data.get("droppedTargets", [])

    def rule_groups(self) -> list[dict[str, Any]]:
        return self.get_json("/api/v1/rules")["data"]["groups"]

    def alertmanagers(self) -> list[str]:
        data = self.get_json("/api/v1/alertmanagers")["data"]
        return [a["url"] for a in data.get("activeAlertmanagers", [])]

    def buildinfo(self) -> dict[str, Any]:
        return self.get_json("/api/v1/status/buildinfo")["data"]
