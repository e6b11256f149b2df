"""The end of a run, in order: the ledger closed into the record the verdicts are judged from,
then one writer per output (cucumber.json repaired, evidence.json, verdicts.json), then the
exit code --require-criteria asks for. JUnit (junit.py) and the HTML report (html_report.py)
are written by their plugins and read the same record and facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odin_acceptance.plugin import cucumber
from odin_acceptance.plugin.ledger import run_record
from odin_acceptance.plugin.run_facts import our_decisions, run_facts, verdict_facts
from odin_acceptance.plugin.settings import report_dir
from odin_acceptance.plugin.state import EVIDENCE_KEY, RECORD_KEY, RESULTS_KEY, ExitCode, say
from odin_acceptance.reporting import html as report_html
from odin_acceptance.verdicts import verdicts_file
from odin_acceptance.verdicts.criteria import RunRecord


@pytest.hookimpl(trylast=True)  # after pytest-bdd has written cucumber.json
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    log = config.stash.get(EVIDENCE_KEY, None)
    if log is None or config.option.collectonly:  # not the suite's run, or nothing judged (place_reports)
        return
    cucumber.add_the_unrun(config)
    record = config.stash[RECORD_KEY] = run_record(session)
    write_evidence(config)
    write_verdicts(config, record)
    required = config.getoption("--require-criteria")
    if required:
        unmet = report_html.unmet(record, required)
        if unmet:
            say(config, "required criteria that do not hold: " + "; ".join(unmet))
        session.exitstatus = exit_status(session.exitstatus, unmet)


def write_evidence(config: pytest.Config) -> None:
    """evidence.json: every measurement, the run's facts and every scenario's outcome."""
    log = config.stash[EVIDENCE_KEY]
    log.context.update(run_facts(config))
    log.context["scenarios"] = [
        {"scenario": r.name, "outcome": r.outcome, "tags": sorted(r.tags), "reason": r.reason}
        for r in config.stash[RESULTS_KEY].values()
    ]
    log.write(Path(config.getoption("--evidence")))


def write_verdicts(config: pytest.Config, record: RunRecord) -> None:
    """verdicts.json: what a sign-off across runs reads."""
    doc = verdicts_file.document(config.stash[EVIDENCE_KEY], record, verdict_facts(config), our_decisions(config))
    (report_dir(config) / "verdicts.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False))


def exit_status(current: int, unmet: list[str]) -> int:
    """--require-criteria's own code (10) only for a run that was otherwise green: a failed
    scenario (1), an interrupt (2), or the suite's own errors (11, 12) say more."""
    return ExitCode.CRITERIA_NOT_MET if unmet and current == pytest.ExitCode.OK else current
