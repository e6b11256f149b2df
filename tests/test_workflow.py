"""The nightly workflow, checked offline: actionlint and zizmor find nothing, and it runs
what the nightly job is for. Its own command line is collected by the suite's real selection
code: it must select the soak and the CPU stress (both opt-in), leave the local-only fault
scenarios out, and require exactly the criteria a kind run can prove on its own."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from odin_acceptance.core.timing_profiles import parse_duration
from odin_acceptance.provisioning import versions
from odin_acceptance.provisioning.components import ensure
from odin_acceptance.provisioning.supplied import Supplied
from odin_acceptance.provisioning.versions import ACTIONLINT
from odin_acceptance.targets import skip_reason, target_class
from odin_acceptance.verdicts.criteria import DELIVERABLES, SUCCESS_CRITERIA, ScenarioResult, judge
from tests.suite_runs import run_suite

GITHUB = Path(__file__).resolve().parent.parent / ".github"
WORKFLOW = GITHUB / "workflows" / "nightly-kind.yml"
DEPENDABOT = GITHUB / "dependabot.yml"


def test_actionlint_finds_nothing():
    actionlint = ensure(ACTIONLINT, progress=lambda m: None)["actionlint"]
    proc = subprocess.run([str(actionlint), str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The venv's zizmor (requirements-dev.lock), beside the Python that runs the tests.
ZIZMOR = shutil.which("zizmor", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(ZIZMOR is None, reason="zizmor is not installed (make's venv has it: requirements-dev.lock)")
def test_zizmor_finds_nothing_even_pedantic():
    command = [str(ZIZMOR), "--offline", "--persona=pedantic", str(WORKFLOW), str(DEPENDABOT)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _job() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["acceptance-kind"]


def _steps() -> list[dict]:
    return _job()["steps"]


def test_every_action_is_pinned_by_commit_and_credentials_are_not_kept():
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert doc["permissions"] == {"contents": "read"}
    for step in _steps():
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"{step['uses']} is not pinned by SHA"
    # The version beside each SHA, for readers and for Dependabot, which updates both.
    for line in (line.strip() for line in WORKFLOW.read_text().splitlines() if "uses:" in line):
        assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"{line}: no version comment"
    checkout = next(s for s in _steps() if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False


def test_dependabot_keeps_the_actions_current():
    [update] = yaml.safe_load(DEPENDABOT.read_text())["updates"]
    assert update["package-ecosystem"] == "github-actions" and update["schedule"]["interval"] == "weekly"


# -- what the nightly runs: its own command line, collected by the suite --------------------


def _acceptance_step() -> dict:
    [step] = [s for s in _steps() if "make acceptance" in s.get("run", "")]
    return step


def _pytest_args() -> list[str]:
    """The acceptance step's PYTEST_ARGS, split as the shell splits them."""
    [value] = [w.split("=", 1)[1] for w in shlex.split(_acceptance_step()["run"]) if w.startswith("PYTEST_ARGS=")]
    return shlex.split(value)


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def _collected(tmp_path: Path, args: list[str]) -> dict[str, dict[str, list[str]]]:
    """{"selected"|"deselected": {node id: tags}} of the workflow's own arguments, collected
    by the suite (its `-m`, `--include` and opt-in code) on the local target, which collects
    offline: which scenarios a run includes does not depend on the target."""
    local = list(args)
    local[local.index("--target") + 1] = "local"
    probe = tmp_path / "selection.json"
    env = {**os.environ, "ODIN_SELECTION_PROBE": str(probe)}
    probe_args = ("-p", "tests.selection_probe", "--collect-only", "-q", *local)
    proc = run_suite(tmp_path / "r", *probe_args, env=env, timeout=300)
    assert probe.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(probe.read_text())


def test_the_nightly_selects_the_soak_and_the_cpu_stress_and_no_fault_scenario(tmp_path):
    args = _pytest_args()
    assert _option(args, "--target") == "kind" and _option(args, "--timing") == "real"
    collected = _collected(tmp_path, args)
    selected = collected["selected"].values()
    assert any("soak" in tags for tags in selected), "the soak is not in the nightly's selection: SC6 never covered"
    assert any("cpu_stress" in tags for tags in selected), "the CPU stress is not in the nightly's selection"
    assert not any("fault" in tags for tags in selected), "fault scenarios stop processes: local target only"
    # And kind can run them: the soak and a stress that raises HighCPUUsage need nothing kind
    # lacks. (The plan's own 300 s stress judges one node's counters, which kind's nodes do not
    # have of their own: it may be skipped there, with its reason.)
    can = target_class("kind").capabilities
    runnable = [set(tags) for tags in selected if not skip_reason(can, set(tags), NOTHING_SUPPLIED)]
    assert any("soak" in tags for tags in runnable), "the soak cannot run on kind"
    assert any("cpu_stress" in tags for tags in runnable), "no CPU stress scenario can run on kind"
    assert parse_duration(_option(args, "--soak-duration")) == 30 * 60


# Nothing is supplied on the runner: Loki, Promtail and Grafana run as the cluster's images.
NOTHING_SUPPLIED = Supplied(paths={}, missing=versions.SUPPLIED)


def test_the_nightly_requires_exactly_what_a_kind_run_can_prove(tmp_path):
    """A criterion kind can prove holds once every scenario that credits it runs there and
    passes: selected by the nightly's command line and not skipped for want of a capability
    of kind or of a supplied program. Required are exactly those, so the nightly fails on any
    of them and never on a criterion it cannot reach alone (the sign-off joins the runs)."""
    args = _pytest_args()
    collected = _collected(tmp_path, args)
    can = target_class("kind").capabilities
    results = [
        ScenarioResult(node, "skipped" if skip_reason(can, set(tags), NOTHING_SUPPLIED) else "passed", frozenset(tags))
        for node, tags in collected["selected"].items()
    ] + [ScenarioResult(node, "skipped", frozenset(tags)) for node, tags in collected["deselected"].items()]
    soak = parse_duration(_option(args, "--soak-duration"))
    provable = [c.ident for c in SUCCESS_CRITERIA + DELIVERABLES if judge(c, results, soak).status == "holds"]
    assert "SC2" in provable and "SC6" not in provable, provable  # 30 minutes of soak are not 24 hours
    assert _option(args, "--require-criteria").split(",") == provable


def test_a_hung_run_still_leaves_a_report_before_the_job_is_killed():
    """The acceptance step ends the suite with SIGINT (its own Ctrl-C handling tears the stack
    down and writes the report) and kills it after a grace period, both before the job's
    timeout, with time left for the steps that keep the report."""
    words = shlex.split(_acceptance_step()["run"])
    assert words[0] == "timeout" and "--signal=INT" in words, words[:4]
    grace = parse_duration(next(w.split("=", 1)[1] for w in words if w.startswith("--kill-after=")))
    session = parse_duration(next(w for w in words[1:] if not w.startswith("-")))
    after = 15 * 60  # setting up before (venv, kind, kubectl, images) and keeping the report after
    assert session + grace + after <= _job()["timeout-minutes"] * 60, (session, grace, _job()["timeout-minutes"])


def test_the_report_verdicts_and_cluster_logs_are_kept():
    export = next(s for s in _steps() if "kind export logs" in s.get("run", ""))
    assert export["if"] == "failure()" and "reports/" in export["run"]
    uploads = {s["with"]["name"]: s for s in _steps() if s.get("uses", "").startswith("actions/upload-artifact@")}
    assert uploads["acceptance-report-kind"]["with"]["path"] == "reports/"
    # The sign-off across runs downloads this one by name.
    assert uploads["verdicts-kind"]["with"]["path"] == "reports/verdicts.json"
    assert all(s["if"] == "always()" for s in uploads.values())
    summary = next(s for s in _steps() if "job_summary" in s.get("run", ""))
    assert summary["if"] == "always()" and "steps.report.outputs.artifact-url" in summary["env"]["REPORT_URL"]


# -- kind and kubectl: one pin, on the kwok target's Kubernetes minor -----------------------


def _minor(version: str) -> str:
    return ".".join(version.lstrip("v").split(".")[:2])


def test_kind_and_kubectl_run_the_kwok_targets_kubernetes_minor():
    node = re.fullmatch(r"kindest/node:v([\d.]+)@sha256:[0-9a-f]{64}", versions.KIND_NODE_IMAGE)
    assert node, f"{versions.KIND_NODE_IMAGE}: not pinned by digest"
    kube = _minor(versions.KUBERNETES_VERSION)
    assert _minor(node.group(1)) == kube and _minor(versions.KUBECTL.version) == kube


def test_the_workflow_reads_kind_and_kubectl_from_versions_py():
    text = WORKFLOW.read_text()
    assert any("odin_acceptance.provisioning.kind_tools" in s.get("run", "") for s in _steps())
    assert not re.search(r"kind@v\d|kindest/node|kubectl[/-]v?\d", text), "a second copy of a pin"


def test_kind_tools_prints_the_directories_of_the_pinned_kind_and_kubectl(tmp_path):
    """What the workflow appends to $GITHUB_PATH: one directory a line, progress elsewhere."""
    for component in versions.KIND_TOOLS:
        bindir = tmp_path / f"{component.name}-{component.version}" / "bin"  # as a finished build leaves it
        bindir.mkdir(parents=True)
        (bindir / component.name).write_text("#!/bin/sh\n")
        (bindir / component.name).chmod(0o755)
    env = {**os.environ, "ODIN_CACHE_DIR": str(tmp_path), "PATH": "/nonexistent"}
    command = [sys.executable, "-m", "odin_acceptance.provisioning.kind_tools"]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=True)
    assert proc.stdout.splitlines() == [str(tmp_path / f"{c.name}-{c.version}" / "bin") for c in versions.KIND_TOOLS]
