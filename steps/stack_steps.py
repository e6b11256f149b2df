"""Steps about the stack as a whole."""

from __future__ import annotations

import time

from pytest_bdd import given, then, when

from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.pipelines.alert_journey import AlertPipeline, Stimulus
from odin_acceptance.pipelines.log_path import LogPipeline
from odin_acceptance.target_api.base import Target
from odin_acceptance.verdicts import rule_health


@given("the alerting stack is running", target_fixture="pipeline")
def alerting_stack(target: Target) -> AlertPipeline:
    return AlertPipeline(target)


@then("every rule group of Prometheus has been evaluated without error")
def prometheus_rules_healthy(pipeline: AlertPipeline, scenario_evidence: ScenarioEvidence) -> None:
    prometheus = pipeline.api.prometheus
    since = rule_health.every_target_scraped(prometheus)
    rule_health.healthy(
        prometheus.rule_groups, since, "every target was scraped", scenario_evidence, "every Prometheus rule group"
    )


@then("every rule group of Loki's ruler has been evaluated without error")
def loki_rules_healthy(logs: LogPipeline, scenario_evidence: ScenarioEvidence) -> None:
    # Promtail may have nothing to push yet (locally it tails only the suite's workloads), so
    # the ruler is judged on evaluations from this scenario on, the stack as it is now.
    since = time.time()
    rule_health.healthy(
        logs.loki.rule_health, since, "the scenario began", scenario_evidence, "every rule group of Loki's ruler"
    )


# The moment of change is taken before the action: the exporter's state can change (and be
# scraped, evaluated and notified) while the call still waits for the process to exit or
# to be ready, and a notification before that moment would not count.
@when("the node exporter stops", target_fixture="stimulus")
def node_exporter_stops(target: Target) -> Stimulus:
    changed_at = time.time()
    target.stack.stop_component("node-exporter")
    return Stimulus("the node exporter stopped", {"job": "node-exporter"}, changed_at)


@when("the node exporter is back", target_fixture="stimulus")
def node_exporter_back(target: Target) -> Stimulus:
    changed_at = time.time()
    target.stack.start_component("node-exporter")
    return Stimulus("the node exporter back", {"job": "node-exporter"}, changed_at)
