"""The instruments speak the real wire formats: checked with the real tools."""

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from odin_acceptance.clients.instrument_clients import FakeDcgmClient, WebhookReceiverClient
from odin_acceptance.core.polling import eventually
from odin_acceptance.provisioning.components import ensure
from odin_acceptance.provisioning.versions import PROMETHEUS
from odin_acceptance.targets.processes import ProcessGroup, free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def running(tmp_path):
    group = ProcessGroup(tmp_path)

    def start(module):
        address = f"127.0.0.1:{free_port()}"
        argv = [sys.executable, "-m", f"odin_acceptance.instruments.{module}", "--listen", address]
        proc = group.start(module, argv, cwd=REPO)
        return proc, f"http://{address}"

    yield start
    group.stop_all()


def test_fake_dcgm_serves_valid_exposition_format(running):
    _, url = running("fake_dcgm_exporter")
    dcgm = FakeDcgmClient(url)
    eventually(dcgm.ready, timeout=10, what="fake DCGM exporter")
    state = dcgm.set_gpu("node-a", 0, temperature_c=85, power_w=650)
    dcgm.set_gpu("node-a", 1)
    text = requests.get(url + "/metrics", timeout=5).text
    promtool = ensure(PROMETHEUS)["promtool"]
    lint = subprocess.run([str(promtool), "check", "metrics"], input=text, capture_output=True, text=True)
    # promtool exits 1 for lint *warnings* too; only a parse error would mention "error".
    assert "error" not in (lint.stdout + lint.stderr).lower(), lint.stdout + lint.stderr
    line = next(x for x in text.splitlines() if x.startswith("DCGM_FI_DEV_GPU_TEMP{") and 'gpu="0"' in x)
    for label in ("gpu=", "UUID=", "modelName=", "Hostname=", "device="):
        assert label in line, f"{label} missing from {line}"
    assert line.endswith(" 85")
    assert state["uuid"] in line
    dcgm.remove_host("node-a")
    assert "node-a" not in requests.get(url + "/metrics", timeout=5).text


def test_fake_dcgm_rejects_unknown_fields(running):
    _, url = running("fake_dcgm_exporter")
    eventually(FakeDcgmClient(url).ready, timeout=10, what="fake DCGM exporter")
    response = requests.put(url + "/gpus/n/0", json={"temprature": 90}, timeout=5)
    assert response.status_code == 400 and "temprature" in response.text


def test_webhook_receiver_records_by_path(running):
    _, url = running("webhook_receiver")
    hook = WebhookReceiverClient(url)
    eventually(hook.ready, timeout=10, what="webhook receiver")
    payload = {"receiver": "gpu-alerts", "status": "firing", "alerts": [{"status": "firing", "labels": {"a": "1"}}]}
    requests.post(url + "/gpu", json=payload, timeout=5).raise_for_status()
    assert requests.post(url + "/gpu", json={"not": "alertmanager"}, timeout=5).status_code == 400
    [(note, alert)] = hook.deliveries({"a": "1"})
    assert (note.path, note.receiver, alert["labels"]) == ("/gpu", "gpu-alerts", {"a": "1"})


@pytest.mark.parametrize(
    ("instrument", "args", "lines"),
    [("log_writer", ["--stream-id", "w", "--lines", "3"], 3), ("cpu_stress", ["--cpus", "1", "--seconds", "0.2"], 1)],
)
def test_the_local_node_runs_each_instrument_as_a_pod(instrument, args, lines):
    """Workloads start as the local target starts them (its module path, its pods directory)."""
    from odin_acceptance.core.timing_profiles import PROFILES
    from odin_acceptance.stack_config import manifests
    from odin_acceptance.target_api.base import TargetOptions
    from odin_acceptance.targets.local import LocalTarget

    target = LocalTarget(options=TargetOptions(profile=PROFILES["fast"], manifest_dir=manifests.BASE), tools={})
    try:
        workload = target.nodes.start_workload("odin-test", f"{instrument}-0", args, instrument=instrument)
        target.nodes.wait_workload_done(workload, timeout=30)
        assert target.stack.processes.processes[f"workload-odin-test-{instrument}-0"].popen.returncode == 0
        assert len(target.nodes.container_log(workload)) == lines
    finally:
        target.stop()


def test_dcgm_fleet_serves_each_pod_its_own_nodes_gpus(running):
    """One process plays every dcgm-exporter pod of a fleet: at each pod's (loopback) IP it
    serves that node's GPUs only, in the exposition format promtool accepts."""
    from odin_acceptance.clients.instrument_clients import DcgmFleetClient

    _, url = running("dcgm_fleet")
    fleet = DcgmFleetClient(url)
    eventually(fleet.ready, timeout=10, what="dcgm fleet")
    port = free_port()
    a, b, other = (f"127.65.{250}.{i}:{port}" for i in (1, 2, 3))
    fleet.add_pods(
        [
            {"address": a, "Hostname": "gpu-a", "gpus": 8, "temperature_c": 45},
            {"address": b, "Hostname": "gpu-b", "gpus": 2, "temperature_c": 45},
            {"address": other, "Hostname": None},
        ]
    )
    fleet.set_gpu("gpu-b", 1, temperature_c=85)
    on_a = requests.get(f"http://{a}/metrics", timeout=5).text
    on_b = requests.get(f"http://{b}/metrics", timeout=5).text
    temps = [x for x in on_a.splitlines() if x.startswith("DCGM_FI_DEV_GPU_TEMP{")]
    assert len(temps) == 8 and all('Hostname="gpu-a"' in x and x.endswith(" 45") for x in temps), temps
    assert "gpu-b" not in on_a and 'gpu="1"' in on_b and "gpu-a" not in on_b
    assert next(x for x in on_b.splitlines() if x.startswith("DCGM_FI_DEV_GPU_TEMP{") and 'gpu="1"' in x).endswith(
        " 85"
    )
    empty = requests.get(f"http://{other}/metrics", timeout=5).text
    assert "# TYPE DCGM_FI_DEV_GPU_TEMP gauge" in empty and "Hostname=" not in empty
    promtool = ensure(PROMETHEUS)["promtool"]
    lint = subprocess.run([str(promtool), "check", "metrics"], input=on_a, capture_output=True, text=True)
    assert "error" not in (lint.stdout + lint.stderr).lower(), lint.stdout + lint.stderr
    assert requests.get(f"http://{a}/other", timeout=5).status_code == 404
    assert fleet.pods()[a] == {"Hostname": "gpu-a", "scrapes": 1}
    # Nothing listens beyond this host.
    refused = requests.put(url + "/pods", json=[{"address": f"10.1.2.3:{port}", "Hostname": "x"}], timeout=5)
    assert refused.status_code == 400 and "loopback" in refused.text
