"""The suite's pytest plugin. Its `pytest11` entry point (`odin_acceptance`) only adds the
suite's options and ini values, and stays inert in a run that did not ask for the suite: it
deselects, skips, writes and traps nothing there.

A run asks for the suite when one of these holds (`settings.requested`):
- the suite's root `conftest.py` loaded it (`pytest` in this repository);
- `-p odin_acceptance.plugin.suite` names it;
- one of its own options is set: `--target`, `--timing`, `--manifests`, `--reports`,
  `--include`, `--require-criteria` or `--component`, typed, in `addopts` or in
  `PYTEST_ADDOPTS`; or an `odin_*` ini value (`odin_target`, `odin_manifests`, …).

Then `suite` is the plugin: one module per job, `session` (preconditions, skips, markers),
`selection` (which scenarios a run includes), `ledger` (every scenario's outcome and the
record the verdicts are judged from), `run_facts` (what identifies the run, worked out once),
one writer per output (`outputs`: evidence.json, verdicts.json, the exit code; `cucumber`,
`junit`, `html_report`), `terminal` (header and criteria summary), `state` what they share,
and the fixtures and step modules (pytest-bdd's step decorators register fixtures in the module that calls them, so
every feature sees them only if their modules are plugins)."""

from __future__ import annotations

import pytest

from odin_acceptance.plugin import settings

pytest_plugins = ["odin_acceptance.plugin.options"]


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if settings.requested(config):
        config.pluginmanager.import_plugin(settings.SUITE)
