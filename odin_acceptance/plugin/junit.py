"""reports/junit.xml in the form CI systems validate: the JUnit-10 schema pytest checks its
own xunit2 output against (tests/data/junit-10.xsd). A testcase there may carry no
<properties>, so the scenario and the criteria it bears on go in its <system-out>; its
classname is its feature, so CI reporters group the scenarios by feature; the run's facts
are suite-level properties named without spaces. The schema knows no <error> (it spells it
<errors>, which no CI reader knows): an error around a scenario fails it, as the verdicts
count it, so it is written as a <failure> whose message says "failed on setup" (or teardown).

A scenario cut short (Ctrl-C, the nightly's timeout) is written as skipped, "not finished".
pytest writes the file at the end of the session; this module reshapes it just after."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Generator
from pathlib import Path

import pytest
from _pytest.junitxml import LogXML, bin_xml_escape, mangle_test_address, xml_key

from odin_acceptance.plugin.ledger import criteria_of
from odin_acceptance.plugin.run_facts import junit_facts
from odin_acceptance.plugin.state import ENDED_KEY, RESULTS_KEY, SCENARIOS_KEY
from odin_acceptance.verdicts.criteria import DELIVERABLES, SUCCESS_CRITERIA, ScenarioResult

_TEXT = {c.ident: c.text for c in SUCCESS_CRITERIA + DELIVERABLES}


def pytest_collection_finish(session: pytest.Session) -> None:
    xml = session.config.stash.get(xml_key, None)
    if xml is not None:  # the run's facts (target, timing, commit, manifests), for CI systems
        for name, value in junit_facts(session.config).items():
            xml.add_global_property(name.replace(" ", "_"), value)


def system_out(result: ScenarioResult) -> str:
    """What a testcase's <system-out> says: its scenario, and the criteria it bears on (its failure fails them)."""
    idents = criteria_of(result.tags)
    criteria = ", ".join(f"{i} ({_TEXT[i]})" for i in idents) or "none"
    return f"scenario: {result.name}\ncriteria: {criteria}\n"


@pytest.hookimpl(wrapper=True)  # around pytest's junitxml writing the file
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    xml = session.config.stash.get(xml_key, None)
    if xml is not None:
        name_the_interrupted(xml, session.config.stash.get(ENDED_KEY, "") or "the run ended")
    yield
    if xml is not None and Path(xml.logfile).is_file():
        reshape(Path(xml.logfile), xml, session.config)


def name_the_interrupted(xml: LogXML, why: str) -> None:
    """A scenario interrupted while it ran (Ctrl-C, the nightly's timeout) left pytest a
    testcase with no name and no outcome, which the schema refuses: name it, and say it was
    skipped because the run ended (the verdicts count it "not run")."""
    for reporter in list(xml.node_reporters.values()):  # the ones never finished
        if "name" not in reporter.attrs:
            classname, name = _testcase_key(xml, str(reporter.id))
            reporter.attrs.update(classname=classname, name=name)
            reporter._add_simple("skipped", f"not finished: {why}", f"not finished: {why}")


def _testcase_key(xml: LogXML, nodeid: str) -> tuple[str, str]:
    """(classname, name) pytest gives the testcase of `nodeid` (junitxml's own rules)."""
    names = mangle_test_address(nodeid)
    classnames = ([xml.prefix] if xml.prefix else []) + names[:-1]
    return ".".join(classnames), bin_xml_escape(names[-1])


def reshape(path: Path, xml: LogXML, config: pytest.Config) -> None:
    results, scenarios = config.stash[RESULTS_KEY], config.stash[SCENARIOS_KEY]
    nodeids = {_testcase_key(xml, nodeid): nodeid for nodeid in scenarios}
    tree = ET.parse(path)
    for suite in tree.getroot().iter("testsuite"):
        converted = 0
        for case in suite.iter("testcase"):
            nodeid = nodeids.get((case.get("classname", ""), case.get("name", "")))
            scenario, result = scenarios.get(nodeid or ""), results.get(nodeid or "")
            if scenario is None or result is None:  # not a scenario of the suite (a collection error)
                continue
            case.set("classname", scenario.feature.name)
            out = ET.Element("system-out")
            out.text = system_out(result)
            case.insert(0, out)
            for error in case.findall("error"):
                error.tag = "failure"
                converted += 1
        suite.set("errors", str(int(suite.get("errors", "0")) - converted))
        suite.set("failures", str(int(suite.get("failures", "0")) + converted))
    text = ET.tostring(tree.getroot(), encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="utf-8"?>' + text, encoding="utf-8")
