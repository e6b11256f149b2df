"""Render component configs from the manifests for a run: in-cluster service addresses
become loopback addresses, and the timing profile divides durations.

Nothing else changes. Thresholds, expressions (range windows included), labels, routes
and receivers are passed through untouched, so a scaled profile tests the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from odin_acceptance.core.errors import OdinError
from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.stack_config.services import StandIns

# Where the Prometheus Deployment mounts its rules ConfigMap.
PROMETHEUS_RULES = "/etc/prometheus/rules"
# Where the Grafana image keeps what the manifests mount (its GF_PATHS_* defaults).
GRAFANA_IMAGE_PATHS = {"provisioning": "/etc/grafana/provisioning", "data": "/var/lib/grafana"}

_ADDRESS = re.compile(r"(?<![\w.-])(?P<name>[a-z0-9-]+)(?:\.[a-z0-9-]+(?:\.svc(?:\.cluster\.local)?)?)?:(?P<port>\d+)")


class RenderError(OdinError, ValueError):
    """A manifest refers to something the local target cannot provide."""


def rewrite_addresses(text: str, local: StandIns) -> str:
    """Replace `service:port` (optionally namespace-qualified) by the local address."""

    def swap(match: re.Match[str]) -> str:
        return local.for_cluster_port(match["name"], int(match["port"])) or match[0]

    return _ADDRESS.sub(swap, text)


def _scale_keys(node: dict[str, Any], keys: tuple[str, ...], profile: TimingProfile) -> None:
    for key in keys:
        if key in node:
            node[key] = profile.scale_text(node[key])


def _scale_rules(doc: dict[str, Any], profile: TimingProfile) -> None:
    for group in doc.get("groups", []):
        _scale_keys(group, ("interval",), profile)
        for rule in group.get("rules", []):
            _scale_keys(rule, ("for", "keep_firing_for"), profile)


def _scale_prometheus(doc: dict[str, Any], profile: TimingProfile) -> None:
    _scale_keys(doc.setdefault("global", {}), ("scrape_interval", "scrape_timeout", "evaluation_interval"), profile)
    for job in doc.get("scrape_configs", []):
        _scale_keys(job, ("scrape_interval", "scrape_timeout"), profile)


def _scale_routes(route: dict[str, Any], profile: TimingProfile) -> None:
    _scale_keys(route, ("group_wait", "group_interval", "repeat_interval"), profile)
    for child in route.get("routes", []):
        _scale_routes(child, profile)


def _scale_alertmanager(doc: dict[str, Any], profile: TimingProfile) -> None:
    _scale_keys(doc.setdefault("global", {}), ("resolve_timeout",), profile)
    _scale_routes(doc["route"], profile)


def _scale_loki(doc: dict[str, Any], profile: TimingProfile) -> None:
    _scale_keys(doc.setdefault("ruler", {}), ("evaluation_interval", "poll_interval"), profile)
    _scale_keys(doc.setdefault("ingester", {}).setdefault("lifecycler", {}), ("min_ready_duration",), profile)


def _scale_promtail(doc: dict[str, Any], profile: TimingProfile) -> None:
    # The retry budget (how long Loki may be unreachable before lines are dropped) is made
    # of durations too; the network timeout of one request is not scaled.
    for client in doc.get("clients", []):
        _scale_keys(client.get("backoff_config", {}), ("min_period", "max_period"), profile)


# Every duration a timing profile changes, by config (the keys of manifests.CONFIGS).
_SCALERS: dict[str, Callable[[dict[str, Any], TimingProfile], None]] = {
    "prometheus.yml": _scale_prometheus,
    "alert-rules.yml": _scale_rules,
    "alertmanager.yml": _scale_alertmanager,
    "loki.yaml": _scale_loki,
    "log-alerts.yaml": _scale_rules,
    "promtail.yaml": _scale_promtail,
}


def scale_durations(name: str, text: str, profile: TimingProfile) -> str:
    """One config with the profile applied: every duration divided, nothing else changed.
    The local target renders from it, and so does an overlay deployed on a scaled profile."""
    doc = yaml.safe_load(text)
    _SCALERS[name](doc, profile)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=4096)


def prometheus_args(profile: TimingProfile) -> list[str]:
    """Prometheus's flags that are durations: the resend delay (default 1m) is how soon a
    firing alert is re-sent, e.g. one sent before Alertmanager was reachable."""
    return [f"--rules.alert.resend-delay={profile.scale_text('1m')}"]


def render_rules(text: str, profile: TimingProfile) -> str:
    return scale_durations("alert-rules.yml", text, profile)


def _discover_from_files(jobs: list[dict[str, Any]], files: str) -> None:
    """Pod discovery through the Kubernetes API becomes discovery through files that carry
    the same `__meta_kubernetes_*` labels (odin_acceptance.targets.local_pods), so relabel rules still run."""
    for job in jobs:
        sd = job.pop("kubernetes_sd_configs", None)
        if sd is None:
            continue
        roles = {c.get("role") for c in sd}
        if roles != {"pod"}:
            raise RenderError(f"job {job['job_name']!r}: only role 'pod' discovery has a local stand-in, not {roles}")
        job["file_sd_configs"] = [{"files": [files]}]


def _rewrite_paths(node: Any, mounts: Mapping[str, str]) -> Any:
    """Container paths (mount points) -> directories of this run, in every string value."""
    if isinstance(node, dict):
        return {k: _rewrite_paths(v, mounts) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_paths(v, mounts) for v in node]
    if isinstance(node, str):
        for mount, local in mounts.items():
            if node == mount or node.startswith(mount + "/"):
                return local + node[len(mount) :]
    return node


def on_mount(path: str, mounts: Mapping[str, str]) -> bool:
    """Whether a container path is on one of the pod's volumes (else: the container's own
    filesystem, which a restarted container starts without)."""
    return any(path == mount or path.startswith(mount + "/") for mount in mounts)


# Promtail's default when the config names no positions file.
PROMTAIL_POSITIONS = "/var/log/positions.yaml"


def promtail_positions(text: str) -> str:
    return str((yaml.safe_load(text).get("positions") or {}).get("filename", PROMTAIL_POSITIONS))


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def render_prometheus(text: str, *, rule_dir: str, local: StandIns, pod_discovery: str, profile: TimingProfile) -> str:
    """`rule_dir`: where this run keeps the rules the Deployment mounts at /etc/prometheus/rules.
    The manifests' own `rule_files` are kept (paths mapped), never supplied: a config that
    loads no rules (the plan's omission) is an error, not something to paper over."""
    doc = yaml.safe_load(text)
    _scale_prometheus(doc, profile)
    if not doc.get("rule_files"):
        raise RenderError("prometheus.yml has no rule_files: Prometheus would evaluate none of the alert rules")
    doc["rule_files"] = _rewrite_paths(doc["rule_files"], {PROMETHEUS_RULES: rule_dir})
    _discover_from_files(doc.get("scrape_configs", []), pod_discovery)
    rendered = yaml.safe_dump(doc, sort_keys=False, width=4096)
    return _require_local(rewrite_addresses(rendered, local), "prometheus.yml", local)


def render_loki(
    text: str, *, local: StandIns, grpc_port: int, mounts: Mapping[str, str], profile: TimingProfile
) -> str:
    doc = _rewrite_paths(yaml.safe_load(text), mounts)
    doc["server"]["http_listen_port"] = _port(local["loki"])
    doc["server"]["grpc_listen_port"] = grpc_port
    _scale_loki(doc, profile)
    rendered = yaml.safe_dump(doc, sort_keys=False, width=4096)
    return _require_local(rewrite_addresses(rendered, local), "loki.yaml", local)


def render_promtail(
    text: str,
    *,
    local: StandIns,
    mounts: Mapping[str, str],
    container_root: str,
    pod_discovery: str,
    profile: TimingProfile,
) -> str:
    """`container_root`: this run's stand-in for the container's own filesystem, where the
    positions file goes when no volume holds it (a restart then forgets it, as a pod would)."""
    positions = promtail_positions(text)
    doc = _rewrite_paths(yaml.safe_load(text), mounts)
    if not on_mount(positions, mounts):
        doc.setdefault("positions", {})["filename"] = container_root + positions
    _scale_promtail(doc, profile)
    doc["server"]["http_listen_port"] = _port(local["promtail"])
    _discover_from_files(doc.get("scrape_configs", []), pod_discovery)
    rendered = yaml.safe_dump(doc, sort_keys=False, width=4096)
    return _require_local(rewrite_addresses(rendered, local), "promtail.yaml", local)


def render_alertmanager(text: str, *, local: StandIns, profile: TimingProfile) -> str:
    rendered = scale_durations("alertmanager.yml", text, profile)
    return _require_local(rewrite_addresses(rendered, local), "alertmanager.yml", local)


@dataclass(frozen=True)
class StoragePath:
    """Where a component keeps its data inside its container, and whether a new pod keeps it."""

    path: str
    on_claim: bool  # on a PersistentVolumeClaim: survives the pod


def storage_path(workload: dict[str, Any], flag: str, default: str) -> StoragePath:
    """The data directory a workload's container is given with `flag` (else `default`)."""
    container = workload["spec"]["template"]["spec"]["containers"][0]
    path = next((a[len(flag) :] for a in container.get("args", []) if a.startswith(flag)), default)
    return StoragePath(path, on_claim(workload, path))


def on_claim(workload: dict[str, Any], path: str) -> bool:
    """Whether a volume claim (a Deployment's PersistentVolumeClaim, a StatefulSet's claim
    template) holds `path` of the workload's container. emptyDir and the container's own
    filesystem are lost when the pod is replaced, so they count as not kept."""
    spec = workload["spec"]["template"]["spec"]
    container = spec["containers"][0]
    claims = {v["name"] for v in spec.get("volumes", []) if "persistentVolumeClaim" in v}
    claims |= {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
    return any(
        m["name"] in claims and (path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/"))
        for m in container.get("volumeMounts", [])
    )


@dataclass(frozen=True)
class GrafanaRun:
    """Grafana as the manifests deploy it, for a process: its config, environment and files."""

    ini: str
    env: dict[str, str]
    files: dict[Path, str]


def render_grafana(
    deployment: dict[str, Any], configmap: Callable[[str], Mapping[str, str]], *, local: StandIns, root: Path
) -> GrafanaRun:
    """The Grafana Deployment's container -> the same environment and the same mounted files
    (datasource, dashboard provider, dashboards) under `root`, addressed on loopback."""
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    volumes = {v["name"]: v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v}
    mounts = {m["mountPath"]: str(root / m["mountPath"].lstrip("/")) for m in container.get("volumeMounts", [])}
    files: dict[Path, str] = {}
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in volumes:
            raise RenderError(f"Grafana volume {mount['name']!r} is not a ConfigMap: no local stand-in")
        for key, text in configmap(volumes[mount["name"]]).items():
            if key.endswith((".yaml", ".yml")):  # provisioning files name paths inside the container
                text = yaml.safe_dump(_rewrite_paths(yaml.safe_load(text), mounts), sort_keys=False)
            files[Path(mounts[mount["mountPath"]]) / key] = _require_local(rewrite_addresses(text, local), key, local)
    env = {e["name"]: str(e["value"]) for e in container.get("env", []) if "value" in e}
    host, port = local["grafana"].rsplit(":", 1)
    paths = {name: str(root / path.lstrip("/")) for name, path in GRAFANA_IMAGE_PATHS.items()}
    ini = (
        f"[paths]\nprovisioning = {paths['provisioning']}\ndata = {paths['data']}\n"
        f"logs = {paths['data']}/log\nplugins = {paths['data']}/plugins\n"
        f"[server]\nhttp_addr = {host}\nhttp_port = {port}\n"
        # Nothing of this machine may call out: no update checks, no usage reports.
        "[analytics]\nreporting_enabled = false\ncheck_for_updates = false\ncheck_for_plugin_updates = false\n"
        "[log]\nmode = console\n"
    )
    return GrafanaRun(ini, env, files)


def _require_local(text: str, what: str, local: StandIns) -> str:
    for match in _ADDRESS.finditer(text):
        if local.ports.get(match["name"]) == int(match["port"]):
            raise RenderError(f"{what}: {match[0]} has no local stand-in")
    return text
