"""The sign-off across runs: a criterion holds exactly when every scenario crediting it
passed on some run and none failed on any; runs of other manifests are refused; the page
reads right in Chromium; and over the local and kwok runs `make test` already makes, SC3,
SC4 and SC5 get more than either run alone."""

import json

import jsonschema
import pytest

from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.signoff.__main__ import main as signoff_main
from odin_acceptance.signoff.combine import Run, SignoffError, combine
from odin_acceptance.signoff.page import render
from odin_acceptance.stack_config import manifests
from odin_acceptance.targets.discovery_witness import user_namespaces_allowed
from odin_acceptance.verdicts import decisions
from odin_acceptance.verdicts.criteria import NOT_RUN, RunRecord, ScenarioResult
from odin_acceptance.verdicts.verdicts_file import SCHEMA, RunFacts, document
from tests.report_screenshot import ink, screenshot

DIGEST = "a" * 64
OTHER = "b" * 64
DECISIONS = decisions.read(manifests.BASE.parent / "DIFFERENCES.md")


def _s(name: str, outcome: str, *tags: str, reason: str = "") -> ScenarioResult:
    return ScenarioResult(name, outcome, frozenset(tags), reason)


def _run(source: str, target: str, *results: ScenarioResult, digest: str = DIGEST, soak: float | None = None) -> Run:
    facts = RunFacts("0.1.0", "abc1234", digest, "fast", "2026-12-07T01:00:00+00:00", "2026-12-07T01:20:00+00:00")
    record = RunRecord(tuple(results), proven_seconds=soak, target=target)
    return Run(source, document(EvidenceLog(), record, facts, DECISIONS))


LOCAL_ONLY = "Exporter down: a stopped exporter raises ExporterDown"
FLEET = "GPU fleet: One hot GPU among 8,000 fires on time"


def test_a_criterion_holds_exactly_when_each_of_its_scenarios_passed_on_some_run():
    local = _run(
        "reports-local",
        "local",
        _s(LOCAL_ONLY, "passed", "sc3"),
        _s(FLEET, "skipped", "sc3", reason="needs a cluster of thousands of simulated GPU nodes"),
    )
    kwok = _run("reports-kwok", "kwok", _s(LOCAL_ONLY, "skipped", "sc3", reason="runs on the local target"))
    assert combine([local])["criteria"]["SC3"]["state"] == "holds_in_part"
    assert combine([local, kwok])["criteria"]["SC3"]["state"] == "holds_in_part", "the fleet ran nowhere"
    fleet = _run("reports-fleet", "kwok", _s(FLEET, "passed", "sc3"))
    together = combine([local, kwok, fleet])
    assert together["criteria"]["SC3"]["state"] == "holds"
    [fleet_seen] = [s for s in together["criteria"]["SC3"]["scenarios"] if s["scenario"] == FLEET]
    deciding = [r for r in fleet_seen["runs"] if r["outcome"] == "passed"]
    assert [together["runs"][r["run"]]["source"] for r in deciding] == ["reports-fleet"]


def test_a_failure_on_any_run_fails_the_criterion_whatever_passed_elsewhere():
    local = _run("l", "local", _s("routing", "passed", "sc4"))
    kind = _run("k", "kind", _s("routing", "failed", "sc4", reason="sent to default-receiver"))
    doc = combine([local, kind])
    assert doc["criteria"]["SC4"]["state"] == "fails" and doc["overall"] == "not_accepted"
    assert doc["failed"] == [{"scenario": "routing", "run": 1, "reason": "sent to default-receiver"}]


def test_nothing_passed_anywhere_is_not_covered_and_a_run_cut_short_proves_nothing_it_missed():
    skipped = _run("l", "local", _s("search", "skipped", "sc2", reason="needs Loki"))
    cut = _run("k", "kind", _s("search", NOT_RUN, "sc2"))
    assert combine([skipped, cut])["criteria"]["SC2"]["state"] == "not_covered"


def test_an_offline_check_alone_never_makes_a_running_component_hold_across_runs():
    lint = _s("Loki is not killed while it recovers", "passed", "loki_health", "offline")
    doc = combine([_run("l", "local", lint), _run("k", "kwok", lint)])
    assert doc["criteria"]["L1"]["state"] == "not_covered"


def test_sc6_holds_only_where_a_run_proved_24_hours():
    soak = _s("No log line lost", "passed", "sc6", "soak")
    half_hour = combine([_run("l", "local", soak, soak=1800)])["criteria"]["SC6"]
    assert half_hour["state"] == "holds_in_part" and "30 min of 24 h proven" in half_hour["detail"]
    no_duration = combine([_run("l", "local", soak)])["criteria"]["SC6"]
    assert no_duration["state"] == "holds_in_part", "a soak whose run states no duration proves no 24 hours"
    day = combine([_run("l", "local", soak, soak=1800), _run("k", "kind", soak, soak=86400)])["criteria"]["SC6"]
    assert day["state"] == "holds"


def test_runs_of_other_manifests_are_refused_naming_both_runs_and_digests():
    local = _run("reports-local", "local", _s("routing", "passed", "sc4"))
    other = _run("reports-kind", "kind", _s("routing", "passed", "sc4"), digest=OTHER)
    with pytest.raises(SignoffError) as refused:
        combine([local, other])
    message = str(refused.value)
    assert all(word in message for word in ("reports-local", "reports-kind", DIGEST, OTHER)), message
    allowed = combine([local, other], allow_mixed_manifests=True)
    assert allowed["mixed_manifests"] is True
    assert "DIFFERENT manifests" in render(allowed)


def test_the_command_refuses_other_manifests_writing_nothing_and_signs_off_the_same(tmp_path, capsys):
    runs = []
    for name, digest in (("a", DIGEST), ("b", DIGEST), ("c", OTHER)):
        (tmp_path / name).mkdir()
        run = _run(name, "local", _s("routing", "passed", "sc4"), digest=digest)
        (tmp_path / name / "verdicts.json").write_text(json.dumps(run.doc))
        runs.append(tmp_path / name)
    out = tmp_path / "out"
    assert signoff_main([*map(str, runs), "--out", str(out)]) == 2
    assert not out.exists() and "different manifests" in capsys.readouterr().err
    assert signoff_main([str(runs[0]), str(runs[1] / "verdicts.json"), "--out", str(out)]) == 10
    page = (out / "signoff.html").read_text()
    assert "<script" not in page and "NOT YET SIGNED OFF" in page
    assert json.loads((out / "signoff.json").read_text())["criteria"]["SC4"]["state"] == "holds"
    # A run named by its directory and by its file is one run; a file that lacks a key is one error.
    assert signoff_main([str(runs[0]), str(runs[0] / "verdicts.json"), "--out", str(out)]) == 10
    assert len(json.loads((out / "signoff.json").read_text())["runs"]) == 1
    partial = tmp_path / "partial.json"
    partial.write_text(
        json.dumps({k: v for k, v in json.loads((runs[0] / "verdicts.json").read_text()).items() if k != "scenarios"})
    )
    assert signoff_main([str(partial), "--out", str(out)]) == 2
    assert "not a whole verdicts.json (no scenarios)" in capsys.readouterr().err


def test_verdicts_json_validates_against_its_schema_and_the_schema_catches_a_bad_state():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    run = _run("l", "local", _s("routing", "passed", "sc4"), _s("Loki is not killed", "failed", "loki_health"))
    jsonschema.validate(run.doc, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    run.doc["criteria"]["SC4"]["state"] = "holds in part"  # the human spelling, not the machine one
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(run.doc, schema)


def test_our_decisions_stand_next_to_their_criteria_on_the_signoff_page():
    doc = combine([_run("l", "local", _s("routing", "passed", "sc4"))])
    page = render(doc)
    assert DECISIONS, "manifests/DIFFERENCES.md lists our decisions"
    for decision in DECISIONS:
        for ident in decision.criteria:
            row = page.split(f"<tr><td>{ident}</td>", 1)[1].split("</tr>", 1)[0]
            assert decision.decision.replace("`", "") in row.replace("`", ""), (ident, decision.decision)


def _pages() -> dict[str, dict]:
    """A passing, a failing and a mixed sign-off, as a reviewer would get them."""
    every = [
        ("Log search returns results within 2 seconds", "sc1", "sc2", "sc3", "sc4", "sc5"),
        ("No log line lost", "sc6", "soak"),
    ]
    passing_local = _run("reports-local", "local", *(_s(n, "passed", *t) for n, *t in every), soak=86400)
    passing = combine([passing_local])
    failing = combine(
        [
            passing_local,
            _run(
                "reports-kind",
                "kind",
                _s("Every panel of the logs dashboard has data", "failed", "sc1", "dashboard", reason="timed out"),
            ),
        ]
    )
    mixed = combine(
        [
            _run("reports-local", "local", _s(LOCAL_ONLY, "passed", "sc3"), _s(FLEET, "skipped", "sc3", reason="x")),
            _run("reports-kwok", "kwok", _s(FLEET, "passed", "sc3"), digest=OTHER),
        ],
        allow_mixed_manifests=True,
    )
    return {"passing": passing, "failing": failing, "mixed": mixed}


@pytest.mark.parametrize("kind", ["passing", "failing", "mixed"])
def test_the_signoff_page_reads_in_chromium(tmp_path, kind):
    doc = _pages()[kind]
    html = tmp_path / f"signoff-{kind}.html"
    html.write_text(render(doc))
    png = screenshot(html, tmp_path / f"signoff-{kind}.png", height=2000)
    assert ink(png) > 0.02, "the sign-off renders blank"
    expected = {"passing": "ACCEPTED: every", "failing": "NOT ACCEPTED: SC1, L5 fail", "mixed": "DIFFERENT manifests"}
    assert expected[kind] in html.read_text()


@pytest.mark.slow
@pytest.mark.skipif(not user_namespaces_allowed(), reason="the fleet's Prometheus needs user namespaces")
def test_signoff_over_the_local_and_kwok_runs_proves_more_than_either(local_run, kwok_run, fleet_run, tmp_path):
    runs = {"local": local_run.out, "kwok": kwok_run.out, "fleet": fleet_run.out}
    schema = json.loads(SCHEMA.read_text())
    for out in runs.values():
        jsonschema.validate(json.loads((out / "verdicts.json").read_text()), schema)

    def passed(doc: dict, ident: str) -> int:
        return sum(s["state"] == "passed" for s in doc["criteria"][ident]["scenarios"])

    out = tmp_path / "signoff"
    assert signoff_main([*map(str, runs.values()), "--out", str(out)]) in (0, 10)
    together = json.loads((out / "signoff.json").read_text())
    alone = {name: combine([Run(name, json.loads((p / "verdicts.json").read_text()))]) for name, p in runs.items()}
    for ident in ("SC3", "SC4", "SC5"):
        assert together["criteria"][ident]["state"] != "fails"
        for name, doc in alone.items():
            assert passed(together, ident) > passed(doc, ident), (ident, name)
    for ident, c in together["criteria"].items():
        proven = bool(c["scenarios"]) and all(s["state"] == "passed" for s in c["scenarios"])
        proven = proven and any(s["proves"] for s in c["scenarios"])
        if c["duration_seconds"] is None:
            assert (c["state"] == "holds") == proven, (ident, c)
        else:
            assert c["state"] != "holds", "no run of make test soaks for 24 hours"
    # The same local run against other manifests is refused.
    doc = json.loads((runs["local"] / "verdicts.json").read_text())
    doc["manifests_sha256"] = OTHER
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "verdicts.json").write_text(json.dumps(doc))
    assert signoff_main([str(runs["kwok"]), str(tmp_path / "other"), "--out", str(tmp_path / "refused")]) == 2
    png = screenshot(out / "signoff.html", tmp_path / "signoff.png", height=2000)
    assert ink(png) > 0.02
