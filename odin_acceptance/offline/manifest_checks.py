"""Checks of how the manifests deploy the stack, for the plan's deployment defects that no
run of the components shows on every target (a gossiping single Alertmanager, a liveness
probe on Loki's readiness, positions in the container, unbounded stream labels, rules
loaded nowhere). Each returns the problems found, in words that name the defect."""

from __future__ import annotations

from typing import Any

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
    "Prometheus evaluates the rules and sends alerts to Alertmanager over its current API": prometheus_wired,
}
