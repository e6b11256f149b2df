"""What the suite decides before anything starts, once a run asked for it: its markers, the
run's stash, SIGTERM as Ctrl-C, host preconditions, supplied components, and which scenarios
this target skips."""

from __future__ import annotations

import signal
import time

import pytest

from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.plugin.markers import item_tags, register
from odin_acceptance.plugin.settings import place_reports
from odin_acceptance.plugin.state import (
    CAPABILITIES_KEY,
    EVIDENCE_KEY,
    RESULTS_KEY,
    SCENARIOS_KEY,
    STARTED_KEY,
    SUPPLIED_KEY,
    ExitCode,
    capabilities,
    target_name,
    target_options,
)
from odin_acceptance.provisioning import supplied
from odin_acceptance.targets import TargetError, preflight, skip_reason


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    refuse_parallel_and_reruns(config)
    # Runs as the suite is loaded, before the report writers (junitxml, pytest-html, pytest-bdd)
    # read their paths.
    place_reports(config)
    config.stash[EVIDENCE_KEY] = EvidenceLog()
    config.stash[RESULTS_KEY] = {}
    config.stash[SCENARIOS_KEY] = {}
    config.stash[STARTED_KEY] = time.time()
    register(config)
    # CI and `timeout` send SIGTERM: turn it into Ctrl-C so fixtures tear the stack down.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


# Options of other plugins the suite cannot honour -> their flag.
REFUSED = {"numprocesses": "-n (pytest-xdist)", "reruns": "--reruns (pytest-rerunfailures)"}


def refuse_parallel_and_reruns(config: pytest.Config) -> None:
    """The verdicts are judged once per session from every scenario's one outcome: workers
    would each judge a part, and a rerun would hide a failed timing behind a later pass."""
    given = [flag for dest, flag in REFUSED.items() if getattr(config.option, dest, None)]
    if given:
        raise pytest.UsageError(
            f"the ODIN acceptance suite runs in one process, each scenario once: {' and '.join(given)} would "
            "split its verdicts across workers or hide a failed timing behind a rerun. Run it without them."
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Scenarios the target cannot run are skipped, with the reason reported."""
    can, found = capabilities(config), config.stash.get(SUPPLIED_KEY, None)
    for item in items:
        reason = skip_reason(can, set(item_tags(item)), found)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Host preconditions of the target (Docker, kind, kubectl, limits) and the supplied
    components (each checked against its pin), before anything starts."""
    config = session.config
    try:
        config.stash[CAPABILITIES_KEY] = preflight(target_name(config), target_options(config))
        config.stash[SUPPLIED_KEY] = supplied.discover(supplied.parse_options(config.getoption("--component")))
    except (TargetError, supplied.SupplyError) as exc:
        pytest.exit(str(exc), returncode=ExitCode.TARGET_UNAVAILABLE)
