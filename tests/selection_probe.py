"""A pytest plugin for the project's tests (`-p tests.selection_probe`): writes which scenarios
a command line selects and which it leaves out, each with its tags, to the JSON file named by
$ODIN_SELECTION_PROBE. It only listens: the selection itself is the suite's own (its `-m`,
`--include` and opt-in code), so a test can ask what a CI job's command line would run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

_DESELECTED = pytest.StashKey[dict[str, list[str]]]()


def _tags(item: pytest.Item) -> list[str]:
    return sorted({m.name for m in item.iter_markers()})


def pytest_deselected(items: list[pytest.Item]) -> None:
    for item in items:
        item.config.stash.setdefault(_DESELECTED, {})[item.nodeid] = _tags(item)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    selected = {item.nodeid: _tags(item) for item in session.items}
    deselected = session.config.stash.get(_DESELECTED, {})
    Path(os.environ["ODIN_SELECTION_PROBE"]).write_text(json.dumps({"selected": selected, "deselected": deselected}))
