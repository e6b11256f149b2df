"""Running the acceptance suite from the project's tests, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_suite(
    out: Path,
    *args: str,
    manifest_dir: Path | None = None,
    timeout: float = 1800,
    env: dict[str, str] | None = None,
    features: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`pytest odin_acceptance/features *args` (or the features in `features`, under the
    project's configuration) in a subprocess, its reports under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    where = ["odin_acceptance/features"] if features is None else [str(features), "-c", "pyproject.toml"]
    where += [] if features is None else ["--rootdir", str(features)]
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *where,
        f"--html={out / 'acceptance.html'}",
        f"--junitxml={out / 'junit.xml'}",
        f"--cucumberjson={out / 'cucumber.json'}",
        f"--evidence={out / 'evidence.json'}",
        *args,
    ]
    if manifest_dir is not None:
        cmd += ["--manifests", str(manifest_dir)]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))
