"""Steps of a GPU fleet: thousands of simulated GPU nodes whose alerts travel the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator

from pytest_bdd import given, parsers, then, when

from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.pipelines.alert_journey import AlertPipeline, Delivery, Stimulus
from odin_acceptance.pipelines.gpu_node import GpuNode
from odin_acceptance.target_api.base import Target
from odin_acceptance.targets.gpu_fleet import GpuFleet
from odin_acceptance.verdicts import cluster_checks, fleet_alerts


@given(
    parsers.parse(
        "a fleet of {nodes:n} GPU nodes with {gpus:d} GPUs each at {celsius:g} °C, found through pod discovery"
    ),
    target_fixture="fleet",
)
def gpu_fleet(target: Target, scenario_evidence: ScenarioEvidence, nodes: int, gpus: int, celsius: float) -> GpuFleet:
    fleet = target.cluster.gpu_fleet(nodes, gpus, celsius)
    for step, seconds in fleet.seconds.items():
        scenario_evidence.record(
            f"fleet of {nodes:,} GPU nodes: {step}", seconds, "s", note="since the fleet step began"
        )
    return fleet


@given("the alerting stack watches the fleet", target_fixture="pipeline")
def fleet_pipeline(target: Target, fleet: GpuFleet) -> AlertPipeline:
    return AlertPipeline(target, fleet.endpoints(target.stack.endpoints))


@given(parsers.parse("GPU node {number:n} of the fleet"), target_fixture="gpu_node")
def fleet_node(fleet: GpuFleet, number: int) -> Iterator[GpuNode]:
    node = fleet.node(number)
    yield node
    node.reset(fleet.celsius)


@when(parsers.parse("GPU {gpu:d} of {count:d} nodes reports {celsius:g} °C at once"), target_fixture="stimuli")
def many_gpus(fleet: GpuFleet, gpu: int, count: int, celsius: float) -> Iterator[list[Stimulus]]:
    nodes = fleet.spread(count)
    yield [node.set(gpu, f"GPU {gpu} of {node.hostname} at {celsius:g} °C", temperature_c=celsius) for node in nodes]
    for node in nodes:
        node.reset(fleet.celsius)


@then(
    parsers.parse(
        'it is the only GPU alert of the fleet\'s {gpus:n} GPUs, and receiver "{receiver}" is told of it once '
        "in the next {quiet}"
    )
)
def only_alert(
    pipeline: AlertPipeline,
    fleet: GpuFleet,
    delivery: Delivery,
    timing_profile: TimingProfile,
    scenario_evidence: ScenarioEvidence,
    gpus: int,
    receiver: str,
    quiet: str,
) -> None:
    assert fleet.size.gpus == gpus, f"the fleet has {fleet.size.gpus} GPUs, the scenario speaks of {gpus}"
    fleet_alerts.only_one(pipeline, delivery, receiver, timing_profile.plan(quiet), scenario_evidence, gpus)


@then(
    parsers.parse(
        'receiver "{receiver}" gets all their "{alert}" alerts in one group, the last notification naming every GPU, '
        "once the condition has held for {hold} with a group wait of {wait} and a group interval of {interval}"
    )
)
def one_group(
    pipeline: AlertPipeline,
    stimuli: list[Stimulus],
    timing_profile: TimingProfile,
    scenario_evidence: ScenarioEvidence,
    receiver: str,
    alert: str,
    hold: str,
    wait: str,
    interval: str,
) -> None:
    window = pipeline.window(timing_profile.plan(hold), timing_profile.plan(wait))
    # Scrapes of a thousand targets spread over the interval: the crossings may turn pending
    # an evaluation apart, and the later ones join the group at its next group_interval.
    deadline = window.latest + window.evaluation + timing_profile.plan(interval)
    fleet_alerts.grouped(pipeline, stimuli, receiver, alert, window, deadline, scenario_evidence)


@when(parsers.parse("the cluster grows to {nodes:n} nodes"))
def cluster_grows(target: Target, nodes: int) -> None:
    k = target.cluster.kubernetes()
    before, present = cluster_checks.desired_pods(k, "promtail"), len(k.node_names(from_cache=False))
    grown = target.cluster.grow_to(nodes)
    assert grown == nodes, f"the cluster has {grown} nodes, not {nodes}"
    if grown > present:
        cluster_checks.await_daemonset_reacts(k, "promtail", before, grown - present)
