"""Whether every loaded rule evaluates: a rule whose query errors never fires, whatever its
threshold, and nothing else in the stack says so.

Judged only over evaluations that ran once the stack had its data: a rule can be healthy
on an empty store and fail once its series exist (`up * on() up` errors only when `up` has
two series), so an evaluation from before every target was scraped proves nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from odin_acceptance.clients.prometheus_api import PrometheusApi, parse_time
from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import eventually


def _moment(text: str | None) -> float | None:
    # Prometheus writes the zero time (year 1) for "never": a group not evaluated, a target not scraped.
    return None if not text or text.startswith("0001-") else parse_time(text)


def problems(groups: list[dict[str, Any]]) -> list[str]:
    """Rules (from a Prometheus-style /api/v1/rules answer) that are not healthy, by name."""
    out = []
    for group in groups:
        for rule in group.get("rules", []):
            name = rule.get("name", "?")
            if rule.get("health") != "ok" or rule.get("lastError"):
                out.append(f"{group['name']}/{name}: health {rule.get('health')!r}, error {rule.get('lastError')!r}")
    return out


def every_target_scraped(prometheus: PrometheusApi) -> float:
    """Waits until Prometheus has scraped every active target at least once (its lastScrape),
    and returns a moment after that: every series a rule reads that a scrape brings exists
    from then on, `up` included. A target whose scrape failed counts as scraped (its `up` is
    0): its other series are missing, and a rule over them is judged on their absence."""

    def scraped() -> None:
        targets = prometheus.targets()
        assert targets, "no active scrape target"
        waiting = [
            f"{t['labels'].get('job')}/{t['labels'].get('instance')}"
            for t in targets
            if not _moment(t.get("lastScrape"))
        ]
        assert not waiting, f"{len(waiting)} of {len(targets)} targets not scraped yet: {waiting[:5]}"

    eventually(scraped, timeout=timeouts.TARGET_UP, what="every active target to be scraped once")
    # Taken after the answer that showed the last scrape done, so its samples are stored.
    return time.time()


def evaluated_since(fetch: Callable[[], list[dict[str, Any]]], since: float, what: str) -> list[dict[str, Any]]:
    """The rule groups `fetch` returns, once each has been evaluated after `since`."""

    def once() -> list[dict[str, Any]]:
        groups = fetch()
        assert groups, "no rule group loaded"
        stale = [
            f"{g['name']} (last {g.get('lastEvaluation', 'never')})"
            for g in groups
            if (_moment(g.get("lastEvaluation")) or 0.0) <= since
        ]
        assert not stale, f"rule groups not evaluated since {_iso(since)}: {stale}"
        return groups

    return eventually(once, timeout=timeouts.RULE_GROUPS_EVALUATED, what=f"{what} to be evaluated after {_iso(since)}")


def healthy(
    fetch: Callable[[], list[dict[str, Any]]], since: float, since_what: str, evidence: ScenarioEvidence, what: str
) -> None:
    """Judges every rule of the groups `fetch` returns on evaluations that ran after `since`
    (the moment the stack had its data, `since_what`), and says in the evidence which
    evaluations those were: each group's, and how long after `since` it ran."""
    groups = evaluated_since(fetch, since, what)
    for group in groups:
        at, rules = _moment(group.get("lastEvaluation")) or 0.0, len(group.get("rules", []))
        evidence.record(
            f"rule group {group['name']}: evaluation judged",
            at - since,
            "s",
            note=f"evaluated at {_iso(at)}, after {since_what} at {_iso(since)}; rules judged: {rules}",
        )
    broken = problems(groups)
    assert not broken, f"{what}: rules that fail to evaluate (they can never fire):\n  " + "\n  ".join(broken)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
