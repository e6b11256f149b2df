"""What people expect of a pytest suite and a Makefile: `make` lists the targets, the header
names what the run runs against, the end lists each criterion's verdict, and options that
would make the verdicts lie (-n, --reruns) are refused in one sentence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from odin_acceptance.provisioning.versions import LOKI

REPO = Path(__file__).resolve().parent.parent


def _pytest(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--reports", str(tmp_path / "r"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_make_alone_prints_the_targets():
    proc = subprocess.run(["make"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for target in ("acceptance", "test", "quick", "signoff", "provision", "lock"):
        assert f"make {target}" in proc.stdout, proc.stdout


def test_the_header_names_target_timing_manifests_and_version(tmp_path):
    proc = _pytest(tmp_path, "--collect-only", "-m", "rules")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "odin-acceptance 0.1.0: target local, timing rapid (every duration divided by 60)" in proc.stdout
    assert f"manifests under test: {REPO / 'manifests' / 'base'}" in proc.stdout


def test_the_local_run_is_rapid_without_loki_and_fast_where_loki_is_supplied(tmp_path):
    # Loki's restarts take real seconds that rapid's retry budget would not outlast: a run that
    # can reach the log scenarios keeps the profile they were proven on.
    loki = tmp_path / "bin" / "loki"
    loki.parent.mkdir()
    loki.write_text(f"#!/bin/sh\necho 'loki, version {LOKI.version} (branch: HEAD)'\n")
    loki.chmod(0o755)
    named = _pytest(tmp_path, "--collect-only", "-m", "rules", "--component", f"loki={loki}")
    assert named.returncode == 0, named.stdout[-2000:] + named.stderr
    assert "target local, timing fast (every duration divided by 30)" in named.stdout, named.stdout[:600]
    env = dict(os.environ, PATH=f"{loki.parent}{os.pathsep}{os.environ['PATH']}")
    on_path = _pytest(tmp_path, "--collect-only", "-m", "rules", env=env)
    assert "target local, timing fast (every duration divided by 30)" in on_path.stdout, on_path.stdout[:600]
    asked = _pytest(tmp_path, "--collect-only", "-m", "rules", "--timing", "rapid", env=env)
    assert "target local, timing rapid (every duration divided by 60)" in asked.stdout, asked.stdout[:600]


def test_listing_the_scenarios_writes_no_report(tmp_path):
    # `pytest --collect-only` judged nothing: its empty verdicts.json must not replace the last
    # real run's, which a sign-off reads (the project's own tests list scenarios from the checkout).
    proc = _pytest(tmp_path, "--collect-only", "-q")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "GPUHighTemperature" in proc.stdout, proc.stdout[-2000:]
    assert not (tmp_path / "r").exists(), sorted(p.name for p in (tmp_path / "r").rglob("*"))


def test_a_report_directory_outside_the_checkout_given_with_equals_gets_the_reports(tmp_path):
    # The README's form for paths outside the checkout (pytest would take `--reports DIR`'s DIR,
    # an existing directory, for its root and never load the suite).
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--reports={elsewhere}", "-k", "no_such_scenario"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, proc.stdout[-2000:] + proc.stderr
    assert (elsewhere / "verdicts.json").is_file(), sorted(p.name for p in elsewhere.iterdir())


def test_a_run_ends_with_each_criterion_and_the_overall_verdict(tmp_path):
    proc = _pytest(tmp_path, "-k", "no_such_scenario")
    assert proc.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, proc.stdout[-2000:] + proc.stderr
    summary = proc.stdout[proc.stdout.index("ODIN criteria") :]
    assert "SC1  not covered" in summary and "I5   not covered" in summary, summary
    assert "overall: not fully proven" in summary


@pytest.mark.parametrize("option", [("-n", "2"), ("--reruns", "2")], ids=["xdist", "reruns"])
def test_parallel_workers_and_reruns_are_refused_in_one_sentence(tmp_path, option):
    proc = _pytest(tmp_path, "--collect-only", "-p", "tests.parallel_probe", *option)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout[-2000:] + proc.stderr
    assert f"the ODIN acceptance suite runs in one process, each scenario once: {option[0]}" in proc.stderr
    assert "Run it without them." in proc.stderr


def test_loading_the_suite_imports_neither_matplotlib_nor_the_kubernetes_client():
    """They are imported where used (a figure drawn, a cluster asked): `pytest --help` and a
    local run's start never pay for them."""
    probe = (
        "import importlib, sys, odin_acceptance.plugin.suite as s; "
        "[importlib.import_module(m) for m in s.pytest_plugins]; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'kubernetes', 'numpy'}))"
    )
    found = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert found.returncode == 0 and found.stdout.strip() == "[]", found.stdout + found.stderr


def test_the_run_facts_are_worked_out_once(tmp_path):
    """JUnit, the HTML summary, evidence.json and verdicts.json all name the commit: one
    `git describe` for the run, however many writers read it."""
    real_git = shutil.which("git")
    if real_git is None:
        pytest.skip("git is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "git-calls"
    (bin_dir / "git").write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real_git} "$@"\n')
    (bin_dir / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = _pytest(tmp_path, "-k", "no_such_scenario", env=env)
    assert proc.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, proc.stdout[-2000:] + proc.stderr
    described = [line for line in calls.read_text().splitlines() if "describe" in line]
    assert len(described) == 1, described
    assert json.loads((tmp_path / "r" / "verdicts.json").read_text())["commit"] != "unknown"
