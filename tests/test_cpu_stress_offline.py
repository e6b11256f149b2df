"""The CPU stress on a cluster: what each target can show of "for that node" (a capability
its parts declare, never its name), and a stress pod that cannot starve the node."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import EvidenceLog, ScenarioEvidence
from odin_acceptance.core.timing_profiles import DeliveryWindow
from odin_acceptance.core.workloads import LoadableNode, StressedNode
from odin_acceptance.pipelines.alert_journey import AlertPipeline, FiredAlert, Stimulus
from odin_acceptance.target_api.base import PER_NODE_CPU
from odin_acceptance.targets import skip_reason, target_class
from odin_acceptance.targets.kubernetes import ClusterTarget, KindTarget
from odin_acceptance.verdicts.cpu_window import CpuBaseline, crossing_after
from odin_acceptance.verdicts.shared_cpu import fires_on_shared_counters
from tests.offline_cluster import offline_target


def test_kind_lacks_per_node_cpu_isolation_and_local_and_a_cluster_have_it():
    assert PER_NODE_CPU not in target_class("kind").capabilities, "kind's nodes share the host's kernel"
    assert PER_NODE_CPU in target_class("local").capabilities
    assert PER_NODE_CPU in target_class("cluster").capabilities


@dataclass
class _RecordingKubectl:
    namespace: str
    applied: list[dict] = field(default_factory=list)

    def apply(self, manifest: str) -> str:
        self.applied.append(json.loads(manifest))
        return ""


@pytest.mark.parametrize(("cls", "limit", "load"), [(KindTarget, "3600m", 0.9), (ClusterTarget, "4000m", 1.0)])
def test_the_stress_pod_has_a_cpu_limit_of_its_share_of_the_node(tmp_path, cls, limit, load):
    target = offline_target(cls, tmp_path)
    kubectl = _RecordingKubectl(target.stack.scope.namespace)
    target.stack.deployment.kubectl = kubectl  # type: ignore[assignment]
    stressed = target.nodes.stress_cpu(LoadableNode("worker", "10.244.1.2:9100", 4), "cpu-stress-x", 60)
    [pod] = kubectl.applied
    [container] = pod["spec"]["containers"]
    assert container["resources"]["limits"] == {"cpu": limit}, container.get("resources")
    assert container["command"][-4:] == ["--cpus", "4", "--seconds", "60"], "a busy process per core, under the limit"
    assert stressed.load == load


def test_a_share_of_the_cores_crosses_later_and_never_below_the_threshold():
    quiet = CpuBaseline(busy=0.1, as_the_rule_sees_it=0.1)
    assert crossing_after(300, 0.8, quiet) == pytest.approx(300 * 0.7 / 0.9)
    assert crossing_after(300, 0.8, quiet, load=0.9) == pytest.approx(300 * 0.7 / 0.8)
    with pytest.raises(AssertionError, match="never passes"):
        crossing_after(300, 0.8, quiet, load=0.75)


def test_the_plans_300_second_stress_is_judged_only_where_node_counters_are_their_own():
    tags = {"alerting", "slow", "cpu_stress", "sc3", "per_node_cpu"}  # the D10 scenario's
    assert "share the host's kernel" in (skip_reason(target_class("kind").capabilities, tags) or "")
    assert skip_reason(target_class("local").capabilities, tags) is None


class _StubPipeline(AlertPipeline):
    """The plan's intervals of a fast run, and an alert that fires `after` seconds into the load."""

    def __init__(self, after: float) -> None:
        self.after = after

    def scrape_interval(self) -> float:
        return 0.5

    def evaluation_interval(self) -> float:
        return 1.0

    def wait_firing(self, alertname: str, stimulus: Stimulus, window: DeliveryWindow, job: str) -> FiredAlert:
        self.seen = (stimulus, window)
        return FiredAlert(alertname, stimulus.labels, stimulus, 0.0, self.after, window)


@pytest.mark.parametrize(("after", "passes"), [(20.0, True), (500.0, False), (12.0, False)])
def test_shared_counters_judge_firing_by_the_latest_moment_a_limited_load_allows(after, passes):
    """The kind path's verdict (not run live here: no Docker): a 90 % load of a 10 s window past
    80 % from 0 % busy crosses by 8.9 s, then S+E+H (0.5+1+10) and the slack; a full load
    crosses at 8 s at the earliest (less a scrape and the baseline's jitter), then the 10 s hold:
    firing at 12 s is a shorter window, threshold or hold."""
    pipeline = _StubPipeline(after)
    log = EvidenceLog()
    stressed = StressedNode("n", "n:9100", 0.0, workload=None, seconds=60, load=0.9)  # type: ignore[arg-type]
    judged = lambda: fires_on_shared_counters(  # noqa: E731
        pipeline, ScenarioEvidence(log, "s"), "HighCPUUsage", stressed, CpuBaseline(0.0, 0.0), 10.0, 0.8, 10.0
    )
    if passes:
        judged()
        stimulus, window = pipeline.seen
        assert stimulus.changed_at == pytest.approx(10 * 0.8 / 0.9) and window.hold == 10.0
        [took] = [m for m in log.measurements if m.name == "load start → firing"]
        assert took.high == pytest.approx(10 * 0.8 / 0.9 + 0.5 + 1.0 + 10.0 + timeouts.DELIVERY_SLACK)
        assert took.low == pytest.approx(8.0 - 0.5 - 0.02 + 10.0)
    else:
        with pytest.raises(AssertionError, match=f"fired {after:.0f} s after the load started"):
            judged()
