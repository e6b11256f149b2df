"""The stack under test and the fixtures scenarios share: tools, the target, the run's
ids, the evidence of a scenario, and the live progress line of long waits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from odin_acceptance.core import artifacts
from odin_acceptance.core.errors import OdinError
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import add_observer, remove_observer, unwatch_links, watch_links
from odin_acceptance.core.timing_profiles import TimingProfile, parse_duration
from odin_acceptance.pipelines.log_searches import Corpora
from odin_acceptance.plugin import state
from odin_acceptance.plugin.state import (
    EVIDENCE_KEY,
    SCENARIO_KEY,
    STARTED_KEY,
    SUPPLIED_KEY,
    TARGET_KEY,
    ExitCode,
    artifacts_dir,
    profile_of,
    say,
    target_name,
    target_options,
)
from odin_acceptance.provisioning import components
from odin_acceptance.provisioning.versions import COMPONENTS
from odin_acceptance.targets import Target, TargetError, create, target_class


@pytest.fixture(scope="session")
def manifest_dir(pytestconfig: pytest.Config) -> Path:
    return state.manifest_dir(pytestconfig)


@pytest.fixture(scope="session")
def timing_profile(pytestconfig: pytest.Config) -> TimingProfile:
    return profile_of(pytestconfig)


@pytest.fixture(scope="session")
def tools(pytestconfig: pytest.Config) -> dict[str, Path]:
    """Executables (promtool, amtool, …) obtained once per version and cached, and the ones
    the user supplied (loki, promtail, grafana: only those present)."""
    try:
        extra = target_class(target_name(pytestconfig)).provisions
        fetched = components.ensure_all(lambda message: say(pytestconfig, message), COMPONENTS + extra)
    except components.ProvisioningError as exc:
        pytest.exit(f"cannot obtain the components: {exc}", returncode=ExitCode.COMPONENTS_UNAVAILABLE)
    return {**fetched, **pytestconfig.stash[SUPPLIED_KEY].paths}


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, pytestconfig: pytest.Config, tools: dict[str, Path]) -> Iterator[Target]:
    """The stack under test on the chosen target, up for the whole session."""
    try:
        target = create(target_name(pytestconfig), options=target_options(pytestconfig), tools=tools)
    except OdinError as exc:  # a target it cannot build, or manifests it cannot read (the file is named)
        pytest.exit(str(exc), returncode=ExitCode.TARGET_UNAVAILABLE)
    say(pytestconfig, f"starting the stack on the {target.name} target, timing {target.profile.describe()}")
    try:
        target.start()
    except KeyboardInterrupt:  # Ctrl-C while starting: nothing may stay behind
        target.stop(failed=True)
        raise
    except TargetError as exc:  # a precondition, named with its fix: no diagnostics needed
        kept = _keep_artifacts(pytestconfig, target)
        target.stop(failed=True)
        pytest.exit(f"the {target.name} target cannot start: {exc}\n{kept}", returncode=ExitCode.TARGET_UNAVAILABLE)
    except Exception as exc:
        diagnostics = "\n".join(f"--- {k}\n{v}" for k, v in target.diagnostics().items() if "log" in k)
        kept = _keep_artifacts(pytestconfig, target)
        target.stop(failed=True)
        pytest.exit(
            f"the stack did not start on the {target.name} target: {exc}\n{diagnostics}\n{kept}",
            returncode=ExitCode.TARGET_UNAVAILABLE,
        )
    pytestconfig.stash[TARGET_KEY] = target
    pytestconfig.stash[EVIDENCE_KEY].context.update(target.describe())
    watch_links(target.stack.broken_links)  # waits end at once, with the cause, when a link they need breaks
    try:
        yield target
    finally:
        unwatch_links(target.stack.broken_links)
        failed = request.session.testsfailed > 0
        if failed or _kept_by_option(pytestconfig):
            say(pytestconfig, _keep_artifacts(pytestconfig, target))
        target.stop(failed=failed)
        for title, text in target.stack.run_notes().items():  # e.g. port-forwards re-established
            pytestconfig.stash[EVIDENCE_KEY].context[title] = text
            say(pytestconfig, f"{title}: {text}")
        left = target.left_behind
        if left:
            pytestconfig.stash[EVIDENCE_KEY].context["left in the cluster"] = "; ".join(left)
            say(pytestconfig, "left in the cluster: " + "; ".join(left))


def _kept_by_option(config: pytest.Config) -> bool:
    return config.getoption("--keep-run-dir") or config.getoption("--keep-resources") != "never"


def _keep_artifacts(config: pytest.Config, target: Target) -> str:
    """Write the target's artifacts (whole logs, configs, cluster state) under
    reports/artifacts/<target>/; says where."""
    directory = artifacts_dir(config) / target.name
    try:
        written = artifacts.write(directory, target.artifacts())
    except Exception as exc:  # artifacts are a help after a failure, never a new failure
        return f"artifacts could not be written to {directory}: {exc}"
    return f"artifacts of this run: {directory} ({len(written)} files: logs, configs, cluster state)"


@pytest.fixture(scope="session")
def run_started(pytestconfig: pytest.Config) -> float:
    """When this run started (epoch seconds): how far back "everything of this run" reaches."""
    return pytestconfig.stash[STARTED_KEY]


@pytest.fixture
def run_id() -> str:
    """A unique id for everything one scenario creates (GPU hosts, alerts, log streams)."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def scenario_evidence(request: pytest.FixtureRequest) -> ScenarioEvidence:
    name = request.node.stash.get(SCENARIO_KEY, request.node.name)
    return request.config.stash[EVIDENCE_KEY].for_scenario(name)


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: object, scenario: object) -> None:
    request.node.stash[SCENARIO_KEY] = f"{feature.name}: {scenario.name}"  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def live_progress(request: pytest.FixtureRequest) -> Iterator[None]:
    """One terminal line every few seconds while a step waits, so long waits are visible."""
    last_shown = [time.monotonic()]

    def show(what: str, elapsed: float, timeout: float, last: str) -> None:
        now = time.monotonic()
        if elapsed >= 5.0 and now - last_shown[0] >= 5.0:
            last_shown[0] = now
            seen = last.splitlines()[0] if last else ""
            say(request.config, f"    … waiting {elapsed:.0f}/{timeout:.0f} s for {what}; last seen: {seen[:160]}")

    add_observer(show)
    yield
    remove_observer(show)


@pytest.fixture(scope="session")
def corpora(target: Target) -> Corpora:
    """The log corpora the search scenarios load once per run and search many times."""
    return Corpora(target)


@pytest.fixture
def soak_seconds(pytestconfig: pytest.Config) -> float:
    """How long the no-loss soak writes (--soak-duration)."""
    return parse_duration(pytestconfig.getoption("--soak-duration"))
