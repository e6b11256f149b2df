"""Installing the package leaves a pytest run that did not ask for the suite alone (no entry
point: not an option, marker, deselection, skip, file or signal handler of ours), and a run
that asks for it with `-p odin_acceptance` in its configuration (addopts, PYTEST_ADDOPTS) gets
it as if typed, with the ini values read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# A user's own tests, marked with the suite's tag names (their own markers, same words).
USER_TESTS = """
import signal

import pytest


@pytest.mark.slow
def test_slow(): pass


@pytest.mark.soak
def test_soak(): pass


@pytest.mark.fault
def test_fault(): pass


@pytest.mark.scale
def test_scale(): pass


@pytest.mark.kubernetes
def test_kubernetes(): pass


@pytest.mark.local_only
def test_local_only(): pass


def test_sigterm_is_untouched():
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
"""
USER_INI = """[pytest]
addopts = --strict-markers
markers =
    slow: theirs
    soak: theirs
    fault: theirs
    scale: theirs
    kubernetes: theirs
    local_only: theirs
"""


def _pytest(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """A repository of someone else's, with a `loki` of another version on its PATH."""
    (tmp_path / "test_theirs.py").write_text(USER_TESTS)
    (tmp_path / "pytest.ini").write_text(USER_INI)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    loki = bin_dir / "loki"
    loki.write_text("#!/bin/sh\necho 'loki, version 1.0.0 (branch: HEAD)'\n")
    loki.chmod(0o755)
    return tmp_path


def _written(root: Path) -> list[str]:
    names = {"reports", "evidence.json", "verdicts.json", "junit.xml", "acceptance.html", "cucumber.json"}
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name in names)


def test_an_unrelated_run_is_left_alone(user_repo):
    """Nothing deselected, skipped, written or trapped; no exit 12 for their loki; no marker of ours."""
    path = f"{user_repo / 'bin'}{os.pathsep}{os.environ['PATH']}"
    proc = _pytest(user_repo, "-rA", env={"PATH": path})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "7 passed" in out and "deselected" not in out and "skipped" not in out, out[-3000:]
    assert _written(user_repo) == [], out[-3000:]
    assert "odin" not in _pytest(user_repo, "--markers").stdout.lower()


def test_a_users_own_options_of_the_same_names_are_theirs(tmp_path):
    """Their conftest defines `--target` and `--include` too: no clash with ours, their values."""
    (tmp_path / "conftest.py").write_text(
        'def pytest_addoption(parser):\n    parser.addoption("--target")\n    parser.addoption("--include")\n'
    )
    (tmp_path / "test_theirs.py").write_text(
        "def test_their_target(request):\n"
        '    assert request.config.getoption("--target") == "staging"\n'
        '    assert request.config.getoption("--include") == "all"\n'
    )
    proc = _pytest(tmp_path, "--target", "staging", "--include", "all")
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_asking_in_addopts_counts_as_typed(tmp_path):
    """`-p odin_acceptance` with the suite's options in an ini's addopts, or in PYTEST_ADDOPTS,
    counts as typed: the suite's features are collected where no tests are named. Its options
    alone are not a request (they are unknown to pytest then)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p odin_acceptance --target local --strict-markers\n")
    by_ini = _pytest(tmp_path, "--collect-only", "-q")
    assert by_ini.returncode == 0 and "GPUHighTemperature" in by_ini.stdout, by_ini.stdout[-2000:] + by_ini.stderr
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    by_env = _pytest(tmp_path, "--collect-only", "-q", env={"PYTEST_ADDOPTS": "-p odin_acceptance --include slow"})
    assert by_env.returncode == 0 and "GPUHighTemperature" in by_env.stdout, by_env.stdout[-2000:] + by_env.stderr
    unasked = _pytest(tmp_path, "--collect-only", "-q", "--target", "local")
    assert unasked.returncode == 4 and "unrecognized arguments: --target" in unasked.stderr, unasked.stderr


def test_ini_values_set_the_target_and_the_report_directory_and_the_command_line_wins(tmp_path):
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = -p odin_acceptance\nodin_target = local\nodin_timing = fast\nodin_reports = out\n"
    )
    # A run that selects nothing still writes every report (a listing, --collect-only, writes none).
    proc = _pytest(tmp_path, "-q", "-k", "no_such_scenario")
    assert proc.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, proc.stdout[-2000:] + proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "acceptance.html",
        "cucumber.json",
        "evidence.json",
        "junit.xml",
        "verdicts.json",
    ]
    assert '"timing_profile": "fast"' in (tmp_path / "out" / "verdicts.json").read_text()
    proc = _pytest(tmp_path, "-q", "-k", "no_such_scenario", "--reports", "elsewhere", "--timing", "real")
    assert proc.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, proc.stdout[-2000:] + proc.stderr
    assert (tmp_path / "elsewhere" / "verdicts.json").is_file() and (tmp_path / "elsewhere" / "junit.xml").is_file()
    assert '"timing_profile": "real"' in (tmp_path / "elsewhere" / "verdicts.json").read_text()


def test_a_bad_ini_target_is_a_usage_error(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p odin_acceptance\nodin_target = mars\n")
    proc = _pytest(tmp_path, "--collect-only", "-q")
    assert proc.returncode == 4 and "odin_target: unknown target 'mars'" in proc.stderr, proc.stdout + proc.stderr
