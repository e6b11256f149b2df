"""reports/junit.xml of a real run validates against the JUnit-10 schema pytest checks its
own xunit2 output against (tests/data/junit-10.xsd), groups the scenarios by feature and
carries the criteria where the schema allows them."""

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from odin_acceptance.features import __file__ as features_init
from tests.suite_runs import edit, run_suite

SCHEMA = os.path.join(os.path.dirname(__file__), "data", "junit-10.xsd")
XMLLINT = shutil.which("xmllint")
ERRORED = "test_the_stacks_intervals_and_waits_are_the_plans"

pytestmark = pytest.mark.slow


def _feature_names() -> set[str]:
    folder = os.path.dirname(features_init)
    return {
        line.split("Feature:", 1)[1].strip()
        for name in os.listdir(folder)
        if name.endswith(".feature")
        for line in open(os.path.join(folder, name), encoding="utf-8")
        if line.startswith("Feature:")
    }


@pytest.mark.skipif(XMLLINT is None, reason="xmllint is not installed (Debian: apt-get install libxml2-utils)")
def test_a_runs_junit_xml_validates_and_groups_scenarios_by_feature(tmp_path, manifest_copy):
    # A failure (a hold the plan did not write), an error (a fixture that breaks) and skips.
    edit(
        manifest_copy / "prometheus" / "alert-rules.yml",
        "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 2m",
        "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 3m",
    )
    env = {**os.environ, "ODIN_SETUP_ERROR": ERRORED}
    out = tmp_path / "r"
    proc = run_suite(
        out, "-m", "rules", "-p", "tests.setup_error_probe", manifest_dir=manifest_copy, env=env, timeout=900
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    junit = out / "junit.xml"
    lint = subprocess.run(
        [XMLLINT, "--noout", "--schema", SCHEMA, str(junit)], capture_output=True, text=True, timeout=60
    )
    assert lint.returncode == 0, lint.stderr[-3000:]

    suite = ET.parse(junit).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert {c.get("classname") for c in cases} <= _feature_names() and len({c.get("classname") for c in cases}) >= 2
    facts = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert facts["target"] == "local" and re.fullmatch(r"[0-9a-f]{64}", facts["manifests_sha256"]), facts
    assert not [name for name in facts if " " in name], "property names are keys: no spaces"

    failures = [c for c in cases if c.find("failure") is not None]
    assert suite.get("errors") == "0" and int(suite.get("failures")) == len(failures) >= 2
    [errored] = [c for c in cases if c.get("name") == ERRORED]
    assert "failed on setup" in errored.find("failure").get("message"), "an error fails its scenario"
    [hold] = [c for c in cases if "GPUHighTemperature" in c.get("name") and c.find("failure") is not None]
    assert "criteria: SC3 (Alerts fire within configured thresholds)" in hold.find("system-out").text
    assert all(c.find("system-out").text.startswith(f"scenario: {c.get('classname')}: ") for c in cases)


@pytest.mark.skipif(XMLLINT is None, reason="xmllint is not installed (Debian: apt-get install libxml2-utils)")
def test_a_run_interrupted_mid_scenario_still_writes_valid_junit_xml(tmp_path):
    # As the nightly's timeout (SIGINT) or Ctrl-C would, while a scenario runs.
    interrupted = "test_the_plans_receivers_and_grouping"
    env = {**os.environ, "ODIN_INTERRUPT": interrupted}
    out = tmp_path / "r"
    proc = run_suite(out, "-m", "rules", "-p", "tests.setup_error_probe", env=env, timeout=900)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    lint = subprocess.run(
        [XMLLINT, "--noout", "--schema", SCHEMA, str(out / "junit.xml")], capture_output=True, text=True
    )
    assert lint.returncode == 0, lint.stderr[-3000:]
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    [case] = [c for c in suite.findall("testcase") if c.get("name") == interrupted]
    assert case.get("classname") == "Alert rule validation"
    assert case.find("skipped").get("message") == "not finished: interrupted (KeyboardInterrupt)"
    assert int(suite.get("tests")) == len(suite.findall("testcase"))
