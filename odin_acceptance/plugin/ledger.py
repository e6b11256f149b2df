"""The ledger of a run: every scenario's outcome against its criteria, from collection on
(deselected ones included, "not run" until it reports), why the run ended early, and the
record the verdicts are judged from. The writers (evidence, verdicts, JUnit, Cucumber, HTML)
read it; none of them keeps its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_bdd.parser import Scenario
from pytest_bdd.scenario import scenario_wrapper_template_registry

from odin_acceptance.core.timing_profiles import parse_duration
from odin_acceptance.plugin.markers import item_tags
from odin_acceptance.plugin.selection import opt_in_reason
from odin_acceptance.plugin.state import (
    ENDED_KEY,
    RESULTS_KEY,
    SCENARIO_KEY,
    SCENARIOS_KEY,
    SUPPLIED_KEY,
    capabilities,
    target_name,
)
from odin_acceptance.targets import skip_reason, target_class
from odin_acceptance.verdicts.criteria import (
    DELIVERABLES,
    NOT_RUN,
    SUCCESS_CRITERIA,
    RunRecord,
    ScenarioResult,
    credits,
)


def failure_message(report: pytest.TestReport) -> str:
    """The assertion's own words (what was awaited, last seen, hint), without the traceback."""
    crash = getattr(report.longrepr, "reprcrash", None)
    return crash.message if crash is not None else str(report.longrepr).splitlines()[-1]


def _scenario(item: pytest.Item) -> Scenario | None:
    """The scenario an item runs, an outline's example values filled in (pytest-bdd's own
    rendering), whether or not it ran."""
    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    if template is None:
        return None
    example = getattr(getattr(item, "callspec", None), "params", {}).get("_pytest_bdd_example", {})
    return template.render(example)


def _scenario_name(item: pytest.Item) -> str:
    """ "<feature>: <scenario>" of a scenario skipped before pytest-bdd started it."""
    scenario = _scenario(item)
    return f"{scenario.feature.name}: {scenario.name}" if scenario else item.name


def criteria_of(tags: frozenset[str]) -> list[str]:
    return [c.ident for c in SUCCESS_CRITERIA + DELIVERABLES if credits(tags, c)]


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Scenarios left out by `-m`, `-k` or for want of `--include` still belong to their
    criteria: reported as not run, with why (what this target lacks first, else the
    selection), so no criterion reads "holds" for want of them."""
    for item in items:
        config = item.config
        tags = item_tags(item)
        lacking = skip_reason(capabilities(config), set(tags), config.stash.get(SUPPLIED_KEY, None))
        options = (("-m", config.option.markexpr), ("-k", config.option.keyword))
        chosen = [f'{flag} "{expr}"' for flag, expr in options if expr]
        selection = opt_in_reason(config, tags) or (
            f"left out of this run by {' and '.join(chosen)}. Select it with -m or -k to run it"
        )
        reason = lacking or selection
        config.stash[RESULTS_KEY][item.nodeid] = ScenarioResult(_scenario_name(item), "skipped", tags, reason)
        config.stash[SCENARIOS_KEY][item.nodeid] = _scenario(item)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Every selected scenario belongs to the verdicts from here on, "not run" until it
    reports: a run cut short cannot read better than what ran."""
    config = session.config
    results = config.stash[RESULTS_KEY]
    for item in session.items:
        tags = item_tags(item)
        results.setdefault(item.nodeid, ScenarioResult(_scenario_name(item), NOT_RUN, tags))
        config.stash[SCENARIOS_KEY][item.nodeid] = _scenario(item)


class _EndWatcher:
    """Records why a run ended early: Ctrl-C, or pytest.exit (the stack did not start, a
    precondition). A plugin object, since that hook is given no config."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        message = str(excinfo.value).strip() or f"interrupted ({excinfo.typename})"
        self.config.stash[ENDED_KEY] = message.splitlines()[0][:300]


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_EndWatcher(config), "odin-end-watcher")


def scenario_label(item: pytest.Item) -> str:
    """ "<feature>: <scenario>" as pytest-bdd started it, else as collected."""
    return item.stash.get(SCENARIO_KEY, None) or _scenario_name(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    scenario = scenario_label(item)
    tags = item_tags(item)
    report.odin_scenario, report.odin_criteria = _scenario_name(item), criteria_of(tags)
    results = item.config.stash[RESULTS_KEY]
    if report.when == "setup" and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        results[item.nodeid] = ScenarioResult(scenario, "skipped", tags, reason.removeprefix("Skipped: "))
    why = failure_message(report) if report.failed else ""
    if report.when in ("setup", "teardown") and report.failed:  # an error around the scenario fails it
        results[item.nodeid] = ScenarioResult(scenario, "failed", tags, f"{report.when} error: {why}")
    if report.when == "call":
        results[item.nodeid] = ScenarioResult(scenario, report.outcome, tags, why)


def run_record(session: pytest.Session) -> RunRecord:
    """What the verdicts are judged from: every scenario, why the run ended early (if it
    did), how long the soak proved no loss for, and which scenarios no run on this target
    can make (what its verdicts can reach at most)."""
    config = session.config
    results = list(config.stash[RESULTS_KEY].values())
    soak_passed = any("soak" in r.tags and r.outcome == "passed" for r in results)
    ended = config.stash.get(ENDED_KEY, "")
    if not ended and any(r.outcome == NOT_RUN for r in results):
        stopped = session.shouldfail or session.shouldstop  # -x / --maxfail
        ended = str(stopped) if stopped else "the run stopped before every selected scenario ran"
    target = target_name(config)
    declared = target_class(target).capabilities  # the target's own, not what this host allowed
    return RunRecord(
        results=tuple(results),
        ended_early=ended,
        proven_seconds=parse_duration(config.getoption("--soak-duration")) if soak_passed else None,
        target=target,
        beyond_target=frozenset(r.name for r in results if skip_reason(declared, set(r.tags)) is not None),
    )
