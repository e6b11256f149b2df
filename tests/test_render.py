import pytest
import yaml

from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.stack_config import manifests, render
from odin_acceptance.stack_config.services import StandIns, stack_services

PORTS = stack_services(manifests.load(manifests.BASE))
LOCAL = StandIns(PORTS, {name: f"127.0.0.1:{20000 + i}" for i, name in enumerate(PORTS)})
FAST = PROFILES["fast"]


@pytest.fixture(scope="module")
def objs():
    return manifests.load()


def _rules(text):
    return {r["alert"]: r for g in yaml.safe_load(text)["groups"] for r in g["rules"]}


def test_rules_keep_expressions_labels_and_annotations(objs):
    source = objs.config_file("prometheus-alert-rules", "alert-rules.yml")
    before, after = _rules(source), _rules(render.render_rules(source, FAST))
    assert before.keys() == after.keys()
    for name, rule in before.items():
        for key in ("expr", "labels", "annotations"):
            assert after[name].get(key) == rule.get(key), f"{name}.{key} changed by rendering"


def test_rules_durations_are_divided(objs):
    source = objs.config_file("prometheus-alert-rules", "alert-rules.yml")
    rendered = yaml.safe_load(render.render_rules(source, FAST))
    assert {g["interval"] for g in rendered["groups"]} == {"1s"}
    assert _rules(yaml.safe_dump(rendered))["GPUHighTemperature"]["for"] == "4s"


def test_prometheus_points_at_local_processes(objs):
    source = objs.config_file("prometheus-config", "prometheus.yml")
    doc = yaml.safe_load(
        render.render_prometheus(source, rule_dir="/r", local=LOCAL, pod_discovery="/sd/p-*.json", profile=FAST)
    )
    assert doc["rule_files"] == ["/r/*.yml"]
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [LOCAL["alertmanager"]]
    jobs = {j["job_name"]: j for j in doc["scrape_configs"]}
    # Pod discovery through files that carry the Kubernetes meta labels: relabelling is kept.
    assert jobs["dcgm-exporter"]["file_sd_configs"] == [{"files": ["/sd/p-*.json"]}]
    assert "kubernetes_sd_configs" not in jobs["node-exporter"]
    assert jobs["dcgm-exporter"]["relabel_configs"] == yaml.safe_load(source)["scrape_configs"][2]["relabel_configs"]
    assert doc["global"]["scrape_interval"] == "500ms"
    assert doc["global"]["external_labels"] == {"cluster": "odin"}


def test_alertmanager_keeps_routes_and_rewrites_receivers(objs):
    source = objs.config_file("alertmanager-config", "alertmanager.yml")
    before = yaml.safe_load(source)
    after = yaml.safe_load(render.render_alertmanager(source, local=LOCAL, profile=FAST))
    strip = ("group_wait", "group_interval", "repeat_interval")
    assert [{k: v for k, v in r.items() if k not in strip} for r in after["route"]["routes"]] == [
        {k: v for k, v in r.items() if k not in strip} for r in before["route"]["routes"]
    ]
    assert after["inhibit_rules"] == before["inhibit_rules"]
    assert after["route"]["group_wait"] == "333ms"
    urls = [c["url"] for r in after["receivers"] for c in r["webhook_configs"]]
    assert all(u.startswith(f"http://{LOCAL['webhook-receiver']}/") for u in urls)


def test_qualified_service_names_are_rewritten():
    text = "a: http://alertmanager.monitoring.svc.cluster.local:9093/ b: loki.monitoring:3100 c: other:9093"
    out = render.rewrite_addresses(text, LOCAL)
    assert LOCAL["alertmanager"] in out and LOCAL["loki"] in out and "other:9093" in out


def test_discovery_roles_without_a_local_stand_in_are_an_error():
    text = (
        "rule_files: [/etc/prometheus/rules/*.yml]\n"
        "scrape_configs:\n- job_name: mystery\n  kubernetes_sd_configs: [{role: node}]\n"
    )
    with pytest.raises(render.RenderError, match="mystery"):
        render.render_prometheus(text, rule_dir="/r", local=LOCAL, pod_discovery="/sd", profile=FAST)


def test_a_prometheus_config_without_rule_files_is_not_papered_over(objs):
    source = yaml.safe_load(objs.config_file("prometheus-config", "prometheus.yml"))
    del source["rule_files"]  # the plan's Prometheus config
    with pytest.raises(render.RenderError, match="no rule_files"):
        render.render_prometheus(yaml.safe_dump(source), rule_dir="/r", local=LOCAL, pod_discovery="/sd", profile=FAST)


def test_loki_and_promtail_use_run_directories_and_loopback(objs):
    mounts = {"/loki": "/run/x/loki", "/var/log/pods": "/run/x/pods", "/run/promtail": "/run/x/pt"}
    loki = yaml.safe_load(
        render.render_loki(
            objs.config_file("loki-config", "loki.yaml"), local=LOCAL, grpc_port=1, mounts=mounts, profile=FAST
        )
    )
    assert loki["common"]["path_prefix"] == "/run/x/loki"
    assert loki["server"]["http_listen_port"] == int(LOCAL["loki"].split(":")[1])
    assert loki["ruler"]["alertmanager_url"] == f"http://{LOCAL['alertmanager']}"
    assert loki["limits_config"]["retention_period"] == "31d", "retention is not a duration the profile scales"
    promtail = yaml.safe_load(
        render.render_promtail(
            objs.config_file("promtail-config", "promtail.yaml"),
            local=LOCAL,
            mounts=mounts,
            container_root="/run/x/pt-container",
            pod_discovery="/sd/pt-*.json",
            profile=FAST,
        )
    )
    assert promtail["clients"][0]["url"] == f"http://{LOCAL['loki']}/loki/api/v1/push"
    assert promtail["clients"][0]["backoff_config"] == {"min_period": "17ms", "max_period": "10s", "max_retries": 10}
    assert promtail["positions"]["filename"] == "/run/x/pt/positions.yaml"
    job = promtail["scrape_configs"][0]
    assert job["pipeline_stages"] == [{"cri": {}}]
    assert job["relabel_configs"][-1]["replacement"].startswith("/run/x/pods/")


def test_promtail_positions_off_the_volumes_go_to_the_container_filesystem():
    # The plan's /tmp/positions.yaml (D4): in the container, so a restart forgets it; locally
    # it lands in the run's stand-in for that filesystem, never in the host's /tmp.
    text = "positions:\n  filename: /tmp/positions.yaml\nserver: {}\nclients: []\nscrape_configs: []\n"
    mounts = {"/run/promtail": "/run/x/pt", "/var/log/pods": "/run/x/pods"}
    rendered = render.render_promtail(
        text, local=LOCAL, mounts=mounts, container_root="/run/x/pt-c", pod_discovery="/sd/*.json", profile=FAST
    )
    assert yaml.safe_load(rendered)["positions"]["filename"] == "/run/x/pt-c/tmp/positions.yaml"
    assert not render.on_mount("/tmp/positions.yaml", mounts) and render.on_mount("/run/promtail/p.yaml", mounts)
    assert render.promtail_positions("server: {}") == "/var/log/positions.yaml", "Promtail's own default"
