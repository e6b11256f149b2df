"""The acceptance suite's root: `pytest` here runs the features in features/ with the steps in
steps/ and the fixtures in fixtures/, all one plugin (odin_acceptance.plugin.suite).

A hook rather than `pytest_plugins`: pytest refuses `pytest_plugins` in a conftest it meets
during collection, which is where this one is met when another directory runs the features of
an editable install."""

import pytest


@pytest.hookimpl(tryfirst=True)  # before the report writers read their paths
def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.import_plugin("odin_acceptance.plugin.suite")
