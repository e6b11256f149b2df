"""Does Prometheus's pod discovery stay in its own namespace? Probed with two pods.

A *decoy* in another namespace carries everything the exporters' scrape jobs keep (the
node-exporter's labels and its `metrics` port): a Prometheus that watched every namespace
would scrape it, as it would the production exporters of a shared cluster. A *sentinel* in
the stack's own namespace, created after the decoy has its IP, carries labels no job keeps:
once discovery lists it (as a dropped target), discovery has caught up past the decoy, so
"the decoy is not listed" is a result and not a race.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from odin_acceptance.clients.kube_api import KubeApi, Obj
from odin_acceptance.clients.kubectl import Kubectl
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import eventually, holds_for
from odin_acceptance.core.workloads import ProbePods

SENTINEL_APP = "odin-discovery-sentinel"
# Prometheus's discovery manager hands target updates to the scrape manager every 5 s.
DISCOVERY_UPDATE = 5.0


def probe_pod(namespace: str, name: str, app: str, exporter: Obj) -> dict:
    """A pod like one of the stack's node-exporters (same image, a `metrics` port), without
    its host access: on KWOK it is simulated, on kind it runs harmlessly."""
    image = exporter["spec"]["containers"][0]["image"]
    ports = exporter["spec"]["containers"][0].get("ports", [])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": app, "odin-acceptance": "probe"}},
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "exporter",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    # The exporter's own port, by name and number (no host port: a look-alike).
                    "ports": [{"name": p["name"], "containerPort": p["containerPort"]} for p in ports],
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 65534,
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                }
            ],
        },
    }


def _has_ip(api: KubeApi, namespace: str, name: str) -> None:
    pod = api.at(namespace).pod(name)
    assert pod.get("status", {}).get("podIP"), f"pod {namespace}/{name}: {pod.get('status', {}).get('phase')}, no IP"


@contextmanager
def probe_pods(api: KubeApi, kubectl: Kubectl, run_id: str) -> Iterator[ProbePods]:
    """The decoy (in `<namespace>-decoy-<run>`) and then the sentinel, each with its IP; both
    removed afterwards, however the scenario ends."""
    namespace = api.namespace
    exporter = api.pods("app=node-exporter")[0]
    probes = ProbePods(namespace, f"{namespace}-decoy-{run_id}", f"node-exporter-decoy-{run_id}", f"sentinel-{run_id}")
    decoy_ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": probes.decoy_namespace}}
    try:
        kubectl.apply(json.dumps(decoy_ns))
        kubectl.apply(json.dumps(probe_pod(probes.decoy_namespace, probes.decoy, "node-exporter", exporter)))
        eventually(
            lambda: _has_ip(api, probes.decoy_namespace, probes.decoy),
            timeout=timeouts.ROLLOUT,
            what=f"the decoy pod {probes.decoy_namespace}/{probes.decoy} to get an IP",
        )
        kubectl.apply(json.dumps(probe_pod(namespace, probes.sentinel, SENTINEL_APP, exporter)))
        eventually(
            lambda: _has_ip(api, namespace, probes.sentinel),
            timeout=timeouts.ROLLOUT,
            what=f"the sentinel pod {namespace}/{probes.sentinel} to get an IP",
        )
        yield probes
    finally:
        kubectl.run("delete", "pod", probes.sentinel, "--ignore-not-found", "--wait=false")
        gone = ("--ignore-not-found", "--wait=false")
        kubectl.run("delete", "namespace", probes.decoy_namespace, *gone, namespaced=False)


@dataclass(frozen=True)
class Discovered:
    """The pods a Prometheus's Kubernetes discovery lists (kept or dropped), as (namespace, pod)."""

    kept: dict[str, set[tuple[str, str]]]  # scrape job -> pods it scrapes
    dropped: set[tuple[str, str]]

    @property
    def pods(self) -> set[tuple[str, str]]:
        return self.dropped.union(*self.kept.values())


def discovered(prometheus: PrometheusApi) -> Discovered:
    def pod_of(labels: dict[str, str]) -> tuple[str, str] | None:
        if "__meta_kubernetes_pod_name" not in labels:
            return None  # a static target
        return labels.get("__meta_kubernetes_namespace", ""), labels["__meta_kubernetes_pod_name"]

    active, dropped = prometheus.discovered_targets()
    kept: dict[str, set[tuple[str, str]]] = {}
    for target in active:
        pod = pod_of(target["discoveredLabels"])
        if pod:
            kept.setdefault(target["labels"].get("job", ""), set()).add(pod)
    return Discovered(kept, {p for t in dropped if (p := pod_of(t["discoveredLabels"]))})


def _describe(seen: Discovered) -> str:
    namespaces = sorted({ns for ns, _ in seen.pods})
    kept = {job: len(pods) for job, pods in seen.kept.items()}
    return f"{len(seen.pods)} pods in namespaces {namespaces}; kept per job: {kept}"


def caught_up(prometheus: PrometheusApi, probes: ProbePods) -> Discovered:
    """What discovery lists once it lists the sentinel, created after the decoy had its IP."""

    def sentinel_listed() -> Discovered:
        seen = discovered(prometheus)
        assert (probes.namespace, probes.sentinel) in seen.pods, f"no sentinel yet: {_describe(seen)}"
        return seen

    return eventually(
        sentinel_listed,
        timeout=timeouts.TARGET_UP,
        what=f"Prometheus's pod discovery to list the sentinel pod {probes.namespace}/{probes.sentinel}",
        hint="Prometheus cannot list pods where its config looks: compare the scrape jobs' `namespaces` with "
        "its Role (the Prometheus log says which list was forbidden)",
    )


def outside(seen: Discovered, namespace: str) -> set[tuple[str, str]]:
    return {pod for pod in seen.pods if pod[0] != namespace}


def stays_in(prometheus: PrometheusApi, namespace: str) -> None:
    """No pod outside `namespace` is discovered for one more discovery update: the decoy was
    created before the sentinel, so a late discovery of it would come after."""

    def none_outside() -> None:
        later = outside(discovered(prometheus), namespace)
        assert not later, f"Prometheus discovers pods of other namespaces: {sorted(later)[:5]}"

    holds_for(none_outside, duration=DISCOVERY_UPDATE, what="no pod of another namespace discovered")
