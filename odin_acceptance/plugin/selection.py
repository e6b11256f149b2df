"""Which scenarios a run includes. The slow, soak and fault scenarios take many minutes; they
run only when asked for with `--include`, so that a user's own `-m alerting` or `-k` narrows
the default run instead of silently adding a 13-minute CPU stress to it."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from odin_acceptance.plugin.markers import OPT_IN, item_tags


def included(config: pytest.Config) -> frozenset[str]:
    """The opt-in tags `--include` names; an unknown one is a usage error."""
    tags = frozenset(t.strip() for t in config.getoption("--include").split(",") if t.strip())
    unknown = tags - OPT_IN.keys()
    if unknown:
        raise pytest.UsageError(f"--include: unknown {sorted(unknown)}; choose from {', '.join(OPT_IN)}")
    return tags


def opt_in_reason(config: pytest.Config, tags: frozenset[str]) -> str | None:
    """Why a scenario is left out of this run for want of `--include`, or None."""
    missing = sorted((tags & OPT_IN.keys()) - included(config))
    if not missing:
        return None
    left_out = OPT_IN[missing[0]]
    return f"left out of this run: {left_out.kind} ({left_out.cost}). Run it with --include {','.join(missing)}"


def features() -> Path:
    """The features shipped with the package: what `pytest --target cluster --manifests DIR`
    runs from a repository that installed the suite and names no tests of its own."""
    return Path(str(importlib.resources.files("odin_acceptance.features"))).resolve()


def pytest_configure(config: pytest.Config) -> None:
    included(config)  # a typo in --include fails before anything starts
    # This run asked for the suite (it is loaded) and named no tests: the suite's features.
    if config.args_source == pytest.Config.ArgsSource.INVOCATION_DIR:
        config.args = [str(features())]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, left_out = [], []
    for item in items:
        tags = item_tags(item)
        (left_out if opt_in_reason(config, tags) else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
