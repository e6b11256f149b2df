"""The Kubernetes targets and their parts: a cluster that exists (`ExistingCluster`) or a kind
cluster the suite creates (`KindCluster`), the stack deployed from the overlay into a namespace
of the run (`OverlayStack`), and workloads as pods on the cluster's nodes (`PodNodes`).

Thin by design, and one code path: kind differs from an existing cluster only in creating
(and deleting) its cluster and loading images. kubectl applies the kustomize overlay and
forwards ports, the kubernetes client (odin_acceptance.clients.kube_api) reads what the cluster
did; the scenarios then talk to the same HTTP APIs as on the local target. The project's tests
run this path against a kwok cluster (odin_acceptance.targets.kwok.served_cluster).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path

import urllib3
import yaml
from kubernetes import config
from kubernetes.client.exceptions import ApiException

from odin_acceptance.clients.kube_api import KubeApi
from odin_acceptance.clients.kubectl import Kubectl
from odin_acceptance.clients.links import LinkWatch
from odin_acceptance.clients.metrics_text import LabelFilter, metric_sum
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core import timeouts
from odin_acceptance.core.artifacts import Artifacts, from_titles
from odin_acceptance.core.polling import WaitTimeout, eventually
from odin_acceptance.core.workloads import LoadableNode, ProbePods, StressedNode, Workload
from odin_acceptance.pipelines.discovery_probe import probe_pods
from odin_acceptance.provisioning import stack_images
from odin_acceptance.provisioning.versions import (
    COMPONENTS,
    KIND,
    KIND_NODE_IMAGE,
    PYTHON_IMAGE,
    PYTHON_REGISTRY_IMAGE,
    SUPPLIED,
)
from odin_acceptance.stack_config import manifests
from odin_acceptance.stack_config.services import stack_services
from odin_acceptance.target_api.base import (
    KUBERNETES_API,
    LOG_COMPONENTS,
    PER_NODE_CPU,
    POD_DISCOVERY,
    REAL_CONTAINERS,
    Endpoints,
    Target,
    TargetError,
    TargetOptions,
    api_snapshots,
)
from odin_acceptance.target_api.parts import Cluster, Nodes, Stack
from odin_acceptance.targets.kind_dns import keep_dns_in_cluster
from odin_acceptance.targets.kube_control_plane import KWOK_ANNOTATION
from odin_acceptance.targets.local_pods import parse_cri_line
from odin_acceptance.targets.overlay import OverlayDeployment, forwards, instrument_files
from odin_acceptance.targets.run_scope import RunScope

KIND_CONFIG = manifests.KIND_CLUSTER
# The Docker network kind puts its clusters' nodes on (kind's default).
KIND_NETWORK = "kind"
# The `app` of the log components' workloads and Services (manifests/base).
LOG_APPS = ("loki", "promtail", "grafana")
# Promtail uses one inotify instance per tailed file set; kind nodes share the host's limits.
INOTIFY_MINIMUM = {"max_user_instances": 512, "max_user_watches": 524288}


def docker_has(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0


def node_containers(cluster: str) -> list[str]:
    """The containers of a kind cluster (kind labels each with its cluster's name)."""
    if shutil.which("docker") is None:
        return []
    out = subprocess.run(
        ["docker", "ps", "-a", "-q", "--filter", f"label=io.x-k8s.kind.cluster={cluster}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if out.returncode != 0:  # an empty answer would read as "no node left"
        raise TargetError(f"docker ps failed, so the kind cluster's containers are unknown: {out.stderr.strip()}")
    return out.stdout.split()


def docker_network_exists(name: str) -> bool:
    return subprocess.run(["docker", "network", "inspect", name], capture_output=True, check=False).returncode == 0


def missing_log_images() -> list[str]:
    """The images of Loki, Promtail and Grafana that this machine's Docker lacks (kind loads
    only what Docker holds; the suite never fetches these)."""
    return [image for c in SUPPLIED for image in c.images if not docker_has(image)]


def pinned_images() -> list[str]:
    return sorted({image for c in COMPONENTS + SUPPLIED for image in c.images} | {PYTHON_IMAGE})


def registry_images() -> list[str]:
    """The pinned images a registry serves (the nightly pulls them); the instruments' image is
    built wherever kind runs (provisioning.stack_images)."""
    return [image for image in pinned_images() if image != PYTHON_IMAGE]


# The Pod Security level of the namespaces the workloads run in: the strictest there is, as a
# cluster that enforces it everywhere would ask (the stack's own namespace cannot: node-exporter
# and Promtail read the host; manifests/base/namespace.yaml).
WORKLOAD_POD_SECURITY = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}
# The stock image's `nobody`: an instrument needs no identity, only to read its ConfigMap.
INSTRUMENT_USER = 65534
# The CPU stress's share of a node's cores where the nodes share the host's kernel (kind): the
# host's control plane and the stack keep a tenth, and 90 % still passes HighCPUUsage's 80 %.
SHARED_KERNEL_LOAD = 0.9
# What the stress pod asks the scheduler for: its limit is what it burns, not what it needs placed.
STRESS_REQUEST = "100m"


def stress_resources(cpus: int, load: float) -> dict[str, dict[str, str]]:
    """The CPU stress pod's resources: a limit of `load` of the node's `cpus` cores."""
    return {"requests": {"cpu": STRESS_REQUEST}, "limits": {"cpu": f"{round(cpus * 1000 * load)}m"}}


def workload_namespace(name: str) -> dict:
    """A namespace for the scenarios' workloads, admitting only pods that meet `restricted`."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(WORKLOAD_POD_SECURITY)}}


def instrument_pod(
    namespace: str,
    name: str,
    script: str,
    args: list[str],
    image: str,
    node: str | None = None,
    labels: Mapping[str, str] | None = None,
    resources: Mapping[str, Mapping[str, str]] | None = None,
) -> dict:
    """A pod running one instrument from the `odin-instruments` ConfigMap on the stock image
    (`labels`: the run's among them, which Promtail's scope keeps). It meets Pod Security's
    `restricted` level, so a cluster enforcing it admits every pod the suite starts."""
    container: dict = {
        "name": "app",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-u", f"/instruments/{script}", *args],
        "volumeMounts": [{"name": "instruments", "mountPath": "/instruments"}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if resources:
        container["resources"] = {kind: dict(values) for kind, values in resources.items()}
    spec: dict = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": INSTRUMENT_USER,
            "runAsGroup": INSTRUMENT_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "instruments", "configMap": {"name": "odin-instruments"}}],
    }
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**(labels or {}), "app": name, "odin-acceptance": "workload"},
        },
        "spec": spec,
    }


def inotify_problems(proc_dir: Path = Path("/proc/sys/fs/inotify")) -> list[str]:
    """Host inotify limits below what Promtail on several kind nodes needs."""
    problems = []
    for key, minimum in INOTIFY_MINIMUM.items():
        try:
            value = int((proc_dir / key).read_text())
        except (OSError, ValueError):
            continue
        if value < minimum:
            problems.append(f"fs.inotify.{key} is {value}, needs ≥ {minimum}")
    return problems


def preflight(name: str) -> None:
    """Everything a Kubernetes target needs from the host, checked in seconds."""
    if shutil.which("kubectl") is None:
        raise TargetError("kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/)")
    if name != "kind":
        return
    if shutil.which("docker") is None:
        raise TargetError("--target kind needs Docker: `docker` is not on PATH (install Docker Engine)")
    probe = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=timeouts.KUBECTL,
        check=False,
    )
    if probe.returncode != 0:
        raise TargetError(
            "--target kind needs a running Docker engine; `docker info` says: "
            f"{(probe.stderr or probe.stdout).strip()[:300]} (start Docker, or use --target local)"
        )
    if shutil.which("kind") is None:
        raise TargetError(
            f"--target kind needs the kind binary on PATH (go install sigs.k8s.io/kind@v{KIND.version}, "
            "or python -m odin_acceptance.provisioning.kind_tools)"
        )
    problems = inotify_problems()
    if problems:
        raise TargetError(
            "inotify limits too low for Promtail on several kind nodes: "
            + "; ".join(problems)
            + ". Fix (needs root on the host): sudo sysctl fs.inotify.max_user_instances=512 "
            "fs.inotify.max_user_watches=524288"
        )


def simulated_nodes(nodes: list[dict]) -> bool:
    """Whether every node of a cluster is one KWOK simulates: its pods run no container."""
    return bool(nodes) and all(KWOK_ANNOTATION in (n["metadata"].get("annotations") or {}) for n in nodes)


def cluster_capabilities(declared: frozenset[str], nodes: list[dict]) -> frozenset[str]:
    """What a cluster target can do on a cluster with `nodes`: on nodes KWOK simulates, no
    container runs (no Loki, Promtail or Grafana at work, no log workload, no in-cluster
    Prometheus discovering pods)."""
    if simulated_nodes(nodes):
        return declared - {REAL_CONTAINERS, POD_DISCOVERY}
    return declared


def keeps_resources(policy: str, failed: bool) -> bool:
    """--keep-resources: never (the default), on-failure or always (as kuttl's --delete)."""
    return policy == "always" or (policy == "on-failure" and failed)


class ExistingCluster(Cluster):
    """A cluster that exists (`--kubeconfig`, `--context`), shared with others: this run's
    share of it is a namespace and a label (RunScope)."""

    # A cluster's nodes are machines (or VMs) of their own: each node's CPU counters are its own.
    provides = frozenset({KUBERNETES_API, REAL_CONTAINERS, POD_DISCOVERY, PER_NODE_CPU, LOG_COMPONENTS})
    # The instruments' image this cluster can run: it pulls from a registry.
    instruments_image = PYTHON_REGISTRY_IMAGE
    name = "cluster"
    overlay_namespace = "odin-acceptance"

    def __init__(self, options: TargetOptions) -> None:
        super().__init__()
        self.keep_resources = options.keep_resources
        self.scope = RunScope(self.overlay_namespace)
        self.kubeconfig, self.context = self.cluster_access(options)
        self.api = KubeApi(self.kubeconfig, self.context, self.scope.namespace)
        self.capabilities = self.provides  # what its nodes allow, once started
        self.stack: OverlayStack | None = None  # the stack deployed in it, for its probes

    @classmethod
    def cluster_access(cls, options: TargetOptions) -> tuple[str | None, str | None]:
        """(kubeconfig, context) of the cluster; None means the client's defaults ($KUBECONFIG,
        ~/.kube/config, its current context)."""
        return options.kubeconfig, options.context

    @classmethod
    def preflight(cls, options: TargetOptions) -> frozenset[str]:
        """The host's tools, then the cluster itself: reachable, and whether its nodes run
        containers (a cluster whose nodes KWOK simulates runs none)."""
        preflight(cls.name)
        kubeconfig, context = cls.cluster_access(options)
        api = KubeApi(kubeconfig, context, "default")
        try:
            nodes = api.nodes()
        except (ApiException, urllib3.exceptions.HTTPError, config.ConfigException, OSError) as exc:
            raise TargetError(
                f"cannot reach the cluster of kubeconfig {kubeconfig or '(default)'}, context "
                f"{context or '(current)'}: {str(exc).splitlines()[0][:300]} (check --kubeconfig and --context)"
            ) from exc
        return cluster_capabilities(cls.provides, nodes)

    def ensure_cluster(self) -> None:
        """Create or reuse the cluster (kind); an existing cluster was checked in preflight."""

    def start(self) -> None:
        self.ensure_cluster()
        self.capabilities = cluster_capabilities(self.node_provides(), self.api.nodes())

    def node_provides(self) -> frozenset[str]:
        """What the cluster's nodes can run, before asking them (an existing cluster pulls images)."""
        return self.provides

    def stop(self, *, failed: bool = False) -> None:
        """An existing cluster stays; what the run put in it is the stack's to remove."""

    def kubernetes(self) -> KubeApi:
        return self.api

    def pod_discovery(self) -> PrometheusApi:
        if self.stack is None:
            raise TargetError("no stack deployed in the cluster: nothing discovers its pods")
        return self.stack.endpoints.prometheus  # the Deployment's pod, discovering in-cluster

    def discovery_probes(self, run_id: str) -> AbstractContextManager[ProbePods]:
        if self.stack is None:
            raise TargetError("no stack deployed in the cluster to probe the discovery of")
        return probe_pods(self.api, self.stack.deployment.kubectl, run_id)

    def describe(self) -> dict[str, str]:
        return {
            "kubeconfig": self.kubeconfig or "default ($KUBECONFIG or ~/.kube/config)",
            "kube context": self.context or "current",
        }


class KindCluster(ExistingCluster):
    """A kind cluster the suite creates (or reuses, never deleting one it did not create),
    with the pinned images loaded when Docker has them."""

    name = "kind"
    cluster_name = "odin-acceptance"
    # `--kind-node-image`: the official pinned image, or `built` (kind_node_image.node_image).
    node_image = KIND_NODE_IMAGE
    progress = staticmethod(print)  # TargetOptions.progress, once built
    # kind's nodes are containers on the host's kernel: every node-exporter reads the host's
    # /proc/stat, so a load on one node shows on all of them.
    provides = ExistingCluster.provides - {PER_NODE_CPU}
    # Built where kind runs and loaded into its nodes (provisioning.stack_images).
    instruments_image = PYTHON_IMAGE
    # kind puts every cluster on one Docker network, which `kind delete cluster` keeps: a
    # network this run brought into being is this run's to remove.
    created_network = False

    def __init__(self, options: TargetOptions) -> None:
        super().__init__(options)
        self.keep_cluster = options.keep_cluster
        self.node_image = options.kind_node_image or KIND_NODE_IMAGE
        self.progress = options.progress
        self.created_cluster = False
        self.images: list[stack_images.ImageOutcome] = []
        self.timings: dict[str, str] = {}

    @classmethod
    def cluster_access(cls, options: TargetOptions) -> tuple[str | None, str | None]:
        return options.kubeconfig, f"kind-{cls.cluster_name}"

    @classmethod
    def preflight(cls, options: TargetOptions) -> frozenset[str]:
        preflight(cls.name)  # the cluster does not exist yet: kind's nodes run real containers
        return cls.provides if not missing_log_images() else cls.provides - {LOG_COMPONENTS}

    def ensure_cluster(self) -> None:
        self.timings = {}
        from odin_acceptance.provisioning.kind_node_image import BUILT

        # Before the cluster: an image that cannot be built stops the run with nothing created.
        # Only a node built here (no registry) needs the stack's images built too: with the
        # official node image the nodes pull upstream's, and a laptop's own Docker is left alone.
        self.images = stack_images.ensure_images(self.progress, stack=self.node_image == BUILT)
        existing = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, check=False).stdout
        if self.cluster_name not in existing.split():
            # --image sets every node's image: the pin lives in versions.py only, or it is built here.
            from odin_acceptance.provisioning.kind_node_image import node_image  # builds only on request

            image = node_image(self.node_image, self.progress)
            create = ["kind", "create", "cluster", "--config", str(KIND_CONFIG), "--image", image]
            create += ["--wait", "180s"]
            if self.kubeconfig:
                create += ["--kubeconfig", self.kubeconfig]
            self.created_network = not docker_network_exists(KIND_NETWORK)
            self.created_cluster = True  # set first: a creation cut short is still ours to delete
            started = time.monotonic()
            subprocess.run(create, check=True, timeout=timeouts.CLUSTER_CREATE)
            self.timings["kind cluster created in"] = f"{time.monotonic() - started:.0f} s"
        started = time.monotonic()
        for image in pinned_images():
            if docker_has(image):  # offline runs: images pre-pulled on the host
                subprocess.run(
                    ["kind", "load", "docker-image", image, "--name", self.cluster_name],
                    check=True,
                    capture_output=True,
                    timeout=timeouts.CLUSTER_CREATE,
                )
        self.timings["images loaded into the nodes in"] = f"{time.monotonic() - started:.0f} s"

    def node_provides(self) -> frozenset[str]:
        return self.provides if not missing_log_images() else self.provides - {LOG_COMPONENTS}

    def start(self) -> None:
        super().start()
        if self.created_cluster:  # a cluster found is left as it is
            # Its DNS answers cluster names only: a pod's lookup never leaves the machine.
            kubectl = ["kubectl", "--context", f"kind-{self.cluster_name}"]
            keep_dns_in_cluster(kubectl + (["--kubeconfig", self.kubeconfig] if self.kubeconfig else []))

    def _delete_nodes(self) -> None:
        """`kind delete cluster` until no node container of the cluster is left: after Ctrl-C
        during `kind create cluster`, Docker may still finish creating a node the interrupted
        kind asked for, after a first delete."""

        def deleted() -> None:
            try:
                subprocess.run(
                    ["kind", "delete", "cluster", "--name", self.cluster_name],
                    capture_output=True,
                    check=False,
                    timeout=timeouts.NODES_GONE,
                )
            except subprocess.TimeoutExpired as exc:  # tried again until the deadline, then reported
                raise AssertionError(f"kind delete cluster did not finish within {exc.timeout:.0f} s") from exc
            left = node_containers(self.cluster_name)
            assert not left, f"node containers still there: {left}"

        try:
            eventually(deleted, timeout=timeouts.NODES_GONE, what=f"the kind cluster {self.cluster_name} deleted")
        except (WaitTimeout, TargetError) as exc:  # reported as left behind; the rest of stop() still runs
            self.left_behind.append(f"kind cluster {self.cluster_name}: {exc}")

    def describe(self) -> dict[str, str]:
        facts = super().describe()
        missing = missing_log_images()
        if missing:
            facts["not deployed"] = (
                f"Loki, Promtail and Grafana: their images ({', '.join(missing)}) are not in this machine's Docker "
                "(AGPL-3.0: the suite never fetches them)"
            )
        for outcome in self.images:
            facts[f"image {outcome.reference}"] = outcome.how
        facts.update(self.timings)
        return facts

    def stop(self, *, failed: bool = False) -> None:
        if not self.created_cluster:
            return
        if self.keep_cluster or keeps_resources(self.keep_resources, failed):
            self.left_behind.append(
                f"kind cluster {self.cluster_name} kept: kind delete cluster --name {self.cluster_name}"
            )
            return
        if shutil.which("kind"):
            self._delete_nodes()
        if self.created_network:  # Docker refuses while another cluster's containers use it: then it stays
            removed = subprocess.run(["docker", "network", "rm", KIND_NETWORK], capture_output=True, check=False)
            if removed.returncode != 0 and docker_network_exists(KIND_NETWORK):
                self.left_behind.append(f"Docker network {KIND_NETWORK} kept: other containers use it")


class OverlayStack(Stack):
    """The stack deployed from the cluster overlay into a namespace of this run, reached
    through port-forwards of its Services."""

    overlay = manifests.OVERLAYS / "cluster"

    def __init__(self, options: TargetOptions, cluster: ExistingCluster) -> None:
        self.cluster = cluster
        cluster.stack = self
        self.profile = options.profile
        self.keep_resources = options.keep_resources
        self.scope = cluster.scope
        # Grafana's API is read as its admin (the anonymous Viewer lacks datasources:read), with a
        # password of this run, put in the Secret the manifests' Grafana reads it from.
        self.grafana_auth: tuple[str, str] = ("admin", uuid.uuid4().hex)
        self.ports = stack_services(manifests.load(options.manifest_dir))
        self.deployment = OverlayDeployment(
            overlay=self.overlay,
            manifest_dir=options.manifest_dir,
            kubectl=Kubectl(cluster.context, self.scope.namespace, kubeconfig=cluster.kubeconfig),
            api=cluster.api,
            forwarded=forwards(options.manifest_dir),
            grafana_auth=self.grafana_auth,
            profile=options.profile,
            scope=self.scope,
            instruments_image=cluster.instruments_image,
        )
        self.links: LinkWatch | None = None
        self._endpoints: Endpoints | None = None
        self.ready_after: float | None = None  # seconds from the first apply to every API answering
        # Objects outside the overlay this run created (the workloads' namespaces).
        self.extra: list[tuple[str, str]] = []
        self.left_behind: list[str] = []

    def start(self) -> None:
        if REAL_CONTAINERS not in self.cluster.capabilities:  # nothing serves them: their scenarios are skipped
            self.deployment.forwarded = forwards(self.deployment.manifest_dir, leave_out=("loki", "grafana"))
        if LOG_COMPONENTS not in self.cluster.capabilities:  # no image to run: deployed without them
            self.deployment.leave_out = LOG_APPS
            self.deployment.forwarded = forwards(self.deployment.manifest_dir, leave_out=LOG_APPS)
        started = time.monotonic()
        self._endpoints = e = self.deployment.deploy()
        self.ready_after = time.monotonic() - started
        self.links = LinkWatch(
            {"prometheus": e.prometheus.metrics_text, "alertmanager": e.alertmanager.metrics_text},
            e.prometheus.targets,
            dict,  # containers that exit are restarted by the kubelet: rollouts and probes judge them
        )
        self.links.baseline()

    def stop(self, *, failed: bool = False) -> None:
        self.deployment.stop()
        if not self.deployment.applied and not self.extra:
            # Nothing was applied (stopped before the deploy, e.g. Ctrl-C while kind created the
            # cluster): nothing to remove, and no API to ask, whose error would hide the interrupt.
            return
        if keeps_resources(self.keep_resources, failed):
            self.left_behind.append(
                f"kept (--keep-resources={self.keep_resources}): namespace {self.scope.namespace} and everything "
                f"labelled {self.scope.selector}; remove with kubectl delete namespace,clusterrole,clusterrolebinding "
                f"-l {self.scope.selector}"
            )
            return
        self.left_behind += self.deployment.remove(list(self.extra))
        self.extra.clear()

    @property
    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            raise TargetError("the stack is not deployed")
        return self._endpoints

    def broken_links(self) -> dict[str, str]:
        return self.links.broken() if self.links else {}

    def promtail_metric(self, name: str, where: LabelFilter | None = None) -> float:
        # Through the API server's pod proxy: no port-forward per node needed.
        api = self.cluster.api
        return sum(
            metric_sum(api.pod_proxy_get(pod["metadata"]["name"], self.ports["promtail"], "/metrics"), name, where)
            for pod in api.pods("app=promtail")
        )

    def deployed_config(self, name: str) -> str:
        return self.deployment.deployed_config(name)

    def deployed_dashboard(self, title: str) -> dict:
        return self.deployment.deployed_dashboard(title)

    def deployed_query(self, expr: str) -> str:
        return self.scope.query(expr)

    def run_notes(self) -> dict[str, str]:
        return self.deployment.forward_notes()

    def diagnostics(self) -> dict[str, str]:
        out = self.deployment.diagnostics()
        if self._endpoints is not None:
            out.update(api_snapshots(self._endpoints))
        return out

    def artifacts(self) -> Artifacts:
        # Events, pod logs and the state of unready objects (the diagnostics), and what was applied.
        out: dict[str, str | Path] = dict(from_titles(self.diagnostics()))
        applied = [
            {**o, "data": {k: "(redacted)" for k in o.get("data", {})}} if o["kind"] == "Secret" else o
            for o in self.deployment.applied
        ]
        out["applied.yaml"] = yaml.safe_dump_all(applied, sort_keys=False)
        return out

    def describe(self) -> dict[str, str]:
        facts = {f"{c.name} image": ", ".join(c.images) for c in COMPONENTS + SUPPLIED}
        facts.update(
            {
                "stack namespace": self.scope.namespace,
                "objects of this run": f"labelled {self.scope.selector}",
                "timing profile": self.profile.describe(),
                "resources after the run": f"--keep-resources={self.keep_resources}",
            }
        )
        if self.ready_after is not None:
            facts["stack deployed and ready in"] = f"{self.ready_after:.0f} s"
        return facts


class PodNodes(Nodes):
    """Workloads as pods of the instruments' image on the cluster's nodes."""

    def __init__(self, stack: OverlayStack) -> None:
        self.stack = stack
        self.api = stack.cluster.api
        self.scope = stack.scope
        self._workloads: set[Workload] = set()
        self._namespaces: list[str] = []  # workload namespaces this run created

    def start_workload(
        self, namespace: str, name: str, args: list[str], labels: Mapping[str, str] | None = None
    ) -> Workload:
        k = self.stack.deployment.kubectl.at(namespace)
        if namespace not in self._namespaces:  # first workload of a namespace
            self._namespaces.append(namespace)
            self.stack.extra.append(("Namespace", namespace))
            k.apply(json.dumps(self.scope.label(workload_namespace(namespace))))
            instruments = yaml.safe_load(k.configmap_from_files("odin-instruments", instrument_files()))
            k.apply(json.dumps(self.scope.label(instruments)))
        pod_labels = {**(labels or {}), **self.scope.labels}
        image = self.stack.cluster.instruments_image
        k.apply(json.dumps(instrument_pod(namespace, name, "log_writer.py", args, image, labels=pod_labels)))
        workload = Workload(namespace, name, "app")
        self._workloads.add(workload)
        return workload

    def loadable_node(self) -> LoadableNode:
        k = self.api
        nodes = k.nodes()
        workers = [n for n in nodes if "node-role.kubernetes.io/control-plane" not in n["metadata"]["labels"]]
        node = (workers or nodes)[0]
        name = node["metadata"]["name"]
        exporter = next(p for p in k.pods("app=node-exporter") if p["spec"].get("nodeName") == name)
        instance = f"{exporter['status']['podIP']}:{self.stack.ports['node-exporter']}"
        return LoadableNode(name, instance, int(node["status"]["capacity"]["cpu"]))

    def stress_cpu(self, node: LoadableNode, name: str, seconds: float) -> StressedNode:
        # Every core, capped by a CPU limit at the node's cores; where the nodes share the
        # host's kernel, at a share of them, so the control plane on that host is not starved.
        k = self.stack.deployment.kubectl
        load = 1.0 if PER_NODE_CPU in self.stack.cluster.provides else SHARED_KERNEL_LOAD
        args = ["--cpus", str(node.cpus), "--seconds", f"{seconds:g}"]
        started = time.time()
        resources = stress_resources(node.cpus, load)
        pod = instrument_pod(
            k.namespace,
            name,
            "cpu_stress.py",
            args,
            self.stack.cluster.instruments_image,
            node=node.node,
            labels=self.scope.labels,
            resources=resources,
        )
        k.apply(json.dumps(pod))
        workload = Workload(k.namespace, name, "app")
        self._workloads.add(workload)
        return StressedNode(node.node, node.instance, started, workload, seconds, load)

    def stop_workload(self, workload: Workload) -> None:
        self._workloads.discard(workload)
        self.api.at(workload.namespace).delete_pod(workload.pod)

    def wait_workload_done(self, workload: Workload, timeout: float) -> None:
        k = self.api.at(workload.namespace)

        def succeeded() -> None:
            phase = k.pod(workload.pod)["status"].get("phase")
            assert phase == "Succeeded", f"pod phase {phase}"

        eventually(succeeded, timeout=timeout, what=f"workload {workload.pod} to finish")

    def container_log(self, workload: Workload) -> list[tuple[int, str]]:
        # --timestamps prints the runtime's RFC3339Nano timestamp, as the CRI file holds it.
        text = self.api.at(workload.namespace).pod_log(workload.pod, workload.container, timestamps=True)
        out = []
        for line in text.splitlines():
            stamp, _, rest = line.partition(" ")
            ts, *_ = parse_cri_line(f"{stamp} stdout F {rest}")
            out.append((ts, rest))
        return out

    def running_containers(self) -> list[Workload]:
        # This run's pods only (the cluster's own are not ours to judge), and of those the
        # containers that wrote a line (one line of the log each, not the whole log).
        running = [
            Workload(p["metadata"]["namespace"], p["metadata"]["name"], c["name"])
            for p in self.api.pods(self.scope.selector, all_namespaces=True)
            if p["status"].get("phase") == "Running"
            for c in p["spec"]["containers"]
        ]
        return [w for w in running if self.api.at(w.namespace).pod_log(w.pod, w.container, tail=1).strip()]


class ClusterTarget(Target):
    """An existing cluster: the stack deployed from the cluster overlay into a namespace of
    this run, workloads as pods on its nodes."""

    name = "cluster"
    parts = (ExistingCluster, OverlayStack, PodNodes)
    cluster_part: type[ExistingCluster] = ExistingCluster

    def __init__(self, *, options: TargetOptions, tools: dict[str, Path]) -> None:
        cluster = self.cluster_part(options)
        stack = OverlayStack(options, cluster)
        super().__init__(profile=options.profile, cluster=cluster, stack=stack, nodes=PodNodes(stack))


class KindTarget(ClusterTarget):
    """The cluster target on a kind cluster it creates."""

    name = "kind"
    parts = (KindCluster, OverlayStack, PodNodes)
    cluster_part = KindCluster
