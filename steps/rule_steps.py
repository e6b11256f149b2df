"""Steps that check the rules and configs offline, through their own tools."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from pytest_bdd import given, parsers, then, when

from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.phrases import quoted_list, seconds
from odin_acceptance.offline import config_tools, manifest_checks
from odin_acceptance.offline import rule_unit_tests as rut
from odin_acceptance.offline.config_tools import ManifestConfigs
from odin_acceptance.offline.rule_unit_tests import RuleSpec, UnitTestContext
from odin_acceptance.stack_config import config_durations, manifests
from odin_acceptance.stack_config.model import StackConfig


@given("the configuration of the stack from the manifests", target_fixture="manifest_configs")
def manifest_configs(manifest_dir: Path) -> Iterator[ManifestConfigs]:
    with config_tools.written_configs(manifest_dir) as configs:
        yield configs


@then("promtool accepts the alert rules and the Prometheus configuration")
def promtool_accepts(tools: dict[str, Path], manifest_configs: ManifestConfigs) -> None:
    config_tools.check_rules(tools["promtool"], manifest_configs.paths["alert-rules.yml"])
    config_tools.check_prometheus(tools["promtool"], manifest_configs.paths["prometheus.yml"])


@then("amtool accepts the Alertmanager configuration")
def amtool_accepts(tools: dict[str, Path], manifest_configs: ManifestConfigs) -> None:
    config_tools.check_alertmanager(tools["amtool"], manifest_configs.paths["alertmanager.yml"])


@then("Loki accepts its configuration")
def loki_accepts(tools: dict[str, Path], manifest_configs: ManifestConfigs) -> None:
    # The LogQL alert rules are parsed by Loki's ruler at load time: see "Loki health".
    config_tools.check_loki(tools["loki"], manifest_configs.paths["loki.yaml"])


@then("Promtail accepts its configuration")
def promtail_accepts(tools: dict[str, Path], manifest_configs: ManifestConfigs) -> None:
    config_tools.check_promtail(tools["promtail"], manifest_configs.paths["promtail.yaml"])


@given(
    parsers.re(
        r'the plan\'s rule "(?P<alert>[^"]+)": (?P<signal>.+) (?P<comparison>above|below) '
        r'(?P<threshold>[0-9.]+) for (?P<hold>.+), severity "(?P<severity>[^"]+)"'
    ),
    target_fixture="rule_spec",
)
def plan_rule(alert: str, signal: str, comparison: str, threshold: str, hold: str, severity: str) -> RuleSpec:
    return RuleSpec(alert, signal, comparison, float(threshold), seconds(hold), severity)


@given(parsers.parse('the plan\'s rule "{alert}": always firing, severity "{severity}"'), target_fixture="rule_spec")
def plan_rule_always(alert: str, severity: str) -> RuleSpec:
    return RuleSpec(alert, "nothing", "always", 0.0, 0.0, severity)


@when(
    parsers.parse("promtool runs the rule unit tests for it with the signal at {alerting:g}"),
    target_fixture="unit_tests",
)
def unit_tests_at(
    tools: dict[str, Path],
    manifest_configs: ManifestConfigs,
    rule_spec: RuleSpec,
    plan_evaluation: float,
    alerting: float,
) -> UnitTestContext:
    rules = manifest_configs.paths["alert-rules.yml"]
    return UnitTestContext.with_signal_at(rule_spec, tools["promtool"], rules, plan_evaluation, alerting)


@when(
    "promtool runs the rule unit tests for it with an idle machine going to full load on every core",
    target_fixture="unit_tests",
)
def unit_tests_cpu_load(
    tools: dict[str, Path], manifest_configs: ManifestConfigs, rule_spec: RuleSpec, plan_evaluation: float
) -> UnitTestContext:
    rules = manifest_configs.paths["alert-rules.yml"]
    return UnitTestContext.with_cpu_load(rule_spec, tools["promtool"], rules, plan_evaluation)


@when("promtool runs the rule unit tests for it", target_fixture="unit_tests")
def unit_tests_plain(
    tools: dict[str, Path], manifest_configs: ManifestConfigs, rule_spec: RuleSpec, plan_evaluation: float
) -> UnitTestContext:
    rules = manifest_configs.paths["alert-rules.yml"]
    return UnitTestContext.always(rule_spec, tools["promtool"], rules, plan_evaluation)


def _run(
    unit_tests: UnitTestContext, evidence: ScenarioEvidence, check: rut.Check, value: float | None = None
) -> tuple[bool, str]:
    ok, output = unit_tests.check(check, value)
    # The figure is the simulated moment promtool judged, which is what the plan specifies.
    evidence.record(f"promtool: {check.name}", check.at_seconds, "s (simulated)", note="pass" if ok else "FAIL")
    return ok, output


@then("it is pending as soon as the signal is past the threshold")
def pending_at_once(unit_tests: UnitTestContext, scenario_evidence: ScenarioEvidence) -> None:
    spec = unit_tests.spec
    check = rut.Check(
        "pending as soon as past the threshold", rut.count_expr(spec.alert, "pending"), unit_tests.start, rut.ONE
    )
    ok, output = _run(unit_tests, scenario_evidence, check)
    assert ok, (
        f"{spec.alert} is not pending with {spec.signal} at {unit_tests.alerting:g}: the rule's threshold "
        f"or expression differs from the plan ({spec.explain()}).\npromtool: {output}"
    )


@then(parsers.parse("it is not firing a moment before {hold} has passed"))
@then(parsers.parse("it is not firing a moment before {hold} of full load"))
def not_firing_before(unit_tests: UnitTestContext, scenario_evidence: ScenarioEvidence, hold: str) -> None:
    spec = unit_tests.spec
    at = unit_tests.start + seconds(hold) - 1
    check = rut.Check(f"not firing at {at:g} s", rut.count_expr(spec.alert, "firing"), at, [])
    ok, output = _run(unit_tests, scenario_evidence, check)
    assert ok, (
        f"{spec.alert} already fires {at - unit_tests.start:g} s after the condition began: its `for` is "
        f"shorter than the plan's {hold} ({spec.explain()}).\npromtool: {output}"
    )


@then(parsers.parse('it fires with severity "{severity}" once {hold} has passed'))
@then(parsers.parse('it fires with severity "{severity}" once {hold} of full load have passed'))
def fires_after_hold(
    unit_tests: UnitTestContext, scenario_evidence: ScenarioEvidence, severity: str, hold: str
) -> None:
    spec = unit_tests.spec
    at = unit_tests.start + seconds(hold) + unit_tests.tolerance
    check = rut.Check(f"firing at {at:g} s", rut.state_expr(spec.alert, "firing"), at, rut.firing(severity))
    ok, output = _run(unit_tests, scenario_evidence, check)
    assert ok, (
        f"{spec.alert} is not firing with severity {severity!r} {at - unit_tests.start:g} s after "
        f"{spec.signal} reached {unit_tests.alerting:g}: the threshold, `for` or severity differs from "
        f"the plan ({spec.explain()}).\npromtool: {output}"
    )


@then(parsers.parse('it fires with severity "{severity}" from the first evaluation on'))
def fires_from_start(unit_tests: UnitTestContext, scenario_evidence: ScenarioEvidence, severity: str) -> None:
    fires_after_hold(unit_tests, scenario_evidence, severity, "0 seconds")


@then("it never fires with the signal exactly at the threshold")
def never_at_threshold(unit_tests: UnitTestContext, scenario_evidence: ScenarioEvidence) -> None:
    spec = unit_tests.spec
    at = spec.hold + 60
    check = rut.Check(f"quiet at the threshold until {at:g} s", rut.count_expr(spec.alert, "firing"), at, [])
    ok, output = _run(unit_tests, scenario_evidence, check, value=spec.threshold)
    assert ok, (
        f"{spec.alert} fires with {spec.signal} exactly at {spec.threshold:g}: the threshold or the "
        f"comparison differs from the plan ({spec.explain()}).\npromtool: {output}"
    )


@given(
    parsers.parse("the plan evaluates every rule group every {interval:d} seconds"), target_fixture="plan_evaluation"
)
def plan_evaluation(interval: int) -> float:
    return float(interval)


@then("the configuration has these durations:")
def configured_durations(manifest_dir: Path, datatable: list[list[str]]) -> None:
    rows = [(setting, expected, source) for setting, expected, source in datatable[1:]]  # row 1 names the columns
    wrong = config_durations.differences(manifests.load(manifest_dir), rows)
    assert not wrong, "durations differ from the features:\n  " + "\n  ".join(wrong)


def _alertmanager_config(manifest_dir: Path) -> dict:
    return StackConfig.written(manifests.load(manifest_dir)).doc("alertmanager.yml")


@then(parsers.re(r"Alertmanager groups alerts by (?P<labels>.+)"))
def grouped_by(manifest_dir: Path, labels: str) -> None:
    expected = quoted_list(labels)
    found = _alertmanager_config(manifest_dir)["route"].get("group_by", [])
    assert found == expected, f"Alertmanager groups by {found}; the plan groups by {expected}"


@then("Alertmanager has these receivers, each told when an alert resolves:")
def receivers_as_planned(manifest_dir: Path, datatable: list[list[str]]) -> None:
    config = _alertmanager_config(manifest_dir)
    hooks = {r["name"]: r.get("webhook_configs", []) for r in config.get("receivers", [])}
    wrong = []
    for receiver, path, source in datatable[1:]:  # the first row names the columns
        urls = [urlparse(h.get("url", "")).path or "/" for h in hooks.get(receiver, [])]
        if urls != [path]:
            wrong.append(f"{receiver}: webhook paths {urls or 'none'}; {source} says {path}")
        # The watchdog's resolved messages would be noise: a heartbeat never resolves on purpose.
        resolved = [h.get("send_resolved", True) for h in hooks.get(receiver, [])]
        if receiver != "watchdog" and not all(resolved):
            wrong.append(f"{receiver}: does not send resolved notifications; {source} says it does")
    assert not wrong, "receivers differ from the features:\n  " + "\n  ".join(wrong)


@then(parsers.parse('the manifests hold: "{check}"'))
def manifests_hold(manifest_dir: Path, check: str) -> None:
    assert check in manifest_checks.CHECKS, (
        f"no check named {check!r}: add it to odin_acceptance/offline/manifest_checks.py"
    )
    problems = manifest_checks.CHECKS[check](manifests.load(manifest_dir))
    assert not problems, f"{check}: no.\n  " + "\n  ".join(problems)
