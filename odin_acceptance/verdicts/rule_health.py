"""Whether every loaded rule evaluates: a rule whose query errors never fires, whatever its
threshold, and nothing else in the stack says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import eventually

NEVER = "0001-01-01T00:00:00Z"  # lastEvaluation of a group not evaluated yet


def problems(groups: list[dict[str, Any]]) -> list[str]:
    """Rules (from a Prometheus-style /api/v1/rules answer) that are not healthy, by name."""
    out = []
    for group in groups:
        for rule in group.get("rules", []):
            name = rule.get("name", "?")
            if rule.get("health") != "ok" or rule.get("lastError"):
                out.append(f"{group['name']}/{name}: health {rule.get('health')!r}, error {rule.get('lastError')!r}")
    return out


def all_evaluated(groups: list[dict[str, Any]]) -> None:
    """Raises (not yet) until every group has been evaluated at least once."""
    waiting = [g["name"] for g in groups if g.get("lastEvaluation", NEVER).startswith("0001-")]
    assert groups, "no rule group loaded"
    assert not waiting, f"rule groups not evaluated yet: {waiting}"


def evaluated(fetch: Callable[[], list[dict[str, Any]]], what: str) -> list[dict[str, Any]]:
    """The rule groups `fetch` returns, once each has been evaluated at least once."""

    def once() -> list[dict[str, Any]]:
        groups = fetch()
        all_evaluated(groups)
        return groups

    return eventually(once, timeout=timeouts.TARGET_UP, what=f"{what} to be evaluated once")
