"""The kwok target: the kind overlay on a real control plane whose nodes KWOK simulates.

Its parts: `KwokCluster`, the API server, controllers and scheduler as real processes
(odin_acceptance.targets.kube_control_plane), so the manifests meet server-side validation,
RBAC, the DaemonSet controller and taints; `ServedStack`, the overlay applied to that cluster,
whose simulated containers are served by the local processes (KWOK's port-forward connects
the pods' container ports to them, and the suite reaches them with the same `kubectl
port-forward svc/…` as on kind); and the local `ProcessNodes`, the one node whose
containers are real, where the workloads run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path

from odin_acceptance.clients.kube_api import KubeApi
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core.artifacts import Artifacts, from_titles
from odin_acceptance.core.workloads import ProbePods
from odin_acceptance.pipelines.discovery_probe import probe_pods
from odin_acceptance.provisioning.versions import CONTROL_PLANE
from odin_acceptance.stack_config import manifests
from odin_acceptance.target_api.base import (
    KUBERNETES_API,
    POD_DISCOVERY,
    SIMULATED_FLEET,
    SUPPLIED_EXECUTABLES,
    Endpoints,
    Target,
    TargetError,
    TargetOptions,
    api_snapshots,
)
from odin_acceptance.target_api.parts import Cluster
from odin_acceptance.targets.discovery_witness import start_witness, user_namespaces_allowed
from odin_acceptance.targets.gpu_fleet import FleetSize, GpuFleet
from odin_acceptance.targets.kube_control_plane import (
    ControlPlane,
    ControlPlaneError,
    cluster_nodes,
    gpu_nodes,
    port_forward_config,
)
from odin_acceptance.targets.local import ProcessNodes, ProcessStack
from odin_acceptance.targets.overlay import OverlayDeployment, forwards


def preflight() -> None:
    # kubectl is not needed from the host: it is built with the control plane.
    if shutil.which("openssl") is None:
        raise TargetError("--target kwok needs openssl on PATH to make the cluster's certificates: apt install openssl")


# What a real cluster has and a bare control plane lacks: a default StorageClass with volumes
# for the stack's two claims.
CLUSTER_STORAGE = manifests.OVERLAYS / "kwok" / "volumes.yaml"


class KwokCluster(Cluster):
    """A real control plane on 127.0.0.1 whose nodes KWOK simulates; the container ports of
    the pods in `namespace` (None: of every pod) are served by `served_by`'s processes."""

    # What the target can do (its verdicts' ceiling). The discovery witness and the fleet's
    # Prometheus run in-cluster, in a user namespace of their own, which some hosts forbid:
    # preflight drops those two there, so their scenarios are skipped as a shortfall of this
    # host, not read as beyond kwok.
    provides = frozenset({KUBERNETES_API, POD_DISCOVERY, SIMULATED_FLEET})

    def __init__(self, options: TargetOptions, tools: dict[str, Path], served_by: ProcessStack, namespace: str | None):
        super().__init__()
        try:
            self.nodes = cluster_nodes(options.nodes)
            if options.gpu_nodes:
                self.nodes += gpu_nodes(options.gpu_nodes, options.gpus_per_node)
        except ControlPlaneError as exc:
            raise TargetError(str(exc)) from exc
        self.served_by = served_by
        self.namespace = namespace
        self.control_plane = ControlPlane(tools, served_by.run_dir / "kube")
        self.api = self.control_plane.api(namespace or "default")
        self.kubectl = self.control_plane.kubectl(namespace or "default")
        self._witness: PrometheusApi | None = None
        self._fleet: GpuFleet | None = None

    @classmethod
    def preflight(cls, options: TargetOptions) -> frozenset[str]:
        preflight()
        return cls.provides if user_namespaces_allowed() else cls.provides - {POD_DISCOVERY, SIMULATED_FLEET}

    def start(self) -> None:
        # Each component's port in the manifests (Service port = container port) -> its process.
        stand_ins = self.served_by.stand_ins
        local = {port: stand_ins[name] for name, port in stand_ins.ports.items()}
        try:
            self.control_plane.start(port_forward_config(self.namespace, local))
            self.control_plane.register_nodes(self.nodes)
        except ControlPlaneError as exc:
            raise TargetError(str(exc)) from exc

    def stop(self, *, failed: bool = False) -> None:
        self.control_plane.stop()

    def kubernetes(self) -> KubeApi:
        return self.api

    def pod_discovery(self) -> PrometheusApi:
        # Started on first use: only the discovery scenario needs it. It reads the manifests'
        # scrape config as the cluster holds it, not the one rendered for the local processes.
        if self._witness is None:
            self._witness = start_witness(
                prometheus=self.served_by.tools["prometheus"],
                processes=self.served_by.processes,
                kubectl=self.kubectl,
                ca=self.control_plane.pki / "ca.crt",
                server_port=self.control_plane.ports["apiserver"],
                prometheus_yml=self.deployed_config("prometheus.yml"),
                directory=self.served_by.run_dir / "discovery-witness",
            )
        return self._witness

    def grow_to(self, nodes: int) -> int:
        present = set(self.api.node_names(from_cache=False))
        # Workers of the next numbers, until the cluster has `nodes`.
        candidates = (n for n in cluster_nodes(nodes + 1) if n.name not in present)
        new = [next(candidates) for _ in range(max(0, nodes - len(present)))]
        if new:
            self.control_plane.register_nodes(new)
            self.nodes = [*self.nodes, *new]
        return len(present) + len(new)

    def gpu_fleet(self, nodes: int, gpus_per_node: int, celsius: float) -> GpuFleet:
        if self._fleet is None:
            self._fleet = GpuFleet(
                plane=self.control_plane,
                api=self.api,
                kubectl=self.kubectl,
                processes=self.served_by.processes,
                prometheus=self.served_by.tools["prometheus"],
                local=self.served_by.stand_ins,
                profile=self.served_by.profile,
                directory=self.served_by.run_dir / "gpu-fleet",
            )
        self._fleet.ensure(
            FleetSize(nodes, gpus_per_node),
            celsius,
            prometheus_yml=self.deployed_config("prometheus.yml"),
            rules_yml=self.deployed_config("alert-rules.yml"),
        )
        return self._fleet

    def deployed_config(self, name: str) -> str:
        """A config as the cluster holds it (its ConfigMap in the stack's namespace)."""
        configmap, key = manifests.CONFIGS[name]
        return self.api.configmap_data(configmap)[key]

    def discovery_probes(self, run_id: str) -> AbstractContextManager[ProbePods]:
        return probe_pods(self.api, self.kubectl, run_id)

    def diagnostics(self) -> dict[str, str]:
        return self.control_plane.log_tails()

    def describe(self) -> dict[str, str]:
        facts = {f"{c.name} version": c.version for c in CONTROL_PLANE}
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


class ServedStack(ProcessStack):
    """The local processes, deployed as the kwok overlay into the cluster that simulates their
    pods: the suite reaches them through that cluster's Services, as on kind."""

    provides = frozenset({SUPPLIED_EXECUTABLES})
    overlay = manifests.OVERLAYS / "kwok"

    def __init__(self, *, options: TargetOptions, tools: dict[str, Path]) -> None:
        super().__init__(options=options, tools=tools, name="kwok")
        self.manifest_dir = options.manifest_dir
        self.deployment: OverlayDeployment | None = None
        self.cluster: KwokCluster | None = None
        self._forwarded: Endpoints | None = None

    def deploy_into(self, cluster: KwokCluster) -> None:
        # A Service is reached only where a local process serves it: Loki and Grafana run
        # where the user supplied them; KWOK still simulates their pods for the API scenarios.
        runs = {"loki": self.runs_logs, "grafana": self.runs_grafana}
        self.cluster = cluster
        self.deployment = OverlayDeployment(
            overlay=self.overlay,
            manifest_dir=self.manifest_dir,
            kubectl=cluster.kubectl,
            api=cluster.api,
            forwarded=forwards(self.manifest_dir, leave_out=[name for name, served in runs.items() if not served]),
            grafana_auth=self.grafana_auth,
            profile=self.profile,
        )

    def _deployment(self) -> OverlayDeployment:
        if self.deployment is None:
            raise TargetError("the kwok stack has no cluster to deploy into")
        return self.deployment

    def start(self) -> None:
        super().start()  # renders and checks every config before any process starts
        self._forwarded = self._deployment().deploy()

    def stop(self, *, failed: bool = False) -> None:
        if self.deployment is not None:
            self.deployment.stop()
        if self.cluster is not None:  # its control plane keeps its data in the run directory removed next
            self.cluster.stop()
        super().stop(failed=failed)

    @property
    def endpoints(self) -> Endpoints:
        if self._forwarded is None:
            raise TargetError("the kwok target is not started")
        return self._forwarded

    def deployed_dashboard(self, title: str) -> dict:
        return self._deployment().deployed_dashboard(title)

    def run_notes(self) -> dict[str, str]:
        return self.deployment.forward_notes() if self.deployment is not None else {}

    def diagnostics(self) -> dict[str, str]:
        out = self.deployment.diagnostics() if self.deployment is not None else {}
        if self._forwarded is not None:
            out.update(api_snapshots(self._forwarded))
        out.update({k: v for k, v in super().diagnostics().items() if k.endswith("log (last lines)")})
        return out

    def artifacts(self) -> Artifacts:
        # The local processes' and the control plane's logs and configs (both in the run
        # directory), and what the cluster says of the stack.
        cluster_view = from_titles(self.deployment.diagnostics()) if self.deployment is not None else {}
        return {**super().artifacts(), **cluster_view}


class KwokTarget(Target):
    """A real control plane whose nodes KWOK simulates, the stack deployed into it from the
    kwok overlay and served by local processes, and the workloads on the one real node."""

    name = "kwok"
    parts = (KwokCluster, ServedStack, ProcessNodes)
    default_timing = "fast"  # the APIs are local processes, whose configs the suite renders
    provisions = CONTROL_PLANE
    namespace = "monitoring"

    def __init__(self, *, options: TargetOptions, tools: dict[str, Path]) -> None:
        stack = ServedStack(options=options, tools=tools)
        try:
            cluster = KwokCluster(options, tools, served_by=stack, namespace=self.namespace)
        except BaseException:  # a bad --nodes: the stack's run directory goes too
            stack.stop()
            raise
        stack.deploy_into(cluster)
        super().__init__(profile=options.profile, cluster=cluster, stack=stack, nodes=ProcessNodes(stack))


@contextmanager
def served_cluster(options: TargetOptions, tools: dict[str, Path]) -> Iterator[ControlPlane]:
    """A kwok cluster to point `--target cluster --kubeconfig` at: the real control plane,
    simulated nodes, a default StorageClass, and the container ports of every pod served by
    the local processes (rendered from `options`). So the cluster target's own code (overlay
    into a namespace of its run, rollouts, port-forwards, RBAC, cleanup) runs here unchanged;
    only the containers are simulated."""
    preflight()
    stack = ProcessStack(options=options, tools=tools, name="kwok")
    cluster: KwokCluster | None = None
    try:
        cluster = KwokCluster(options, tools, served_by=stack, namespace=None)
        stack.start()
        cluster.start()
        cluster.control_plane.kubectl().apply(CLUSTER_STORAGE.read_text())
        yield cluster.control_plane
    finally:
        if cluster is not None:
            cluster.stop()
        stack.stop()


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
