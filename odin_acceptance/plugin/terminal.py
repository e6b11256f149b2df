"""What the suite says in the terminal: the run's settings at the top, each criterion's
verdict at the end."""

from __future__ import annotations

import pytest

from odin_acceptance.plugin.state import RECORD_KEY, manifest_dir, profile_of, suite_version, target_name
from odin_acceptance.verdicts.criteria import DELIVERABLES, SUCCESS_CRITERIA


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"odin-acceptance {suite_version()}: target {target_name(config)}, timing {profile_of(config).describe()}",
        f"manifests under test: {manifest_dir(config)}",
    ]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    record = config.stash.get(RECORD_KEY, None)
    if record is None or config.option.collectonly:  # nothing was judged, or nothing ran
        return
    terminalreporter.section("ODIN criteria")
    for criterion in SUCCESS_CRITERIA + DELIVERABLES:
        verdict = record.verdict(criterion)
        terminalreporter.write_line(f"{criterion.ident:<4} {verdict.status:<14} {criterion.text}: {verdict.detail}")
    terminalreporter.write_line(f"overall: {record.overall().replace('_', ' ')}")
