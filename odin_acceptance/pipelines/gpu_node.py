"""A simulated GPU node: the fake DCGM exporter's GPUs of one host, and the stimuli that
change what they report."""

from __future__ import annotations

import time
from dataclasses import dataclass

from odin_acceptance.clients import links
from odin_acceptance.clients.instrument_clients import FakeDcgmClient
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import Poll, eventually, holds_for
from odin_acceptance.instruments.gpu_signals import metric
from odin_acceptance.pipelines.alert_journey import AlertPipeline, Stimulus


@dataclass(frozen=True)
class GpuNode:
    hostname: str
    gpus: int
    dcgm: FakeDcgmClient

    def set(self, gpu: int, description: str, **fields: float) -> Stimulus:
        assert 0 <= gpu < self.gpus, f"the node has GPUs 0..{self.gpus - 1}, not GPU {gpu}"
        selector = f'{{Hostname="{self.hostname}",gpu="{gpu}"}}'
        # A subquery, so a value that was served only briefly (a spike) still counts as seen.
        # The metrics first: a field the signal table lacks is an error before anything is set.
        seen = " and ".join(
            f"max_over_time(({metric(k)}{selector} == bool {v:g})[10m:1s]) == 1" for k, v in fields.items()
        )
        state = self.dcgm.set_gpu(self.hostname, gpu, **fields)
        return Stimulus(description, {"Hostname": self.hostname, "gpu": str(gpu)}, state["changed_at"], seen)

    def uuid(self, gpu: int) -> str:
        return next(g["uuid"] for g in self.dcgm.gpus() if g["Hostname"] == self.hostname and g["gpu"] == gpu)

    @classmethod
    def start(cls, pipeline: AlertPipeline, hostname: str, count: int, celsius: float) -> GpuNode:
        """A node whose `count` GPUs report `celsius`, once Prometheus has scraped them all:
        the scenario's stimuli are timed from there."""
        node = cls(hostname, count, pipeline.api.dcgm)
        for gpu in range(count):
            node.set(gpu, "idle", temperature_c=celsius)
        eventually(
            lambda: _assert_scraped(pipeline, node.hostname, count),
            timeout=timeouts.TARGET_UP + 2 * pipeline.scrape_interval(),
            what=f"Prometheus to scrape the {count} GPUs of {node.hostname}",
            needs=(links.scrapes("dcgm-exporter"),),
        )
        return node

    def reset(self, celsius: float) -> None:
        """Every GPU back at `celsius`, nothing else changed (a fleet's node outlives a scenario)."""
        for gpu in range(self.gpus):
            self.dcgm.set_gpu(self.hostname, gpu, temperature_c=celsius)

    def remove(self) -> None:
        self.dcgm.remove_host(self.hostname)

    def spike(self, pipeline: AlertPipeline, gpu: int, celsius: float, length: float, after: float) -> Stimulus:
        """GPU `gpu` at `celsius` for `length` seconds, then at `after`. The spike must be seen
        (GPUHighTemperature pending), or "it did not fire" would prove nothing; it must not
        fire while the spike lasts."""
        stimulus = self.set(gpu, f"GPU {gpu} at {celsius:g} °C for {length:g} s", temperature_c=celsius)
        # Seen within one scrape and one evaluation (S+E) plus the processing slack, as every
        # crossing is; a spike shorter than that lasts until it is seen, which only brings it
        # closer to the hold it must stay under.
        seen_by = pipeline.scrape_interval() + pipeline.evaluation_interval() + timeouts.DELIVERY_SLACK
        eventually(
            lambda: _assert_state(pipeline, "GPUHighTemperature", stimulus, "pending"),
            timeout=max(length, seen_by),
            what=f"Prometheus to see the spike ({stimulus.description}) as pending",
            poll=Poll(0.05, 0.1),  # its moment matters: the spike ends once it is seen
        )
        remaining = stimulus.changed_at + length - time.time()
        if remaining > 0:
            holds_for(
                lambda: _assert_not_firing(pipeline, stimulus), duration=remaining, what="no firing during the spike"
            )
        self.set(gpu, f"GPU {gpu} back at {after:g} °C", temperature_c=after)
        return stimulus


def _assert_scraped(pipeline: AlertPipeline, host: str, count: int) -> None:
    series = pipeline.api.prometheus.query(f'{metric("temperature_c")}{{Hostname="{host}"}}')
    assert len(series) == count, f"{len(series)} of {count} GPU series scraped"


def _assert_state(pipeline: AlertPipeline, alertname: str, stimulus: Stimulus, state: str) -> None:
    states = [a.state for a in pipeline.rule_alerts(alertname, stimulus.labels)]
    assert state in states, f"{alertname} states: {states or 'inactive'}"


def _assert_not_firing(pipeline: AlertPipeline, stimulus: Stimulus) -> None:
    states = [a.state for a in pipeline.rule_alerts("GPUHighTemperature", stimulus.labels)]
    assert "firing" not in states, "GPUHighTemperature fired during a spike shorter than its hold"
