"""What a run's verdict means: every scenario that can fail moves some row of the report,
any failure makes the banner red, --require-criteria's own exit code never hides a worse
one, each verdict says the most its target can show, and our decisions (not the plan's
numbers) stand next to the criteria they affect."""

import json
import re
from html import unescape
from pathlib import Path

import pytest
from pytest_bdd.parser import FeatureParser

from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.plugin.outputs import exit_status
from odin_acceptance.plugin.state import ExitCode
from odin_acceptance.reporting.html import summary_html
from odin_acceptance.stack_config import manifests
from odin_acceptance.verdicts import decisions
from odin_acceptance.verdicts.criteria import DELIVERABLES, SUCCESS_CRITERIA, RunRecord, ScenarioResult, credits
from odin_acceptance.verdicts.verdicts_file import document
from tests.suite_runs import edit, run_suite

FEATURES = Path(__file__).resolve().parent.parent / "features"
DIFFERENCES = manifests.BASE.parent / "DIFFERENCES.md"
EVERY_CRITERION = SUCCESS_CRITERIA + DELIVERABLES


def _scenarios():
    for path in sorted(FEATURES.glob("*.feature")):
        feature = FeatureParser(str(FEATURES), path.name).parse()
        for scenario in feature.scenarios.values():
            yield path.name, scenario.name, frozenset(scenario.tags) | frozenset(feature.tags)


SCENARIOS = list(_scenarios())


@pytest.mark.parametrize(("feature", "scenario", "tags"), SCENARIOS, ids=[f"{f}: {s[:60]}" for f, s, _ in SCENARIOS])
def test_every_scenario_credits_a_criterion_or_a_deliverable(feature, scenario, tags):
    assert [c.ident for c in EVERY_CRITERION if credits(tags, c)], (
        f"{feature}: {scenario!r} (tags {sorted(tags)}) moves no row of the report: its failure would land in "
        "no verdict. Tag it with the criterion or deliverable it proves"
    )


def _passing_success_criteria() -> list[ScenarioResult]:
    return [ScenarioResult(f"{c.ident} proven", "passed", frozenset(c.tags)) for c in SUCCESS_CRITERIA]


@pytest.mark.parametrize(
    ("failed", "row"),
    [
        (ScenarioResult("Loki enforces its retention period", "failed", frozenset({"retention", "loki"})), "L6"),
        (
            ScenarioResult("Loki is not killed while it recovers", "failed", frozenset({"loki_health", "offline"})),
            "L1",
        ),
        (ScenarioResult("Every workload of the stack is fully rolled out", "failed", frozenset({"deployed"})), "L2"),
    ],
)
def test_a_failure_outside_the_success_criteria_is_not_accepted(failed, row):
    record = RunRecord((*_passing_success_criteria(), failed))
    html = summary_html(EvidenceLog(), record, {})
    assert re.search(rf"NOT ACCEPTED on local: [A-Z0-9, ]*\b{row}\b[A-Z0-9, ]* fail", html), html[:3000]
    assert "Not fully proven" not in html and "Every success criterion holds" not in html
    assert record.overall() == "not_accepted" and document(EvidenceLog(), record)["overall"] == "not_accepted"


@pytest.mark.parametrize("earlier", [ExitCode.COMPONENTS_UNAVAILABLE, ExitCode.TARGET_UNAVAILABLE, 1, 2])
def test_require_criteria_never_overwrites_an_earlier_status(earlier):
    assert exit_status(earlier, ["SC3 holds in part: …"]) == earlier
    assert exit_status(0, ["SC3 holds in part: …"]) == ExitCode.CRITERIA_NOT_MET
    assert exit_status(0, []) == 0


@pytest.mark.slow
@pytest.mark.usefixtures("provisioned")
def test_a_failed_run_with_unmet_criteria_exits_1_not_10(tmp_path, manifest_copy):
    rules = manifest_copy / "prometheus" / "alert-rules.yml"
    edit(rules, "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 2m", "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 3m")
    proc = run_suite(
        tmp_path / "r", "-m", "rules", "-k", "GPUHighTemperature", "--require-criteria", "SC3",
        manifest_dir=manifest_copy, timeout=300,
    )  # fmt: skip
    assert "failed" in proc.stdout and "required criteria that do not hold: SC3" in proc.stdout, proc.stdout[-3000:]
    assert proc.returncode == 1, f"a failed scenario must exit 1, not {proc.returncode}"


def test_a_verdict_says_the_most_its_target_can_show():
    fleet = ScenarioResult("One hot GPU among 8,000", "skipped", frozenset({"sc3", "gpu"}), "needs kwok")
    here = ScenarioResult("A GPU at 85 °C alerts", "passed", frozenset({"sc3", "gpu"}))
    expected = RunRecord((here, fleet), beyond_target=frozenset({fleet.name}))
    verdict = expected.verdict(next(c for c in SUCCESS_CRITERIA if c.ident == "SC3"))
    assert verdict.status == "holds in part" and verdict.ceiling == "holds in part" and verdict.as_expected
    html = summary_html(EvidenceLog(), expected, {})
    assert "the most local can show" in html
    assert document(EvidenceLog(), expected)["criteria"]["SC3"]["ceiling"] == "holds_in_part"
    short = RunRecord((here, fleet))  # the target could have run it: a shortfall, said so
    assert "short of what local can show (holds)" in summary_html(EvidenceLog(), short, {})
    left_out = ScenarioResult("Exporter down", "skipped", frozenset({"sc3"}), 'left out of this run by -m "rules"')
    partial = RunRecord((here, fleet, left_out), beyond_target=frozenset({fleet.name}))
    assert "holds in part is the most local can show, and this run left out some of it" in summary_html(
        EvidenceLog(), partial, {}
    )
    assert document(EvidenceLog(), partial)["criteria"]["SC3"]["as_expected_on_target"] is False


def _row(html: str, ident: str) -> str:
    return html.split(f'<tr id="criterion-{ident}">', 1)[1].split("</tr>", 1)[0]


def test_each_of_our_decisions_stands_next_to_the_criteria_it_affects():
    found = decisions.read(DIFFERENCES)
    names = {d.decision for d in found}
    assert {"GPUPowerHigh threshold", "watchdog receiver and its repeat"} <= names, "D11 and D15 are listed"
    record = RunRecord(tuple(_passing_success_criteria()))
    html = summary_html(EvidenceLog(), record, {}, found)
    doc = document(EvidenceLog(), record, decisions=found)
    for decision in found:
        assert decision.criteria, f"{decision.decision}: names no criterion"
        for ident in decision.criteria:
            assert ident in {c.ident for c in EVERY_CRITERION}, f"{decision.decision}: no criterion {ident}"
            assert decision.text() in unescape(_row(html, ident)), (ident, decision.decision)
            assert decision.decision in json.dumps(doc["criteria"][ident]["decisions"]), (ident, decision.decision)
    d11 = next(d for d in found if d.decision == "GPUPowerHigh threshold")
    assert "SC3" in d11.criteria and "350 W" in d11.why


def test_every_feature_that_makes_a_decision_is_in_the_decisions_table():
    named = " ".join(d.feature for d in decisions.read(DIFFERENCES))
    for path in sorted(FEATURES.glob("*.feature")):
        says = "our decision" in path.read_text().lower()
        assert says == (path.name in named), (
            f"{path.name}: {'says' if says else 'does not say'} 'our decision', and the decisions table in "
            f"{DIFFERENCES} {'does not name' if says else 'names'} it"
        )


def _rendered_names() -> list[str]:
    """Every scenario's name as a run reports it ("feature: scenario"), each outline example
    rendered with its values."""
    names = []
    for path in sorted(FEATURES.glob("*.feature")):
        feature = FeatureParser(str(FEATURES), path.name).parse()
        for template in feature.scenarios.values():
            contexts = [c for e in template.examples for c in e.as_contexts()] or [{}]
            names += [f"{feature.name}: {template.render(c).name}" for c in contexts]
    return names


def test_every_scenario_and_outline_example_has_a_name_of_its_own():
    # The sign-off puts runs together by scenario name: two examples of one name would read as
    # one scenario, passed if either passed anywhere.
    names = _rendered_names()
    repeated = sorted({n for n in names if names.count(n) > 1})
    assert not repeated, f"scenarios that share a name (put the outline's values in its title): {repeated}"
