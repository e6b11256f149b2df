"""The live alert bounds are the plan's: their scrape and evaluation terms come from the
features' duration table (alert_rules.feature), a running config that differs fails instead
of widening them, and the hold is judged exactly enough to tell one `for` from the next
evaluation's. Offline: the running stack is the manifests' config (as rendered for a profile)."""

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from odin_acceptance.clients.prometheus_api import RuleAlert
from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.core.timing_profiles import PROFILES, TimingProfile, delivery_window
from odin_acceptance.core.workloads import Workload
from odin_acceptance.pipelines.alert_journey import AlertPipeline
from odin_acceptance.pipelines.log_workloads import ErrorWriter
from odin_acceptance.stack_config import manifests, plan_durations, render
from odin_acceptance.stack_config.manifests import CONFIGS
from odin_acceptance.stack_config.model import StackConfig
from odin_acceptance.verdicts import alert_verdicts, log_alerts
from tests.suite_runs import edit


def _running(manifest_dir: Path, profile: TimingProfile) -> StackConfig:
    """The configs as a stack on `profile` runs them (durations scaled, as the local target renders)."""
    objs = manifests.load(manifest_dir)
    return StackConfig(
        lambda name: render.scale_durations(name, objs.config_file(*CONFIGS[name]), profile), "the running stack"
    )


def _target(manifest_dir: Path, profile: TimingProfile = PROFILES["real"]) -> SimpleNamespace:
    return SimpleNamespace(
        stack=SimpleNamespace(config=_running(manifest_dir, profile), endpoints=None), profile=profile
    )


class _Loki:
    def __init__(self, alerts: list[RuleAlert]) -> None:
        self._alerts = alerts

    def alerts(self) -> list[RuleAlert]:
        return self._alerts


def _pod_error_burst_pending(manifest_dir: Path, pending_after: float) -> None:
    """Judges a PodErrorBurst that fired for a writer, pending `pending_after` s after the
    writer's first error line, as the live scenario does."""
    workload = Workload("odin-test-x", "errors-x", "writer")
    started = time.time() - pending_after - 1
    alert = RuleAlert({"alertname": "PodErrorBurst", "pod": workload.pod}, {}, "firing", started + pending_after, "11")
    logs = SimpleNamespace(target=_target(manifest_dir), loki=_Loki([alert]))
    evidence = EvidenceLog().for_scenario("PodErrorBurst")
    log_alerts.fires(logs, evidence, ErrorWriter(workload, started, 0), "PodErrorBurst", 60.0)


def test_the_plans_loki_interval_bounds_pod_error_burst(manifest_copy):
    # Crossed at the 11th line, ingested within 10 s, then at most one evaluation (1m): 81 s.
    _pod_error_burst_pending(manifest_copy, 40.0)
    with pytest.raises(AssertionError, match=r"turned pending 90\.0 s after the errors started"):
        _pod_error_burst_pending(manifest_copy, 90.0)


def test_a_ten_minute_loki_rule_interval_fails_instead_of_widening_pod_error_bursts_bound(manifest_copy):
    edit(manifest_copy / "loki" / "rules" / "log-alerts.yaml", "interval: 1m", "interval: 10m")
    # Pending 5 minutes after the errors began: only a 10-minute evaluation explains it.
    with pytest.raises(AssertionError, match=r"every Loki rule group's interval: group .* is 10m in the running"):
        _pod_error_burst_pending(manifest_copy, 300.0)


def test_the_delivery_window_is_the_tables_in_the_runs_profile():
    plan = plan_durations.table()
    assert plan[plan_durations.SCRAPE][0] == "15s" and plan[plan_durations.EVALUATION][0] == "30s"
    real = AlertPipeline(_target(manifests.BASE)).window(120.0, 10.0)
    assert (real.scrape, real.evaluation, real.hold, real.latest) == (15, 30, 120, 175)
    fast = PROFILES["fast"]
    window = AlertPipeline(_target(manifests.BASE, fast)).window(fast.plan("2 minutes"), fast.plan("10 seconds"))
    assert (window.scrape, window.evaluation, window.hold) == (0.5, 1.0, 4.0)


@pytest.mark.parametrize(
    ("path", "old", "new", "setting"),
    [
        ("prometheus/prometheus.yml", "scrape_interval: 15s", "scrape_interval: 30s", plan_durations.SCRAPE),
        ("prometheus/alert-rules.yml", "interval: 30s", "interval: 1m", plan_durations.EVALUATION),
    ],
)
def test_a_running_interval_other_than_the_tables_fails_the_window(manifest_copy, path, old, new, setting):
    edit(manifest_copy / path, old, new)
    fast = PROFILES["fast"]
    with pytest.raises(AssertionError, match=f"{setting}: .* in the running stack; .* in the fast profile"):
        AlertPipeline(_target(manifest_copy, fast)).window(4.0, 0.333)


@pytest.mark.parametrize(
    ("held", "within"),
    [(120.0, True), (120.004, True), (150.0, False), (90.0, False), (0.0, False)],
    ids=["the plan's 2m", "2m, a few ms off", "2m29s: one evaluation more", "1m31s: one less", "for: 0"],
)
def test_the_hold_tells_the_plans_for_from_the_next_evaluations(held, within):
    window = delivery_window(scrape=15, evaluation=30, for_=120, group_wait=10)
    evidence = EvidenceLog().for_scenario("GPU")
    if within:
        alert_verdicts.held_bound(evidence, "GPUHighTemperature", held, window)
    else:
        with pytest.raises(AssertionError, match="the rule's `for` differs from the plan"):
            alert_verdicts.held_bound(evidence, "GPUHighTemperature", held, window)
