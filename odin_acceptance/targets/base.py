"""The interface every target implements."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from odin_acceptance.clients.alertmanager_api import AlertmanagerApi
from odin_acceptance.clients.instrument_clients import FakeDcgmClient, WebhookReceiverClient
from odin_acceptance.clients.json_http import JsonApi
from odin_acceptance.clients.kube_api import KubeApi
from odin_acceptance.clients.loki_api import LokiApi
from odin_acceptance.clients.metrics_text import LabelFilter
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core.artifacts import Artifacts, from_titles
from odin_acceptance.core.errors import OdinError
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.core.workloads import LoadableNode, ProbePods, StressedNode, Workload
from odin_acceptance.provisioning.versions import Component
from odin_acceptance.stack_config.model import StackConfig
from odin_acceptance.targets.kube_control_plane import DEFAULT_NODES


class TargetError(OdinError, RuntimeError):
    """The target cannot be brought up; the message says what is missing and the fix."""


# --keep-resources: what a Kubernetes target leaves in the cluster after the run.
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
    keep_run_dir: bool = False  # local, kwok
    nodes: int = DEFAULT_NODES  # kwok


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


# What a target can do. A scenario's tags say what it needs (odin_acceptance.targets.NEEDS); where a
# target lacks it the scenario is skipped with that need's reason, which the report shows.
KUBERNETES_API = "kubernetes API"
REAL_CONTAINERS = "containers on every node"
COMPONENT_FAULTS = "component faults"  # it can stop and start one component of the stack
# Loki, Promtail and Grafana are processes of this machine: they run only where the user
# supplied them (odin_acceptance.provisioning.supplied); elsewhere the cluster pulls their images.
SUPPLIED_EXECUTABLES = "supplied executables"
# A Prometheus runs the manifests' Kubernetes pod discovery against the target's cluster.
POD_DISCOVERY = "Prometheus's Kubernetes discovery"


class Target(ABC):
    name: str
    profile: TimingProfile
    capabilities: frozenset[str] = frozenset()
    # "fast" only where the suite renders the configs it runs (it rescales their durations).
    default_timing: str = "real"
    # Components built before the run besides the stack's own (the kwok control plane).
    provisions: tuple[Component, ...] = ()
    # What stop() kept in a cluster or would not delete there, for the report (kind, cluster).
    left_behind: list[str] | tuple[str, ...] = ()

    @classmethod
    def preflight(cls, options: TargetOptions) -> frozenset[str]:
        """What this target needs from the host (Docker, kubectl, openssl, limits) and, for an
        existing cluster, from the cluster, checked in seconds before anything is fetched or
        started; raises TargetError with the fix. Returns what the target can do here, which
        decides the scenarios it skips."""
        return cls.capabilities  # the local target needs nothing but the components it provisions

    @abstractmethod
    def start(self) -> None:
        """Deploy everything and return once every component is ready."""

    @abstractmethod
    def stop(self, *, failed: bool = False) -> None:
        """Remove everything this target started; safe to call twice or after a failed start.
        `failed`: the run failed (what a --keep-resources policy looks at)."""

    @property
    @abstractmethod
    def endpoints(self) -> Endpoints: ...

    @cached_property
    def stack_config(self) -> StackConfig:
        """The configs the running components read, each fetched and parsed once per run."""
        return StackConfig(self.deployed_config, "the running stack")

    @abstractmethod
    def deployed_config(self, name: str) -> str:
        """The text of a config (a key of CONFIGS) exactly as the running component read it."""

    @abstractmethod
    def deployed_dashboard(self, title: str) -> dict[str, Any]:
        """A Grafana dashboard (by title) as this run provisioned it."""

    @abstractmethod
    def start_workload(
        self, namespace: str, name: str, args: list[str], labels: Mapping[str, str] | None = None
    ) -> Workload:
        """Run the log-writer instrument with `args` as a pod (with `labels` besides its own
        `app`); returns its container."""

    @abstractmethod
    def stop_workload(self, workload: Workload) -> None: ...

    @abstractmethod
    def loadable_node(self) -> LoadableNode:
        """The node a CPU-stress scenario loads (a worker where there are several)."""

    @abstractmethod
    def stress_cpu(self, node: LoadableNode, name: str, seconds: float) -> StressedNode:
        """Keep every core of `node` busy for `seconds` with the CPU-stress instrument;
        `stop_workload(stressed.workload)` ends it early."""

    @abstractmethod
    def wait_workload_done(self, workload: Workload, timeout: float) -> None:
        """Until the workload's writer has printed its last line."""

    @abstractmethod
    def container_log(self, workload: Workload) -> list[tuple[int, str]]:
        """(timestamp ns, line) as the container runtime recorded them."""

    @abstractmethod
    def running_containers(self) -> list[Workload]:
        """Every container this run started (the stack's and its workloads') that is running
        and has written at least one line: each must have a log stream. A quiet container
        has nothing to ship; the cluster's own containers are not this run's to judge."""

    @abstractmethod
    def promtail_metric(self, name: str, where: LabelFilter | None = None) -> float:
        """A metric summed over every Promtail of the target (over the samples whose labels
        pass `where`)."""

    def stop_component(self, name: str) -> None:
        """Stop one component (a fault to inject); `start_component` brings it back."""
        raise TargetError(f"the {self.name} target cannot stop components (fault scenarios run on local)")

    def start_component(self, name: str) -> None:
        raise TargetError(f"the {self.name} target cannot start components (fault scenarios run on local)")

    def kubernetes(self) -> KubeApi:
        """The Kubernetes API seen from the stack's namespace, on targets that have one."""
        raise TargetError(f"the {self.name} target has no Kubernetes API")

    def pod_discovery(self) -> PrometheusApi:
        """A Prometheus running the manifests' scrape config with its Kubernetes discovery
        against this target's cluster (capability POD_DISCOVERY)."""
        raise TargetError(f"the {self.name} target runs no Kubernetes discovery")

    def discovery_probes(self, run_id: str) -> AbstractContextManager[ProbePods]:
        """A decoy pod in another namespace and a sentinel in the stack's (pipelines.discovery_probe)."""
        raise TargetError(f"the {self.name} target has no Kubernetes API")

    def broken_links(self) -> dict[str, str]:
        """Links of the running stack that are broken now (odin_acceptance.clients.links): link -> cause."""
        return {}

    @abstractmethod
    def diagnostics(self) -> dict[str, str]:
        """Log tails and API snapshots for a failure report: title -> text."""

    def artifacts(self) -> Artifacts:
        """What a failed or kept run leaves in reports/artifacts/ (odin_acceptance.core.artifacts): by
        default the diagnostics, a file each; targets add whole logs and configs."""
        return from_titles(self.diagnostics())

    @abstractmethod
    def describe(self) -> dict[str, str]:
        """Facts for the report header (versions, addresses, run directory)."""
