"""The CI job summary (odin_acceptance.reporting.job_summary): read from the verdicts.json a
run writes, it names every failed scenario with its reason and links the uploaded report."""

import json
import subprocess
import sys

from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.reporting.job_summary import REASON_CHARS, markdown
from odin_acceptance.verdicts.criteria import RunRecord, ScenarioResult
from odin_acceptance.verdicts.verdicts_file import document

REPORT = "https://github.com/o/r/actions/runs/1/artifacts/2"


def _verdicts() -> dict:
    results = (
        ScenarioResult(
            "GPU temperature alerting: A GPU held at 85 °C",
            "failed",
            frozenset({"sc5", "gpu"}),
            "timed out after 161 s waiting for GPUHighTemperature to fire\nlast seen: pending | 0 alerts",
        ),
        ScenarioResult("Log search latency: Search returns within 2 seconds", "failed", frozenset({"sc2"}), "x" * 900),
        ScenarioResult("Alertmanager routing: Warnings go to the GPU team", "passed", frozenset({"sc4", "routing"})),
        ScenarioResult("Loki health: Loki is ready", "skipped", frozenset({"loki_health"}), "Loki not supplied"),
    )
    return json.loads(json.dumps(document(EvidenceLog(), RunRecord(results, target="kind"))))


def test_the_summary_lists_each_failed_scenario_with_its_reason_and_links_the_report():
    text = markdown(_verdicts(), REPORT)
    assert "### 2 failed scenarios" in text
    # One line each, whatever the reason holds (new lines, a table's bar).
    assert (
        "- **GPU temperature alerting: A GPU held at 85 °C**: timed out after 161 s waiting for "
        "GPUHighTemperature to fire last seen: pending \\| 0 alerts" in text
    )
    [search] = [line for line in text.splitlines() if "Search returns within 2 seconds" in line]
    assert search.endswith("…") and search.count("x") == REASON_CHARS - 1
    assert "Warnings go to the GPU team" not in text and "Loki is ready" not in text.split("| |")[0]
    assert f"[download it]({REPORT})" in text
    assert "| SC5 | GPU temperature alerts working | ✘ fails |" in text


def test_a_passing_run_lists_no_failure_and_a_missing_link_is_said(tmp_path):
    verdicts = _verdicts()
    for criterion in verdicts["criteria"].values():
        criterion["scenarios"] = [s for s in criterion["scenarios"] if s["outcome"] != "failed"]
    verdicts["scenarios"] = [s for s in verdicts["scenarios"] if s["outcome"] != "failed"]
    text = markdown(verdicts)
    assert "failed scenario" not in text and "The report was not uploaded" in text


def test_the_command_reads_the_verdicts_file_and_the_report_url(tmp_path):
    path = tmp_path / "verdicts.json"
    path.write_text(json.dumps(_verdicts()))
    command = [sys.executable, "-m", "odin_acceptance.reporting.job_summary", str(path), "--report-url", REPORT]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    assert "### 2 failed scenarios" in out and f"({REPORT})" in out
    command[3] = str(tmp_path / "none.json")
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    assert "no verdicts at" in out and f"({REPORT})" in out, "a run that wrote nothing still links what was kept"
