"""The report's verdict logic: a criterion passes only when scenarios proving it ran and passed."""

from pathlib import Path

from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.reporting.html import diagnostics_html, summary_html, unmet
from odin_acceptance.target_api.tags import TAGS
from odin_acceptance.verdicts.criteria import (
    DELIVERABLES,
    NOT_RUN,
    SUCCESS_CRITERIA,
    RunRecord,
    ScenarioResult,
    judge,
)
from odin_acceptance.verdicts.verdicts_file import document as verdicts_json
from tests.report_screenshot import ink, screenshot

SC2 = next(c for c in SUCCESS_CRITERIA if c.ident == "SC2")
SC4 = next(c for c in SUCCESS_CRITERIA if c.ident == "SC4")
SC6 = next(c for c in SUCCESS_CRITERIA if c.ident == "SC6")
L1 = next(c for c in DELIVERABLES if c.ident == "L1")
I5 = next(c for c in DELIVERABLES if c.ident == "I5")


def test_uncovered_criterion_is_never_a_pass():
    assert judge(SC2, []).status == "not covered"
    skipped = ScenarioResult("search", "skipped", frozenset({"sc2"}), "needs a cluster")
    verdict = judge(SC2, [skipped])
    assert verdict.status == "not covered" and "needs a cluster" in verdict.detail


def test_one_failure_fails_the_criterion():
    results = [ScenarioResult("a", "passed", frozenset({"sc2"})), ScenarioResult("b", "failed", frozenset({"sc2"}))]
    assert judge(SC2, results).status == "fails"
    assert judge(SC2, results[:1]).status == "holds"


def test_a_criterion_with_a_skipped_part_holds_only_in_part():
    results = [
        ScenarioResult("a", "passed", frozenset({"sc2"})),
        ScenarioResult("b", "skipped", frozenset({"sc2"}), "Loki 3.6.3 not supplied. Pass --component loki=PATH"),
    ]
    verdict = judge(SC2, results)
    assert verdict.status == "holds in part"
    assert verdict.detail == "1 of 1 scenarios passed; not proven here: Loki 3.6.3 not supplied"
    html = summary_html(EvidenceLog(), RunRecord(tuple(results)), {})
    assert "holds in part on local: SC2" in html and "Every success criterion holds" not in html
    assert "Pass --component loki=PATH" in html, "the full way to cover the skipped part is shown once"


def test_summary_banner_names_failing_and_uncovered_criteria(tmp_path):
    log = EvidenceLog()
    scenario = log.for_scenario("Log search: one word")
    scenario.record("search latency p95", 0.02, "s", high=2.0)
    scenario.histogram("search latency", "s", [0.01, 0.02, 0.03], 2.0)
    scenario.timeline("GPU", "°C", 80.0, [(0.0, 45.0), (1.0, 85.0)], [(1.0, "crossing"), (5.0, "firing")])
    results = [
        ScenarioResult("Log search: one word", "passed", frozenset({"sc2"})),
        ScenarioResult("GPU", "failed", frozenset({"sc5"})),
    ]
    html = summary_html(log, RunRecord(tuple(results)), {"target": "local"})
    assert "NOT ACCEPTED on local: SC5 fail" in html
    assert html.count("not covered on local") >= 4
    assert html.count("data:image/png;base64,") == 2
    page = tmp_path / "report.html"
    page.write_text(f"<html><body>{html}</body></html>")
    assert ink(screenshot(page, tmp_path / "shot.png")) > 0.02


def test_diagnostics_are_collapsible_and_escaped():
    html = diagnostics_html({"loki log (last lines)": "level=error msg=<boom>", "Prometheus alerts": "[]"})
    assert html.count("<details>") == 2
    assert "&lt;boom&gt;" in html and "<boom>" not in html


def test_a_measurement_outside_its_bound_fails_with_the_criterions_words_and_stays_in_the_report():
    import pytest

    log = EvidenceLog()
    scenario = log.for_scenario("GPU temperature alerting: held at 85 °C")
    assert scenario.record("firing → notified", 0.4, "s").within is None, "a figure without a bound is context"
    with pytest.raises(AssertionError, match=r"the plan allows 4\.33–5\.83 s"):
        scenario.record("crossing → notified", 7.1, "s", low=4.33, high=5.83, fails="the plan allows 4.33–5.83 s")
    assert [m.within for m in log.measurements] == [None, False], "the OUTSIDE figure is kept for the report"


def test_a_failure_is_reported_even_where_pytest_html_is_not_loaded(monkeypatch):
    import sys

    from odin_acceptance.plugin.html_report import report_extras

    monkeypatch.setitem(sys.modules, "pytest_html", None)  # `import pytest_html` now raises ImportError
    log = EvidenceLog()
    assert report_extras([], log, "GPU: held", "GPUHighTemperature reached 'gpu-alerts' too late", None) == []


def test_a_run_cut_short_holds_nothing_its_missing_scenarios_prove():
    # The offline routing scenario passed; the run ended before the live one.
    results = (
        ScenarioResult("The plan's receivers and grouping", "passed", frozenset({"sc4"})),
        ScenarioResult("GPU alerts reach the GPU team", NOT_RUN, frozenset({"sc4"})),
    )
    record = RunRecord(results, ended_early="the stack did not start on the local target: …")
    verdict = record.verdict(SC4)
    assert verdict.status == "holds in part" and "1 not run: the run ended before them" in verdict.detail
    html = summary_html(EvidenceLog(), record, {})
    assert "INCOMPLETE: the run ended early (the stack did not start" in html
    assert "1 selected scenario did not run" in html
    doc = verdicts_json(EvidenceLog(), record)
    assert doc["complete"] is False and doc["criteria"]["SC4"]["state"] == "holds_in_part"


def test_the_24_hour_criterion_holds_only_for_a_24_hour_soak():
    soak = (ScenarioResult("No log line lost", "passed", frozenset({"sc6", "soak"})),)
    half_hour = judge(SC6, list(soak), proven_seconds=1800)
    assert half_hour.status == "holds in part" and "30 min of 24 h" in half_hour.detail
    assert judge(SC6, list(soak), proven_seconds=86400).status == "holds"
    assert judge(SC6, list(soak)).status == "holds in part", "no soak length proven: not the criterion"


def test_an_offline_lint_never_credits_a_criterion_of_a_running_component():
    lint = ScenarioResult("Loki is not killed while it recovers", "passed", frozenset({"loki_health", "offline"}))
    assert judge(L1, [lint]).status == "not covered", "a manifest lint proves no Loki was deployed"


def test_a_criterion_no_scenario_proves_says_so():
    verdict = judge(I5, [ScenarioResult("x", "passed", frozenset({"sc2"}))])
    assert verdict.status == "not covered" and verdict.detail == "no scenario in this suite proves this"


def test_required_criteria_that_do_not_hold_are_named():
    record = RunRecord(
        (ScenarioResult("a", "passed", frozenset({"sc2"})), ScenarioResult("b", "failed", frozenset({"sc5"})))
    )
    assert unmet(record, "SC2") == []
    [sc5] = unmet(record, "SC2,SC5")
    assert sc5.startswith("SC5 fails")
    assert len(unmet(record, "all")) == 5, "every success criterion but SC2"
    assert unmet(record, "SC9")[0].startswith("SC9: no such criterion")


def test_no_feature_credits_a_criterion_for_all_its_scenarios():
    for feature in sorted((Path(__file__).resolve().parent.parent / "features").glob("*.feature")):
        head = feature.read_text().split("Feature:")[0]
        assert not {t.name for t in TAGS if t.credits and f"@{t.name}" in head.split()}, (
            f"{feature.name}: criterion tags on the feature"
        )


def test_the_job_summary_is_the_criteria_table_in_markdown():
    from odin_acceptance.reporting.job_summary import markdown

    record = RunRecord((ScenarioResult("a", NOT_RUN, frozenset({"sc4"})),), ended_early="interrupted")
    text = markdown(verdicts_json(EvidenceLog(), record))
    assert "**INCOMPLETE: the run ended early (interrupted)**" in text
    assert "| SC4 | AlertManager routes alerts correctly | – not covered |" in text


def test_steps_after_the_failed_one_read_as_not_run():
    from odin_acceptance.reporting.html import steps_html

    out = steps_html([("Given", "a stack", False), ("Then", "it fires", True), ("And", "it resolves", True)])
    assert "✔ <b>Given</b>" in out and "✘ <b>Then</b>" in out and "○ <b>And</b> it resolves" in out
