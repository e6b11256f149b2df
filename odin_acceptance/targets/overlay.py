"""The stack in a cluster, deployed from a kustomize overlay: what the kind, cluster and
kwok targets share. kubectl applies the overlay and forwards the Services; the kubernetes
client (odin_acceptance.clients.kube_api) waits for the rollouts."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from odin_acceptance.clients.alertmanager_api import AlertmanagerApi
from odin_acceptance.clients.instrument_clients import FakeDcgmClient, WebhookReceiverClient
from odin_acceptance.clients.json_http import JsonApi
from odin_acceptance.clients.kube_api import KubeApi
from odin_acceptance.clients.kubectl import Kubectl, PortForward
from odin_acceptance.clients.loki_api import LokiApi
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import WaitTimeout, eventually
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.provisioning.versions import PYTHON_IMAGE
from odin_acceptance.stack_config import manifests, render
from odin_acceptance.stack_config.manifests import CONFIGS
from odin_acceptance.stack_config.services import stack_services
from odin_acceptance.target_api.base import Endpoints, TargetError
from odin_acceptance.targets.cluster_diagnostics import cluster_diagnostics, rollout_stalled
from odin_acceptance.targets.run_scope import RunScope
from odin_acceptance.verdicts import cluster_checks

INSTRUMENTS = Path(__file__).resolve().parents[1] / "instruments"
# The Services the suite talks to through a port-forward (their ports: the manifests').
FORWARDED = ("prometheus", "alertmanager", "loki", "webhook-receiver", "dcgm-exporter", "grafana")


def forwards(manifest_dir: Path, leave_out: Iterable[str] = ()) -> dict[str, int]:
    """Service -> port of each Service the suite forwards, from the manifests under test."""
    ports = stack_services(manifests.load(manifest_dir))
    return {name: ports[name] for name in FORWARDED if name in ports and name not in set(leave_out)}


ROLLOUTS = (
    ("deployment", "prometheus"),
    ("deployment", "alertmanager"),
    ("statefulset", "loki"),
    ("daemonset", "promtail"),
    ("daemonset", "node-exporter"),
    ("deployment", "grafana"),
    ("deployment", "dcgm-exporter"),
    ("deployment", "webhook-receiver"),
)


# What a left-out component consists of in the cluster (odin_acceptance.targets.kubernetes.LOG_APPS).
LEFT_OUT_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Service"}


def instrument_files() -> list[Path]:
    return sorted(p for p in INSTRUMENTS.glob("*.py") if p.name != "__init__.py")


def wait_rolled_out(k: KubeApi, kind: str, name: str) -> None:
    """Wait until a workload is rolled out (what `kubectl rollout status` waits for)."""

    def rolled_out() -> None:
        pending = cluster_checks.rollout_pending(k.workload(kind, name))
        if pending is not None:
            refused = cluster_checks.pods_refused(k.events(), name)
            if refused:  # no retry creates them: say why now, not after the rollout deadline
                raise TargetError(
                    f"{kind}/{name}: the cluster refuses its pods: {refused}\n"
                    "The namespace's Pod Security level (pod-security.kubernetes.io/enforce) or an admission "
                    "policy forbids what the manifests ask for (hostPID and hostPath for node-exporter and "
                    "Promtail). Ask the cluster's admins for an exemption for the namespace, or label it as "
                    "manifests/base/namespace.yaml does."
                )
        assert pending is None, pending

    try:
        eventually(rolled_out, timeout=timeouts.ROLLOUT, what=f"{kind}/{name} to roll out")
    except WaitTimeout as exc:
        raise TargetError(rollout_stalled(k, kind, name, exc)) from exc


def for_profile(objects: list[dict[str, Any]], profile: TimingProfile) -> list[dict[str, Any]]:
    """The overlay's objects with the timing profile applied as the local target applies it:
    every duration of the configs divided (render.scale_durations), Prometheus's duration
    flags added; thresholds, expressions and routes untouched. The real profile changes nothing."""
    if profile.factor == 1:
        return objects
    by_configmap = {configmap: (name, key) for name, (configmap, key) in CONFIGS.items()}
    out = []
    for obj in objects:
        obj = json.loads(json.dumps(obj))
        name = obj["metadata"]["name"]
        if obj["kind"] == "ConfigMap" and name in by_configmap:
            config, key = by_configmap[name]
            obj["data"][key] = render.scale_durations(config, obj["data"][key], profile)
        if obj["kind"] == "Deployment" and name == "prometheus":
            container = obj["spec"]["template"]["spec"]["containers"][0]
            container["args"] = [*container.get("args", []), *render.prometheus_args(profile)]
        out.append(obj)
    return out


def with_instruments_image(objects: list[dict[str, Any]], image: str) -> list[dict[str, Any]]:
    """The objects with every container of the overlay's instruments' image (PYTHON_IMAGE) on
    `image`: an existing cluster cannot pull the one built here."""
    for obj in objects:
        spec = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            if container.get("image") == PYTHON_IMAGE:
                container["image"] = image
    return objects


def _documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


class OverlayDeployment:
    """The stack in a cluster, deployed from a kustomize overlay: applied with kubectl, its
    rollouts waited for through the API, its Services forwarded to 127.0.0.1. What the kind,
    cluster and kwok targets share (on kwok, KWOK simulates the pods).

    With a `scope` (kind and cluster), the stack goes into a namespace of its own run, every
    object carries the run's label, and `remove` deletes only what carries it."""

    def __init__(
        self,
        *,
        overlay: Path,
        manifest_dir: Path,
        kubectl: Kubectl,
        api: KubeApi,
        forwarded: dict[str, int],
        grafana_auth: tuple[str, str],
        profile: TimingProfile,
        scope: RunScope | None = None,
        instruments_image: str = PYTHON_IMAGE,
    ) -> None:
        self.overlay = overlay
        self.manifest_dir = manifest_dir
        self.scope = scope
        self.instruments_image = instruments_image  # the overlay names PYTHON_IMAGE; a cluster may run another
        namespace = scope.namespace if scope else kubectl.namespace
        self.kubectl = kubectl.at(namespace)  # writes: kustomize, apply, port-forward
        self.api = api.at(namespace)  # reads, and deletes of what the run made
        self.forwarded = forwarded  # Service -> port the suite forwards to reach its HTTP API
        self.grafana_auth = grafana_auth
        self.profile = profile
        self.forwards: dict[str, PortForward] = {}
        self.applied: list[dict[str, Any]] = []  # what deploy() applied, as applied
        # The `app` of workloads and Services not deployed (their images are not available);
        # their configs and RBAC still are, so the configs the scenarios read are the manifests'.
        self.leave_out: tuple[str, ...] = ()

    @property
    def namespace(self) -> str:
        return self.api.namespace

    def rendered(self) -> str:
        """The overlay built on the manifests under test (--manifests)."""
        with tempfile.TemporaryDirectory(prefix="odin-overlay-") as tmp:
            return self.kubectl.kustomize(manifests.overlay_on(self.overlay, self.manifest_dir, Path(tmp)))

    def objects(self) -> list[dict[str, Any]]:
        """What deploy() applies: the overlay, on this run's profile, in this run's scope;
        with the instruments' ConfigMap and Grafana's admin Secret of the run."""
        k = self.kubectl
        extra = [
            k.configmap_from_files("odin-instruments", instrument_files()),
            k.secret_literal("grafana-admin", "password", self.grafana_auth[1]),
        ]
        objects = _documents(self.rendered()) + [doc for text in extra for doc in _documents(text)]
        objects = for_profile(objects, self.profile)
        objects = [o for o in objects if not self._left_out(o)]
        objects = with_instruments_image(objects, self.instruments_image)
        if self.scope:
            objects = self.scope.apply(objects)
        # The namespace first: everything else lives in it.
        return sorted(objects, key=lambda o: o["kind"] != "Namespace")

    def _left_out(self, obj: dict[str, Any]) -> bool:
        return obj["kind"] in LEFT_OUT_KINDS and obj["metadata"].get("labels", {}).get("app") in self.leave_out

    def rollouts(self) -> list[tuple[str, str]]:
        return [(kind, name) for kind, name in ROLLOUTS if name not in self.leave_out]

    def deploy(self) -> Endpoints:
        """Apply everything, wait for every rollout, forward the Services; the stack's APIs."""
        k = self.kubectl
        objects = self.objects()
        self.applied = objects
        namespaces = [o for o in objects if o["kind"] == "Namespace"]
        k.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": namespaces}))
        k.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects[len(namespaces) :]}))
        for kind, name in self.rollouts():
            wait_rolled_out(self.api, kind, name)
        selectors = {
            o["metadata"]["name"]: ",".join(f"{key}={value}" for key, value in o["spec"].get("selector", {}).items())
            for o in objects
            if o["kind"] == "Service"
        }
        # Each Service's pods are watched: a replaced pod (Loki restarted near its memory limit)
        # gets a new forward on the same port, and the report says when.
        # One at a time into self.forwards, so that stop() ends those started before one fails.
        self.forwards = {}
        for svc, port in self.forwarded.items():
            self.forwards[svc] = PortForward(k, f"svc/{svc}", port, pods=selectors.get(svc) or None).start()
        f = self.forwards
        endpoints = Endpoints(
            prometheus=PrometheusApi(f["prometheus"].url),
            alertmanager=AlertmanagerApi(f["alertmanager"].url),
            webhook=WebhookReceiverClient(f["webhook-receiver"].url),
            dcgm=FakeDcgmClient(f["dcgm-exporter"].url),
            loki=LokiApi(f["loki"].url) if "loki" in f else None,
            promtail=None,  # one per node: see promtail_metric
            grafana=JsonApi(f["grafana"].url, "Grafana", auth=self.grafana_auth) if "grafana" in f else None,
        )
        e = endpoints
        for api in (e.prometheus, e.alertmanager, *([e.loki] if e.loki else [])):
            eventually(api.ready, timeout=timeouts.PROCESS_READY, what=f"{api.name} through its port-forward")
        return endpoints

    def stop(self) -> None:
        for forward in self.forwards.values():
            forward.stop()

    def forward_notes(self) -> dict[str, str]:
        """Each port-forward re-established during the run (its pod replaced, kubectl gone),
        when and why: a wait that saw "connection refused" then reads as what it was."""
        restarts = [line for forward in self.forwards.values() for line in forward.describe_restarts()]
        return {"port-forwards re-established (or no longer watched)": "; ".join(restarts)} if restarts else {}

    def remove(self, extra: Sequence[tuple[str, str]] = ()) -> list[str]:
        """Delete the run's cluster-wide objects and its namespace (and so everything in it),
        and `extra` (kind, name) the run created besides, each only if it carries this run's
        label; returns what was left alone and why."""
        if self.scope is None:
            return []
        left = []
        names = {(o["kind"], o["metadata"]["name"]) for o in self.applied} | {("Namespace", self.namespace), *extra}
        for kind, name in sorted(names):
            if kind not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
                continue  # namespaced: deleted with the namespace
            live = self.api.cluster_object(kind, name)
            if live is None:
                continue
            if not self.scope.owns(live):
                left.append(f"{kind} {name}: not labelled {self.scope.selector}, so not this run's: left alone")
                continue
            self.api.delete_cluster_object(kind, name)
        return left

    def deployed_config(self, name: str) -> str:
        configmap, key = CONFIGS[name]
        return self.api.configmap_data(configmap)[key]

    def deployed_dashboard(self, title: str) -> dict[str, Any]:
        """A dashboard as this run provisioned it (its queries name the run's namespace)."""
        return manifests.Manifests(tuple(self.applied)).dashboard(title)

    def diagnostics(self) -> dict[str, str]:
        return {**cluster_diagnostics(self.api, [name for _, name in self.rollouts()]), **self.forward_notes()}
