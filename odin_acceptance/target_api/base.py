"""The interface every target implements: the Target, its options, endpoints and errors, and
the names of the capabilities its parts provide. Pipelines and verdicts see a target only
through this layer, which sits below them and imports no Kubernetes code."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odin_acceptance.clients.alertmanager_api import AlertmanagerApi
from odin_acceptance.clients.instrument_clients import FakeDcgmClient, WebhookReceiverClient
from odin_acceptance.clients.json_http import JsonApi
from odin_acceptance.clients.loki_api import LokiApi
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core.artifacts import Artifacts, from_titles
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.provisioning.versions import Component
from odin_acceptance.target_api.parts import Cluster, Nodes, Part, Stack, TargetError

# --keep-resources: what a Kubernetes target leaves in the cluster after the run.
# kwok's simulated nodes: one control plane and two workers, as the kind cluster of
# overlays/kind-cluster.yaml.
DEFAULT_NODES = 3
KEEP_RESOURCES = ("never", "on-failure", "always")


@dataclass(frozen=True)
class TargetOptions:
    """What the command line says about where the stack runs; each target reads its part."""

    profile: TimingProfile
    manifest_dir: Path
    kubeconfig: str | None = None  # kind, cluster: None is the client's default
    context: str | None = None  # cluster
    keep_resources: str = "never"  # kind, cluster: never | on-failure | always
    keep_cluster: bool = False  # kind: keep a cluster the run created
    kind_node_image: str | None = None  # kind: a reference, `built` (kind_node_image.BUILT), None: the pinned one
    keep_run_dir: bool = False  # local, kwok
    nodes: int = DEFAULT_NODES  # kwok
    gpu_nodes: int = 0  # kwok: ODIN GPU nodes beside the `nodes`
    gpus_per_node: int = 8  # kwok: GPUs of each GPU node
    # Where a long set-up step (an image build: minutes) says how it goes; a pytest run shows
    # it past output capture.
    progress: Callable[[str], None] = print


@dataclass(frozen=True)
class Endpoints:
    prometheus: PrometheusApi
    alertmanager: AlertmanagerApi
    webhook: WebhookReceiverClient
    dcgm: FakeDcgmClient
    loki: LokiApi | None  # None where Loki was not supplied (odin_acceptance.provisioning.supplied)
    promtail: JsonApi | None  # the single Promtail of the local target; one per node elsewhere
    grafana: JsonApi | None = None  # where Grafana runs: supplied, or deployed in a cluster

    def require_loki(self) -> LokiApi:
        if self.loki is None:  # scenarios tagged @loki are skipped before anything starts
            raise TargetError("no Loki on this target: it was not supplied (see --component)")
        return self.loki


def api_snapshots(endpoints: Endpoints) -> dict[str, str]:
    """What the stack's APIs said at the moment of a failure, for the report."""
    e = endpoints
    fetches: dict[str, Callable[[], object]] = {
        "Prometheus alerts": lambda: e.prometheus.get_json("/api/v1/alerts"),
        "Prometheus targets": e.prometheus.targets,
        "Alertmanager alerts": e.alertmanager.alerts,
        "webhook notifications": lambda: e.webhook.get_json("/notifications"),
    }
    if e.loki is not None:
        loki = e.loki
        fetches["Loki streams (last hour)"] = lambda: loki.series('{namespace=~".+"}')
        fetches["Loki rules"] = loki.rule_groups
    out = {}
    for title, fetch in fetches.items():
        try:
            out[title] = json.dumps(fetch(), indent=1)[-6000:]
        except Exception as exc:  # diagnostics must never mask the real failure
            out[title] = f"unavailable: {exc}"
    return out


# What a target can do. A scenario's tags say what it needs (the tag table, target_api/tags.py); where a
# target lacks it the scenario is skipped with that need's reason, which the report shows.
KUBERNETES_API = "kubernetes API"
REAL_CONTAINERS = "containers on every node"
COMPONENT_FAULTS = "component faults"  # it can stop and start one component of the stack
# Loki, Promtail and Grafana are processes of this machine: they run only where the user
# supplied them (odin_acceptance.provisioning.supplied); elsewhere the cluster pulls their images.
SUPPLIED_EXECUTABLES = "supplied executables"
# Loki, Promtail and Grafana can run in the target's cluster: an existing cluster pulls their
# images; a kind cluster has them only where this machine's Docker holds them (the suite never
# fetches them: AGPL-3.0), so without them kind deploys the rest of the stack.
LOG_COMPONENTS = "Loki, Promtail and Grafana in the cluster"
# A Prometheus runs the manifests' Kubernetes pod discovery against the target's cluster.
POD_DISCOVERY = "Prometheus's Kubernetes discovery"
# The cluster's nodes are simulated: thousands of GPU nodes fit on one machine.
SIMULATED_FLEET = "a simulated GPU fleet"
# Each node's CPU counters are its own: loading one node shows on that node alone. kind's
# nodes are containers on one kernel, so every node-exporter reads the host's /proc/stat.
PER_NODE_CPU = "per-node CPU isolation"


class Target:
    """A target is its parts: an optional `cluster`, the `stack` under test and the `nodes`
    workloads run on (odin_acceptance.target_api.parts). Scenarios reach each through its part
    (`target.stack.endpoints`, `target.nodes.start_workload`, `target.cluster.kubernetes()`);
    the target itself only starts, stops and reports them in order."""

    name: str
    # The part classes a target is built from; its capabilities are theirs (__init_subclass__).
    parts: tuple[type[Part], ...] = ()
    capabilities: frozenset[str] = frozenset()
    # A scaled profile only where the suite renders the configs it runs (it rescales their durations).
    default_timing: str = "real"
    # Where Loki is supplied, so the run's log scenarios can run (None: default_timing).
    default_timing_with_logs: str | None = None
    # Components built before the run besides the stack's own (the kwok control plane).
    provisions: tuple[Component, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.capabilities = frozenset().union(*(part.provides for part in cls.parts))

    def __init__(self, *, profile: TimingProfile, stack: Stack, nodes: Nodes, cluster: Cluster | None = None) -> None:
        self.profile = profile
        self.stack = stack
        self.nodes = nodes
        self._cluster = cluster

    @classmethod
    def preflight(cls, options: TargetOptions) -> frozenset[str]:
        """What the parts need from the host (Docker, kubectl, openssl, limits) and, for an
        existing cluster, from the cluster, checked in seconds before anything is fetched or
        started; raises TargetError with the fix. Returns what the target can do here, which
        decides the scenarios it skips."""
        return frozenset().union(*(part.preflight(options) for part in cls.parts))

    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            raise TargetError(f"the {self.name} target has no Kubernetes API")
        return self._cluster

    @property
    def left_behind(self) -> list[str]:
        """What stop() kept in a cluster or would not delete there, for the report."""
        parts = (self.stack, self.nodes, self._cluster)
        return [item for part in parts if part is not None for item in part.left_behind]

    def start(self) -> None:
        """The stack's inputs checked, the cluster, then the stack in it; returns once every
        component is ready."""
        self.stack.prepare()
        if self._cluster is not None:
            self._cluster.start()
        self.stack.start()

    def stop(self, *, failed: bool = False) -> None:
        """Remove everything this target started, the stack before its cluster; safe to call
        twice or after a failed start. `failed`: what a --keep-resources policy looks at."""
        try:
            self.stack.stop(failed=failed)
        finally:
            if self._cluster is not None:
                self._cluster.stop(failed=failed)

    def diagnostics(self) -> dict[str, str]:
        """Log tails, cluster state and API snapshots for a failure report: title -> text."""
        out = self._cluster.diagnostics() if self._cluster is not None else {}
        return {**out, **self.stack.diagnostics()}

    def artifacts(self) -> Artifacts:
        """What a failed or kept run leaves in reports/artifacts/ (odin_acceptance.core.artifacts)."""
        out = from_titles(self._cluster.diagnostics()) if self._cluster is not None else {}
        return {**out, **self.stack.artifacts()}

    def describe(self) -> dict[str, str]:
        """Facts for the report header (versions, addresses, run directory)."""
        facts = self.stack.describe()
        if self._cluster is not None:
            facts.update(self._cluster.describe())
        return facts
