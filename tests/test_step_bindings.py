"""Every step sentence of every feature matches exactly one step definition.

pytest-bdd neither reports an ambiguous match (plugin order decides) nor fails on a
missing step at collection; this test does both, for every example row.
"""

import importlib
from pathlib import Path

import pytest
from pytest_bdd.parser import FeatureParser
from pytest_bdd.steps import step_function_context_registry

from odin_acceptance.plugin import suite as suite_plugin

FEATURES = Path(__file__).resolve().parent.parent / "features"


def _definitions():
    for module in suite_plugin.pytest_plugins:
        importlib.import_module(module)
    return list(step_function_context_registry.values())


def _rendered_steps():
    for path in sorted(FEATURES.glob("*.feature")):
        feature = FeatureParser(str(FEATURES), path.name).parse()
        for template in feature.scenarios.values():
            contexts = [c for ex in template.examples for c in ex.as_contexts()] or [{}]
            for context in contexts:
                scenario = template.render(context)
                for step in scenario.steps:
                    yield f"{path.name}:{step.line_number}", step.type, step.name


STEPS = sorted(set(_rendered_steps()))


def test_features_exist():
    assert len(STEPS) > 20


@pytest.mark.parametrize(("where", "kind", "sentence"), STEPS, ids=[f"{w} {s[:50]}" for w, _, s in STEPS])
def test_step_matches_exactly_one_definition(where, kind, sentence):
    matches = [
        d.step_func.__qualname__ for d in _definitions() if d.type in (kind, None) and d.parser.is_matching(sentence)
    ]
    assert len(matches) == 1, f"{where}: {kind} {sentence!r} matches {matches or 'no step definition'}"
