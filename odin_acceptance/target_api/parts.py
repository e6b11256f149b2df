"""The parts a target is built from, as sigs.k8s.io/e2e-framework builds an environment from a
cluster provider and what runs in it.

- `Cluster`: where a Kubernetes API comes from: none (local), a control plane the suite runs
  with simulated nodes (kwok), a kind cluster it creates, or a cluster that exists.
- `Stack`: the components under test and how the suite reaches them: processes rendered
  from the manifests on this machine, or the manifests' overlay applied to a cluster.
- `Nodes`: where the scenarios' workloads run: processes playing pods of the local node, or
  pods on the cluster's nodes.

Each part declares what it `provides`; a target's capabilities are the union of its parts'
(what their preflight finds, for a cluster that exists), so a scenario's skip follows from
the parts present and never from a target's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from odin_acceptance.clients.metrics_text import LabelFilter
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core.artifacts import Artifacts, from_titles
from odin_acceptance.core.errors import OdinError
from odin_acceptance.core.workloads import LoadableNode, ProbePods, StressedNode, Workload
from odin_acceptance.stack_config.model import StackConfig

if TYPE_CHECKING:
    # The Kubernetes client only as a type: the interface loads no Kubernetes code. The options
    # and endpoints are base's, which builds targets from these parts.
    from odin_acceptance.clients.kube_api import KubeApi
    from odin_acceptance.target_api.base import Endpoints, TargetOptions


class TargetError(OdinError, RuntimeError):
    """The target cannot be brought up, or lacks what was asked of it; the message says what
    is missing and the fix."""


class Part:
    # Capabilities this part gives a target (odin_acceptance.target_api.base).
    provides: frozenset[str] = frozenset()
    # What stop() kept in a cluster or would not delete there, for the report.
    left_behind: list[str] | tuple[str, ...] = ()

    @classmethod
    def preflight(cls, options: TargetOptions) -> frozenset[str]:
        """What the part needs from the host (and, for a cluster that exists, from the
        cluster), checked in seconds; raises TargetError with the fix. Returns what it
        provides here."""
        return cls.provides


class Cluster(Part, ABC):
    """Where a Kubernetes API comes from."""

    def __init__(self) -> None:
        self.left_behind: list[str] = []

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self, *, failed: bool = False) -> None: ...

    @abstractmethod
    def kubernetes(self) -> KubeApi:
        """The Kubernetes API seen from the stack's namespace."""

    @abstractmethod
    def discovery_probes(self, run_id: str) -> AbstractContextManager[ProbePods]:
        """A decoy pod in another namespace and a sentinel in the stack's (pipelines.discovery_probe)."""

    @abstractmethod
    def pod_discovery(self) -> PrometheusApi:
        """A Prometheus running the manifests' scrape config with its Kubernetes discovery
        against this cluster (capability POD_DISCOVERY)."""

    def grow_to(self, nodes: int) -> int:
        """Add plain worker nodes until the cluster has `nodes` (capability SIMULATED_FLEET);
        returns how many it has, once every one is Ready."""
        raise TargetError("only a cluster of simulated nodes grows (--target kwok)")

    def gpu_fleet(self, nodes: int, gpus_per_node: int, celsius: float) -> Any:
        """This cluster grown to `nodes` GPU nodes of `gpus_per_node` GPUs at `celsius`, each
        node's exporter scraped through pod discovery (capability SIMULATED_FLEET): a
        targets.gpu_fleet.GpuFleet, which the interface names only in words (it lies above)."""
        raise TargetError("only a cluster of simulated nodes grows a GPU fleet (--target kwok)")

    def diagnostics(self) -> dict[str, str]:
        return {}

    def describe(self) -> dict[str, str]:
        return {}


class Stack(Part, ABC):
    """The components under test, and how the suite reaches them."""

    @property
    @abstractmethod
    def endpoints(self) -> Endpoints: ...

    @cached_property
    def config(self) -> StackConfig:
        """The configs the running components read, each fetched and parsed once per run."""
        return StackConfig(self.deployed_config, "the running stack")

    def prepare(self) -> None:
        """Check what the stack is made of (render and check its configs) before anything,
        its cluster included, starts: bad input is one error, with nothing to clean up."""

    @abstractmethod
    def start(self) -> None:
        """Deploy everything and return once every component is ready."""

    @abstractmethod
    def stop(self, *, failed: bool = False) -> None:
        """Remove everything this stack started; safe to call twice or after a failed start."""

    @abstractmethod
    def deployed_config(self, name: str) -> str:
        """The text of a config (a key of CONFIGS) exactly as the running component read it."""

    @abstractmethod
    def deployed_dashboard(self, title: str) -> dict[str, Any]:
        """A Grafana dashboard (by title) as this run provisioned it."""

    def deployed_query(self, expr: str) -> str:
        """A query of the stack's namespace as this run's dashboards ask it: the manifests'
        own where the stack runs in the namespace they name; on a shared cluster, scoped to
        the run's namespace by the function that scoped the deployed dashboard."""
        return expr

    @abstractmethod
    def promtail_metric(self, name: str, where: LabelFilter | None = None) -> float:
        """A metric summed over every Promtail (over the samples whose labels pass `where`)."""

    def run_notes(self) -> dict[str, str]:
        """What happened to the stack during the run that a reader of the report must know
        (a port-forward re-established after its pod was replaced): title -> text."""
        return {}

    def broken_links(self) -> dict[str, str]:
        """Links of the running stack that are broken now (clients.links): link -> cause."""
        return {}

    def stop_component(self, name: str) -> None:
        """Stop one component (a fault to inject); `start_component` brings it back."""
        raise TargetError("this stack cannot stop components (fault scenarios run on the local target)")

    def start_component(self, name: str) -> None:
        raise TargetError("this stack cannot start components (fault scenarios run on the local target)")

    @abstractmethod
    def diagnostics(self) -> dict[str, str]:
        """Log tails and API snapshots for a failure report: title -> text."""

    def artifacts(self) -> Artifacts:
        """What a failed or kept run leaves in reports/artifacts/: by default the diagnostics."""
        return from_titles(self.diagnostics())

    @abstractmethod
    def describe(self) -> dict[str, str]:
        """Facts for the report header (versions, addresses, run directory)."""


class Nodes(Part, ABC):
    """Where the scenarios' workloads run."""

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
