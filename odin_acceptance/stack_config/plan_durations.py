"""The plan's intervals as the features state them, for the terms of a live bound.

alert_rules.feature states every interval of the plan (and of our decisions) in one table,
"the configuration has these durations", which its offline scenario checks against the
manifests. A live scenario's bound takes its scrape and evaluation terms (S and E of the
delivery formula) from that table, scaled by the run's timing profile, never from the config
under test: a running stack whose config says otherwise fails here, naming the setting,
instead of widening its own bound to match.
"""

from __future__ import annotations

import importlib.resources
from functools import cache
from pathlib import Path

from pytest_bdd.parser import FeatureParser

from odin_acceptance.core.timing_profiles import TimingProfile, format_duration, parse_duration
from odin_acceptance.stack_config.config_durations import READERS
from odin_acceptance.stack_config.model import StackConfig

# The features installed with the package (features/ in a checkout).
FEATURES = Path(str(importlib.resources.files("odin_acceptance.features"))).resolve()
FEATURE = "alert_rules.feature"
TABLE_STEP = "the configuration has these durations:"

# The table's settings a live bound uses.
SCRAPE = "Prometheus's scrape interval, every job"
EVALUATION = "every Prometheus rule group's interval"
LOKI_EVALUATION = "every Loki rule group's interval"

# A profile divides durations and the rendered config keeps whole milliseconds.
_MS = 0.001


@cache
def table(features: Path = FEATURES) -> dict[str, tuple[str, str]]:
    """{setting: (duration as written, who says so)} from the feature's table."""
    feature = FeatureParser(str(features), FEATURE).parse()
    steps = [s for scenario in feature.scenarios.values() for s in scenario.steps if s.name == TABLE_STEP]
    assert len(steps) == 1 and steps[0].datatable, f"{FEATURE} has no single step {TABLE_STEP!r} with a table"
    rows = steps[0].datatable.raw()[1:]  # the first row names the columns
    return {setting: (duration, source) for setting, duration, source in rows}


def interval(setting: str, running: StackConfig, profile: TimingProfile) -> float:
    """The plan's `setting` in the profile's seconds, once every place of the `running`
    config that sets it agrees with it."""
    plan = table()
    assert setting in plan, f"{FEATURE}'s duration table has no row {setting!r}"
    written, source = plan[setting]
    planned = profile.scale(parse_duration(written))
    found = READERS[setting](running)
    wrong = [f"{where} is {value}" for where, value in found.items() if abs(parse_duration(value) - planned) > _MS]
    as_run = "" if profile.factor == 1 else f", {format_duration(planned)} in the {profile.name} profile"
    assert found and not wrong, (
        f"{setting}: {', '.join(wrong) or 'set nowhere'} in {running.source}; {source} says {written}{as_run} "
        f"({FEATURE}). The bounds are the plan's: a config that differs fails rather than widening them."
    )
    return planned
