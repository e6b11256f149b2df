"""Grafana dashboards as the features state them: panels and the queries behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from odin_acceptance.clients.json_http import JsonApi


@dataclass(frozen=True, order=True)
class Panel:
    title: str
    type: str
    query: str


@dataclass(frozen=True)
class PlanDashboard:
    """A dashboard as the plan writes it (from a feature's table)."""

    title: str
    panels: tuple[Panel, ...]


def panels_of(dashboard: dict[str, Any]) -> set[Panel]:
    """Every (panel, query) of a dashboard's JSON model."""
    return {
        Panel(panel.get("title", ""), panel.get("type", ""), target.get("expr", ""))
        for panel in dashboard.get("panels", [])
        for target in panel.get("targets", [])
    }


def panels_without_data(grafana: JsonApi, dashboard: dict[str, Any], datasource: str) -> list[str]:
    """ "panel: query" of each query of `dashboard` that Grafana answers without a data frame,
    asked through Grafana's own query API (/api/ds/query) against the named datasource."""
    source = grafana.get_json(f"/api/datasources/name/{datasource}")
    empty = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            query = {
                "refId": target["refId"],
                "expr": target["expr"],
                "queryType": "range",
                "datasource": {"uid": source["uid"], "type": source["type"]},
            }
            answer = grafana.post_json("/api/ds/query", {"from": "now-1h", "to": "now", "queries": [query]})
            if not answer["results"][target["refId"]].get("frames"):
                empty.append(f"{panel['title']}: {target['expr']}")
    return empty
