"""Observing one alert travel the pipeline: threshold crossed -> pending -> firing ->
notified -> resolved, with the deadlines of field notes §2.

Expectations come from the caller (the feature's numbers); the formula's scrape interval S
and evaluation interval E come from the plan's table (alert_rules.feature), and the running
stack must set the same or the scenario fails: a longer interval never widens its own bound.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from odin_acceptance.clients import links
from odin_acceptance.clients.instrument_clients import Notification
from odin_acceptance.clients.prometheus_api import RuleAlert
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import eventually, holds_for
from odin_acceptance.core.timing_profiles import DeliveryWindow, delivery_window
from odin_acceptance.stack_config import plan_durations
from odin_acceptance.target_api.base import Endpoints, Target


@dataclass(frozen=True)
class Stimulus:
    """A value the suite injected, and when the instrument started serving it."""

    description: str
    labels: dict[str, str]  # identifies the series (and so the alert)
    changed_at: float
    seen_query: str = ""  # PromQL that returns data once Prometheus has scraped the value


@dataclass(frozen=True)
class FiredAlert:
    alertname: str
    labels: dict[str, str]
    stimulus: Stimulus
    pending_at: float
    observed_firing_at: float
    window: DeliveryWindow


@dataclass(frozen=True)
class Delivery:
    notification: Notification
    alert: dict[str, Any]
    latency: float  # crossing -> arrival at the receiver


def _matches(labels: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in wanted.items())


class AlertPipeline:
    def __init__(self, target: Target, endpoints: Endpoints | None = None) -> None:
        """`endpoints`: where to observe, when not the stack's own (a GPU fleet's Prometheus)."""
        self.target = target
        self.api = endpoints or target.stack.endpoints

    # -- the plan's intervals, which the running stack must share --------------------

    def scrape_interval(self) -> float:
        """S: the plan's scrape interval (every job), in the run's profile."""
        return plan_durations.interval(plan_durations.SCRAPE, self.target.stack.config, self.target.profile)

    def evaluation_interval(self) -> float:
        """E: the plan's interval of every Prometheus rule group, in the run's profile."""
        return plan_durations.interval(plan_durations.EVALUATION, self.target.stack.config, self.target.profile)

    def window(self, hold: float, group_wait: float) -> DeliveryWindow:
        """Delivery window with the plan's hold and group wait (already profile-scaled)."""
        return delivery_window(
            scrape=self.scrape_interval(), evaluation=self.evaluation_interval(), for_=hold, group_wait=group_wait
        )

    # -- observations --------------------------------------------------------------------

    def rule_alerts(self, alertname: str, labels: dict[str, str]) -> list[RuleAlert]:
        return [
            a
            for a in self.api.prometheus.alerts()
            if a.labels.get("alertname") == alertname and _matches(a.labels, labels)
        ]

    def await_state(self, alertname: str, labels: dict[str, str], wanted: str, timeout: float) -> None:
        """Wait until an alert of the rule with these labels is in state `wanted`."""

        def state() -> None:
            states = [a.state for a in self.rule_alerts(alertname, labels)]
            assert wanted in states, f"{alertname}: {states or 'inactive'}"

        eventually(state, timeout=timeout, what=f"{alertname} to be {wanted}")

    def wait_firing(self, alertname: str, stimulus: Stimulus, window: DeliveryWindow, job: str) -> FiredAlert:
        """Until `alertname` fires after `stimulus`, whose series the scrape `job` brings."""
        slack = timeouts.DELIVERY_SLACK
        deadline = window.scrape + window.evaluation + window.hold + slack
        # One evaluation longer than S+E+H: when it fired is judged exactly, as the hold
        # (alert_verdicts.notified), so a rule that fires an evaluation late is named there for
        # its longer `for`, not here as a time-out.
        remaining = max(0.5, stimulus.changed_at + deadline + window.evaluation - time.time())

        def firing() -> RuleAlert:
            seen = self.rule_alerts(alertname, stimulus.labels)
            states = [a.state for a in seen]
            assert "firing" in states, f"{alertname} states for {stimulus.labels}: {states or 'not active'}"
            return next(a for a in seen if a.state == "firing")

        alert = eventually(
            firing,
            timeout=remaining,
            what=f"{alertname} to fire after {stimulus.description} (S+E+H = {deadline - slack:.3g} s)",
            hint="a threshold, `for` or evaluation interval in the rules differs from the plan, or the "
            "series is not scraped (check the targets)",
            needs=(links.scrapes(job),),
        )
        return FiredAlert(alertname, alert.labels, stimulus, alert.active_at, time.time(), window)

    def wait_delivery(
        self,
        receiver: str,
        labels: dict[str, str],
        *,
        since: float,
        deadline: float,
        status: str = "firing",
        what: str,
        needs: tuple[str, ...] = (links.ALERTS, links.NOTIFICATIONS),
    ) -> Delivery:
        def delivered() -> Delivery:
            found = [(n, a) for n, a in self.api.webhook.deliveries(labels, status) if n.received_at >= since]
            receivers = sorted({n.receiver for n, _ in found})
            assert found, f"no {status} notification yet for {labels}"
            hits = [(n, a) for n, a in found if n.receiver == receiver]
            assert hits, f"delivered to {receivers}, not to {receiver!r}"
            n, a = hits[0]
            return Delivery(n, a, n.received_at - since)

        return eventually(
            delivered,
            timeout=max(0.5, since + deadline - time.time()),
            what=what,
            hint="check the route for this alert and the receiver's URL in the Alertmanager config",
            needs=needs,
        )

    def group_seen_before(self, alert_labels: dict[str, str], before: float) -> bool:
        """Did this alert's aggregation group already notify? Then the next notification goes
        out on the group_interval tick, which can be sooner than group_wait. (group_by is
        read from the config: it decides which slack term applies, not the expectation.)"""
        group_by = self.target.stack.config.group_by()
        key = [alert_labels.get(name) for name in group_by]
        return any(
            n.received_at < before and any([a["labels"].get(name) for name in group_by] == key for a in n.alerts)
            for n in self.api.webhook.notifications()
        )

    def signal(
        self, alertname: str, labels: dict[str, str], start: float, end: float, step: float
    ) -> tuple[list[tuple[float, float]], float | None]:
        """The alert expression's value over time for one alert's series, and its threshold,
        for the report's timeline (a picture of the deployed rule, not an expectation)."""
        expr = self.target.stack.config.alert_rule(alertname)["expr"]
        match = re.fullmatch(r"(?s)(.*?)\s*(>=|<=|==|!=|>|<)\s*([0-9.eE+-]+)\s*", str(expr))
        lhs, threshold = (match[1], float(match[3])) if match else (str(expr), None)
        for series in self.api.prometheus.query_range(lhs, start, end, step):
            if _matches(series["metric"], labels):
                return [(float(t), float(v)) for t, v in series["values"]], threshold
        return [], threshold

    def wait_scraped(self, stimulus: Stimulus) -> None:
        """Prove the injected value reached Prometheus, so that "it did not fire" means something."""

        def seen() -> None:
            assert self.api.prometheus.query(stimulus.seen_query), f"no sample matches {stimulus.seen_query}"

        timeout = timeouts.TARGET_UP + 2 * self.scrape_interval()
        what = f"Prometheus to scrape {stimulus.description}"
        eventually(seen, timeout=timeout, what=what, needs=(links.scrapes("dcgm-exporter"),))

    def never_fires(self, alertname: str, labels: dict[str, str], window: float, what: str) -> None:
        def not_firing() -> None:
            states = [a.state for a in self.rule_alerts(alertname, labels)]
            assert "firing" not in states, f"{alertname} is firing for {labels}"
            deliveries = self.api.webhook.deliveries({"alertname": alertname, **labels})
            assert not deliveries, f"a receiver was notified: {[n.receiver for n, _ in deliveries]}"

        holds_for(not_firing, duration=window, what=what)
