"""The ODIN Phase-3 acceptance suite: its features, steps and fixtures as one pytest plugin,
and the layers under them. Each subpackage is one layer; a project test (tests/test_layers.py)
keeps lower layers from importing higher ones.

Installing the package changes no pytest run: it has no `pytest11` entry point. A run asks for
the suite with `-p odin_acceptance` (typed, or in `addopts` / `PYTEST_ADDOPTS`), which loads
the plugin below; this repository's root conftest.py does that for `pytest` here. Only the name
is listed, so importing the library imports no pytest."""

pytest_plugins = ["odin_acceptance.plugin.suite"]
