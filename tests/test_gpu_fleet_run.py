"""The GPU fleet's scenarios, word for word but for the fleet's size, on a kwok cluster of
three GPU nodes: every line of the fleet's code runs in `make test` (the 1,000-node run takes
minutes and two cores; its figures are in the README), and a route that groups by host is
caught."""

import pytest

from odin_acceptance.targets.discovery_witness import user_namespaces_allowed
from tests.suite_runs import edit, run_suite, small_fleet

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("provisioned"),
    pytest.mark.skipif(not user_namespaces_allowed(), reason="the fleet's Prometheus needs user namespaces"),
]


def test_a_small_fleet_alerts_once_and_groups_its_gpus(fleet_run):
    proc = fleet_run.proc  # made once a session: the sign-off across runs reads it too
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "2 passed" in proc.stdout, proc.stdout[-2000:]


@pytest.mark.parametrize(
    ("manifest", "old", "new", "says"),
    [
        pytest.param(
            "alertmanager/alertmanager.yml",
            'group_by: ["alertname", "cluster", "service"]',
            'group_by: ["alertname", "cluster", "service", "Hostname"]',
            "alerts arrived in 3 groups",
            id="grouped by host",
        ),
        pytest.param(  # every GPU fires at its first evaluation: one group, on time, but too soon
            "prometheus/alert-rules.yml",
            "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 2m",
            "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 0s",
            "before the plan's hold of 4 s (H): the rule's `for` is shorter than the plan's",
            id="no hold",
        ),
    ],
)
def test_a_broken_route_or_rule_fails_the_grouping_scenario(tmp_path, manifest_copy, manifest, old, new, says):
    edit(manifest_copy / manifest, old, new)
    features = small_fleet(tmp_path / "f")
    proc = run_suite(
        tmp_path / "r", "--target", "kwok", "--include", "scale", "-k", "fifty", features=features,
        manifest_dir=manifest_copy,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-4000:]
    assert says in proc.stdout, proc.stdout[-4000:]
