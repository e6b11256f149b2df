"""A GPU fleet gets the descriptors its dcgm-exporter pods need, or is refused in one
sentence before anything starts. Offline: one short-lived child process at most."""

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from odin_acceptance.instruments.dcgm_fleet import connection_cap
from odin_acceptance.target_api.parts import TargetError
from odin_acceptance.targets import gpu_fleet
from odin_acceptance.targets.gpu_fleet import descriptor_shortfall, descriptors_needed


def test_the_cap_a_fleet_gets_is_a_connection_per_scrape_in_flight_and_one_kept_alive():
    """At the limit the fleet asks for, no pod's connections are capped; one below, they are."""
    for pods in (1, 1000, 5000):
        assert connection_cap(pods, descriptors_needed(pods)) == 2 * pods + 16
        assert connection_cap(pods, descriptors_needed(pods) - 1) < 2 * pods + 16
    assert descriptors_needed(1000) == 1000 + 2000 + 16 + 32  # listeners, connections, spare, the rest


def test_a_fleet_short_of_descriptors_is_refused_in_one_sentence():
    message = descriptor_shortfall(1000, 1024)
    assert message is not None
    for part in ("1000 nodes", "3048 open files", "is 1024", "`ulimit -n 3048`"):
        assert part in message, message
    assert "\n" not in message and ". " not in message, f"not one sentence: {message}"
    assert descriptor_shortfall(1000, 3047) is not None
    assert descriptor_shortfall(1000, 3048) is None
    assert descriptor_shortfall(1000, resource.RLIM_INFINITY) is None


def test_the_fleet_refuses_before_anything_starts(monkeypatch):
    """No control plane, API or process group: touching any of them would fail otherwise."""
    monkeypatch.setattr(gpu_fleet.resource, "getrlimit", lambda _: (1024, 1024))
    fleet = gpu_fleet.GpuFleet(
        plane=None,
        api=None,
        kubectl=None,
        processes=None,
        prometheus=Path(),
        local=None,
        profile=None,
        directory=Path(),
    )
    with pytest.raises(TargetError, match=r"`ulimit -n 3048`"):
        fleet.ensure(gpu_fleet.FleetSize(1000, 8), 40.0, prometheus_yml="", rules_yml="")


@pytest.mark.parametrize(("hard", "raised"), [(4096, 348), (300, 300)])
def test_the_exporter_gets_the_descriptors_its_pods_need_within_the_hard_limit(hard, raised):
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)),
    )
    try:
        assert gpu_fleet.raise_descriptor_limit(child.pid, 100) == raised  # 100 + 200 + 16 + 32 = 348
        assert resource.prlimit(child.pid, resource.RLIMIT_NOFILE) == (raised, hard)
    finally:
        child.communicate(b"", timeout=10)
