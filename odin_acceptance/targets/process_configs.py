"""The configs of a stack of local processes: rendered from the manifests for this run's
ports, directories and timing, each checked by its own tool before any process starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from odin_acceptance.core.timing_profiles import TimingProfile
from odin_acceptance.offline import config_tools
from odin_acceptance.stack_config import manifests
from odin_acceptance.stack_config import render as render_config
from odin_acceptance.stack_config.manifests import CONFIGS
from odin_acceptance.stack_config.services import StandIns


@dataclass(frozen=True)
class RunLayout:
    """Where a run keeps things: its directory, the configs, the manifests' volumes (container
    path -> directory) and the pod discovery files of each scraper."""

    run_dir: Path
    config_dir: Path
    mounts: dict[str, str]
    sd_files: Callable[[str], str]


@dataclass(frozen=True)
class RenderedConfigs:
    paths: dict[str, Path]  # config name -> the rendered file
    ephemeral: dict[str, Path]  # component -> its data directory, where the manifests keep it on no claim
    image_dirs: dict[str, Path]  # component -> directories its image has (recreated on a restart)
    grafana_env: dict[str, str]


def render(
    manifest_dir: Path,
    layout: RunLayout,
    local: StandIns,
    profile: TimingProfile,
    tools: dict[str, Path],
    *,
    loki_grpc_port: int,
    runs_logs: bool,
    runs_grafana: bool,
) -> RenderedConfigs:
    """Render every config from the manifests and check each with its own tool; raises before
    any process exists. Says which components keep their data on no volume claim."""
    objs = manifests.load(manifest_dir)
    ephemeral: dict[str, Path] = {}
    image_dirs: dict[str, Path] = {}
    grafana_env: dict[str, str] = {}
    source = {name: objs.config_file(cm, key) for name, (cm, key) in CONFIGS.items()}
    for directory in layout.mounts.values():
        Path(directory).mkdir(parents=True, exist_ok=True)
    prom_rules = layout.config_dir / "rules"
    prom_rules.mkdir(parents=True, exist_ok=True)
    loki_rules = Path(layout.mounts["/etc/loki/rules"]) / "fake"  # the tenant without auth
    loki_rules.mkdir(parents=True, exist_ok=True)
    texts = {
        "alert-rules.yml": render_config.render_rules(source["alert-rules.yml"], profile),
        "prometheus.yml": render_config.render_prometheus(
            source["prometheus.yml"],
            rule_dir=str(prom_rules),
            local=local,
            pod_discovery=layout.sd_files("prometheus"),
            profile=profile,
        ),
        "alertmanager.yml": render_config.render_alertmanager(source["alertmanager.yml"], local=local, profile=profile),
        "loki.yaml": render_config.render_loki(
            source["loki.yaml"], local=local, grpc_port=loki_grpc_port, mounts=layout.mounts, profile=profile
        ),
        "log-alerts.yaml": render_config.render_rules(source["log-alerts.yaml"], profile),
        "promtail.yaml": render_config.render_promtail(
            source["promtail.yaml"],
            local=local,
            mounts=layout.mounts,
            container_root=str(layout.run_dir / "promtail-container"),
            pod_discovery=layout.sd_files("promtail"),
            profile=profile,
        ),
    }
    where = {"alert-rules.yml": prom_rules, "log-alerts.yaml": loki_rules}
    outputs = {name: (where.get(name, layout.config_dir) / name, text) for name, text in texts.items()}
    for path, text in outputs.values():
        path.write_text(text)
    paths = {name: path for name, (path, _) in outputs.items()}
    config_tools.check_rules(tools["promtool"], paths["alert-rules.yml"])
    config_tools.check_prometheus(tools["promtool"], paths["prometheus.yml"])
    config_tools.check_alertmanager(tools["amtool"], paths["alertmanager.yml"])
    storage = render_config.storage_path(objs.get("Deployment", "alertmanager"), "--storage.path=", "data/")
    if not storage.on_claim:
        ephemeral["alertmanager"] = layout.run_dir / "alertmanager-data"
    loki_data = str(yaml.safe_load(source["loki.yaml"]).get("common", {}).get("path_prefix", "/loki"))
    if not render_config.on_claim(objs.get("StatefulSet", "loki"), loki_data):
        ephemeral["loki"] = Path(layout.mounts["/loki"])
    positions = render_config.promtail_positions(source["promtail.yaml"])
    if not render_config.on_mount(positions, layout.mounts):
        ephemeral["promtail"] = layout.run_dir / "promtail-container"
        # A fresh container has its image's directories (/tmp) but none of the files written.
        image_dirs["promtail"] = (ephemeral["promtail"] / positions.lstrip("/")).parent
        image_dirs["promtail"].mkdir(parents=True, exist_ok=True)
    if runs_logs:
        config_tools.check_loki(tools["loki"], paths["loki.yaml"])
        config_tools.check_promtail(tools["promtail"], paths["promtail.yaml"])
    if runs_grafana:
        grafana = render_config.render_grafana(
            objs.get("Deployment", "grafana"),
            lambda name: objs.get("ConfigMap", name)["data"],
            local=local,
            root=layout.run_dir / "grafana",
        )
        for path, text in grafana.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        paths["grafana.ini"] = layout.config_dir / "grafana.ini"
        paths["grafana.ini"].write_text(grafana.ini)
        grafana_env = grafana.env
    return RenderedConfigs(paths, ephemeral, image_dirs, grafana_env)
