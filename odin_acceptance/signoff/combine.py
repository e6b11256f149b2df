"""Several runs' verdicts put together into one per criterion.

A criterion holds when every scenario that credits it passed on some run (where it could
run) and none failed on any run; a criterion that names a duration (SC6: 24 hours) holds
only when some run's soak proved that long (its `soak_seconds`). Runs of different
manifests are refused unless explicitly allowed, and then the sign-off says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odin_acceptance.verdicts.criteria import duration_text
from odin_acceptance.verdicts.verdicts_file import SCHEMA_VERSION

SIGNOFF_VERSION = 1
# What signoff.json and its page say of each run.
RUN_FACTS = (
    "target",
    "commit",
    "suite_version",
    "timing_profile",
    "started",
    "finished",
    "manifests_sha256",
    "complete",
    "overall",
    "soak_seconds",
)


class SignoffError(Exception):
    """Inputs that cannot be signed off together (missing, another schema, other manifests)."""


@dataclass(frozen=True)
class Run:
    source: str  # the path it was read from, as given
    doc: dict[str, Any]  # its verdicts.json

    def summary(self) -> dict[str, Any]:
        return {"source": self.source, **{k: self.doc[k] for k in RUN_FACTS}}


def load(path: Path) -> Run:
    """A run directory (its verdicts.json) or a verdicts.json itself."""
    file = path / "verdicts.json" if path.is_dir() else path
    if not file.is_file():
        raise SignoffError(f"{path}: no verdicts.json (a run writes it beside its report, e.g. reports/verdicts.json)")
    try:
        doc = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise SignoffError(f"{file}: not JSON ({exc})") from exc
    version = doc.get("schema_version") if isinstance(doc, dict) else None
    if version != SCHEMA_VERSION:
        raise SignoffError(
            f"{file}: verdicts schema version {version!r}, this sign-off reads {SCHEMA_VERSION}: "
            "run that target again with this suite"
        )
    missing = [key for key in (*RUN_FACTS, "criteria", "scenarios") if key not in doc]
    if missing:
        raise SignoffError(f"{file}: not a whole verdicts.json (no {', '.join(missing)}): run that target again")
    return Run(str(path), doc)


def check_manifests(runs: list[Run], allow_mixed: bool) -> bool:
    """Whether the runs tested different manifests (allowed only with `allow_mixed`)."""
    first = runs[0]
    for run in runs[1:]:
        if run.doc["manifests_sha256"] != first.doc["manifests_sha256"] and not allow_mixed:
            raise SignoffError(
                "runs of different manifests cannot be signed off together: "
                f"{first.source} tested manifests sha256 {first.doc['manifests_sha256']}, "
                f"{run.source} tested {run.doc['manifests_sha256']}. Run both on the same manifests "
                "(or pass --allow-mixed-manifests, and the sign-off says so)"
            )
    return len({r.doc["manifests_sha256"] for r in runs}) > 1


def _scenarios(ident: str, runs: list[Run]) -> list[dict[str, Any]]:
    """Each scenario crediting `ident` in any run, with where it passed, failed or was skipped."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    proving: dict[str, bool] = {}
    for index, run in enumerate(runs):
        criterion = run.doc["criteria"].get(ident)
        if criterion is None:
            continue
        for s in criterion["scenarios"]:
            figures = [f for f in criterion["figures"] if f["scenario"] == s["scenario"]]
            seen = {"run": index, "outcome": s["outcome"], "reason": s["reason"], "figures": figures}
            by_name.setdefault(s["scenario"], []).append(seen)
            proving[s["scenario"]] = s["proves"]
    out = []
    for name, seen in by_name.items():
        outcomes = {s["outcome"] for s in seen}
        state = "failed" if "failed" in outcomes else "passed" if "passed" in outcomes else "not_covered"
        out.append({"scenario": name, "state": state, "proves": proving[name], "runs": seen})
    return out


def _criterion(ident: str, runs: list[Run]) -> dict[str, Any]:
    present = [r.doc["criteria"][ident] for r in runs if ident in r.doc["criteria"]]
    first = present[0]
    scenarios = _scenarios(ident, runs)
    failed = [s for s in scenarios if s["state"] == "failed"]
    passed = [s for s in scenarios if s["state"] == "passed"]
    duration = first["duration_seconds"]
    soaks = [(r.doc["soak_seconds"] or 0.0, i) for i, r in enumerate(runs)]
    proven, longest = max(soaks)
    if scenarios:
        detail = [f"{len(passed)} of {len(scenarios)} scenarios passed on some run"]
    else:
        detail = ["no scenario of these runs proves this"]
    if failed:
        state = "fails"
        detail.append(f"{len(failed)} failed")
    elif not any(s["proves"] for s in passed):  # an offline check alone proves no running component
        state = "not_covered"
    elif len(passed) < len(scenarios):
        state = "holds_in_part"
        detail.append(f"{len(scenarios) - len(passed)} ran on no run")
    elif duration is not None and proven < duration:
        state = "holds_in_part"
        detail.append(f"{duration_text(proven) if proven else 'no soak'} of {duration_text(duration)} proven")
    else:
        state = "holds"
    if duration is not None and proven:
        detail.append(f"the longest soak: {duration_text(proven)} on run {longest + 1}")
    decisions = {d["decision"]: d for c in present for d in c["decisions"]}
    return {
        "criterion": first["criterion"],
        "kind": first["kind"],
        "state": state,
        "detail": "; ".join(detail),
        "duration_seconds": duration,
        "decisions": list(decisions.values()),
        "scenarios": scenarios,
    }


def combine(runs: list[Run], allow_mixed_manifests: bool = False) -> dict[str, Any]:
    """signoff.json: the runs, each criterion's verdict across them, and the overall verdict."""
    if not runs:
        raise SignoffError("no runs to sign off: name run directories or verdicts.json files")
    mixed = check_manifests(runs, allow_mixed_manifests)
    idents = list(dict.fromkeys(i for r in runs for i in r.doc["criteria"]))
    criteria = {ident: _criterion(ident, runs) for ident in idents}
    failed = [
        {"scenario": s["scenario"], "run": i, "reason": s["reason"]}
        for i, r in enumerate(runs)
        for s in r.doc["scenarios"]
        if s["outcome"] == "failed"
    ]
    success = [c for c in criteria.values() if c["kind"] == "success"]
    if failed:
        overall = "not_accepted"
    elif success and all(c["state"] == "holds" for c in success):
        overall = "accepted"
    else:
        overall = "not_fully_proven"
    return {
        "signoff_version": SIGNOFF_VERSION,
        "overall": overall,
        "mixed_manifests": mixed,
        "runs": [r.summary() for r in runs],
        "failed": failed,
        "criteria": criteria,
    }
