"""One table says what a tag means (odin_acceptance.target_api.tags): every tag a feature uses
is a row, every criterion is credited by some row, and what reads the table (markers, skips,
opt-in selection, criteria) follows a changed row."""

from __future__ import annotations

import re
from pathlib import Path

from odin_acceptance.target_api import tags
from odin_acceptance.target_api.base import KUBERNETES_API
from odin_acceptance.targets import skip_reason
from odin_acceptance.verdicts.criteria import DELIVERABLES, SUCCESS_CRITERIA

FEATURES = Path(__file__).resolve().parent.parent / "features"


def test_every_tag_the_features_use_is_a_row_and_every_row_is_used():
    used = {t for f in FEATURES.glob("*.feature") for t in re.findall(r"(?<!\S)@(\w+)", f.read_text())}
    rows = set(tags.BY_NAME)
    assert used - rows == set(), f"tags without a row: {sorted(used - rows)}"
    unused = rows - used - {"correlation"}  # I5: no scenario proves it (the report says so)
    assert unused == set(), f"rows no feature uses: {sorted(unused)}"


def test_every_criterion_is_credited_by_the_table_and_every_credit_names_a_criterion():
    idents = {c.ident for c in SUCCESS_CRITERIA + DELIVERABLES}
    assert all(c.tags for c in SUCCESS_CRITERIA + DELIVERABLES)
    named = {i for tag in tags.TAGS for i in tag.credits}
    assert named == idents, f"unknown: {sorted(named - idents)}; uncredited: {sorted(idents - named)}"


def test_a_row_is_all_it_takes(monkeypatch):
    """A new row that needs a Kubernetes API: its scenarios are skipped on a target without one,
    with the row's reason; the criterion it credits counts it."""
    row = tags.Tag(
        "new_thing", "a new kind of check", needs=KUBERNETES_API, skip_reason="needs the new thing", credits=("A2",)
    )
    monkeypatch.setattr(tags, "TAGS", (*tags.TAGS, row))
    assert skip_reason(frozenset(), {"new_thing"}) == "needs the new thing"
    a2 = next(c for c in DELIVERABLES if c.ident == "A2")
    assert "new_thing" in a2.tags
