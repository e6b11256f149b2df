"""The plan's numbers are the specification: every duration of the plan (and of our
decisions) changed by a factor of two in the manifests, a receiver, the grouping or a
dashboard panel changed, fails a scenario of the default run that names what changed."""

import json

import pytest
import yaml

from tests.suite_runs import edit, run_suite

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("provisioned")]

# (file under manifests/base, text, doubled or halved, the setting the failure must name)
MUTATIONS = [
    ("prometheus/alert-rules.yml", "interval: 30s", "interval: 1m", "every Prometheus rule group's interval"),
    ("prometheus/prometheus.yml", "scrape_interval: 15s", "scrape_interval: 30s", "Prometheus's scrape interval"),
    ("alertmanager/alertmanager.yml", "group_wait: 10s", "group_wait: 20s", "Alertmanager's group wait"),
    ("alertmanager/alertmanager.yml", "group_interval: 10s", "group_interval: 5s", "Alertmanager's group interval"),
    ("alertmanager/alertmanager.yml", "repeat_interval: 12h", "repeat_interval: 6h", "Alertmanager's repeat interval"),
    ("alertmanager/alertmanager.yml", "repeat_interval: 1m", "repeat_interval: 2m", "repeat interval, watchdog"),
    ("alertmanager/alertmanager.yml", "resolve_timeout: 5m", "resolve_timeout: 10m", "Alertmanager's resolve timeout"),
    ("loki/rules/log-alerts.yaml", "interval: 1m", "interval: 30s", "every Loki rule group's interval"),
    ("loki/rules/log-alerts.yaml", "for: 1m", "for: 2m", "every Loki alert's hold"),
]


@pytest.mark.parametrize(("path", "old", "new", "setting"), MUTATIONS, ids=[m[3] + " " + m[2] for m in MUTATIONS])
def test_a_duration_changed_twofold_fails_naming_the_setting(tmp_path, manifest_copy, path, old, new, setting):
    edit(manifest_copy / path, old, new)
    proc = run_suite(
        tmp_path / "r", "-m", "rules", "-k", "intervals_and_waits", manifest_dir=manifest_copy, timeout=120
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert setting in proc.stdout and "durations differ from the features" in proc.stdout, proc.stdout[-3000:]


def test_a_shorter_hold_fires_a_moment_too_early(tmp_path, manifest_copy):
    rules = manifest_copy / "prometheus" / "alert-rules.yml"
    edit(rules, "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 2m", "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 1m")
    proc = run_suite(tmp_path / "r", "-m", "rules", "-k", "GPUHighTemperature", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "GPUHighTemperature already fires" in proc.stdout and "shorter than the plan's 2 minutes" in proc.stdout


# HighCPUUsage's threshold or rate window moved either way: the 9 minutes of full load the
# rule validation states are no longer when it fires (promtool, at the plan's interval). Its
# resolution is one evaluation (30 s, 10 points of threshold), so 70–79 % can still fire
# inside the 9-minute window; the live CPU-stress scenario, which times the crossing to about
# a point, catches those (test_a_lowered_cpu_threshold_fails_the_live_stress_scenario: 77 %).
CPU_RULE = "[5m])) * 100) > 80"
CPU_MUTATIONS = ["[5m])) * 100) > 90", "[5m])) * 100) > 60", "[10m])) * 100) > 80", "[2m])) * 100) > 80"]


@pytest.mark.parametrize("mutated", CPU_MUTATIONS)
def test_a_moved_cpu_threshold_or_window_fails_the_rule_validation(tmp_path, manifest_copy, mutated):
    edit(manifest_copy / "prometheus" / "alert-rules.yml", CPU_RULE, mutated)
    proc = run_suite(tmp_path / "r", "-m", "rules", "-k", "rate_window_filled", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "HighCPUUsage" in proc.stdout and "1 failed" in proc.stdout, proc.stdout[-3000:]


SPEC_MUTATIONS = [
    (
        "alertmanager/alertmanager.yml",
        '"http://webhook-receiver:5001/gpu"',
        '"http://webhook-receiver:5001/"',
        "gpu-alerts: webhook paths ['/']",
    ),
    (
        "alertmanager/alertmanager.yml",
        'group_by: ["alertname", "cluster", "service"]',
        'group_by: ["alertname"]',
        "Alertmanager groups by ['alertname']",
    ),
    (
        "alertmanager/alertmanager.yml",
        "send_resolved: true",
        "send_resolved: false",
        "does not send resolved notifications",
    ),
]


@pytest.mark.parametrize(
    ("path", "old", "new", "says"), SPEC_MUTATIONS, ids=["receiver path", "group_by", "send_resolved"]
)
def test_a_receiver_or_the_grouping_changed_fails_the_routing_criterion(tmp_path, manifest_copy, path, old, new, says):
    edit(manifest_copy / path, old, new)
    proc = run_suite(
        tmp_path / "r", "-m", "rules", "-k", "receivers_and_grouping", manifest_dir=manifest_copy, timeout=120
    )
    assert proc.returncode == 1 and says in proc.stdout, proc.stdout[-3000:]


def test_a_dashboard_that_lost_a_panel_fails(tmp_path, manifest_copy):
    dashboard = manifest_copy / "grafana" / "logs-dashboard.json"
    model = json.loads(dashboard.read_text())
    model["panels"] = [p for p in model["panels"] if p.get("title") != "Log Rate by Pod"]
    dashboard.write_text(json.dumps(model))
    proc = run_suite(tmp_path / "r", "-m", "dashboard", "-k", "provision", manifest_dir=manifest_copy, timeout=120)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "differs from the plan: missing [Panel(title='Log Rate by Pod'" in proc.stdout


def _yaml_edit(path, change) -> None:
    docs = list(yaml.safe_load_all(path.read_text()))
    change(docs[0])
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def _liveness_on_ready(statefulset: dict) -> None:
    statefulset["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] = "/ready"


def _labelmap(config: dict) -> None:
    rule = {"action": "labelmap", "regex": "__meta_kubernetes_pod_label_(.+)"}
    config["scrape_configs"][0]["relabel_configs"].append(rule)


def _no_rule_files(config: dict) -> None:
    del config["rule_files"]


AM_DEPLOYMENT = "alertmanager/alertmanager-deployment.yaml"
# The plan's defects that a manifest can carry, put back one at a time: (defect, file, how, words of the failure).
DEFECTS = [
    ("D4", "promtail/promtail.yaml", ("/run/promtail/positions.yaml", "/tmp/positions.yaml"), "(D4)"),
    ("D12", "prometheus/prometheus.yml", ("- api_version: v2", "- api_version: v1"), "(D12)"),
    (
        "D17 gossip",
        "alertmanager/alertmanager-deployment.yaml",
        ("- --cluster.listen-address=", "- --log.level=info"),
        "gossips",
    ),
    (
        "D17 rolling",
        "alertmanager/alertmanager-deployment.yaml",
        ("type: Recreate", "type: RollingUpdate"),
        "stalls (D17)",
    ),
    ("D18", "loki/loki-statefulset.yaml", _liveness_on_ready, "(D18)"),
    ("D19", "promtail/promtail.yaml", _labelmap, "(D19)"),
    ("rule_files", "prometheus/prometheus.yml", _no_rule_files, "Prometheus loads no rule files"),
]


@pytest.mark.parametrize(("defect", "path", "how", "says"), DEFECTS, ids=[d[0] for d in DEFECTS])
def test_a_plan_deployment_defect_put_back_fails_naming_it(tmp_path, manifest_copy, defect, path, how, says):
    if callable(how):
        _yaml_edit(manifest_copy / path, how)
    else:
        edit(manifest_copy / path, *how)
    proc = run_suite(tmp_path / "r", "-m", "manifests", manifest_dir=manifest_copy, timeout=120)
    assert proc.returncode == 1 and says in proc.stdout, proc.stdout[-3000:]


def test_the_plans_350_watt_power_rule_fails_its_outline(tmp_path, manifest_copy):  # D11
    edit(
        manifest_copy / "prometheus" / "alert-rules.yml",
        "(DCGM_FI_DEV_POWER_USAGE / DCGM_FI_DEV_POWER_MGMT_LIMIT) * 100 > 100",
        "DCGM_FI_DEV_POWER_USAGE > 350",
    )
    proc = run_suite(tmp_path / "r", "-m", "rules", "-k", "GPUPowerHigh", manifest_dir=manifest_copy, timeout=120)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "GPUPowerHigh fires with GPU power in % of its limit exactly at 100" in proc.stdout, proc.stdout[-3000:]


def test_the_plans_prometheus_down_instead_of_a_watchdog_fails(tmp_path, manifest_copy):  # D15
    rules = manifest_copy / "prometheus" / "alert-rules.yml"
    _yaml_edit(
        rules,
        lambda doc: [
            g["rules"].__setitem__(slice(None), [r for r in g["rules"] if r.get("alert") != "Watchdog"])
            for g in doc["groups"]
        ],
    )
    proc = run_suite(tmp_path / "r", "-m", "rules", "-k", "watchdog", manifest_dir=manifest_copy, timeout=120)
    assert proc.returncode == 1, proc.stdout[-3000:]


def test_a_rule_that_cannot_be_evaluated_fails_rule_health(tmp_path, manifest_copy):
    def broken_rule(doc: dict) -> None:
        # Valid syntax, but every evaluation fails: many series on both sides of a one-to-one match.
        doc["groups"][0]["rules"].append({"alert": "NeverEvaluates", "expr": "up * on() up > 0"})

    _yaml_edit(manifest_copy / "prometheus" / "alert-rules.yml", broken_rule)
    proc = run_suite(tmp_path / "r", "-k", "every_prometheus_rule_evaluates", manifest_dir=manifest_copy, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "system-alerts/NeverEvaluates: health 'err'" in proc.stdout, proc.stdout[-3000:]
