"""HTML for the pytest-html report: what a reviewer signs.

Top of the report: the verdict, the run's facts, the plan's success criteria and its
deliverables checklist, each with the scenarios that prove it and their measured
evidence. Each scenario's row carries its measurements and figures, and on failure the
diagnostics the target collected.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from odin_acceptance.core.evidence import EvidenceLog, Measurement
from odin_acceptance.reporting.figures import figure_png
from odin_acceptance.verdicts.criteria import (
    DELIVERABLES,
    NOT_RUN,
    SUCCESS_CRITERIA,
    Criterion,
    RunRecord,
    ScenarioResult,
    Verdict,
)
from odin_acceptance.verdicts.decisions import Decision, of

STYLE = """<style>
.odin td,.odin th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top;font-size:13px}
.odin{border-collapse:collapse;margin:6px 0 14px 0}
.odin .holds,.odin .ok{color:#060;font-weight:bold}.odin .fails,.odin .bad{color:#b00;font-weight:bold}
.odin .not-covered,.odin .holds-in-part{color:#8a6d00;font-weight:bold}
.odin-verdict{font-size:18px;font-weight:bold;padding:8px 12px;margin:8px 0;border-radius:4px}
.odin-verdict.incomplete{background:#333;color:#fff}.odin-verdict.holds{background:#e6f4e6;color:#060}.odin-verdict.partial{background:#fdf3d6;color:#8a6d00}.odin-verdict.fails{background:#fbe3e3;color:#b00}
.odin-diag{max-height:300px;overflow:auto;background:#f6f6f6;font-size:11px}
.odin-figs img{margin:4px;border:1px solid #ddd}
</style>"""

_MARK = {"holds": "✔ holds", "holds in part": "◐ holds in part", "fails": "✘ fails", "not covered": "– not covered"}


def _e(value: object) -> str:
    return html.escape(str(value))


def _verdict_cell(m: Measurement) -> str:
    if m.within is None:  # a figure the scenario reports without a bound: its note says what it is
        return "<td>reported</td>"
    return '<td class="ok">within</td>' if m.within else '<td class="bad">OUTSIDE</td>'


def measurement_table(measurements: Iterable[Measurement], with_scenario: bool = False) -> str:
    rows = []
    for m in measurements:
        scenario = f"<td>{_e(m.scenario)}</td>" if with_scenario else ""
        rows.append(
            f"<tr>{scenario}<td>{_e(m.name)}</td><td>{m.value:g} {_e(m.unit)}</td>"
            f"<td>{_e(m.bound)}</td>{_verdict_cell(m)}<td>{_e(m.note)}</td></tr>"
        )
    if not rows:
        return ""
    head = "<th>scenario</th>" if with_scenario else ""
    return (
        f'<table class="odin"><tr>{head}<th>measured</th><th>value</th><th>bound</th>'
        f"<th>verdict</th><th>note</th></tr>{''.join(rows)}</table>"
    )


def figures_html(log: EvidenceLog, scenario: str) -> str:
    images = [f'<img alt="{_e(f.title)}" src="{figure_png(f)}">' for f in log.figures_of(scenario)]
    return f'<div class="odin-figs">{"".join(images)}</div>' if images else ""


def _evidence_summary(log: EvidenceLog, verdict: Verdict) -> str:
    names = {s.name for s in verdict.scenarios}
    judged = [m for m in log.measurements if m.scenario in names and m.within is not None and m.unit == "s"]
    parts = [f"{_e(m.name)} {m.value:.3g} s ({_e(m.bound)})" for m in judged[:4]]
    return "<br>".join(parts)


_OUTCOME_MARK = {"passed": "✔", "failed": "✘", NOT_RUN: "○"}


def ceiling_text(verdict: Verdict, target: str) -> str:
    """How the verdict reads against the most this target can show: "as expected" where a
    criterion needs what no run here can give, "short of" where this run fell below it."""
    if verdict.status in ("holds", "fails"):
        return ""
    if verdict.as_expected:
        return f"the most {target} can show: the rest needs another target (see the sign-off across runs)"
    if verdict.status == verdict.ceiling:
        return f"{verdict.ceiling} is the most {target} can show, and this run left out some of it"
    return f"short of what {target} can show ({verdict.ceiling})"


def decisions_html(decisions: list[Decision]) -> str:
    """Our decisions (not the plan's numbers) that this criterion is judged with."""
    if not decisions:
        return ""
    items = "".join(f"<li>{_e(d.text())}</li>" for d in decisions)
    return f'<div class="odin-decisions"><small><b>Our decision, not the plan\'s:</b><ul>{items}</ul></small></div>'


def criteria_table(
    title: str,
    criteria: tuple[Criterion, ...],
    record: RunRecord,
    log: EvidenceLog,
    decisions: tuple[Decision, ...] = (),
) -> str:
    rows = []
    target = record.target
    for criterion in criteria:
        verdict = record.verdict(criterion)
        css = verdict.status.replace(" ", "-")
        status = _MARK[verdict.status] + (f" on {target}" if verdict.status != "fails" else "")
        expected = ceiling_text(verdict, target)
        expected_html = f"<br><small><i>{_e(expected)}</i></small>" if expected else ""
        scenarios = "<br>".join(
            f"{_OUTCOME_MARK.get(s.outcome, '–')} {_e(s.name)}"
            + (" (not run)" if s.outcome == NOT_RUN else "")
            + (
                f'<br><small class="fails">{_e(s.reason.splitlines()[0])}</small>'
                if s.outcome == "failed" and s.reason
                else ""
            )
            for s in verdict.scenarios
        )
        note = f"<br><i>{_e(criterion.note)}</i>" if criterion.note and verdict.status != "not covered" else ""
        rows.append(
            f'<tr id="criterion-{_e(criterion.ident)}"><td>{_e(criterion.ident)}</td>'
            f"<td>{_e(criterion.text)}{note}{decisions_html(of(criterion.ident, decisions))}</td>"
            f'<td class="{css}">{_e(status)}<br><small>{_e(verdict.detail)}</small>{expected_html}</td>'
            f"<td>{scenarios}</td><td>{_evidence_summary(log, verdict)}</td></tr>"
        )
    return (
        f'<h2>{_e(title)}</h2><table class="odin"><tr><th></th><th>criterion</th><th>verdict</th>'
        f"<th>scenarios</th><th>key evidence</th></tr>{''.join(rows)}</table>"
    )


def incomplete_html(record: RunRecord) -> str:
    """The banner of a run that ended before every selected scenario ran."""
    if not (record.ended_early or record.not_run):
        return ""
    missing = len(record.not_run)
    return (
        f'<div class="odin-verdict incomplete">INCOMPLETE: the run ended early ({_e(record.ended_early)}); '
        f"{missing} selected scenario{'s' if missing != 1 else ''} did not run, and no criterion they prove can "
        "hold</div>"
    )


def banner_html(record: RunRecord) -> str:
    """Red when any scenario failed, whatever it credits; green when every success criterion
    holds; else amber, saying which criteria read as much as this target can show."""
    target = record.target
    every = SUCCESS_CRITERIA + DELIVERABLES
    verdicts = [record.verdict(c) for c in SUCCESS_CRITERIA]
    if record.failed:
        failing = [c.ident for c in every if record.verdict(c).status == "fails"]
        what = ", ".join(failing) + " fail" if failing else f"{len(record.failed)} scenarios failed"
        return f'<div class="odin-verdict fails">NOT ACCEPTED on {_e(target)}: {_e(what)}</div>'
    if record.overall() == "accepted":
        return f'<div class="odin-verdict holds">Every success criterion holds on {_e(target)}</div>'
    by_status = {s: [v.criterion.ident for v in verdicts if v.status == s] for s in _MARK}
    parts = [f"{status} on {target}: {', '.join(ids)}" for status, ids in by_status.items() if ids]
    short = [v.criterion.ident for v in verdicts if not v.as_expected and v.status != "holds"]
    expected = (
        f"short of what {target} can show: {', '.join(short)}"
        if short
        else f"as much as {target} can show; a sign-off across runs on other targets proves the rest"
    )
    said = f"Not fully proven: {_e('; '.join(parts))}<br><small>{_e(expected)}</small>"
    return f'<div class="odin-verdict partial">{said}</div>'


def summary_html(
    log: EvidenceLog, record: RunRecord, facts: dict[str, Any], decisions: tuple[Decision, ...] = ()
) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts.items())
    results = list(record.results)
    return (
        STYLE
        + incomplete_html(record)
        + banner_html(record)
        + _to_cover_html(results)
        + criteria_table("Success criteria (Phase 3 plan)", SUCCESS_CRITERIA, record, log, decisions)
        + criteria_table("Deliverables checklist", DELIVERABLES, record, log, decisions)
        + f'<h2>Run</h2><table class="odin">{rows}</table>'
        + gallery_html(log)
        + (
            "<h2>All measurements</h2>" + measurement_table(log.measurements, with_scenario=True)
            if log.measurements
            else ""
        )
    )


def unmet(record: RunRecord, required: str) -> list[str]:
    """The required criteria (--require-criteria: "all" or idents) that do not hold, each with why."""
    known = {c.ident: c for c in SUCCESS_CRITERIA + DELIVERABLES}
    wanted = list(SUCCESS_CRITERIA) if required.strip() == "all" else []
    for ident in (i.strip() for i in required.split(",") if required.strip() != "all"):
        if ident not in known:
            return [f"{ident}: no such criterion (have {', '.join(known)})"]
        wanted.append(known[ident])
    out = []
    for criterion in wanted:
        verdict = record.verdict(criterion)
        if verdict.status != "holds":
            out.append(f"{criterion.ident} {verdict.status}: {verdict.detail}")
    return out


def _to_cover_html(results: list[ScenarioResult]) -> str:
    """Each distinct reason scenarios were skipped, in full: how to prove what this run did not."""
    reasons = sorted({r.reason for r in results if r.outcome == "skipped" and r.reason})
    if not reasons:
        return ""
    items = "".join(f"<li>{_e(reason)}</li>" for reason in reasons)
    return f"<h3>Not run here, and how to run it</h3><ul>{items}</ul>"


def scenario_html(log: EvidenceLog, scenario: str) -> str:
    table = measurement_table(log.of(scenario))
    return STYLE + table if table else ""


def gallery_html(log: EvidenceLog) -> str:
    """Every figure of the run, titled by its scenario, where a reviewer sees it first."""
    scenarios = list(dict.fromkeys(f.scenario for f in log.figures))
    parts = [f"<h4>{_e(name)}</h4>{figures_html(log, name)}" for name in scenarios]
    return "<h2>Timelines and distributions</h2>" + "".join(parts) if parts else ""


def steps_html(steps: list[tuple[str, str, bool]]) -> str:
    """The Given/When/Then that ran, each with its outcome (the first failed one, and none after it)."""
    if not steps:
        return ""
    lines, failed = [], False
    for keyword, sentence, step_failed in steps:
        # pytest-bdd flags the steps after a failed one too: they did not run.
        mark = "○" if failed else ("✘" if step_failed else "✔")
        failed = failed or step_failed
        lines.append(f"{mark} <b>{_e(keyword)}</b> {_e(sentence)}")
    return '<div class="odin-steps">' + "<br>".join(lines) + "</div>"


def failure_html(message: str) -> str:
    return (
        STYLE + f'<div class="odin-verdict fails"><pre style="white-space:pre-wrap;margin:0">{_e(message)}</pre></div>'
    )


def diagnostics_html(diagnostics: dict[str, str]) -> str:
    parts = [
        f"<details><summary>{_e(title)}</summary><pre class='odin-diag'>{_e(text)}</pre></details>"
        for title, text in diagnostics.items()
    ]
    return STYLE + "<h4>Diagnostics at failure</h4>" + "".join(parts)
