"""Steps that drive the fake DCGM exporter: GPU nodes and the values their GPUs report."""

from __future__ import annotations

from collections.abc import Iterator

from pytest_bdd import given, parsers, when

from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.pipelines.alert_journey import AlertPipeline, Stimulus
from odin_acceptance.pipelines.gpu_node import GpuNode


@given(parsers.parse("a GPU node with {count:d} GPUs at {celsius:g} °C"), target_fixture="gpu_node")
def gpu_node(pipeline: AlertPipeline, run_id: str, count: int, celsius: float) -> Iterator[GpuNode]:
    node = GpuNode.start(pipeline, f"gpu-node-{run_id}", count, celsius)
    yield node
    node.remove()


@when(parsers.parse("GPU {gpu:d} reports {celsius:g} °C"), target_fixture="stimulus")
def gpu_temperature(gpu_node: GpuNode, gpu: int, celsius: float) -> Stimulus:
    return gpu_node.set(gpu, f"GPU {gpu} at {celsius:g} °C", temperature_c=celsius)


@when(parsers.parse("GPU {gpu:d} reports {used:g} MiB of {total:g} MiB framebuffer used"), target_fixture="stimulus")
def gpu_memory(gpu_node: GpuNode, gpu: int, used: float, total: float) -> Stimulus:
    return gpu_node.set(
        gpu, f"GPU {gpu} with {used:g} of {total:g} MiB used", fb_used_mib=used, fb_free_mib=total - used
    )


@when(parsers.parse("GPU {gpu:d} reports {watts:g} W against a {limit:g} W power limit"), target_fixture="stimulus")
def gpu_power(gpu_node: GpuNode, gpu: int, watts: float, limit: float) -> Stimulus:
    return gpu_node.set(gpu, f"GPU {gpu} drawing {watts:g} W of {limit:g} W", power_w=watts, power_limit_w=limit)


@when(parsers.parse("GPU {gpu:d} reports {celsius:g} °C for {spike} and then {after:g} °C"), target_fixture="stimulus")
def gpu_spike(
    gpu_node: GpuNode,
    pipeline: AlertPipeline,
    timing_profile: TimingProfile,
    gpu: int,
    celsius: float,
    spike: str,
    after: float,
) -> Stimulus:
    return gpu_node.spike(pipeline, gpu, celsius, timing_profile.plan(spike), after)
