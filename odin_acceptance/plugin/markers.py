"""The tag table (odin_acceptance.target_api.tags) as pytest sees it: markers the suite
registers itself when a run asks for it (so another repository's `--strict-markers` run knows
them, and an unrelated run never sees them), and the tags of a collected item."""

from __future__ import annotations

import pytest

from odin_acceptance.target_api.tags import OPT_IN, TAGS

__all__ = ["OPT_IN", "item_tags", "register"]


def register(config: pytest.Config) -> None:
    for tag in TAGS:
        config.addinivalue_line("markers", f"{tag.name}: {tag.marker}")


def item_tags(item: pytest.Item) -> frozenset[str]:
    """The tags of a scenario (its feature's and its own, as pytest-bdd makes them markers)."""
    return frozenset(mark.name for mark in item.iter_markers())
