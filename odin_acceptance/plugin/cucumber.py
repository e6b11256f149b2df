"""cucumber.json as a Cucumber dashboard reads it: pytest-bdd writes only the scenarios that
ran; the skipped and the not run ones are added from the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odin_acceptance.plugin.state import RESULTS_KEY, SCENARIOS_KEY
from odin_acceptance.verdicts.criteria import NOT_RUN


def add_the_unrun(config: pytest.Config) -> None:
    """pytest-bdd's cucumber.json holds only scenarios that ran: add the skipped and the not
    run ones, each step "skipped" and the first carrying the reason, so a Cucumber dashboard
    does not read all green for a run that proved part."""
    path = getattr(config.option, "cucumber_json_path", None)
    if not path or not Path(path).is_file():
        return
    features = {f["uri"]: f for f in json.loads(Path(path).read_text())}
    scenarios = config.stash[SCENARIOS_KEY]
    for nodeid, result in config.stash[RESULTS_KEY].items():
        scenario = scenarios.get(nodeid)
        if result.outcome not in ("skipped", NOT_RUN) or scenario is None:
            continue
        feature = scenario.feature
        entry = features.setdefault(
            feature.rel_filename,
            {
                "keyword": feature.keyword,
                "uri": feature.rel_filename,
                "name": feature.name,
                "id": feature.rel_filename.lower().replace(" ", "-"),
                "line": feature.line_number,
                "description": "",
                "tags": [],
                "elements": [],
            },
        )
        reason = result.reason or "the run ended before it"
        steps = [
            {
                "keyword": step.keyword,
                "name": step.name,
                "line": step.line_number,
                "match": {"location": ""},
                "result": {"status": "skipped", **({"error_message": reason} if i == 0 else {})},
            }
            for i, step in enumerate(scenario.steps)
        ]
        entry["elements"].append(
            {
                "keyword": scenario.keyword,
                "id": nodeid,
                "name": scenario.name,
                "line": scenario.line_number,
                "description": reason,
                "tags": [{"name": tag, "line": scenario.line_number - 1} for tag in sorted(result.tags)],
                "type": "scenario",
                "steps": steps,
            }
        )
    Path(path).write_text(json.dumps(list(features.values())))
