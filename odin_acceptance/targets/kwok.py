"""The kwok target: the kind overlay on a real control plane whose nodes KWOK simulates.

The API server, controllers and scheduler are real (odin_acceptance.targets.kube_control_plane), so the
manifests meet server-side validation, RBAC, the DaemonSet controller and taints. The
containers are simulated; the components' APIs are served by the local target's real
processes, which KWOK's port-forward connects to the pods' container ports: the suite
reaches them with the same `kubectl port-forward svc/…` as on kind. Workloads (the log
writers) run on that local node, the one node whose containers are real.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

from odin_acceptance.clients.kube_api import KubeApi
from odin_acceptance.clients.metrics_text import LabelFilter
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core.artifacts import Artifacts, from_titles
from odin_acceptance.core.workloads import ProbePods
from odin_acceptance.pipelines.discovery_probe import probe_pods
from odin_acceptance.provisioning.versions import CONTROL_PLANE
from odin_acceptance.stack_config import manifests
from odin_acceptance.targets.base import (
    KUBERNETES_API,
    POD_DISCOVERY,
    SUPPLIED_EXECUTABLES,
    Endpoints,
    LoadableNode,
    StressedNode,
    Target,
    TargetError,
    TargetOptions,
    Workload,
    api_snapshots,
)
from odin_acceptance.targets.discovery_witness import start_witness, user_namespaces_allowed
from odin_acceptance.targets.kube_control_plane import (
    ControlPlane,
    ControlPlaneError,
    SimulatedNode,
    cluster_nodes,
    port_forward_config,
)
from odin_acceptance.targets.local import LocalTarget
from odin_acceptance.targets.overlay import OverlayDeployment, forwards


def preflight() -> None:
    # kubectl is not needed from the host: it is built with the control plane.
    if shutil.which("openssl") is None:
        raise TargetError("--target kwok needs openssl on PATH to make the cluster's certificates: apt install openssl")


def serve(stack: LocalTarget, control_plane: ControlPlane, nodes: list[SimulatedNode], namespace: str | None) -> None:
    """Start the local processes, then the control plane whose KWOK connects the container
    ports of the pods in `namespace` (None: of every pod) to them."""
    stack.start()  # renders and checks every config before any process starts
    # Each component's port in the manifests (Service port = container port) -> its process.
    local = {port: stack.stand_ins[name] for name, port in stack.stand_ins.ports.items()}
    try:
        control_plane.start(port_forward_config(namespace, local))
        control_plane.register_nodes(nodes)
    except ControlPlaneError as exc:
        raise TargetError(str(exc)) from exc


# What a real cluster has and a bare control plane lacks: a default StorageClass with volumes
# for the stack's two claims.
CLUSTER_STORAGE = manifests.OVERLAYS / "kwok" / "volumes.yaml"


@contextmanager
def served_cluster(options: TargetOptions, tools: dict[str, Path]) -> Iterator[ControlPlane]:
    """A kwok cluster to point `--target cluster --kubeconfig` at: the real control plane,
    simulated nodes, a default StorageClass, and the container ports of every pod served by
    the local target's processes (rendered from `options`). So the cluster target's own code
    (overlay into a namespace of its run, rollouts, port-forwards, RBAC, cleanup) runs here
    unchanged; only the containers are simulated."""
    preflight()
    stack = LocalTarget(options=options, tools=tools)
    control_plane = ControlPlane(tools, stack.run_dir / "kube")
    try:
        serve(stack, control_plane, cluster_nodes(options.nodes), namespace=None)
        control_plane.kubectl().apply(CLUSTER_STORAGE.read_text())
        yield control_plane
    finally:
        control_plane.stop()
        stack.stop()


class KwokTarget(Target):
    """A real control plane whose nodes KWOK simulates (`control_plane`), the stack deployed
    into it from the kwok overlay (`deployment`), and the local target's processes (`stack`)
    serving the APIs and running the workloads on the one real node."""

    name = "kwok"
    # The discovery witness needs a user namespace of its own, which some hosts forbid.
    capabilities = frozenset(
        {KUBERNETES_API, SUPPLIED_EXECUTABLES} | ({POD_DISCOVERY} if user_namespaces_allowed() else set())
    )
    default_timing = "fast"  # the APIs are the local target's processes, whose configs the suite renders
    provisions = CONTROL_PLANE
    namespace = "monitoring"
    overlay = manifests.OVERLAYS / "kwok"

    def __init__(self, *, options: TargetOptions, tools: dict[str, Path]) -> None:
        try:
            self.nodes = cluster_nodes(options.nodes)
        except ControlPlaneError as exc:
            raise TargetError(str(exc)) from exc
        self.profile = options.profile
        self.stack = LocalTarget(options=options, tools=tools)
        self.control_plane = ControlPlane(tools, self.stack.run_dir / "kube")
        # A Service is reached only where a local process serves it: Loki and Grafana run
        # where the user supplied them; KWOK still simulates their pods for the API scenarios.
        unserved = [
            name for name, runs in (("loki", self.stack.runs_logs), ("grafana", self.stack.runs_grafana)) if not runs
        ]
        self.deployment = OverlayDeployment(
            overlay=self.overlay,
            manifest_dir=options.manifest_dir,
            kubectl=self.control_plane.kubectl(self.namespace),
            api=self.control_plane.api(self.namespace),
            forwarded=forwards(options.manifest_dir, leave_out=unserved),
            grafana_auth=self.stack.grafana_auth,
            profile=options.profile,
        )
        self._endpoints: Endpoints | None = None
        self._witness: PrometheusApi | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @classmethod
    def preflight(cls, options: TargetOptions) -> frozenset[str]:
        preflight()
        return cls.capabilities

    def start(self) -> None:
        serve(self.stack, self.control_plane, self.nodes, self.namespace)
        self._endpoints = self.deployment.deploy()

    def stop(self, *, failed: bool = False) -> None:
        self.deployment.stop()
        self.control_plane.stop()
        self.stack.stop(failed=failed)

    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise TargetError("the kwok target is not started")
        return self._endpoints

    def kubernetes(self) -> KubeApi:
        return self.deployment.api

    def pod_discovery(self) -> PrometheusApi:
        # Started on first use: only the discovery scenario needs it.
        if self._witness is None:
            self._witness = start_witness(
                prometheus=self.stack.tools["prometheus"],
                processes=self.stack.processes,
                kubectl=self.deployment.kubectl,
                ca=self.control_plane.pki / "ca.crt",
                server_port=self.control_plane.ports["apiserver"],
                prometheus_yml=self.deployment.deployed_config("prometheus.yml"),
                directory=self.stack.run_dir / "discovery-witness",
            )
        return self._witness

    def discovery_probes(self, run_id: str) -> AbstractContextManager[ProbePods]:
        return probe_pods(self.deployment.api, self.deployment.kubectl, run_id)

    # -- what the local node's real processes answer -----------------------------------

    def deployed_config(self, name: str) -> str:
        return self.stack.deployed_config(name)

    def deployed_dashboard(self, title: str) -> dict:
        return self.deployment.deployed_dashboard(title)

    def promtail_metric(self, name: str, where: LabelFilter | None = None) -> float:
        return self.stack.promtail_metric(name, where)

    def broken_links(self) -> dict[str, str]:
        return self.stack.broken_links()

    def start_workload(
        self, namespace: str, name: str, args: list[str], labels: Mapping[str, str] | None = None
    ) -> Workload:
        return self.stack.start_workload(namespace, name, args, labels)

    def stop_workload(self, workload: Workload) -> None:
        self.stack.stop_workload(workload)

    # KWOK's nodes are simulated: the load goes on the one real node, where the workloads run.
    def loadable_node(self) -> LoadableNode:
        return self.stack.loadable_node()

    def stress_cpu(self, node: LoadableNode, name: str, seconds: float) -> StressedNode:
        return self.stack.stress_cpu(node, name, seconds)

    def wait_workload_done(self, workload: Workload, timeout: float) -> None:
        self.stack.wait_workload_done(workload, timeout)

    def container_log(self, workload: Workload) -> list[tuple[int, str]]:
        return self.stack.container_log(workload)

    def running_containers(self) -> list[Workload]:
        return self.stack.running_containers()

    # -- reporting ---------------------------------------------------------------------

    def diagnostics(self) -> dict[str, str]:
        out = self.deployment.diagnostics()
        if self._endpoints is not None:
            out.update(api_snapshots(self._endpoints))
        out.update(self.control_plane.log_tails())
        out.update({k: v for k, v in self.stack.diagnostics().items() if k.endswith("log (last lines)")})
        return out

    def artifacts(self) -> Artifacts:
        # The local processes' and the control plane's logs and configs (both in the stack's
        # run directory), and what the cluster says of the stack.
        return {**self.stack.artifacts(), **from_titles(self.deployment.diagnostics())}

    def describe(self) -> dict[str, str]:
        facts = self.stack.describe()
        facts.update({f"{c.name} version": c.version for c in CONTROL_PLANE})
        workers = sum(1 for n in self.nodes if not n.control_plane)
        facts.update(
            {
                "kwok cluster": f"real control plane on 127.0.0.1, {len(self.nodes)} simulated nodes: "
                f"1 control plane, {workers} workers; APIs served by local processes through KWOK's port-forward",
                "kube API server": self.control_plane.server,
            }
        )
        facts.update({f"{n} ready after": f"{s:.2f} s" for n, s in self.control_plane.ready_seconds.items()})
        return facts


def main() -> None:
    """`python -m odin_acceptance.targets.kwok [--nodes N] [--timing fast|real]`: a served kwok
    cluster until Ctrl-C, to run `pytest --target cluster --kubeconfig …` against."""
    import argparse
    import signal

    from odin_acceptance.core.timing_profiles import PROFILES
    from odin_acceptance.provisioning import components
    from odin_acceptance.provisioning.versions import COMPONENTS, CONTROL_PLANE

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--timing", choices=tuple(PROFILES), default="fast")
    args = parser.parse_args()
    tools = components.ensure_all(print, COMPONENTS + CONTROL_PLANE)
    options = TargetOptions(profile=PROFILES[args.timing], manifest_dir=manifests.BASE, nodes=args.nodes)
    with served_cluster(options, tools) as plane:
        print(f"kubeconfig: {plane.kubeconfig}")
        print(f"run: pytest --target cluster --kubeconfig {plane.kubeconfig} --timing {args.timing}")
        print("Ctrl-C stops the cluster and its processes")
        with suppress(KeyboardInterrupt):
            signal.pause()  # until a signal: nothing to poll


if __name__ == "__main__":
    main()
