"""`python -m odin_acceptance.reporting.job_summary reports/verdicts.json [--report-url URL]`:
the criteria table, the failed scenarios each with its reason, and a link to the uploaded
report, as Markdown for a CI job's summary page (the nightly appends it to $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

_MARK = {"holds": "✔ holds", "holds in part": "◐ holds in part", "fails": "✘ fails", "not covered": "– not covered"}
# A reason longer than this is cut: the summary points at the report, which has it whole.
REASON_CHARS = 400


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _state(state: str) -> str:
    # Machine-friendly names ("holds_in_part") read as the report's words.
    return _MARK.get(state.replace("_", " "), state)


def failed_scenarios(verdicts: dict[str, Any]) -> dict[str, str]:
    """Each failed scenario of the run -> why it failed, in the run's order: from the run's
    own scenario list where the verdicts carry one, else from every criterion's scenarios."""
    listed = verdicts.get("scenarios") or [s for c in verdicts["criteria"].values() for s in c["scenarios"]]
    return {s["scenario"]: s.get("reason", "") for s in listed if s.get("outcome") == "failed"}


def _reason(text: str) -> str:
    said = " ".join(text.split()) or "no reason recorded"
    return said if len(said) <= REASON_CHARS else said[: REASON_CHARS - 1] + "…"


def _report_line(report_url: str) -> str:
    if report_url:
        return f"The whole report (acceptance.html, evidence, logs): [download it]({report_url})."
    return "The report was not uploaded: see the job's log."


def markdown(verdicts: dict[str, Any], report_url: str = "") -> str:
    lines = [f"## ODIN Phase 3 acceptance on {verdicts['target']}", ""]
    if not verdicts["complete"]:
        lines += [f"**INCOMPLETE: the run ended early ({verdicts['ended_early']})**", ""]
    failed = failed_scenarios(verdicts)
    if failed:
        lines += [f"### {len(failed)} failed scenario{'s' if len(failed) > 1 else ''}", ""]
        lines += [f"- **{_cell(name)}**: {_cell(_reason(why))}" for name, why in failed.items()]
        lines.append("")
    lines += [_report_line(report_url), ""]
    lines += ["| | criterion | verdict | detail |", "|---|---|---|---|"]
    for ident, c in verdicts["criteria"].items():
        lines.append(f"| {ident} | {_cell(c['criterion'])} | {_state(c['state'])} | {_cell(c['detail'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m odin_acceptance.reporting.job_summary")
    parser.add_argument("verdicts", nargs="?", default="reports/verdicts.json", type=Path)
    parser.add_argument("--report-url", default="", help="where the uploaded report is (the artifact's URL)")
    args = parser.parse_args(argv)
    if not args.verdicts.is_file():
        print(f"no verdicts at {args.verdicts}: the run wrote none (it did not get as far as its report)\n")
        print(_report_line(args.report_url))
        return 0
    print(markdown(json.loads(args.verdicts.read_text()), args.report_url), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
