"""Running the acceptance suite from the project's tests, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from odin_acceptance.features import __file__ as features_init

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SuiteRun:
    """A finished acceptance run: its reports directory and the process's output."""

    out: Path
    proc: subprocess.CompletedProcess[str]


def run_suite(
    out: Path,
    *args: str,
    manifest_dir: Path | None = None,
    timeout: float = 1800,
    env: dict[str, str] | None = None,
    features: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`pytest -p odin_acceptance features *args` (or the features in `features`, under the
    project's configuration: the root conftest.py is not met there, so `-p` asks for the
    suite) in a subprocess, its reports under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    where = ["features"] if features is None else [str(features), "-c", "pyproject.toml"]
    where += [] if features is None else ["--rootdir", str(features)]
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "odin_acceptance",
        *where,
        f"--reports={out}",
        *args,
    ]
    if manifest_dir is not None:
        cmd += ["--manifests", str(manifest_dir)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


FEATURE = Path(features_init).parent / "gpu_fleet.feature"
# The fleet's size, as the feature states it -> three GPU nodes.
SMALLER = {
    "a fleet of 1,000 GPU nodes": "a fleet of 3 GPU nodes",
    "GPU node 500 of the fleet": "GPU node 2 of the fleet",
    "the fleet's 8,000 GPUs": "the fleet's 24 GPUs",
    "GPU 3 of 50 nodes": "GPU 3 of 3 nodes",
}


def small_fleet(directory: Path) -> Path:
    directory.mkdir()
    text = FEATURE.read_text()
    for big, small in SMALLER.items():
        assert big in text, f"{big!r} is no longer in {FEATURE}"
        text = text.replace(big, small)
    (directory / "gpu_fleet.feature").write_text(text)
    (directory / "test_small_fleet.py").write_text('from pytest_bdd import scenarios\n\nscenarios(".")\n')
    return directory
