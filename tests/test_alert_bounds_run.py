"""A rule whose `for` is one evaluation longer than the plan's fails the live GPU scenario,
naming the hold: the delivery windows of `for: 2m` and `for: 2m29s` overlap (at E 30 s,
175 s latest for the one, 160 s earliest for the other), so only the hold itself, measured
from Prometheus's own evaluation times, tells them apart."""

import pytest

from odin_acceptance.core.timing_profiles import PROFILES, delivery_window
from odin_acceptance.targets import target_class
from tests.suite_runs import edit, run_suite

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("provisioned")]


def test_a_hold_one_evaluation_longer_fails_the_live_gpu_scenario(tmp_path, manifest_copy):
    rules = manifest_copy / "prometheus" / "alert-rules.yml"
    edit(rules, "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 2m", "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 2m29s")
    proc = run_suite(tmp_path / "r", "-k", "held_at_85", manifest_dir=manifest_copy, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:]
    # 2m29s held to whole evaluations (30 s) is 150 s: 2.50 s on rapid, 5.00 s on fast.
    profile = PROFILES[target_class("local").default_timing]
    held = delivery_window(scrape=0, evaluation=profile.scale(30), for_=profile.scale(149), group_wait=0).hold
    assert f"GPUHighTemperature was pending {held:.2f} s before firing" in proc.stdout, proc.stdout[-3000:]
    assert "the rule's `for` differs from the plan" in proc.stdout, proc.stdout[-3000:]
