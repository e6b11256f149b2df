"""The GPU fleet's scenarios, word for word but for the fleet's size, on a kwok cluster of
three GPU nodes: every line of the fleet's code runs in `make test` (the 1,000-node run takes
minutes and two cores; its figures are in the README), and a route that groups by host is
caught."""

from pathlib import Path

import pytest

from odin_acceptance.features import __file__ as features_init
from odin_acceptance.stack_config import manifests
from odin_acceptance.targets.discovery_witness import user_namespaces_allowed
from tests.suite_runs import edit, run_suite

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("provisioned"),
    pytest.mark.skipif(not user_namespaces_allowed(), reason="the fleet's Prometheus needs user namespaces"),
]

FEATURE = Path(features_init).parent / "gpu_fleet.feature"
# The fleet's size, as the feature states it -> three GPU nodes.
SMALLER = {
    "a fleet of 1,000 GPU nodes": "a fleet of 3 GPU nodes",
    "GPU node 500 of the fleet": "GPU node 2 of the fleet",
    "the fleet's 8,000 GPUs": "the fleet's 24 GPUs",
    "GPU 3 of 50 nodes": "GPU 3 of 3 nodes",
}


def small_fleet(directory: Path) -> Path:
    directory.mkdir()
    text = FEATURE.read_text()
    for big, small in SMALLER.items():
        assert big in text, f"{big!r} is no longer in {FEATURE}"
        text = text.replace(big, small)
    (directory / "gpu_fleet.feature").write_text(text)
    (directory / "test_small_fleet.py").write_text('from pytest_bdd import scenarios\n\nscenarios(".")\n')
    return directory


def test_a_small_fleet_alerts_once_and_groups_its_gpus(tmp_path):
    features = small_fleet(tmp_path / "f")
    proc = run_suite(
        tmp_path / "r", "--target", "kwok", "--include", "scale", features=features, manifest_dir=manifests.BASE
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "2 passed" in proc.stdout, proc.stdout[-2000:]


def test_a_fleet_grouped_by_host_fails_the_grouping_scenario(tmp_path, manifest_copy):
    edit(
        manifest_copy / "alertmanager" / "alertmanager.yml",
        'group_by: ["alertname", "cluster", "service"]',
        'group_by: ["alertname", "cluster", "service", "Hostname"]',
    )
    features = small_fleet(tmp_path / "f")
    proc = run_suite(
        tmp_path / "r", "--target", "kwok", "--include", "scale", "-k", "fifty", features=features,
        manifest_dir=manifest_copy,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-4000:]
    assert "alerts arrived in 3 groups" in proc.stdout, proc.stdout[-4000:]


def test_a_rule_without_a_hold_fails_the_grouping_scenario(tmp_path, manifest_copy):
    # `for: 0`: every GPU fires at its first evaluation; one group, on time, but too soon.
    edit(
        manifest_copy / "prometheus" / "alert-rules.yml",
        "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 2m",
        "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 0s",
    )
    features = small_fleet(tmp_path / "f")
    proc = run_suite(
        tmp_path / "r", "--target", "kwok", "--include", "scale", "-k", "fifty", features=features,
        manifest_dir=manifest_copy,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-4000:]
    says = "before the plan's hold of 4 s (H): the rule's `for` is shorter than the plan's"
    assert says in proc.stdout, proc.stdout[-4000:]
