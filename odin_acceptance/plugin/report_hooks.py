"""What a run reports: each scenario's outcome against its criteria (deselected ones
included), the HTML report's extras and summary, and the evidence JSON."""

from __future__ import annotations

import datetime
import html
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_bdd.parser import Scenario
from pytest_bdd.reporting import test_report_context_registry
from pytest_bdd.scenario import scenario_wrapper_template_registry

from odin_acceptance.core import artifacts
from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.core.timing_profiles import parse_duration
from odin_acceptance.plugin.markers import item_tags
from odin_acceptance.plugin.selection import opt_in_reason
from odin_acceptance.plugin.settings import report_dir
from odin_acceptance.plugin.state import (
    ENDED_KEY,
    EVIDENCE_KEY,
    RECORD_KEY,
    RESULTS_KEY,
    SCENARIO_KEY,
    SCENARIOS_KEY,
    STARTED_KEY,
    SUPPLIED_KEY,
    TARGET_KEY,
    ExitCode,
    artifacts_dir,
    capabilities,
    manifest_dir,
    profile_of,
    say,
    suite_version,
    target_name,
)
from odin_acceptance.reporting import html as report_html
from odin_acceptance.stack_config import manifests
from odin_acceptance.targets import Target, skip_reason, target_class
from odin_acceptance.verdicts import decisions, verdicts_file
from odin_acceptance.verdicts.criteria import (
    DELIVERABLES,
    NOT_RUN,
    SUCCESS_CRITERIA,
    RunRecord,
    ScenarioResult,
    credits,
)


def _failure_message(report: pytest.TestReport) -> str:
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


def _extras(content: str) -> list[object]:
    try:
        from pytest_html import extras
    except ImportError:  # pytest-html not loaded: nothing to attach to
        return []
    return [extras.html(content)] if content else []


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


_IDENTITY_KEY = pytest.StashKey[tuple[str, str]]()


def _identity(config: pytest.Config) -> tuple[str, str]:
    """(commit, manifests sha256) of this run, worked out once: JUnit, the HTML report and
    verdicts.json all name them, and a sign-off matches runs by them."""
    if _IDENTITY_KEY not in config.stash:
        try:
            digest = verdicts_file.manifests_sha256(manifests.load(manifest_dir(config)).objects)
        except manifests.ManifestError as exc:  # the scenarios that read them say so, by name
            digest = f"unreadable: {exc}"
        commit = _git_commit(config.rootpath)
        if commit == "unknown":  # features of another directory: the suite's own checkout, if it is one
            commit = _git_commit(Path(__file__).resolve().parent)
        config.stash[_IDENTITY_KEY] = (commit, digest)
    return config.stash[_IDENTITY_KEY]


def junit_facts(config: pytest.Config) -> dict[str, str]:
    commit, digest = _identity(config)
    return {
        "target": target_name(config),
        "timing": profile_of(config).describe(),
        "commit": commit,
        "manifests sha256": digest,
    }


def _cucumber_skipped(config: pytest.Config) -> None:
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    scenario = item.stash.get(SCENARIO_KEY, None) or _scenario_name(item)
    tags = item_tags(item)
    report.odin_scenario, report.odin_criteria = _scenario_name(item), criteria_of(tags)
    results = item.config.stash[RESULTS_KEY]
    if report.when == "setup" and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        results[item.nodeid] = ScenarioResult(scenario, "skipped", tags, reason.removeprefix("Skipped: "))
    why = _failure_message(report) if report.failed else ""
    if report.when in ("setup", "teardown") and report.failed:  # an error around the scenario fails it
        results[item.nodeid] = ScenarioResult(scenario, "failed", tags, f"{report.when} error: {why}")
    if report.when != "call":
        return
    results[item.nodeid] = ScenarioResult(scenario, report.outcome, tags, why)
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


def _facts(config: pytest.Config) -> dict[str, str]:
    log = config.stash[EVIDENCE_KEY]
    facts = {
        "target": target_name(config),
        "timing profile": profile_of(config).describe(),
        "manifests": str(manifest_dir(config)),
        "git commit": _identity(config)[0],
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(config.stash[STARTED_KEY])),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    found = config.stash.get(SUPPLIED_KEY, None)
    if found is not None:
        facts.update(found.describe())
    facts.update({k: str(v) for k, v in log.context.items() if k not in facts and k != "scenarios"})
    return facts


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")


def _run_facts(config: pytest.Config) -> verdicts_file.RunFacts:
    """What identifies this run in a sign-off across runs (verdicts.json)."""
    commit, digest = _identity(config)
    return verdicts_file.RunFacts(
        suite_version=suite_version(),
        commit=commit,
        manifests_sha256=digest,
        timing_profile=profile_of(config).name,
        started=_iso(config.stash[STARTED_KEY]),
        finished=_iso(time.time()),
    )


def _decisions(config: pytest.Config) -> tuple[decisions.Decision, ...]:
    """Our decisions, from the DIFFERENCES.md beside the manifests under test, else the suite's own."""
    for path in (manifest_dir(config).parent, config.rootpath / "manifests"):
        found = decisions.read(path / "DIFFERENCES.md")
        if found:
            return found
    return ()


def exit_status(current: int, unmet: list[str]) -> int:
    """--require-criteria's own code (10) only for a run that was otherwise green: a failed
    scenario (1), an interrupt (2), or the suite's own errors (11, 12) say more."""
    return ExitCode.CRITERIA_NOT_MET if unmet and current == pytest.ExitCode.OK else current


@pytest.hookimpl(trylast=True)  # after pytest-bdd has written cucumber.json
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    _cucumber_skipped(config)
    log = config.stash.get(EVIDENCE_KEY, None)
    if log is None:
        return
    log.context.update(_facts(config))
    results = list(config.stash[RESULTS_KEY].values())
    log.context["scenarios"] = [
        {"scenario": r.name, "outcome": r.outcome, "tags": sorted(r.tags), "reason": r.reason} for r in results
    ]
    log.write(Path(config.getoption("--evidence")))
    record = config.stash[RECORD_KEY] = run_record(session)
    verdicts_path = report_dir(config) / "verdicts.json"
    doc = verdicts_file.document(log, record, _run_facts(config), _decisions(config))
    verdicts_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    required = config.getoption("--require-criteria")
    if required:
        unmet = report_html.unmet(record, required)
        if unmet:
            say(config, "required criteria that do not hold: " + "; ".join(unmet))
        session.exitstatus = exit_status(session.exitstatus, unmet)


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


@pytest.hookimpl(optionalhook=True)
def pytest_html_report_title(report: object) -> None:
    report.title = "ODIN Phase 3 acceptance report"  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    config = session.config
    record, facts = run_record(session), _facts(config)
    prefix.append(report_html.summary_html(config.stash[EVIDENCE_KEY], record, facts, _decisions(config)))
