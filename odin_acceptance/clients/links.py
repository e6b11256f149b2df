"""The links of the stack that waits depend on, and how each is seen to be broken.

A wait names the links it needs (`eventually(..., needs=(ALERTS,))`). Between its attempts
the polling helper asks the running stack which links are broken; a broken one ends the
wait at once with its cause, instead of every scenario behind it running to its deadline.
A link is broken when a component on it exited, or when the component that sends over it
counts failures since the stack started (Prometheus's notification errors, Alertmanager's
failed notifications, Promtail's failed pushes), or when Prometheus reports a target of that
scrape job down. Components stopped on purpose (fault scenarios) are not judged until restarted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import requests

from odin_acceptance.clients.metrics_text import metric_sum
from odin_acceptance.clients.prometheus_api import parse_time

ALERTS = "Prometheus → Alertmanager"
NOTIFICATIONS = "Alertmanager → receivers"
LOGS = "Promtail → Loki"


def scrapes(job: str) -> str:
    """The link from one scrape job's targets to Prometheus (its exporter is its component)."""
    return f"{job} → Prometheus"


# The components on each link (an exit of any of them breaks it).
COMPONENTS: dict[str, tuple[str, ...]] = {
    ALERTS: ("prometheus", "alertmanager"),
    NOTIFICATIONS: ("alertmanager", "webhook-receiver"),
    scrapes("node-exporter"): ("prometheus", "node-exporter"),
    scrapes("dcgm-exporter"): ("prometheus", "dcgm-exporter"),
    LOGS: ("promtail", "loki"),
}
# How long a verdict on the links is reused: each look costs a few requests on loopback.
LOOK_EVERY = 1.0


def _unix(rfc3339: str) -> float:
    """Prometheus's RFC 3339 time -> unix seconds; 0 where it has none."""
    return parse_time(rfc3339) if rfc3339 else 0.0


def _failed_push(labels: Mapping[str, str]) -> bool:
    code = labels.get("status_code", "")
    return code == "failed" or code[:1] in ("4", "5")


class LinkWatch:
    """Which links of one running stack are broken, and why."""

    def __init__(
        self,
        metrics: Mapping[str, Callable[[], str]],
        targets: Callable[[], list[dict]],
        exited: Callable[[], dict[str, str]],
    ) -> None:
        # component -> its /metrics text; only components present are asked
        self._metrics = metrics
        self._targets = targets
        self._exited = exited
        self.stopped_on_purpose: set[str] = set()
        self._back_at: dict[str, float] = {}  # component -> when it was started again (unix time)
        self._baseline: dict[str, float] = {}
        self._looked_at = 0.0
        self._last: dict[str, str] = {}

    def _failures(self) -> dict[str, tuple[float, str]]:
        """link -> (failure count, what it counts), from the sender's own counters."""
        counters = {
            ALERTS: (
                "prometheus",
                "prometheus_notifications_errors_total",
                None,
                "alert batches Prometheus failed to send",
            ),
            NOTIFICATIONS: (
                "alertmanager",
                "alertmanager_notifications_failed_total",
                None,
                "notifications that failed",
            ),
            LOGS: ("promtail", "promtail_request_duration_seconds_count", _failed_push, "pushes Promtail failed"),
        }
        out = {}
        for link, (component, metric, where, meaning) in counters.items():
            if component in self._metrics:
                out[link] = (metric_sum(self._metrics[component](), metric, where), meaning)
        return out

    def back(self, component: str) -> None:
        """`component` runs again after a deliberate stop: judge it from now on, but not on a
        scrape Prometheus made before it came back (that one failed, and says nothing now)."""
        self.stopped_on_purpose.discard(component)
        self._back_at[component] = time.time()
        self.baseline()

    def baseline(self) -> None:
        """Count failures from now on (at start, and after a component comes back)."""
        self._baseline = {link: count for link, (count, _) in self._failures().items()}
        self._looked_at = 0.0

    def broken(self) -> dict[str, str]:
        now = time.monotonic()
        if now - self._looked_at < LOOK_EVERY:
            return self._last
        self._looked_at = now
        judged = {link for link, parts in COMPONENTS.items() if not set(parts) & self.stopped_on_purpose}
        found: dict[str, str] = {}
        for component, why in self._exited().items():
            for link in judged:
                if component in COMPONENTS[link]:
                    found.setdefault(link, why)
        try:
            for link, (count, meaning) in self._failures().items():
                new = count - self._baseline.get(link, 0.0)
                if link in judged and new > 0:
                    found.setdefault(link, f"{new:g} {meaning} since the stack started")
            for target in self._targets():
                job = target.get("labels", {}).get("job", "")
                link = scrapes(job)
                stale = _unix(target.get("lastScrape", "")) < self._back_at.get(job, 0.0)
                if target.get("health") == "down" and link in judged and not stale:
                    found.setdefault(link, f"{target.get('scrapeUrl')} is down: {target.get('lastError')}")
        except (requests.RequestException, ValueError):
            pass  # a component that does not answer is the wait's own finding, or an exit above
        self._last = found
        return found
