"""A pytest plugin for the project's tests (`-p tests.setup_error_probe`): the test named by
$ODIN_SETUP_ERROR errors in its setup, as a scenario does whose fixture breaks, and the one
named by $ODIN_INTERRUPT is interrupted while it runs, as by Ctrl-C or the nightly's `timeout`
(SIGINT), so a test can see what the suite's reports say of either through pytest's own writers."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _breaks_in_setup(request: pytest.FixtureRequest) -> None:
    if request.node.name == os.environ.get("ODIN_SETUP_ERROR"):
        raise RuntimeError("a fixture broke (tests.setup_error_probe)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    if item.name == os.environ.get("ODIN_INTERRUPT"):
        raise KeyboardInterrupt
