"""The GPU fleet's parts that need no control plane: GPU nodes as GPU feature discovery labels
them, the fleet's DaemonSet selecting exactly those, and the fleet Prometheus's config taken
from the manifests (their discovery job verbatim, never static targets)."""

import ipaddress
import re
import time
from types import SimpleNamespace

import kubernetes_validate
import pytest
import yaml

from odin_acceptance.stack_config import manifests
from odin_acceptance.stack_config.services import StandIns
from odin_acceptance.target_api.base import SIMULATED_FLEET
from odin_acceptance.targets import skip_reason, target_class
from odin_acceptance.targets.gpu_fleet import DAEMONSET, GPU_NODE_ADDRESS_REGEX, JOB, fleet_prometheus_config
from odin_acceptance.targets.kube_control_plane import (
    GPU_NODE_ADDRESSES,
    GPU_PRESENT_LABEL,
    GPU_TAINT,
    cluster_nodes,
    gpu_nodes,
)
from odin_acceptance.verdicts.fleet_alerts import late_gpus

PROMETHEUS_YML = (manifests.BASE / "prometheus" / "prometheus.yml").read_text()
LOCAL = StandIns({"alertmanager": 9093}, {"alertmanager": "127.0.0.1:40093"})


def test_gpu_nodes_carry_gpu_feature_discovery_labels_taint_and_capacity():
    nodes = gpu_nodes(3, 8)
    assert [n.name for n in nodes] == ["odin-kwok-gpu1", "odin-kwok-gpu2", "odin-kwok-gpu3"]
    for node in nodes:
        doc = node.manifest()
        assert doc["metadata"]["labels"][GPU_PRESENT_LABEL] == "true"
        assert doc["metadata"]["labels"]["nvidia.com/gpu.count"] == "8"
        assert doc["status"]["capacity"]["nvidia.com/gpu"] == "8"
        assert doc["spec"]["taints"] == [GPU_TAINT], "the stack's own pods stay off GPU nodes"
        kubernetes_validate.validate(doc, "1.32", strict=True)
    assert all(GPU_PRESENT_LABEL not in n.manifest()["metadata"]["labels"] for n in cluster_nodes(3))


def test_each_gpu_node_has_a_loopback_address_of_its_own():
    """What answers on a GPU node's address is reachable from this host only."""
    addresses = [n.address for n in gpu_nodes(5_000, 8)]
    assert len(set(addresses)) == 5_000
    pool = ipaddress.ip_network(GPU_NODE_ADDRESSES)
    assert pool.subnet_of(ipaddress.ip_network("127.0.0.0/8"))
    assert all(ipaddress.ip_address(a) in pool for a in addresses)
    assert re.fullmatch(GPU_NODE_ADDRESS_REGEX, f"{addresses[-1]}:9400")


def test_fleet_daemonset_selects_gpu_nodes_and_matches_the_scrape_job():
    doc = yaml.safe_load(DAEMONSET.read_text())
    kubernetes_validate.validate(doc, "1.32", strict=True)
    spec = doc["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {GPU_PRESENT_LABEL: "true"}
    assert {"key": GPU_TAINT["key"], "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    job = next(j for j in yaml.safe_load(PROMETHEUS_YML)["scrape_configs"] if j["job_name"] == JOB)
    keep = next(r for r in job["relabel_configs"] if r.get("action") == "keep")
    port = spec["containers"][0]["ports"][0]
    # What the manifests' keep rule matches: the pod's app label and its port's name.
    assert f"{doc['spec']['template']['metadata']['labels']['app']};{port['name']}" == keep["regex"]


def test_fleet_prometheus_runs_the_manifests_discovery_job_verbatim():
    doc = yaml.safe_load(fleet_prometheus_config(PROMETHEUS_YML, "/run/rules.yml", LOCAL))
    manifest_job = next(j for j in yaml.safe_load(PROMETHEUS_YML)["scrape_configs"] if j["job_name"] == JOB)
    [job] = doc["scrape_configs"]
    *theirs, ours = job["relabel_configs"]
    assert {**job, "relabel_configs": theirs} == manifest_job, "the manifests' job runs verbatim"
    assert ours["action"] == "keep" and ours["source_labels"] == ["__address__"], "only a drop of unserved pods follows"
    assert doc["rule_files"] == ["/run/rules.yml"]
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:40093"]
    assert doc["global"]["external_labels"] == {"cluster": "odin"}


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda jobs: [j for j in jobs if j["job_name"] != JOB], "no scrape job"),
        (
            lambda jobs: [
                {"job_name": JOB, "static_configs": [{"targets": ["dcgm-exporter:9400"]}]}
                if j["job_name"] == JOB
                else j
                for j in jobs
            ],
            "do not discover pods",
        ),
    ],
)
def test_fleet_prometheus_refuses_manifests_without_gpu_discovery(change, complaint):
    doc = yaml.safe_load(PROMETHEUS_YML)
    doc["scrape_configs"] = change(doc["scrape_configs"])
    with pytest.raises(AssertionError, match=complaint):
        fleet_prometheus_config(yaml.safe_dump(doc), "/r.yml", LOCAL)


def test_scale_scenarios_run_where_nodes_are_simulated():
    assert skip_reason(target_class("local").capabilities, {"scale"}) is not None
    assert "--target kwok" in skip_reason(frozenset(), {"scale"})
    assert skip_reason(frozenset({SIMULATED_FLEET}), {"scale"}) is None


def test_a_fleet_wait_that_times_out_says_which_gpus_are_late_and_how_their_scrapes_went():
    # What the fifty-GPU scenario prints when some GPUs' alerts are late: their alert state
    # and their exporter's scrapes (a failed or late scrape restarts a GPU's hold).
    answers = {
        'ALERTS{alertname="GPUHighTemperature",Hostname="gpu-node-7",gpu="3"}': [
            {"metric": {"alertstate": "pending"}, "value": [0, "1"]}
        ],
        'last_over_time(DCGM_FI_DEV_GPU_TEMP{Hostname="gpu-node-7",gpu="3"}[10s])': [
            {"metric": {"instance": "127.65.0.7:9400"}, "value": [0, "85"]}
        ],
    }

    def query(expr):
        if expr.startswith('up{instance="127.65.0.7:9400"}['):
            return [{"values": [[100.0, "1"], [100.5, "1"], [101.0, "0"], [102.7, "1"], [103.2, "1"]]}]
        return answers.get(expr, [])

    pipeline = SimpleNamespace(api=SimpleNamespace(prometheus=SimpleNamespace(query=query)))
    text = late_gpus(pipeline, [("gpu-node-7", "3"), ("gpu-node-9", "3")], "GPUHighTemperature", time.time() - 10)
    assert "2 GPUs not named yet" in text, text
    assert "GPU 3 of gpu-node-7: alert pending; exporter 127.65.0.7:9400: 5 scrapes in 10s, 1 failed, " in text, text
    assert "longest gap 1.70 s" in text, text
    assert "GPU 3 of gpu-node-9: alert not pending; exporter ?: 0 scrapes" in text, text
    assert "the grouping, not lateness" in late_gpus(pipeline, [], "GPUHighTemperature", time.time() - 10)
