"""Rule health is judged on evaluations that ran once the stack had its data. A rule like
`up * on() up > 0` is healthy while `up` has one series and errors once every target is
scraped: a verdict on the first evaluation Prometheus reports passed it (1 run in 3 of
tests/test_plan_spec.py's broken-rule test). Here a scripted Prometheus replays that start."""

from __future__ import annotations

import inspect
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.steps.stack_steps import prometheus_rules_healthy
from tests.scripted_server import serving

NEVER = "0001-01-01T00:00:00Z"


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def _targets(*scraped: bool) -> dict[str, Any]:
    targets = [
        {
            "labels": {"job": f"job{i}", "instance": f"127.0.0.1:{9100 + i}"},
            "lastScrape": _iso(time.time()) if s else NEVER,
        }
        for i, s in enumerate(scraped)
    ]
    return {"status": "success", "data": {"activeTargets": targets, "droppedTargets": []}}


def _rules(evaluated_at: float, health: str, error: str = "") -> dict[str, Any]:
    rule = {"name": "NeverEvaluates", "type": "alerting", "health": health, "lastError": error}
    group = {"name": "system-alerts", "lastEvaluation": _iso(evaluated_at), "rules": [rule]}
    return {"status": "success", "data": {"groups": [group]}}


def _judge(prometheus: PrometheusApi, evidence: EvidenceLog) -> None:
    """The step as pytest-bdd calls it, with the fixtures it asks for."""
    fixtures = {
        "pipeline": SimpleNamespace(api=SimpleNamespace(prometheus=prometheus)),
        "scenario_evidence": evidence.for_scenario("Rule health"),
    }
    wanted = inspect.signature(prometheus_rules_healthy).parameters
    prometheus_rules_healthy(**{name: fixtures[name] for name in wanted})


def test_a_rule_that_errors_only_once_every_target_is_scraped_fails():
    started = time.time()
    script = {
        # One of two targets scraped at first: `up` has one series, the rule is fine.
        "/api/v1/targets": [(200, lambda _: _targets(True, False)), (200, lambda _: _targets(True, True))],
        "/api/v1/rules": [
            (200, lambda _: _rules(started - 5, "ok")),
            (200, lambda _: _rules(started - 5, "ok")),
            (200, lambda _: _rules(time.time(), "err", "found duplicate series for the match group {} on the right")),
        ],
    }
    evidence = EvidenceLog()
    with serving(script) as server, pytest.raises(AssertionError, match="system-alerts/NeverEvaluates: health 'err'"):
        _judge(PrometheusApi(server.url), evidence)


def test_the_evaluations_judged_are_in_the_evidence():
    script = {
        "/api/v1/targets": [(200, lambda _: _targets(True, True))],
        "/api/v1/rules": [(200, lambda _: _rules(time.time() - 5, "ok")), (200, lambda _: _rules(time.time(), "ok"))],
    }
    evidence = EvidenceLog()
    with serving(script) as server:
        _judge(PrometheusApi(server.url), evidence)
    [judged] = evidence.measurements
    assert judged.name == "rule group system-alerts: evaluation judged" and judged.value > 0
    assert "after every target was scraped" in judged.note and "rules judged: 1" in judged.note
