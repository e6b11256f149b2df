"""reports/verdicts.json: a run's verdicts for machines (a CI gate, a dashboard, the
sign-off across runs), in the shape verdicts.schema.json (beside this module) describes.

State names are machine-friendly (holds, holds_in_part, fails, not_covered; outcomes
passed, failed, skipped, not_run); bounds are numbers (low, high, unit, within), not only
the sentence the HTML report shows."""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.verdicts.criteria import (
    DELIVERABLES,
    SUCCESS_CRITERIA,
    Criterion,
    RunRecord,
    credits,
    proves,
    state_name,
)
from odin_acceptance.verdicts.decisions import Decision, of

SCHEMA_VERSION = 1
SCHEMA = Path(str(importlib.resources.files("odin_acceptance.verdicts") / "verdicts.schema.json"))


@dataclass(frozen=True)
class RunFacts:
    """What identifies a run for a sign-off: what was tested (commit, manifests), where
    (target, timing) and when."""

    suite_version: str = "unknown"
    commit: str = "unknown"
    manifests_sha256: str = "unknown"
    timing_profile: str = "unknown"
    started: str = ""  # ISO 8601, UTC
    finished: str = ""


def manifests_sha256(objects: list[dict[str, Any]]) -> str:
    """The digest of the rendered manifests: two runs with the same one tested the same stack."""
    return hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()


def _criterion(
    criterion: Criterion, kind: str, record: RunRecord, log: EvidenceLog, decisions: tuple[Decision, ...]
) -> dict[str, Any]:
    verdict = record.verdict(criterion)
    names = {s.name for s in verdict.scenarios}
    return {
        "criterion": criterion.text,
        "kind": kind,
        "state": state_name(verdict.status),
        "ceiling": state_name(verdict.ceiling),
        "as_expected_on_target": verdict.as_expected,
        "detail": verdict.detail,
        "note": criterion.note,
        "duration_seconds": criterion.duration,
        "decisions": [{"decision": d.decision, "value": d.value, "why": d.why} for d in of(criterion.ident, decisions)],
        "scenarios": [
            {
                "scenario": s.name,
                "outcome": state_name(s.outcome),
                "reason": s.reason,
                "proves": proves(s.tags, criterion),  # False: an offline check, which can only fail it
            }
            for s in verdict.scenarios
        ],
        "figures": [
            {
                "scenario": m.scenario,
                "name": m.name,
                "value": m.value,
                "unit": m.unit,
                "bound": m.bound,
                "low": m.low,
                "high": m.high,
                "within": m.within,
            }
            for m in log.measurements
            if m.scenario in names and m.within is not None
        ],
    }


def document(
    log: EvidenceLog, record: RunRecord, facts: RunFacts = RunFacts(), decisions: tuple[Decision, ...] = ()
) -> dict[str, Any]:
    criteria = {c.ident: _criterion(c, "success", record, log, decisions) for c in SUCCESS_CRITERIA}
    criteria |= {c.ident: _criterion(c, "deliverable", record, log, decisions) for c in DELIVERABLES}
    every = SUCCESS_CRITERIA + DELIVERABLES
    return {
        "schema_version": SCHEMA_VERSION,
        "overall": record.overall(),
        "suite_version": facts.suite_version,
        "commit": facts.commit,
        "manifests_sha256": facts.manifests_sha256,
        "target": record.target,
        "timing_profile": facts.timing_profile,
        "started": facts.started,
        "finished": facts.finished,
        "complete": not (record.ended_early or record.not_run),
        "ended_early": record.ended_early,
        "soak_seconds": record.proven_seconds,
        "criteria": criteria,
        "scenarios": [
            {
                "scenario": r.name,
                "outcome": state_name(r.outcome),
                "reason": r.reason,
                "criteria": [c.ident for c in every if credits(r.tags, c)],
            }
            for r in record.results
        ],
    }
