"""One GPU signal table (odin_acceptance/instruments/gpu_signals.py) behind the fake exporter,
the steps' stimuli and the offline rule tests: every row is served and can be driven, and a
field no row names is a clear error before anything changes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from odin_acceptance.instruments import fake_dcgm_exporter, gpu_signals
from odin_acceptance.instruments.gpu_signals import SIGNALS, UnknownSignal
from odin_acceptance.offline.rule_unit_tests import SIGNALS as RULE_TEST_SIGNALS
from odin_acceptance.pipelines.gpu_node import GpuNode
from odin_acceptance.stack_config import manifests


class RecordingDcgm:
    """The exporter's client, recording what a step asked it to set."""

    def __init__(self) -> None:
        self.calls: list[dict[str, float]] = []

    def set_gpu(self, hostname: str, gpu: int, **fields: float) -> dict[str, float]:
        self.calls.append(fields)
        return {"changed_at": 0.0}


@pytest.mark.parametrize("signal", SIGNALS, ids=lambda s: s.field)
def test_every_signal_can_be_driven_and_is_awaited_by_its_metric(signal):
    dcgm = RecordingDcgm()
    stimulus = GpuNode("node-a", 1, dcgm).set(0, "a change", **{signal.field: signal.idle + 1})
    assert dcgm.calls == [{signal.field: signal.idle + 1}]
    assert f"{signal.metric}{{" in stimulus.seen_query


def test_a_field_no_row_names_is_a_clear_error_and_nothing_is_set():
    dcgm = RecordingDcgm()
    with pytest.raises(UnknownSignal, match=r"no GPU signal 'fan_rpm': the fake DCGM exporter serves temperature_c, "):
        GpuNode("node-a", 1, dcgm).set(0, "a fan", fan_rpm=3000)
    assert dcgm.calls == [], "a stimulus half set"


def test_the_exporter_serves_every_row_at_its_idle_value():
    fake_dcgm_exporter.set_gpu("signals-host", 0, {})
    text = fake_dcgm_exporter.render_metrics(["signals-host"])
    for signal in SIGNALS:
        assert f"# HELP {signal.metric} {signal.help}" in text
        assert re.search(rf'^{signal.metric}{{.*Hostname="signals-host".*}} {signal.idle:g}$', text, re.M), signal


def test_the_rules_under_test_and_the_rule_tests_read_only_signals_of_the_table():
    rules = (manifests.BASE / "prometheus" / "alert-rules.yml").read_text()
    used = set(re.findall(r"DCGM_FI_DEV_\w+", rules))
    assert used and used <= {s.metric for s in SIGNALS}, f"rules read metrics the exporter never serves: {used}"
    for name, series in RULE_TEST_SIGNALS.items():
        for entry in series(1.0, 1):
            found = re.match(r"(DCGM_FI_\w+)", entry["series"])
            assert found is None or found.group(1) in {s.metric for s in SIGNALS}, name


def test_the_exporter_runs_as_a_file_beside_the_table(tmp_path):
    """In a pod the instruments are plain files side by side: the table must travel with them."""
    folder = gpu_signals.__file__.rsplit("/", 1)[0]
    for name in ("fake_dcgm_exporter.py", "_http.py", "gpu_signals.py"):
        shutil.copy(f"{folder}/{name}", tmp_path / name)
    probe = "import fake_dcgm_exporter as f; f.set_gpu('h', 0, {}); print(f.render_metrics(['h']).count('# HELP'))"
    proc = subprocess.run([sys.executable, "-S", "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert proc.stdout.strip() == str(len(SIGNALS)), proc.stderr
