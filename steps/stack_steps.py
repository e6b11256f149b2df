"""Steps about the stack as a whole."""

from __future__ import annotations

from pytest_bdd import given, then

from fixtures import rule_health, timeouts
from fixtures.alerting import AlertPipeline
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
