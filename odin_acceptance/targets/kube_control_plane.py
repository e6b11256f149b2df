"""A real Kubernetes control plane as processes on 127.0.0.1, with KWOK playing the kubelets.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler are the real programs
(odin_acceptance.provisioning.versions.CONTROL_PLANE); KWOK keeps the simulated nodes and their pods alive and
serves the kubelet API, whose port-forward endpoint it connects to local processes. So
server-side validation, RBAC, the DaemonSet controller and the scheduler (taints and
tolerations included) are the real ones; only the containers are not.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from odin_acceptance.clients.json_http import JsonApi
from odin_acceptance.clients.kube_api import KubeApi
from odin_acceptance.clients.kubectl import Kubectl
from odin_acceptance.core import timeouts
from odin_acceptance.core.errors import OdinError
from odin_acceptance.core.polling import eventually
from odin_acceptance.targets.processes import ProcessGroup, free_port

# Nodes KWOK manages carry this annotation (as kwokctl's nodes do); others are left alone.
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
# What NVIDIA's GPU feature discovery labels a GPU node with; the fleet's DaemonSet selects it.
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
GPU_PRODUCT = "NVIDIA-H100-80GB-HBM3"
# GPU nodes are tainted, as GKE and most GPU clusters taint them, so only what tolerates it
# (DaemonSets meant for every node, the GPU's own exporter) runs there.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
# Each GPU node's InternalIP: a loopback address of its own. The fleet's dcgm-exporter pods
# use the host network, so their IP is their node's, and the dcgm_fleet instrument answers
# there, reachable from this host only.
GPU_NODE_ADDRESSES = "127.65.0.0/16"
# Room for the pods of three DaemonSets on 5,000 nodes (KWOK's default is a /24). Not
# loopback: the API server refuses loopback addresses in a Service's endpoints.
POD_CIDR = "10.244.0.1/16"
SERVICE_CIDR = "10.96.0.0/16"
# Client rate limits of the controllers: the defaults (20 QPS) make a 1,000-node
# DaemonSet roll out in minutes, which would measure the limiter, not the suite.
CONTROLLER_QPS = "500"
# Nodes per `kubectl create` (one request each; an apply would first GET each): each call
# stays well inside kubectl's 60 s limit on two cores busy with the DaemonSets of the nodes
# created before (500 per apply once took about 36 s).
NODE_BATCH = 250
# How KWOK plays the kubelets: Leases every 10 s, a full node status every 5 min, pods Ready
# again after their node recovers, as kubelets do (why: the file).
STAGES = Path(__file__).with_name("kwok_stages.yaml")
# A kubelet's default lease (nodeLeaseDurationSeconds); KWOK renews it at a quarter of that.
NODE_LEASE_SECONDS = 40
# Lease renewals KWOK sends at once. 5,000 nodes renew 500 times a second; KWOK's default of
# 4 at a time keeps up only while the API server answers in under 8 ms, and with the
# DaemonSets of 5,000 new nodes being rolled out on two cores it did not: renewals fell
# minutes behind, nodes turned NotReady (3,223 of 5,000, measured) and were initialized again,
# status writes and all. A renewal waits on the API server, not on KWOK's CPU.
NODE_LEASE_PARALLELISM = 32


class ControlPlaneError(OdinError, RuntimeError):
    """The control plane could not be set up; the message names the tool and the fix."""


@dataclass(frozen=True)
class SimulatedNode:
    name: str
    control_plane: bool = False
    gpus: int = 0  # an ODIN GPU node: labelled, tainted, with the extended resource the device plugin reports
    address: str | None = None  # its InternalIP; None: KWOK's --node-ip

    def manifest(self) -> dict[str, Any]:
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kwok",
        }
        if self.control_plane:
            labels[CONTROL_PLANE_LABEL] = ""
        resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
        taints = [CONTROL_PLANE_TAINT] if self.control_plane else []
        if self.gpus:
            labels |= {
                GPU_PRESENT_LABEL: "true",
                "nvidia.com/gpu.count": str(self.gpus),
                "nvidia.com/gpu.product": GPU_PRODUCT,
            }
            resources["nvidia.com/gpu"] = str(self.gpus)
            taints.append(GPU_TAINT)
        status: dict[str, Any] = {"capacity": resources, "allocatable": resources}
        if self.address:
            status["addresses"] = [{"type": "InternalIP", "address": self.address}]
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": labels,
                "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            },
            "spec": {"taints": taints} if taints else {},
            "status": status,
        }


def cluster_nodes(count: int, prefix: str = "odin-kwok") -> list[SimulatedNode]:
    """One control plane and count-1 workers, named as kind names its nodes."""
    if count < 1:
        raise ControlPlaneError(f"--nodes must be at least 1 (the control plane), got {count}")
    workers = [SimulatedNode(f"{prefix}-worker{'' if i == 1 else i}") for i in range(1, count)]
    return [SimulatedNode(f"{prefix}-control-plane", control_plane=True), *workers]


def gpu_nodes(count: int, gpus_per_node: int, prefix: str = "odin-kwok") -> list[SimulatedNode]:
    """`count` ODIN GPU nodes of `gpus_per_node` GPUs, each with a loopback InternalIP of its own."""
    pool = ipaddress.ip_network(GPU_NODE_ADDRESSES)
    if count < 0 or gpus_per_node < 1:
        raise ControlPlaneError(
            f"GPU nodes: --gpu-nodes must be 0 or more and --gpus-per-node 1 or more, got {count}, {gpus_per_node}"
        )
    if count >= pool.num_addresses - 1:
        raise ControlPlaneError(f"at most {pool.num_addresses - 2} GPU nodes have an address in {pool}, not {count}")
    return [SimulatedNode(f"{prefix}-gpu{i}", gpus=gpus_per_node, address=str(pool[i])) for i in range(1, count + 1)]


def port_forward_config(namespace: str | None, targets: Mapping[int, str]) -> str:
    """KWOK's configuration: a connection to container port P of any pod in `namespace`
    (None: in any namespace) goes to the local address targets[P] (host:port)."""
    forwards = []
    for port, address in sorted(targets.items()):
        host, _, local_port = address.rpartition(":")
        forwards.append({"ports": [port], "target": {"address": host, "port": int(local_port)}})
    spec: dict[str, Any] = {"forwards": forwards}
    if namespace is not None:  # without a selector KWOK forwards for every pod
        spec["selector"] = {"matchNamespaces": [namespace]}
    doc = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "ClusterPortForward",
        "metadata": {"name": f"{namespace or 'any-namespace'}-to-local-processes"},
        "spec": spec,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def kwok_configuration(extra: str = "") -> str:
    """KWOK's --config: its options, the stages of STAGES, then `extra` (its port forwards)."""
    options = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "options": {"nodeLeaseParallelism": NODE_LEASE_PARALLELISM},
    }
    docs = [yaml.safe_dump(options, sort_keys=False), STAGES.read_text()]
    if extra.strip():
        docs.append(extra)
    return "\n---\n".join(doc.strip("\n") for doc in docs) + "\n"


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ControlPlaneError(f"`openssl {' '.join(args)}` failed: {proc.stderr.strip()[-400:]}")


def make_certificates(pki: Path) -> None:
    """A CA and one certificate (serving on 127.0.0.1 and client in system:masters) for
    every component, as kwokctl does: a throw-away cluster on loopback needs no more."""
    if shutil.which("openssl") is None:
        raise ControlPlaneError("the kwok target needs openssl on PATH to make its certificates (apt install openssl)")
    pki.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=odin-acceptance-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=pki,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "admin.key", "-out", "admin.csr",
        "-subj", "/O=system:masters/CN=odin-acceptance-admin",
        cwd=pki,
    )  # fmt: skip
    (pki / "admin.ext").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
    )
    _openssl(
        "x509", "-req", "-in", "admin.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-out", "admin.crt", "-extfile", "admin.ext",
        cwd=pki,
    )  # fmt: skip


def kubeconfig(server: str, pki: Path) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "odin-kwok", "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")}}
            ],
            "users": [
                {
                    "name": "odin-kwok-admin",
                    "user": {"client-certificate": str(pki / "admin.crt"), "client-key": str(pki / "admin.key")},
                }
            ],
            "contexts": [{"name": "odin-kwok", "context": {"cluster": "odin-kwok", "user": "odin-kwok-admin"}}],
            "current-context": "odin-kwok",
        }
    )


class ControlPlane:
    """etcd, the API server, the controllers, the scheduler and KWOK, in `directory`."""

    def __init__(self, tools: Mapping[str, Path], directory: Path) -> None:
        self.tools = tools
        self.directory = directory
        self.pki = directory / "pki"
        self.kubeconfig = directory / "kubeconfig"
        self.processes = ProcessGroup(directory)
        self.ports = {name: free_port() for name in ("etcd-client", "etcd-peer", "apiserver", "kwok")}
        self.ready_seconds: dict[str, float] = {}

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    def kubectl(self, namespace: str = "default") -> Kubectl:
        return Kubectl(None, namespace, binary=str(self.tools["kubectl"]), kubeconfig=str(self.kubeconfig))

    def api(self, namespace: str = "default", sent: list[str] | None = None) -> KubeApi:
        return KubeApi(str(self.kubeconfig), None, namespace, sent)

    def start(self, kwok_config: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        make_certificates(self.pki)
        self.kubeconfig.write_text(kubeconfig(self.server, self.pki))
        (self.directory / "kwok.yaml").write_text(kwok_configuration(kwok_config))
        self._start_etcd()
        self._start_apiserver()
        for name, argv in self._controllers().items():
            self.processes.start(name, argv)
        self._check_running()

    def _start_etcd(self) -> None:
        client = f"http://127.0.0.1:{self.ports['etcd-client']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        proc = self.processes.start(
            "etcd",
            [
                str(self.tools["etcd"]),
                "--name=odin",
                f"--data-dir={self.directory / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=odin={peer}",
                # A throw-away store: durability costs seconds per run on a busy disk.
                "--unsafe-no-fsync=true",
            ],
        )
        etcd = JsonApi(client, "etcd")
        self.ready_seconds["etcd"] = self.processes.wait_ready(proc, lambda: etcd.probe("/health"), "GET /health")

    def _start_apiserver(self) -> None:
        pki = self.pki
        proc = self.processes.start(
            "kube-apiserver",
            [
                str(self.tools["kube-apiserver"]),
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd-client']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports['apiserver']}",
                f"--cert-dir={self.directory / 'apiserver-certs'}",
                f"--tls-cert-file={pki / 'admin.crt'}",
                f"--tls-private-key-file={pki / 'admin.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--kubelet-client-certificate={pki / 'admin.crt'}",
                f"--kubelet-client-key={pki / 'admin.key'}",
                "--kubelet-preferred-address-types=InternalIP",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'admin.key'}",
                f"--service-account-signing-key-file={pki / 'admin.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                # The reconciler would publish the host's address for the `kubernetes`
                # Service; nothing in this cluster uses it, and nothing listens there.
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
            ],
        )
        api = self.api()

        def ready() -> None:
            # Refused until it listens (a "not yet" of the wait), 500 until its hooks ran.
            assert api.ready(), "GET /readyz is not ok yet"

        self.ready_seconds["kube-apiserver"] = self.processes.wait_ready(proc, ready, "GET /readyz")

    def _controllers(self) -> dict[str, list[str]]:
        kubeconfig, pki = str(self.kubeconfig), self.pki
        # What the controller manager and the scheduler share: client, serving and rate limits.
        common = [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--kube-api-qps={CONTROLLER_QPS}",
            f"--kube-api-burst={CONTROLLER_QPS}",
        ]
        return {
            "kube-controller-manager": [
                str(self.tools["kube-controller-manager"]),
                *common,
                f"--secure-port={free_port()}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--service-account-private-key-file={pki / 'admin.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--concurrent-daemonset-syncs=4",
            ],
            "kube-scheduler": [str(self.tools["kube-scheduler"]), *common, f"--secure-port={free_port()}"],
            "kwok": [
                str(self.tools["kwok"]),
                f"--kubeconfig={kubeconfig}",
                f"--config={self.directory / 'kwok.yaml'}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
                "--node-ip=127.0.0.1",
                f"--node-port={self.ports['kwok']}",
                f"--server-address=127.0.0.1:{self.ports['kwok']}",
                f"--tls-cert-file={pki / 'admin.crt'}",
                f"--tls-private-key-file={pki / 'admin.key'}",
                f"--cidr={POD_CIDR}",
                f"--node-lease-duration-seconds={NODE_LEASE_SECONDS}",
                # Its INFO logs a line per Lease renewal: 500 a second at 5,000 nodes (160 MB in
                # 24 min, measured), CPU the simulation has better use for. Warnings and errors stay.
                "--v=WARN",
            ],
        }

    def _check_running(self) -> None:
        for proc in self.processes.processes.values():
            proc.ensure_running()

    def register_nodes(self, nodes: Sequence[SimulatedNode]) -> int:
        """Create the nodes, which must not exist yet (a `kubectl create` per NODE_BATCH), and
        wait until KWOK reports each Ready."""
        kubectl = self.kubectl()
        for start in range(0, len(nodes), NODE_BATCH):
            batch = [n.manifest() for n in nodes[start : start + NODE_BATCH]]
            nodes_list = json.dumps({"apiVersion": "v1", "kind": "List", "items": batch})
            kubectl.run("create", "-f", "-", stdin=nodes_list, namespaced=False)
        api = self.api()
        wanted = {n.name for n in nodes}

        def all_ready() -> int:
            self._check_running()
            ready = {name for name, is_ready in api.node_readiness().items() if is_ready}
            missing = sorted(wanted - ready)
            assert not missing, f"{len(missing)} of {len(wanted)} nodes not Ready, e.g. {missing[:5]}"
            return len(wanted)

        return eventually(
            all_ready,
            timeout=timeouts.for_nodes(len(wanted)),
            what=f"KWOK to report {len(wanted)} nodes Ready",
            hint=f"see {self.directory / 'kwok.log'}",
        )

    def log_tails(self, lines: int = 30) -> dict[str, str]:
        return {f"{name} log (last lines)": p.log_tail(lines) for name, p in self.processes.processes.items()}

    def stop(self) -> None:
        self.processes.stop_all()
