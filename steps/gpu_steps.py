"""Steps that drive the fake DCGM exporter: GPU nodes and the values their GPUs report."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from pytest_bdd import given, parsers, when

from fixtures import links, timeouts
from fixtures.alerting import AlertPipeline, Stimulus
from fixtures.instrument_clients import FakeDcgmClient
from fixtures.phrases import seconds
from fixtures.polling import eventually, holds_for
from fixtures.timing import TimingProfile

_METRIC_OF = {
    "temperature_c": "DCGM_FI_DEV_GPU_TEMP",
    "fb_used_mib": "DCGM_FI_DEV_FB_USED",
    "fb_free_mib": "DCGM_FI_DEV_FB_FREE",
    "power_w": "DCGM_FI_DEV_POWER_USAGE",
    "power_limit_w": "DCGM_FI_DEV_POWER_MGMT_LIMIT",
}


@dataclass(frozen=True)
class GpuNode:
    hostname: str
    gpus: int
    dcgm: FakeDcgmClient

    def set(self, gpu: int, description: str, **fields: float) -> Stimulus:
        assert 0 <= gpu < self.gpus, f"the node has GPUs 0..{self.gpus - 1}, not GPU {gpu}"
        state = self.dcgm.set_gpu(self.hostname, gpu, **fields)
        selector = f'{{Hostname="{self.hostname}",gpu="{gpu}"}}'
        # A subquery, so a value that was served only briefly (a spike) still counts as seen.
        seen = " and ".join(
            f"max_over_time(({_METRIC_OF[k]}{selector} == bool {v:g})[10m:1s]) == 1" for k, v in fields.items()
        )
        return Stimulus(description, {"Hostname": self.hostname, "gpu": str(gpu)}, state["changed_at"], seen)

    def uuid(self, gpu: int) -> str:
        return next(g["uuid"] for g in self.dcgm.gpus() if g["Hostname"] == self.hostname and g["gpu"] == gpu)


@given(parsers.parse("a GPU node with {count:d} GPUs at {celsius:g} °C"), target_fixture="gpu_node")
def gpu_node(pipeline: AlertPipeline, run_id: str, count: int, celsius: float) -> Iterator[GpuNode]:
    node = GpuNode(f"gpu-node-{run_id}", count, pipeline.api.dcgm)
    for gpu in range(count):
        node.set(gpu, "idle", temperature_c=celsius)
    # The scenario's stimuli are timed from here: the idle series must be in Prometheus first.
    eventually(
        lambda: _assert_scraped(pipeline, node.hostname, count),
        timeout=timeouts.TARGET_UP + 2 * pipeline.scrape_interval("dcgm-exporter"),
        what=f"Prometheus to scrape the {count} GPUs of {node.hostname}",
        needs=(links.scrapes("dcgm-exporter"),),
    )
    yield node
    node.dcgm.remove_host(node.hostname)


def _assert_scraped(pipeline: AlertPipeline, host: str, count: int) -> None:
    series = pipeline.api.prometheus.query(f'DCGM_FI_DEV_GPU_TEMP{{Hostname="{host}"}}')
    assert len(series) == count, f"{len(series)} of {count} GPU series scraped"


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
    length = timing_profile.scale(seconds(spike))
    stimulus = gpu_node.set(gpu, f"GPU {gpu} at {celsius:g} °C for {spike}", temperature_c=celsius)
    # The spike must really be seen, or "it did not fire" would prove nothing.
    eventually(
        lambda: _assert_state(pipeline, "GPUHighTemperature", stimulus, "pending"),
        timeout=length,
        what=f"Prometheus to see the spike ({stimulus.description}) as pending",
    )
    remaining = stimulus.changed_at + length - time.time()
    if remaining > 0:
        holds_for(lambda: _assert_not_firing(pipeline, stimulus), duration=remaining, what="no firing during the spike")
    gpu_node.set(gpu, f"GPU {gpu} back at {after:g} °C", temperature_c=after)
    return stimulus


def _assert_state(pipeline: AlertPipeline, alertname: str, stimulus: Stimulus, state: str) -> None:
    states = [a.state for a in pipeline.rule_alerts(alertname, stimulus.labels)]
    assert state in states, f"{alertname} states: {states or 'inactive'}"


def _assert_not_firing(pipeline: AlertPipeline, stimulus: Stimulus) -> None:
    states = [a.state for a in pipeline.rule_alerts("GPUHighTemperature", stimulus.labels)]
    assert "firing" not in states, "GPUHighTemperature fired during a spike shorter than its hold"
