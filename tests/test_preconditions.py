"""Each precondition of a fresh machine is one line that names the fix, before anything runs."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from odin_acceptance.provisioning import components
from odin_acceptance.provisioning.versions import ALERTMANAGER, PROMETHEUS
from tests.suite_runs import run_suite

REPO = Path(__file__).resolve().parent.parent


def script(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_an_old_go_is_named_with_the_version_the_module_needs(tmp_path, monkeypatch):
    gomod = tmp_path / "go.mod"
    gomod.write_text("module github.com/prometheus/alertmanager\n\ngo 1.24.0\n")
    answer = json.dumps({"Dir": str(tmp_path), "GoMod": str(gomod)})
    script(
        tmp_path / "bin",
        "go",
        f"case \"$1 $2\" in 'mod download') echo '{answer}';; 'env GOVERSION') echo go1.20.3;; *) exit 1;; esac\n",
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    monkeypatch.setenv("ODIN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(components.GoTooOld) as caught:
        components.ensure(ALERTMANAGER, progress=lambda m: None)
    message = str(caught.value)
    assert "\n" not in message
    assert "github.com/prometheus/alertmanager@v0.25.0 needs Go >= 1.24.0, and `go` on PATH is go1.20.3" in message
    assert "install Go 1.24.0 or newer" in message


@pytest.mark.usefixtures("provisioned")
def test_a_distribution_build_on_path_is_not_used_and_the_run_says_so(tmp_path, monkeypatch):
    for exe in PROMETHEUS.executables:
        script(tmp_path, exe, f'echo "{exe}, version {PROMETHEUS.version}+ds (branch: debian/sid)"\n')
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    said: list[str] = []
    found = components.ensure(PROMETHEUS, progress=said.append)
    assert found["promtool"] == components.component_dir(PROMETHEUS) / "bin" / "promtool"
    assert any(f"{tmp_path}/prometheus reports" in m and "not the upstream 2.42.0 build" in m for m in said), said


def test_kwok_without_openssl_is_one_clear_error(tmp_path):
    proc = run_suite(tmp_path / "r", "--target", "kwok", timeout=120, env=dict(os.environ, PATH=str(tmp_path)))
    assert proc.returncode == 12, proc.stdout[-2000:]
    assert "--target kwok needs openssl on PATH to make the cluster's certificates: apt install openssl" in proc.stdout


@pytest.mark.parametrize(
    ("python", "words"),
    [
        ("exit 1\n", "is not Python 3.11 or newer"),
        ('case "$2" in *ensurepip*) exit 1;; esac\nexit 0\n', "apt-get install python3-venv"),
    ],
)
def test_make_names_a_python_that_cannot_make_the_virtual_environment(tmp_path, python, words):
    fake = script(tmp_path, "python3", python)
    venv = tmp_path / "venv"
    proc = subprocess.run(
        ["make", "-s", f"PYTHON={fake}", f"VENV={venv}", f"{venv}/.deps-installed"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and words in proc.stdout, proc.stdout + proc.stderr
    assert not venv.exists(), "nothing is created before the precondition holds"


@pytest.mark.parametrize(
    ("target", "change", "error"),
    [
        ("local", {"manifest_dir": Path("/nonexistent/base")}, "no kustomization.yaml"),
        ("kwok", {"manifest_dir": Path("/nonexistent/base")}, "no kustomization.yaml"),
        ("kwok", {"nodes": 0}, "--nodes must be at least 1"),
    ],
)
def test_a_target_that_cannot_be_built_leaves_no_run_directory(tmp_path, monkeypatch, target, change, error):
    import tempfile
    from dataclasses import replace

    from odin_acceptance.core.errors import OdinError
    from odin_acceptance.core.timing_profiles import PROFILES
    from odin_acceptance.stack_config import manifests
    from odin_acceptance.targets import TargetOptions, create

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    options = replace(TargetOptions(profile=PROFILES["fast"], manifest_dir=manifests.BASE), **change)
    with pytest.raises(OdinError, match=error):
        create(target, options=options, tools={})
    assert not list(tmp_path.glob("odin-acceptance-*")), "a run directory was left behind"
