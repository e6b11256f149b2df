"""`python -m odin_acceptance.reporting.job_summary reports/verdicts.json`: the criteria table as Markdown,
for a CI job's summary page (the nightly appends it to $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

_MARK = {"holds": "✔ holds", "holds in part": "◐ holds in part", "fails": "✘ fails", "not covered": "– not covered"}


def markdown(verdicts: dict[str, Any]) -> str:
    lines = [f"## ODIN Phase 3 acceptance on {verdicts['target']}", ""]
    if not verdicts["complete"]:
        lines += [f"**INCOMPLETE: the run ended early ({verdicts['ended_early']})**", ""]
    lines += ["| | criterion | verdict | detail |", "|---|---|---|---|"]
    for ident, c in verdicts["criteria"].items():
        detail, state = c["detail"].replace("|", "\\|"), c["state"].replace("_", " ")  # holds_in_part
        lines.append(f"| {ident} | {c['criterion']} | {_MARK.get(state, state)} | {detail} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "reports/verdicts.json")
    if not path.is_file():
        print(f"no verdicts at {path}: the run wrote none (it did not get as far as its report)")
        return 0
    print(markdown(json.loads(path.read_text())), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
