"""Steps about the stack as a whole."""

from __future__ import annotations

import time

from pytest_bdd import given, then, when

from fixtures import rule_health, timeouts
from fixtures.alerting import AlertPipeline, Stimulus
from fixtures.logs import LogPipeline
from fixtures.polling import eventually
from fixtures.targets import Target


@given("the alerting stack is running", target_fixture="pipeline")
def alerting_stack(stack: Target) -> AlertPipeline:
    return AlertPipeline(stack)


@then("every rule group of Prometheus has been evaluated without error")
def prometheus_rules_healthy(pipeline: AlertPipeline) -> None:
    groups = eventually(
        lambda: _evaluated(pipeline.api.prometheus.rule_groups()),
        timeout=timeouts.TARGET_UP,
        what="every Prometheus rule group to be evaluated once",
    )
    broken = rule_health.problems(groups)
    assert not broken, "rules that fail to evaluate (they can never fire):\n  " + "\n  ".join(broken)


@then("every rule group of Loki's ruler has been evaluated without error")
def loki_rules_healthy(logs: LogPipeline) -> None:
    groups = eventually(
        lambda: _evaluated(logs.loki.rule_health()),
        timeout=timeouts.TARGET_UP,
        what="every rule group of Loki's ruler to be evaluated once",
    )
    broken = rule_health.problems(groups)
    assert not broken, "log rules that fail to evaluate (they can never fire):\n  " + "\n  ".join(broken)


def _evaluated(groups: list[dict]) -> list[dict]:
    rule_health.all_evaluated(groups)
    return groups


# The moment of change is taken before the action: the exporter's state can change (and be
# scraped, evaluated and notified) while the call still waits for the process to exit or
# to be ready, and a notification before that moment would not count.
@when("the node exporter stops", target_fixture="stimulus")
def node_exporter_stops(stack: Target) -> Stimulus:
    changed_at = time.time()
    stack.stop_component("node-exporter")
    return Stimulus("the node exporter stopped", {"job": "node-exporter"}, changed_at)


@when("the node exporter is back", target_fixture="stimulus")
def node_exporter_back(stack: Target) -> Stimulus:
    changed_at = time.time()
    stack.start_component("node-exporter")
    return Stimulus("the node exporter back", {"job": "node-exporter"}, changed_at)
