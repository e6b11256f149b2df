"""Clients for the suite's own instruments (fake DCGM exporter, webhook receiver)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from odin_acceptance.clients.json_http import JsonApi
from odin_acceptance.clients.prometheus_api import parse_time


@dataclass(frozen=True)
class Notification:
    """One webhook delivery from Alertmanager, as the receiver recorded it."""

    path: str
    received_at: float
    receiver: str
    status: str
    alerts: tuple[dict[str, Any], ...]
    group_key: str = ""  # Alertmanager's aggregation group: its route and group_by values

    def alerts_matching(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        return [a for a in self.alerts if all(a["labels"].get(k) == v for k, v in labels.items())]

    @staticmethod
    def starts_at(alert: dict[str, Any]) -> float:
        return parse_time(alert["startsAt"])


class WebhookReceiverClient(JsonApi):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, "webhook receiver")

    def ready(self) -> None:
        self.probe("/healthz")

    def notifications(self) -> list[Notification]:
        return [
            Notification(
                n["path"],
                n["received_at"],
                n["payload"].get("receiver", ""),
                n["payload"].get("status", ""),
                tuple(n["payload"].get("alerts", [])),
                n["payload"].get("groupKey", ""),
            )
            for n in self.get_json("/notifications")
        ]

    def deliveries(self, labels: dict[str, str], status: str = "firing") -> list[tuple[Notification, dict[str, Any]]]:
        """Every (notification, alert) pair whose alert carries `labels` in `status`."""
        return [(n, a) for n in self.notifications() for a in n.alerts_matching(labels) if a.get("status") == status]


class FakeDcgmClient(JsonApi):
    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, "fake DCGM exporter")

    def ready(self) -> None:
        self.probe("/healthz")

    def set_gpu(self, hostname: str, gpu: int, **fields: float | str) -> dict[str, Any]:
        """Returns the GPU's state, with `changed_at` (unix seconds) of this change."""
        return self.put_json(f"/gpus/{hostname}/{gpu}", fields)

    def gpus(self) -> list[dict[str, Any]]:
        """Every GPU the exporter serves, with its Hostname, index and UUID."""
        return self.get_json("/gpus")

    def remove_host(self, hostname: str) -> None:
        self.delete(f"/gpus/{hostname}")


class DcgmFleetClient(FakeDcgmClient):
    """The dcgm_fleet instrument: the dcgm-exporter pods of many GPU nodes in one process."""

    def add_pods(self, pods: list[dict[str, Any]]) -> None:
        """Serve each pod's address: [{"address", "Hostname", "gpus", <GPU fields>}]."""
        self.put_json("/pods", pods)

    def pods(self) -> dict[str, dict[str, Any]]:
        """Address -> the Hostname it serves and how many scrapes it answered."""
        return self.get_json("/pods")
