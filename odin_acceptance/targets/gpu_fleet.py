"""A fleet of simulated ODIN GPU nodes in the kwok cluster, alerting through the real pipeline.

The cluster grows to the fleet's size with KWOK nodes labelled as GPU nodes; the real
DaemonSet controller puts a dcgm-exporter pod on each (overlays/gpu-fleet), on the host
network, so each pod's IP is its node's loopback address, and the dcgm_fleet instrument
answers there with that node's GPUs. A real Prometheus runs the manifests' `dcgm-exporter` scrape job as a pod would
(in-cluster: pod discovery through the API server, relabelling included, no static
targets) with the deployed rules and alerting block, sending to the stack's Alertmanager.
So from a GPU crossing its threshold to the receiver, every hop is the real program; only
the GPUs, the kubelets and the containers are simulated.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from odin_acceptance.clients.instrument_clients import DcgmFleetClient
from odin_acceptance.clients.kube_api import KubeApi
from odin_acceptance.clients.kubectl import Kubectl
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import Poll, eventually
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.pipelines.gpu_node import GpuNode
from odin_acceptance.stack_config import manifests, render
from odin_acceptance.stack_config.services import StandIns
from odin_acceptance.target_api.base import Endpoints
from odin_acceptance.target_api.parts import TargetError
from odin_acceptance.targets.discovery_witness import start_in_cluster
from odin_acceptance.targets.kube_control_plane import GPU_PRESENT_LABEL, ControlPlane, gpu_nodes
from odin_acceptance.targets.processes import ManagedProcess, ProcessGroup, free_port

DAEMONSET = manifests.OVERLAYS / "gpu-fleet" / "dcgm-exporter-daemonset.yaml"
FLEET_PODS = "app=dcgm-exporter,odin.acceptance/gpu-fleet=true"
JOB = "dcgm-exporter"  # the manifests' scrape job for the GPUs
# An address in GPU_NODE_ADDRESSES (127.65.0.0/16), any port.
GPU_NODE_ADDRESS_REGEX = r"127\.65\.\d+\.\d+:\d+"


def fleet_prometheus_config(prometheus_yml: str, rules: Path, local: StandIns, jobs: tuple[str, ...] = (JOB,)) -> str:
    """The deployed prometheus.yml as the fleet's Prometheus runs it: its global section,
    its alerting block (service addresses -> the local processes) and the scrape `jobs`,
    verbatim but for one relabel rule appended after theirs, which drops a target whose
    address is not a GPU node's: KWOK invents the other pods' IPs, which may route onto the
    user's network. Other jobs are left out: their pods (node-exporter on every simulated
    node) have no process behind them and would only be down targets. The rules from `rules`."""
    doc = yaml.safe_load(prometheus_yml)
    kept = [job for job in doc.get("scrape_configs", []) if job.get("job_name") in jobs]
    missing = sorted(set(jobs) - {job["job_name"] for job in kept})
    assert not missing, f"the deployed prometheus.yml has no scrape job {missing}: no GPU is ever scraped"
    static = [job["job_name"] for job in kept if "kubernetes_sd_configs" not in job]
    assert not static, f"scrape jobs {static} do not discover pods: a GPU node's exporter would never be found"
    on_gpu_nodes = {"source_labels": ["__address__"], "regex": GPU_NODE_ADDRESS_REGEX, "action": "keep"}
    kept = [{**job, "relabel_configs": [*job.get("relabel_configs", []), on_gpu_nodes]} for job in kept]
    alerting = yaml.safe_load(render.rewrite_addresses(yaml.safe_dump(doc.get("alerting", {})), local))
    out = {"global": doc.get("global", {}), "rule_files": [str(rules)], "alerting": alerting, "scrape_configs": kept}
    return yaml.safe_dump(out, sort_keys=False)


def descriptors_needed(nodes: int) -> int:
    """Open files the dcgm_fleet process needs for `nodes` GPU nodes' pods: a listener each,
    two connections each (the one Prometheus keeps alive, one it abandoned on a timeout),
    16 spare connections, 32 for the rest. The instrument caps its connections by the same
    rule (its connection_cap; a project test holds the two together), so under this limit
    it never caps below them."""
    return nodes + 2 * nodes + 16 + 32


def descriptor_shortfall(nodes: int, hard: int) -> str | None:
    """One sentence when the hard limit on open files (which the fleet's dcgm-exporter
    process inherits) is below what `nodes` GPU nodes' pods need; None when it suffices.
    Inotify is not checked: nothing in the fleet watches files per node (Prometheus finds
    the pods through the API, KWOK keeps its nodes in memory, the instrument reads no file)."""
    needed = descriptors_needed(nodes)
    if hard == resource.RLIM_INFINITY or hard >= needed:
        return None
    return (
        f"a GPU fleet of {nodes} nodes needs {needed} open files in its dcgm-exporter process, "
        f"but the hard limit on open files (RLIMIT_NOFILE, `ulimit -Hn`) is {hard}: "
        f"run `ulimit -n {needed}` (as root, or set LimitNOFILE={needed} where the suite runs) and start again"
    )


def raise_descriptor_limit(pid: int, nodes: int) -> int:
    """Raise the soft RLIMIT_NOFILE of process `pid` to what `nodes` GPU nodes' pods need,
    within its hard limit (the instrument sizes its connection cap by it); returns its soft limit."""
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    needed = descriptors_needed(nodes)
    if soft != resource.RLIM_INFINITY and soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    return soft


@dataclass(frozen=True)
class FleetSize:
    nodes: int  # GPU nodes (the control plane is not one)
    gpus_per_node: int

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node


class GpuFleet:
    """The GPU nodes of one kwok cluster; it only grows, and its processes stop with the
    stack's process group."""

    def __init__(
        self,
        *,
        plane: ControlPlane,
        api: KubeApi,
        kubectl: Kubectl,
        processes: ProcessGroup,
        prometheus: Path,
        local: StandIns,
        profile: TimingProfile,
        directory: Path,
    ) -> None:
        self.plane, self.api, self.kubectl, self.processes = plane, api, kubectl, processes
        self.prometheus_binary, self.local, self.profile, self.directory = prometheus, local, profile, directory
        self.exporter: DcgmFleetClient | None = None
        self.exporter_process: ManagedProcess | None = None
        self.prometheus: PrometheusApi | None = None
        self.size = FleetSize(0, 0)
        self.celsius = 0.0  # what every GPU reports at rest
        self.seconds: dict[str, float] = {}  # what each step of the last growth took

    def node_name(self, number: int) -> str:
        """The name of the fleet's GPU node `number` (1-based)."""
        assert 1 <= number <= self.size.nodes, f"the fleet has GPU nodes 1..{self.size.nodes}, not {number}"
        return gpu_nodes(number, self.size.gpus_per_node)[-1].name

    def ensure(self, size: FleetSize, celsius: float, *, prometheus_yml: str, rules_yml: str) -> None:
        """Grow the cluster to `size`, every GPU at `celsius`, and return once the fleet's
        Prometheus has scraped every GPU at that value."""
        if size.gpus_per_node != self.size.gpus_per_node and self.size.nodes:
            raise TargetError(f"the fleet has {self.size.gpus_per_node} GPUs per node; it cannot change to {size}")
        # Checked before anything starts: short of descriptors, no scrape would be answered.
        shortfall = descriptor_shortfall(size.nodes, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        if shortfall:
            raise TargetError(shortfall)
        started, self.seconds = time.perf_counter(), {}
        # Only nodes that do not exist yet (they are created, not applied), read consistently.
        present = set(self.api.node_names(from_cache=False))
        new = [n for n in gpu_nodes(size.nodes, size.gpus_per_node) if n.name not in present]
        if new:
            self.plane.register_nodes(new)
        self.seconds["nodes ready"] = time.perf_counter() - started
        daemonset = yaml.safe_load(DAEMONSET.read_text())
        daemonset["metadata"]["namespace"] = self.kubectl.namespace
        self.kubectl.apply(json.dumps(daemonset))
        pods = self._await_pods(size)
        self.seconds["dcgm-exporter pods running"] = time.perf_counter() - started
        exporter = self._exporter(size.nodes)
        exporter.add_pods(
            [
                {"address": address, "Hostname": node, "gpus": size.gpus_per_node, "temperature_c": celsius}
                for address, node in pods
            ]
        )
        self.size, self.celsius = size, celsius
        prometheus = self._prometheus(prometheus_yml, rules_yml)
        self._await_scraped(prometheus, size, celsius)
        self.seconds["every GPU scraped"] = time.perf_counter() - started

    @property
    def dcgm(self) -> DcgmFleetClient:
        assert self.exporter is not None, "the fleet is not set up"
        return self.exporter

    def node(self, number: int) -> GpuNode:
        return GpuNode(self.node_name(number), self.size.gpus_per_node, self.dcgm)

    def spread(self, count: int) -> list[GpuNode]:
        """`count` GPU nodes spread evenly over the fleet."""
        assert 1 <= count <= self.size.nodes, f"the fleet has {self.size.nodes} GPU nodes, not {count}"
        return [self.node(1 + i * self.size.nodes // count) for i in range(count)]

    def endpoints(self, stack: Endpoints) -> Endpoints:
        """The stack's endpoints, with the fleet's Prometheus and exporter in place of the stack's."""
        assert self.prometheus is not None and self.exporter is not None, "the fleet is not set up"
        return replace(stack, prometheus=self.prometheus, dcgm=self.exporter)

    def _await_pods(self, size: FleetSize) -> list[tuple[str, str]]:
        """(pod address, node) of the fleet's dcgm-exporter pods, once each GPU node runs one."""
        gpus = set(self.api.node_names(f"{GPU_PRESENT_LABEL}=true"))
        assert len(gpus) == size.nodes, (
            f"the cluster has {len(gpus)} GPU nodes (--gpu-nodes), the fleet is to have {size.nodes}"
        )

        # The pods' port is their DaemonSet's: the pods are read as table rows, without specs.
        [port] = [
            p["containerPort"]
            for c in yaml.safe_load(DAEMONSET.read_text())["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
            if p.get("name") == "metrics"
        ]

        def running() -> list[tuple[str, str]]:
            served, on_node = [], {}
            for pod in self.api.pod_rows(FLEET_PODS):
                ip, node = pod["IP"], pod["Node"]
                if ip not in ("", "<none>") and pod["Status"] == "Running":
                    served.append((f"{ip}:{port}", node))
                    on_node[node] = on_node.get(node, 0) + 1
            wrong = {n: on_node.get(n, 0) for n in gpus if on_node.get(n, 0) != 1}
            example = dict(sorted(wrong.items())[:3])
            assert not wrong, f"{len(wrong)} of {len(gpus)} GPU nodes without one running dcgm-exporter pod: {example}"
            return served

        return eventually(
            running,
            timeout=timeouts.for_nodes(size.nodes),
            what=f"a running dcgm-exporter pod on each of {size.nodes} GPU nodes",
            hint="the DaemonSet's nodeSelector must match the GPU nodes' labels",
            poll=Poll(1.0, 5.0),
        )

    def _exporter(self, nodes: int) -> DcgmFleetClient:
        if self.exporter is None:
            listen = f"127.0.0.1:{free_port()}"
            argv = [sys.executable, "-m", "odin_acceptance.instruments.dcgm_fleet", "--listen", listen]
            client = DcgmFleetClient(f"http://{listen}")
            self.exporter_process = self.processes.start("dcgm-fleet", argv)
            self.processes.wait_ready(self.exporter_process, client.ready, "GET /healthz")
            self.exporter = client
        assert self.exporter_process is not None
        raise_descriptor_limit(self.exporter_process.popen.pid, nodes)
        return self.exporter

    def _prometheus(self, prometheus_yml: str, rules_yml: str) -> PrometheusApi:
        if self.prometheus is None:
            rules = self.directory / "rules" / "alert-rules.yml"
            rules.parent.mkdir(parents=True, exist_ok=True)
            rules.write_text(rules_yml)
            self.prometheus = start_in_cluster(
                name="gpu-fleet-prometheus",
                prometheus=self.prometheus_binary,
                processes=self.processes,
                kubectl=self.kubectl,
                ca=self.plane.pki / "ca.crt",
                server_port=self.plane.ports["apiserver"],
                config=fleet_prometheus_config(prometheus_yml, rules, self.local),
                directory=self.directory,
                args=tuple(render.prometheus_args(self.profile)),
            )
        return self.prometheus

    def _await_scraped(self, prometheus: PrometheusApi, size: FleetSize, celsius: float) -> None:
        def every_gpu() -> int:
            at = prometheus.query(f"count(DCGM_FI_DEV_GPU_TEMP == {celsius:g})")
            seen = int(float(at[0]["value"][1])) if at else 0
            assert seen == size.gpus, f"{seen} of {size.gpus} GPUs scraped at {celsius:g} °C"
            return seen

        eventually(
            every_gpu,
            timeout=timeouts.for_nodes(size.nodes),
            what=f"the fleet's Prometheus to scrape {size.gpus} GPUs through pod discovery",
            hint=f"see {self.directory / 'prometheus.yml'} and the targets page of the fleet's Prometheus",
            poll=Poll(1.0, 5.0),
        )
