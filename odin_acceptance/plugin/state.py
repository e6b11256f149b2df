"""What the suite's pytest plugin modules share: the stash keys of a run, the timing
profile the options choose, and a way to print a line past pytest's output capture."""

from __future__ import annotations

import importlib.metadata
import shutil
from enum import IntEnum
from pathlib import Path

import pytest
from pytest_bdd.parser import Scenario

from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.core.timing_profiles import PROFILES, TimingProfile
from odin_acceptance.plugin.settings import report_dir, setting, setting_path
from odin_acceptance.provisioning import supplied
from odin_acceptance.stack_config import manifests
from odin_acceptance.targets import NAMES, Target, TargetOptions, target_class
from odin_acceptance.verdicts.criteria import RunRecord, ScenarioResult

EVIDENCE_KEY = pytest.StashKey[EvidenceLog]()
# Every scenario of the run by node id, from collection on ("not run" until it reports),
# and the deselected ones: what the verdicts are judged from.
RESULTS_KEY = pytest.StashKey[dict[str, ScenarioResult]]()
# The scenario (outline values filled) of every collected item, for reports of what did not run.
SCENARIOS_KEY = pytest.StashKey[dict[str, Scenario | None]]()
# Why the run ended before every selected scenario ran (Ctrl-C, pytest.exit, -x), if it did.
ENDED_KEY = pytest.StashKey[str]()


class ExitCode(IntEnum):
    """The suite's own exit codes, above pytest's (0-5) so a CI job can tell them apart."""

    CRITERIA_NOT_MET = 10  # --require-criteria: a required criterion does not hold
    COMPONENTS_UNAVAILABLE = 11  # a pinned component could not be fetched or built
    TARGET_UNAVAILABLE = 12  # the target cannot run here (preflight, supplied binaries, start-up)


STARTED_KEY = pytest.StashKey[float]()
# The run's verdicts, judged once at the end of the session (files, terminal summary).
RECORD_KEY = pytest.StashKey[RunRecord]()
TARGET_KEY = pytest.StashKey[Target]()
SCENARIO_KEY = pytest.StashKey[str]()
SUPPLIED_KEY = pytest.StashKey[supplied.Supplied]()
# What the target can do here, as its preflight found (decides the scenarios it skips).
CAPABILITIES_KEY = pytest.StashKey[frozenset[str]]()


def target_name(config: pytest.Config) -> str:
    """The target this run chose (--target, else the ini's odin_target, else local)."""
    name = setting(config, "target") or "local"
    if name not in NAMES:
        raise pytest.UsageError(f"odin_target: unknown target {name!r}; choose from {', '.join(NAMES)}")
    return name


def logs_supplied(config: pytest.Config) -> bool:
    """Loki is named (--component loki=PATH) or on PATH, so the run's log scenarios can run. A
    malformed --component is reported by the session's start, not here."""
    try:
        named = supplied.parse_options(config.getoption("--component"))
    except supplied.SupplyError:
        return False
    return "loki" in named or shutil.which("loki") is not None


def profile_of(config: pytest.Config) -> TimingProfile:
    """--timing (or odin_timing), else the target's default for a run with or without Loki."""
    target = target_class(target_name(config))
    name = setting(config, "timing") or (
        (logs_supplied(config) and target.default_timing_with_logs) or target.default_timing
    )
    if name not in PROFILES:
        raise pytest.UsageError(f"odin_timing: unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[name]


def manifest_dir(config: pytest.Config) -> Path:
    """The manifests under test: `--manifests` (or odin_manifests), else manifests/base under
    pytest's rootdir."""
    return setting_path(config, "manifests") or (config.rootpath / manifests.DEFAULT_BASE).resolve()


def target_options(config: pytest.Config) -> TargetOptions:
    """The target's part of the command line."""
    return TargetOptions(
        profile=profile_of(config),
        manifest_dir=manifest_dir(config),
        kubeconfig=config.getoption("--kubeconfig"),
        context=config.getoption("--context"),
        keep_resources=config.getoption("--keep-resources"),
        keep_cluster=config.getoption("--keep-cluster"),
        kind_node_image=config.getoption("--kind-node-image"),
        keep_run_dir=config.getoption("--keep-run-dir"),
        nodes=config.getoption("--nodes"),
        gpu_nodes=config.getoption("--gpu-nodes"),
        gpus_per_node=config.getoption("--gpus-per-node"),
        progress=lambda message: say(config, message),
    )


def capabilities(config: pytest.Config) -> frozenset[str]:
    """What the target can do here: its preflight's answer, else what its class declares
    (collection without a session start, e.g. --collect-only of a broken preflight)."""
    found = config.stash.get(CAPABILITIES_KEY, None)
    return found if found is not None else target_class(target_name(config)).capabilities


def artifacts_dir(config: pytest.Config) -> Path:
    """artifacts/ in the report directory: what a failed or kept run leaves."""
    return report_dir(config) / "artifacts"


def suite_version() -> str:
    try:
        return importlib.metadata.version("odin-acceptance")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def say(config: pytest.Config, message: str) -> None:
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is None:
        return
    if capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(message)
    else:
        reporter.write_line(message)
