"""Timing profiles and the alert-delivery formula (field notes §2).

A profile divides every *duration* of the stack (scrape and evaluation intervals, `for`,
group_wait, group_interval, repeat_interval) by one factor. Thresholds, expressions, range
windows inside expressions and routes are never touched: the fast profile tests the same
rules, only sooner.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from odin_acceptance.core.phrases import seconds as phrase_seconds

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> float:
    """Prometheus/Alertmanager duration ('1h30m', '500ms', '2m') -> seconds."""
    text = str(text).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    """Seconds -> the shortest exact duration string, in whole milliseconds."""
    ms = max(1, round(seconds * 1000))
    out = []
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


@dataclass(frozen=True)
class TimingProfile:
    name: str
    factor: float

    def scale(self, seconds: float) -> float:
        return seconds / self.factor

    def plan(self, phrase: str) -> float:
        """A duration as a feature states it ("5 minutes"), in this profile's seconds: the one
        place a step's words become a time budget."""
        return self.scale(phrase_seconds(phrase))

    def scale_text(self, duration: str) -> str:
        return format_duration(self.scale(parse_duration(duration)))

    def describe(self) -> str:
        if self.factor == 1:
            return f"{self.name} (durations as configured)"
        return f"{self.name} (every duration divided by {self.factor:g})"


# The factor is bounded by what the formula does not model: processing between the
# components (5–12 ms on loopback, measured) must stay small beside the shortest scaled
# duration and inside timeouts.DELIVERY_SLACK, and real-time work (a Loki restart, a
# pod's start) must fit the scaled budgets around it.
# fast (30): a 5-minute `for` becomes 10 s, group_wait 333 ms; kwok (a thousand-target fleet
# a faster scrape would overload), kind (proven there), and local runs with Loki.
# rapid (60): a minute becomes a second, group_wait 167 ms, a scrape every 250 ms with a
# 167 ms timeout; the local target's alerting half, every hop a loopback process.
PROFILES = {
    "real": TimingProfile("real", 1.0),
    "fast": TimingProfile("fast", 30.0),
    "rapid": TimingProfile("rapid", 60.0),
}


@dataclass(frozen=True)
class DeliveryWindow:
    """When a notification may arrive after a threshold is crossed, with its terms."""

    scrape: float
    evaluation: float
    hold: float
    group_wait: float

    @property
    def earliest(self) -> float:
        return self.hold + self.group_wait

    @property
    def latest(self) -> float:
        return self.scrape + self.evaluation + self.hold + self.group_wait

    def formula(self) -> str:
        return (
            f"H+W = {self.hold:g}+{self.group_wait:g} = {self.earliest:.3g} s … "
            f"S+E+H+W = {self.scrape:g}+{self.evaluation:g}+{self.hold:g}+{self.group_wait:g} = {self.latest:.3g} s"
        )


def delivery_window(*, scrape: float, evaluation: float, for_: float, group_wait: float) -> DeliveryWindow:
    """Field notes §2: an alert is held for H = ceil(for/E)·E after it turns pending."""
    hold = math.ceil(round(for_ / evaluation, 6)) * evaluation if for_ > 0 else 0.0
    return DeliveryWindow(scrape=scrape, evaluation=evaluation, hold=hold, group_wait=group_wait)
