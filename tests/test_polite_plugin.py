"""The installed package's entry point stays inert in a pytest run that did not ask for the
suite, and a run that asks for it through its configuration (addopts, PYTEST_ADDOPTS, ini
values) gets it as if the options were typed."""

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


def test_options_in_addopts_ask_for_the_suite(tmp_path):
    """`--target` in an ini's addopts, or in PYTEST_ADDOPTS, counts as typed: the suite's
    features are collected where no tests are named."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --target local --strict-markers\n")
    by_ini = _pytest(tmp_path, "--collect-only", "-q")
    assert by_ini.returncode == 0 and "GPUHighTemperature" in by_ini.stdout, by_ini.stdout[-2000:] + by_ini.stderr
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    by_env = _pytest(tmp_path, "--collect-only", "-q", env={"PYTEST_ADDOPTS": "--include slow"})
    assert by_env.returncode == 0 and "GPUHighTemperature" in by_env.stdout, by_env.stdout[-2000:] + by_env.stderr


def test_ini_values_set_the_target_and_the_report_directory_and_the_command_line_wins(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nodin_target = local\nodin_timing = fast\nodin_reports = out\n")
    proc = _pytest(tmp_path, "--collect-only", "-q", "-m", "rules")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "acceptance.html",
        "cucumber.json",
        "evidence.json",
        "junit.xml",
        "verdicts.json",
    ]
    assert '"timing_profile": "fast"' in (tmp_path / "out" / "verdicts.json").read_text()
    proc = _pytest(tmp_path, "--collect-only", "-q", "-m", "rules", "--reports", "elsewhere", "--timing", "real")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert (tmp_path / "elsewhere" / "verdicts.json").is_file() and (tmp_path / "elsewhere" / "junit.xml").is_file()
    assert '"timing_profile": "real"' in (tmp_path / "elsewhere" / "verdicts.json").read_text()


def test_a_bad_ini_target_is_a_usage_error(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nodin_target = mars\n")
    proc = _pytest(tmp_path, "--collect-only", "-q")
    assert proc.returncode == 4 and "odin_target: unknown target 'mars'" in proc.stderr, proc.stdout + proc.stderr
