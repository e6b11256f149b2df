import pytest
import yaml

from fixtures import manifests, render
from fixtures.timing import PROFILES

LOCAL = {name: f"127.0.0.1:{20000 + i}" for i, name in enumerate(render.CLUSTER_SERVICES)}
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
    doc = yaml.safe_load(render.render_prometheus(source, rule_glob="/r/*.yml", local=LOCAL, profile=FAST))
    assert doc["rule_files"] == ["/r/*.yml"]
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [LOCAL["alertmanager"]]
    jobs = {j["job_name"]: j for j in doc["scrape_configs"]}
    assert jobs["dcgm-exporter"]["static_configs"] == [{"targets": [LOCAL["dcgm-exporter"]]}]
    assert "kubernetes_sd_configs" not in jobs["node-exporter"]
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


def test_unknown_discovered_job_is_an_error():
    text = "scrape_configs:\n- job_name: mystery\n  kubernetes_sd_configs: [{role: pod}]\n"
    with pytest.raises(render.RenderError, match="mystery"):
        render.render_prometheus(text, rule_glob="/r", local=LOCAL, profile=FAST)
