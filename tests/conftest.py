"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from odin_acceptance.provisioning import components, supplied
from odin_acceptance.provisioning.versions import COMPONENTS, CONTROL_PLANE
from odin_acceptance.stack_config import manifests
from tests.suite_runs import SuiteRun, run_suite, small_fleet


@pytest.fixture(scope="session")
def provisioned(pytestconfig: pytest.Config) -> None:
    """Every component the acceptance runs use (control plane included), fetched or built
    before any timed test starts: a first build takes minutes and no deadline may include it."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        with capture.global_and_fixture_disabled():
            print(message, flush=True)

    components.ensure_all(say, COMPONENTS + CONTROL_PLANE)


@pytest.fixture(scope="session")
def supplied_components() -> supplied.Supplied:
    """Loki, Promtail and Grafana as this machine supplies them (on PATH), if at all."""
    return supplied.discover({})


@pytest.fixture
def needs_loki(supplied_components: supplied.Supplied) -> None:
    reason = supplied_components.reason_missing({"loki"})
    if reason:
        pytest.skip(reason)


@pytest.fixture
def manifest_copy(tmp_path: Path) -> Path:
    """A copy of manifests/base for a test to break."""
    copy = tmp_path / "manifests" / "base"
    shutil.copytree(manifests.BASE, copy)
    return copy


# The full runs, each made once a session: the tests of each target and the sign-off across
# runs read the same reports, so the sign-off costs no run of its own.
@pytest.fixture(scope="session")
def local_run(provisioned: None, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    out = tmp_path_factory.mktemp("local-run") / "reports"
    return SuiteRun(out, run_suite(out))


@pytest.fixture(scope="session")
def kwok_run(provisioned: None, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    out = tmp_path_factory.mktemp("kwok-run") / "reports"
    return SuiteRun(out, run_suite(out, "--target", "kwok"))


@pytest.fixture(scope="session")
def fleet_run(provisioned: None, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """The GPU fleet's scenarios on a kwok cluster of three GPU nodes (tests/test_gpu_fleet_run.py)."""
    root = tmp_path_factory.mktemp("fleet-run")
    features = small_fleet(root / "f")
    out = root / "reports"
    return SuiteRun(
        out, run_suite(out, "--target", "kwok", "--include", "scale", features=features, manifest_dir=manifests.BASE)
    )
