"""The nightly workflow, checked offline: actionlint and zizmor find nothing, and it runs
what the nightly job is for (SC6's soak on kind, logs of a failed cluster, least privilege)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from odin_acceptance.provisioning.components import ensure
from odin_acceptance.provisioning.versions import ACTIONLINT

WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "nightly-kind.yml"


def test_actionlint_finds_nothing():
    actionlint = ensure(ACTIONLINT, progress=lambda m: None)["actionlint"]
    proc = subprocess.run([str(actionlint), str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The venv's zizmor (requirements.lock), beside the Python that runs the tests.
ZIZMOR = shutil.which("zizmor", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(ZIZMOR is None, reason="zizmor is not installed (make's venv installs it from requirements.lock)")
def test_zizmor_finds_nothing_even_pedantic():
    command = [str(ZIZMOR), "--offline", "--persona=pedantic", str(WORKFLOW)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["acceptance-kind"]["steps"]


def test_every_action_is_pinned_by_commit_and_credentials_are_not_kept():
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert doc["permissions"] == {"contents": "read"}
    for step in _steps():
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"{step['uses']} is not pinned by SHA"
    checkout = next(s for s in _steps() if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False


def test_the_nightly_run_covers_the_soak_and_keeps_a_failed_clusters_logs():
    run = next(s["run"] for s in _steps() if "make acceptance" in s.get("run", ""))
    assert "--target kind" in run and "--timing real" in run and "--soak-duration 30m" in run
    assert "-m 'not fault'" in run, "the default selection leaves out the soak: SC6 would never be covered"
    export = next(s for s in _steps() if "kind export logs" in s.get("run", ""))
    assert export["if"] == "failure()" and "reports/" in export["run"]
