"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from odin_acceptance.provisioning import components, stack_images, supplied
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


@dataclass(frozen=True)
class KindSetup:
    """What every kind run of the project's tests shares: its environment (kind and kubectl
    at their pins on PATH) and the images built before any of them (by reference: Docker's id)."""

    env: dict[str, str]
    images: dict[str, str]


@pytest.fixture(scope="session")
def kind_setup(provisioned: None, pytestconfig: pytest.Config) -> KindSetup:
    """Skips with one reason where Docker cannot run kind's nodes; otherwise builds the node
    image and the stack's images first (minutes the first time; no run's deadline includes it)."""
    from tests import kind_runs

    reason = kind_runs.kind_unavailable()
    if reason:
        pytest.skip(reason)
    from odin_acceptance.provisioning.kind_node_image import ensure_node_image

    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def say(message: str) -> None:
        with capture.global_and_fixture_disabled():
            print(message, flush=True)

    ensure_node_image(progress=say)
    built = stack_images.ensure_images(say)
    return KindSetup(kind_runs.kind_env(), kind_runs.image_ids([outcome.reference for outcome in built]))


# The kind runs' common arguments: the node image built here, a kubeconfig of the test's own
# (the user's stays untouched), the fast profile as on local and kwok.
def kind_args(tmp: Path) -> list[str]:
    kubeconfig = str(tmp / "kubeconfig")
    return ["--target", "kind", "--timing", "fast", "--kind-node-image", "built", "--kubeconfig", kubeconfig]


@pytest.fixture(scope="session")
def kind_run(kind_setup: KindSetup, tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """The whole suite on a three-node kind cluster it creates and deletes (the CPU stress included)."""
    root = tmp_path_factory.mktemp("kind-run")
    out = root / "reports"
    return SuiteRun(out, run_suite(out, *kind_args(root), "--include", "slow", env=kind_setup.env, timeout=3600))
