"""The HTML report (pytest-html): each scenario's row names it and its criteria, a run
scenario shows its steps, a failed one its words, measurements, diagnostics and artifacts; the
summary on top is the verdicts. Nothing happens where pytest-html is not loaded."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_bdd.reporting import test_report_context_registry

from odin_acceptance.core import artifacts
from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.plugin.ledger import failure_message, run_record, scenario_label
from odin_acceptance.plugin.run_facts import our_decisions, run_facts
from odin_acceptance.plugin.state import EVIDENCE_KEY, RECORD_KEY, TARGET_KEY, artifacts_dir
from odin_acceptance.reporting import html as report_html
from odin_acceptance.targets import Target


def _extras(content: str) -> list[object]:
    try:
        from pytest_html import extras
    except ImportError:  # pytest-html not loaded: nothing to attach to
        return []
    return [extras.html(content)] if content else []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call":
        return
    scenario = scenario_label(item)
    why = failure_message(report) if report.failed else ""
    report.steps_html = report_html.steps_html(_steps_run(report))
    target = item.config.stash.get(TARGET_KEY, None) if report.failed else None
    kept = _scenario_artifacts(item, scenario) if report.failed else ""
    report.extras = report_extras(
        getattr(report, "extras", []), item.config.stash[EVIDENCE_KEY], scenario, why, target, kept
    )


# The values the failing step was given that can say what they generated (`artifacts()`).
ARTIFACT_SOURCES_KEY = pytest.StashKey[list[object]]()


def pytest_bdd_step_error(request: pytest.FixtureRequest, step_func_args: dict[str, object], **_: object) -> None:
    request.node.stash[ARTIFACT_SOURCES_KEY] = [
        v for v in step_func_args.values() if callable(getattr(v, "artifacts", None)) and not isinstance(v, Target)
    ]


def _scenario_artifacts(item: pytest.Item, scenario: str) -> str:
    """What the failed scenario's fixtures generated (those with an `artifacts()`, such as
    the promtool test files), under reports/artifacts/<scenario>/; and where the run's are."""
    root = artifacts_dir(item.config)
    directory = root / artifacts.slug(scenario)
    files: dict[str, str | Path] = {}
    for value in item.stash.get(ARTIFACT_SOURCES_KEY, []):
        files.update(value.artifacts())
    written = artifacts.write(directory, files) if files else []
    said = f"{directory} ({len(written)} files this scenario generated); " if written else ""
    return said + f"the run's logs, configs and cluster state: {root}/<target>/ (written when the run ends)"


def _steps_run(report: pytest.TestReport) -> list[tuple[str, str, bool]]:
    """(keyword, sentence, failed) of each step of the scenario as pytest-bdd recorded it."""
    context = test_report_context_registry.get(report)
    if context is None:
        return []
    return [(s["keyword"], s["name"], s["failed"]) for s in context.scenario["steps"]]


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_header(cells: list[str]) -> None:
    cells.insert(2, "<th>Criteria</th>")


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_row(report: pytest.TestReport, cells: list[str]) -> None:
    """The row says which scenario (outline values filled) and which criteria, in words,
    instead of the test's node id."""
    scenario, criteria = getattr(report, "odin_scenario", ""), getattr(report, "odin_criteria", [])
    if scenario:
        cells[1] = f'<td class="col-name">{html.escape(scenario)}</td>'
    links = ", ".join(f'<a href="#criterion-{c}">{c}</a>' for c in criteria)
    cells.insert(2, f"<td>{links}</td>")


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_html(report: pytest.TestReport, data: list[str]) -> None:
    """A skipped scenario's row says why in a sentence (not pytest's location tuple); a run
    scenario's row shows the steps that ran."""
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        data[:] = [f'<div class="odin-skip">Not run here: {html.escape(reason)}</div>']
    elif getattr(report, "steps_html", ""):
        data.insert(0, report.steps_html)


def report_extras(
    extras: list[object], log: EvidenceLog, scenario: str, why: str, target: Target | None, kept: str = ""
) -> list[object]:
    """What the HTML report shows under a scenario: the criterion's words on failure, its
    measurements, and the target's diagnostics with where the artifacts are; nothing where
    pytest-html is not loaded."""
    out = list(extras)
    if why:
        out.extend(_extras(report_html.failure_html(why)))
    out.extend(_extras(report_html.scenario_html(log, scenario)))
    diagnostics = {"artifacts": kept} if kept else {}
    if target is not None:
        diagnostics.update(target.diagnostics())
    if diagnostics:
        out.extend(_extras(report_html.diagnostics_html(diagnostics)))
    return out


@pytest.hookimpl(optionalhook=True)
def pytest_html_report_title(report: object) -> None:
    report.title = "ODIN Phase 3 acceptance report"  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    config = session.config
    record = config.stash.get(RECORD_KEY, None) or run_record(session)
    prefix.append(
        report_html.summary_html(config.stash[EVIDENCE_KEY], record, run_facts(config), our_decisions(config))
    )
