"""The acceptance suite's root: `pytest` here runs the features in features/ with the steps in
steps/ and the fixtures in fixtures/, all one plugin (`odin_acceptance`, as `-p odin_acceptance`
loads it elsewhere).

Loaded from `pytest_addoption` rather than `pytest_plugins`: pytest refuses `pytest_plugins` in
a conftest it meets during collection (a run elsewhere collecting these features), and a
plugin registered here still adds its options before the command line is parsed."""

import pytest

SUITE = "odin_acceptance"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    if not pluginmanager.has_plugin(SUITE):  # `-p odin_acceptance` may have loaded it already
        pluginmanager.import_plugin(SUITE)
