"""Checks of how the manifests deploy the stack, for the plan's deployment defects that no
run of the components shows on every target (a gossiping single Alertmanager, a liveness
probe on Loki's readiness, positions in the container, unbounded stream labels, rules
loaded nowhere). Each returns the problems found, in words that name the defect."""

from __future__ import annotations

import re
from typing import Any

from odin_acceptance.offline.relabel import relabel
from odin_acceptance.stack_config.manifests import Manifests
from odin_acceptance.stack_config.model import StackConfig
from odin_acceptance.stack_config.render import on_claim

# Loki's default limit on labels per stream (limits_config.max_label_names_per_series).
LOKI_LABEL_LIMIT = 15


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]["containers"][0]


def _config(objs: Manifests, name: str) -> dict[str, Any]:
    return StackConfig.written(objs).doc(name)


def alertmanager_alone(objs: Manifests) -> list[str]:
    """D17: one replica must not gossip, and a single-writer claim needs Recreate."""
    deployment = objs.get("Deployment", "alertmanager")
    problems = []
    args = _container(deployment).get("args", [])
    if deployment["spec"].get("replicas", 1) == 1 and "--cluster.listen-address=" not in args:
        problems.append(
            "a single Alertmanager gossips (no --cluster.listen-address=): it waits for peers that never "
            "come and holds notifications after every start (D17)"
        )
    claims = {
        v["name"] for v in deployment["spec"]["template"]["spec"].get("volumes", []) if "persistentVolumeClaim" in v
    }
    strategy = deployment["spec"].get("strategy", {}).get("type", "RollingUpdate")
    if claims and strategy != "Recreate":
        problems.append(
            f"Alertmanager's {strategy} needs the new pod to attach its ReadWriteOnce claim while the old one "
            "holds it: every update stalls (D17); use Recreate"
        )
    return problems


def loki_liveness(objs: Manifests) -> list[str]:
    """D18: a liveness probe on /ready kills Loki while it replays its WAL."""
    container = _container(objs.get("StatefulSet", "loki"))
    path = container.get("livenessProbe", {}).get("httpGet", {}).get("path")
    if path == "/ready":
        return [
            "Loki's liveness probe is on /ready, which stays 503 during WAL replay: it kills Loki mid-recovery (D18)"
        ]
    return []


def promtail_positions(objs: Manifests) -> list[str]:
    """D4: positions must survive a Promtail restart: on a hostPath of the node."""
    filename = str(_config(objs, "promtail.yaml").get("positions", {}).get("filename", "/var/log/positions.yaml"))
    daemonset = objs.get("DaemonSet", "promtail")
    host_paths = {v["name"] for v in daemonset["spec"]["template"]["spec"].get("volumes", []) if "hostPath" in v}
    kept = any(
        m["name"] in host_paths and filename.startswith(m["mountPath"].rstrip("/") + "/")
        for m in _container(daemonset).get("volumeMounts", [])
    ) or on_claim(daemonset, filename)
    if not kept:
        return [
            f"Promtail keeps its positions in {filename}, inside the container: a restart forgets them and "
            "re-sends every file from the start (D4)"
        ]
    return []


def promtail_labels(objs: Manifests) -> list[str]:
    """D19: a stream may carry at most Loki's label limit; a labelmap of pod labels has no bound."""
    problems = []
    for job in _config(objs, "promtail.yaml").get("scrape_configs", []):
        labels = set()
        for rule in job.get("relabel_configs", []):
            if rule.get("action") == "labelmap":
                problems.append(
                    f"job {job['job_name']}: a labelmap ({rule.get('regex')}) copies every matching label: a pod "
                    f"with many labels exceeds Loki's {LOKI_LABEL_LIMIT} and its lines are dropped (D19)"
                )
            target = rule.get("target_label", "")
            if target and not target.startswith("__"):
                labels.add(target)
        labels |= {k for stage in job.get("pipeline_stages", []) for k in (stage.get("labels") or {})}
        labels |= set((job.get("static_configs") or [{}])[0].get("labels", {}) or {}) - {"__path__"}
        if len(labels) + 1 > LOKI_LABEL_LIMIT:  # + filename, which Promtail adds itself
            problems.append(
                f"job {job['job_name']}: up to {len(labels) + 1} labels per stream, over {LOKI_LABEL_LIMIT}"
            )
    return problems


# Two pods as Promtail's Kubernetes discovery presents them, and the log file the kubelet
# writes for each (/var/log/pods/<namespace>_<pod>_<id>/<container>/0.log). A static
# control-plane pod's API object is a mirror with a uid of its own; the kubelet names its
# directory after the pod's config hash (its annotation kubernetes.io/config.hash).
_POD = {
    "__meta_kubernetes_namespace": "odin-test",
    "__meta_kubernetes_pod_name": "writer",
    "__meta_kubernetes_pod_uid": "0b0c9a52-5c1f-4b8e-9a43-1f3f1e2d7c11",
    "__meta_kubernetes_pod_container_name": "app",
    "__meta_kubernetes_pod_node_name": "worker",
    "__meta_kubernetes_pod_label_app": "writer",
}
_STATIC_POD = {
    "__meta_kubernetes_namespace": "kube-system",
    "__meta_kubernetes_pod_name": "kube-apiserver-control-plane",
    "__meta_kubernetes_pod_uid": "5d7e2c4a-0f61-4a8e-b2c9-7b1e6f0a9d33",
    "__meta_kubernetes_pod_annotation_kubernetes_io_config_hash": "9c3f5b0e1a2d4c6f8e7b0a1c2d3e4f50",
    "__meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash": "true",
    "__meta_kubernetes_pod_container_name": "kube-apiserver",
    "__meta_kubernetes_pod_node_name": "control-plane",
    "__meta_kubernetes_pod_controller_kind": "Node",
    "__meta_kubernetes_pod_label_component": "kube-apiserver",
}
_LOG_FILES = {
    "a pod": (_POD, "/var/log/pods/odin-test_writer_0b0c9a52-5c1f-4b8e-9a43-1f3f1e2d7c11/app/0.log"),
    "a static control-plane pod": (
        _STATIC_POD,
        "/var/log/pods/kube-system_kube-apiserver-control-plane_9c3f5b0e1a2d4c6f8e7b0a1c2d3e4f50/kube-apiserver/0.log",
    ),
}


def _glob_matches(path: str, glob: str) -> bool:
    """Whether `path` matches a Promtail `__path__` glob: `*` and `?` stop at a `/`, `**`
    crosses directories (doublestar's rules, which Promtail uses)."""
    parts = re.split(r"(\*\*|\*|\?)", glob)
    wild = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return bool(glob) and re.fullmatch("".join(wild.get(p, re.escape(p)) for p in parts), path) is not None


def promtail_pod_paths(objs: Manifests) -> list[str]:
    """D3: Promtail's `__path__` for each discovered pod must match the file the kubelet
    writes, a static pod's (under its config hash, not its uid) included. Judged by running
    the job's relabelling on the pods as discovery presents them, so any way of writing the
    rules that finds the files passes."""
    problems = []
    kept: set[str] = set()
    for job in _config(objs, "promtail.yaml").get("scrape_configs", []):
        if "kubernetes_sd_configs" not in job:
            continue
        for what, (discovered, log_file) in _LOG_FILES.items():
            labels = relabel({"__address__": "", **discovered}, job.get("relabel_configs", []))
            if labels is None:
                continue  # a job that keeps other pods: another job must find this one
            kept.add(what)
            path = labels.get("__path__", "")
            if not _glob_matches(log_file, path):
                problems.append(
                    f"job {job['job_name']}: the log file of {what}, {log_file}, is not matched by its path "
                    f"{path or '(none)'}: its lines never reach Loki (D3)"
                )
    problems += [
        f"no Promtail job keeps {what} as discovery presents it: its lines never reach Loki (D3)"
        for what in _LOG_FILES
        if what not in kept
    ]
    return problems


def prometheus_wired(objs: Manifests) -> list[str]:
    """The plan's Prometheus loaded no rules and sent to no Alertmanager; D12: API v1 is gone."""
    config = _config(objs, "prometheus.yml")
    problems = []
    if not config.get("rule_files"):
        problems.append("Prometheus loads no rule files: no alert rule is evaluated")
    managers = config.get("alerting", {}).get("alertmanagers", [])
    if not managers:
        problems.append("Prometheus sends alerts to no Alertmanager")
    problems += [
        f"Prometheus talks to Alertmanager over API {m.get('api_version')}, which Alertmanager 0.27 removed (D12)"
        for m in managers
        if m.get("api_version", "v2") != "v2"
    ]
    return problems


CHECKS = {
    "Alertmanager runs alone, without gossip, and is replaced rather than rolled": alertmanager_alone,
    "Loki's liveness is not its readiness": loki_liveness,
    "Promtail keeps its read positions on the node": promtail_positions,
    "Promtail gives every stream a bounded set of labels": promtail_labels,
    "Promtail finds the log files of every pod, static control-plane pods included": promtail_pod_paths,
    "Prometheus evaluates the rules and sends alerts to Alertmanager over its current API": prometheus_wired,
}
