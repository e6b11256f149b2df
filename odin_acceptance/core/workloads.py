"""What runs on the stack under test, as every layer names it: a workload's container, a node
the CPU stress loads, the pods of the discovery probe. Plain values, so that pipelines and
verdicts can speak of them without knowing where the stack runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    """One container of a pod, as Loki labels its stream."""

    namespace: str
    pod: str
    container: str

    @property
    def selector(self) -> str:
        return f'{{namespace="{self.namespace}",pod="{self.pod}",container="{self.container}"}}'


@dataclass(frozen=True)
class LoadableNode:
    """A node the CPU-stress instrument can load, and how Prometheus names its exporter."""

    node: str
    instance: str  # the node-exporter target's instance label, which HighCPUUsage carries
    cpus: int


@dataclass(frozen=True)
class StressedNode:
    """A node whose every core the CPU-stress instrument keeps busy."""

    node: str
    instance: str
    started_at: float
    workload: Workload
    seconds: float  # how long the instrument keeps the load on, unless the scenario ends first
    load: float = 1.0  # the share of the node's cores it may keep busy (its CPU limit over its cores)


@dataclass(frozen=True)
class ProbePods:
    namespace: str  # the stack's
    decoy_namespace: str
    decoy: str
    sentinel: str
