"""reports/signoff.html: the sign-off across runs as a reviewer attaches it. Static (no
JavaScript), printable: criterion, verdict, and the scenarios that decided it, each with
the run (target, commit, date) and its evidence."""

from __future__ import annotations

import html
from typing import Any

_MARK = {"holds": "✔ holds", "holds_in_part": "◐ holds in part", "fails": "✘ fails", "not_covered": "– not covered"}
_SCENARIO_MARK = {"passed": "✔", "failed": "✘", "not_covered": "–"}
_BANNER = {
    "accepted": ("holds", "ACCEPTED: every success criterion holds across these runs"),
    "not_accepted": ("fails", "NOT ACCEPTED"),
    "not_fully_proven": ("partial", "NOT YET SIGNED OFF: not every success criterion is proven"),
}

STYLE = """<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:1150px}
h1{font-size:22px;margin:0 0 6px 0}h2{font-size:17px;margin:22px 0 6px 0}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #bbb;padding:4px 7px;text-align:left;vertical-align:top;font-size:12.5px}
th{background:#f0f0f0}
tr{page-break-inside:avoid;break-inside:avoid}
.holds,.passed{color:#060;font-weight:bold}.fails,.failed{color:#b00;font-weight:bold}
.holds_in_part,.not_covered{color:#8a6d00;font-weight:bold}
.banner{font-size:19px;font-weight:bold;padding:9px 13px;margin:10px 0;border:2px solid}
.banner.holds{background:#e6f4e6;color:#060}.banner.partial{background:#fdf3d6;color:#8a6d00}
.banner.fails{background:#fbe3e3;color:#b00}
.warn{background:#fbe3e3;color:#b00;border:2px solid #b00;padding:6px 10px;margin:8px 0;font-weight:bold}
.run{color:#444}.ev{color:#333;font-size:11.5px;margin-left:14px}.skip{color:#777;font-size:11.5px}
.decisions{font-size:11.5px;color:#333;margin-top:4px}.decisions ul{margin:2px 0 0 16px;padding:0}
@media print{body{margin:0;max-width:none}.banner,.warn{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
</style>"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _run_label(index: int, run: dict[str, Any]) -> str:
    return f"run {index + 1} ({run['target']}, {run['commit']}, {run['started'][:10]})"


def _figure(f: dict[str, Any]) -> str:
    verdict = "within" if f["within"] else "OUTSIDE"
    return f"{_e(f['name'])}: {f['value']:g} {_e(f['unit'])} ({_e(f['bound'])}, {verdict})"


def _scenario_html(s: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """A scenario with the runs that decided it (passed or failed there) and their evidence;
    where it ran nowhere, why each run skipped it."""
    deciding = [r for r in s["runs"] if r["outcome"] == ("failed" if s["state"] == "failed" else "passed")]
    lines = [f'<span class="{_e(s["state"])}">{_SCENARIO_MARK[s["state"]]}</span> {_e(s["scenario"])}']
    for seen in deciding:
        label = _run_label(seen["run"], runs[seen["run"]])
        reason = f": {_e(seen['reason'].splitlines()[0])}" if seen["outcome"] == "failed" and seen["reason"] else ""
        lines.append(f'<div class="run">{_e(seen["outcome"])} on {_e(label)}{reason}</div>')
        lines += [f'<div class="ev">{_figure(f)}</div>' for f in seen["figures"][:4]]
    if not deciding:
        why = {
            f"{runs[r['run']]['target']}: {(r['reason'] or 'the run ended before it').split('. ')[0]}"
            for r in s["runs"]
        }
        lines += [f'<div class="skip">not run on {_e(w)}</div>' for w in sorted(why)]
    return "".join(lines)


def _decisions_html(decisions: list[dict[str, str]]) -> str:
    if not decisions:
        return ""
    items = "".join(f"<li>{_e(d['decision'])}: {_e(d['value'])} ({_e(d['why'])})</li>" for d in decisions)
    return f'<div class="decisions"><b>Our decision, not the plan\'s:</b><ul>{items}</ul></div>'


def _criteria_table(title: str, criteria: dict[str, dict[str, Any]], runs: list[dict[str, Any]]) -> str:
    rows = []
    for ident, c in criteria.items():
        scenarios = (
            "".join(f'<div style="margin-bottom:5px">{_scenario_html(s, runs)}</div>' for s in c["scenarios"]) or "—"
        )
        rows.append(
            f"<tr><td>{_e(ident)}</td><td>{_e(c['criterion'])}{_decisions_html(c['decisions'])}</td>"
            f'<td class="{_e(c["state"])}">{_MARK[c["state"]]}<br><small>{_e(c["detail"])}</small></td>'
            f"<td>{scenarios}</td></tr>"
        )
    head = "<tr><th></th><th>criterion</th><th>verdict across the runs</th><th>scenarios that decided it</th></tr>"
    return (
        f'<h2>{_e(title)}</h2><table><colgroup><col style="width:4%"><col style="width:24%">'
        f'<col style="width:17%"><col></colgroup>{head}{"".join(rows)}</table>'
    )


def _banner(doc: dict[str, Any]) -> str:
    css, text = _BANNER[doc["overall"]]
    if doc["overall"] == "accepted":
        deliverables = [c for c in doc["criteria"].values() if c["kind"] == "deliverable"]
        held = sum(c["state"] == "holds" for c in deliverables)
        text += f" (deliverables: {held} of {len(deliverables)} hold)"
    elif doc["overall"] == "not_accepted":
        failing = [i for i, c in doc["criteria"].items() if c["state"] == "fails"]
        text += ": " + (", ".join(failing) + " fail" if failing else f"{len(doc['failed'])} scenarios failed")
    elif doc["overall"] == "not_fully_proven":
        short = [
            f"{i} {_MARK[c['state']][2:]}"
            for i, c in doc["criteria"].items()
            if c["kind"] == "success" and c["state"] != "holds"
        ]
        text += f" ({', '.join(short)})"
    return f'<div class="banner {css}">{_e(text)}</div>'


def _runs_table(runs: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{_e(r['target'])}</td><td>{_e(r['commit'])}</td><td>{_e(r['timing_profile'])}</td>"
        f"<td>{_e(r['started'])}<br>{_e(r['finished'])}</td>"
        f"<td>{_e(r['overall'].replace('_', ' '))}{'' if r['complete'] else ' (INCOMPLETE)'}</td>"
        f"<td><small>{_e(r['source'])}<br>manifests {_e(r['manifests_sha256'][:16])}…</small></td></tr>"
        for i, r in enumerate(runs)
    )
    head = (
        "<tr><th>run</th><th>target</th><th>commit</th><th>timing</th><th>started / finished (UTC)</th>"
        "<th>its own verdict</th><th>read from</th></tr>"
    )
    return f"<h2>Runs signed off together</h2><table>{head}{rows}</table>"


def render(doc: dict[str, Any]) -> str:
    runs = doc["runs"]
    mixed = (
        '<div class="warn">These runs tested DIFFERENT manifests (allowed by --allow-mixed-manifests): '
        "a criterion proven on one set of manifests is not proven on the other.</div>"
        if doc["mixed_manifests"]
        else f"<p>Every run tested the same manifests (sha256 {_e(runs[0]['manifests_sha256'])}).</p>"
    )
    success = {i: c for i, c in doc["criteria"].items() if c["kind"] == "success"}
    deliverables = {i: c for i, c in doc["criteria"].items() if c["kind"] == "deliverable"}
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>ODIN Phase 3 sign-off</title>{STYLE}</head><body>"
        "<h1>ODIN Phase 3 acceptance: sign-off across runs</h1>"
        + _banner(doc)
        + mixed
        + _runs_table(runs)
        + _criteria_table("Success criteria (Phase 3 plan)", success, runs)
        + _criteria_table("Deliverables checklist", deliverables, runs)
        + "<p><small>A criterion holds when every scenario that credits it passed on some run and none failed on "
        "any; SC6 holds only where a run's soak lasted 24 hours.</small></p></body></html>"
    )
