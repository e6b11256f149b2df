"""A pytest plugin for the project's tests (`-p tests.setup_error_probe`): the test named by
$ODIN_SETUP_ERROR errors in its setup, as a scenario does whose fixture breaks, so a test can
see how the suite's reports write an error through pytest's own writers."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _breaks_in_setup(request: pytest.FixtureRequest) -> None:
    if request.node.name == os.environ.get("ODIN_SETUP_ERROR"):
        raise RuntimeError("a fixture broke (tests.setup_error_probe)")
