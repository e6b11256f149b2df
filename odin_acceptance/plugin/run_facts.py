"""The facts that identify a run (target, timing, commit, manifests' digest, decisions), worked
out once and read by every writer: JUnit's properties, the HTML summary, evidence.json and
verdicts.json name the same values, and `git describe` runs once a run."""

from __future__ import annotations

import datetime
import subprocess
import time
from pathlib import Path

import pytest

from odin_acceptance.plugin.state import (
    EVIDENCE_KEY,
    STARTED_KEY,
    SUPPLIED_KEY,
    manifest_dir,
    profile_of,
    suite_version,
    target_name,
)
from odin_acceptance.stack_config import manifests
from odin_acceptance.verdicts import decisions, verdicts_file

_IDENTITY_KEY = pytest.StashKey[tuple[str, str]]()


def _identity(config: pytest.Config) -> tuple[str, str]:
    """(commit, manifests sha256) of this run, worked out once: JUnit, the HTML report and
    verdicts.json all name them, and a sign-off matches runs by them."""
    if _IDENTITY_KEY not in config.stash:
        try:
            digest = verdicts_file.manifests_sha256(manifests.load(manifest_dir(config)).objects)
        except manifests.ManifestError as exc:  # the scenarios that read them say so, by name
            digest = f"unreadable: {exc}"
        commit = _git_commit(config.rootpath)
        if commit == "unknown":  # features of another directory: the suite's own checkout, if it is one
            commit = _git_commit(Path(__file__).resolve().parent)
        config.stash[_IDENTITY_KEY] = (commit, digest)
    return config.stash[_IDENTITY_KEY]


def junit_facts(config: pytest.Config) -> dict[str, str]:
    commit, digest = _identity(config)
    return {
        "target": target_name(config),
        "timing": profile_of(config).describe(),
        "commit": commit,
        "manifests sha256": digest,
    }


def run_facts(config: pytest.Config) -> dict[str, str]:
    log = config.stash[EVIDENCE_KEY]
    facts = {
        "target": target_name(config),
        "timing profile": profile_of(config).describe(),
        "manifests": str(manifest_dir(config)),
        "git commit": _identity(config)[0],
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(config.stash[STARTED_KEY])),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    found = config.stash.get(SUPPLIED_KEY, None)
    if found is not None:
        facts.update(found.describe())
    facts.update({k: str(v) for k, v in log.context.items() if k not in facts and k != "scenarios"})
    return facts


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _iso(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")


def verdict_facts(config: pytest.Config) -> verdicts_file.RunFacts:
    """What identifies this run in a sign-off across runs (verdicts.json)."""
    commit, digest = _identity(config)
    return verdicts_file.RunFacts(
        suite_version=suite_version(),
        commit=commit,
        manifests_sha256=digest,
        timing_profile=profile_of(config).name,
        started=_iso(config.stash[STARTED_KEY]),
        finished=_iso(time.time()),
    )


_DECISIONS_KEY = pytest.StashKey[tuple[decisions.Decision, ...]]()


def our_decisions(config: pytest.Config) -> tuple[decisions.Decision, ...]:
    """Our decisions, from the DIFFERENCES.md beside the manifests under test, else the suite's
    own (read once a run)."""
    if _DECISIONS_KEY not in config.stash:
        config.stash[_DECISIONS_KEY] = ()
        for path in (manifest_dir(config).parent, config.rootpath / "manifests"):
            found = decisions.read(path / "DIFFERENCES.md")
            if found:
                config.stash[_DECISIONS_KEY] = found
                break
    return config.stash[_DECISIONS_KEY]
