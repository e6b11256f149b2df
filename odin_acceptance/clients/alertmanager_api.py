"""Alertmanager API v2 (v1 is gone from 0.27 on: field notes D12)."""

from __future__ import annotations

import time
from typing import Any

from odin_acceptance.clients.json_http import JsonApi


class AlertmanagerApi(JsonApi):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, "Alertmanager")

    def ready(self) -> None:
        self.probe("/-/ready")

    def post_alert(
        self, labels: dict[str, str], annotations: dict[str, str] | None = None, duration: float = 3600.0
    ) -> float:
        """Post one firing alert the way Prometheus does; returns the time it was sent."""
        now = time.time()
        self.post_json(
            "/api/v2/alerts",
            [
                {
                    "labels": labels,
                    "annotations": annotations or {},
                    "startsAt": _iso(now),
                    "endsAt": _iso(now + duration),
                }
            ],
        )
        return now

    def resolve_alert(self, labels: dict[str, str]) -> None:
        now = time.time()
        self.post_json("/api/v2/alerts", [{"labels": labels, "startsAt": _iso(now - 1), "endsAt": _iso(now)}])

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        params = [f'{k}="{v}"' for k, v in filters.items()]
        return self.request("GET", "/api/v2/alerts", params={"filter": params} if params else None).json()

    def create_silence(self, matchers: dict[str, str], seconds: float, comment: str) -> str:
        """Silence alerts whose labels equal `matchers` for `seconds`; returns the silence id."""
        now = time.time()
        body = {
            "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in matchers.items()],
            "startsAt": _iso(now),
            "endsAt": _iso(now + seconds),
            "createdBy": "odin-acceptance",
            "comment": comment,
        }
        return self.post_json("/api/v2/silences", body)["silenceID"]

    def silence(self, silence_id: str) -> dict[str, Any]:
        return self.get_json(f"/api/v2/silence/{silence_id}")

    def status(self) -> dict[str, Any]:
        return self.get_json("/api/v2/status")


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
