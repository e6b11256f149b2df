"""The GPU signals the fake DCGM exporter serves, in one table: the exporter's field, the DCGM
metric it becomes, its unit, and an idle H100's value. The exporter, the steps that drive it
(through pipelines/gpu_node.py) and the offline rule tests read this table, so a new signal is
one row (then a rule and a feature row). Standard library only: it is mounted beside the
instruments in a stock python pod."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuSignal:
    field: str  # what the exporter's /gpus API and a step call it
    metric: str  # the DCGM field, as dcgm-exporter names the metric
    unit: str
    help: str  # the metric's HELP text, as dcgm-exporter writes it
    idle: float  # an idle NVIDIA H100 80GB HBM3


# In dcgm-exporter's default-counters order; all are gauges.
SIGNALS = (
    GpuSignal("temperature_c", "DCGM_FI_DEV_GPU_TEMP", "°C", "GPU temperature (in C).", 35.0),
    GpuSignal("power_w", "DCGM_FI_DEV_POWER_USAGE", "W", "Power draw (in W).", 70.0),
    GpuSignal("power_limit_w", "DCGM_FI_DEV_POWER_MGMT_LIMIT", "W", "Power management limit (in W).", 700.0),
    GpuSignal("utilization_pct", "DCGM_FI_DEV_GPU_UTIL", "%", "GPU utilization (in %).", 0.0),
    GpuSignal("fb_free_mib", "DCGM_FI_DEV_FB_FREE", "MiB", "Framebuffer memory free (in MiB).", 81559.0),
    GpuSignal("fb_used_mib", "DCGM_FI_DEV_FB_USED", "MiB", "Framebuffer memory used (in MiB).", 0.0),
)
BY_FIELD = {signal.field: signal for signal in SIGNALS}
MODEL = "NVIDIA H100 80GB HBM3"


class UnknownSignal(LookupError):
    """A GPU field no row of the table names."""


def signal(field: str) -> GpuSignal:
    """The row of `field`, or an error that names the fields there are and where to add one."""
    try:
        return BY_FIELD[field]
    except KeyError:
        raise UnknownSignal(
            f"no GPU signal {field!r}: the fake DCGM exporter serves {', '.join(BY_FIELD)} "
            "(a new one is a row of odin_acceptance/instruments/gpu_signals.py)"
        ) from None


def metric(field: str) -> str:
    """The DCGM metric of an exporter field."""
    return signal(field).metric
