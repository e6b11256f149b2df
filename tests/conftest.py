"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from odin_acceptance.provisioning import components, supplied
from odin_acceptance.provisioning.versions import COMPONENTS, CONTROL_PLANE
from odin_acceptance.stack_config import manifests


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
