"""D3, static pods' log paths: caught where it can be. Live, no target shows it: local and
kwok have no static pods, and on kind and cluster the run's Promtail keeps only the run's
pods (targets/run_scope.py), which drops the control plane's. So the deployment feature
runs Promtail's own relabelling on a static pod as discovery presents it, offline, on
every target; DIFFERENCES.md says so, and names only scenarios and tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from odin_acceptance.offline import manifest_checks
from odin_acceptance.offline.relabel import relabel
from odin_acceptance.stack_config import manifests
from tests.suite_runs import edit, run_suite

REPO = Path(__file__).resolve().parent.parent
CHECK = "Promtail finds the log files of every pod, static control-plane pods included"
# The directory id from the config hash where a pod has one: what the manifests add to the plan.
CONFIG_HASH_RULE = (
    "      - source_labels: [__meta_kubernetes_pod_annotation_kubernetes_io_config_hash]\n"
    "        regex: (.+)\n"
    "        target_label: __pod_dir_id\n"
)
# The path as the plan (and Promtail's stock config) builds it: from the uid only.
PLAN_PATH_RULE = {
    "source_labels": ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"],
    "separator": "/",
    "replacement": "/var/log/pods/*$1/*.log",
    "target_label": "__path__",
}


def _d3_put_back(base: Path) -> None:
    edit(base / "promtail" / "promtail.yaml", CONFIG_HASH_RULE, "")


def test_the_manifests_find_a_static_pods_log_file():
    assert manifest_checks.CHECKS[CHECK](manifests.load(manifests.BASE)) == []


def test_the_uid_only_path_misses_the_static_pod_and_says_d3(manifest_copy):
    _d3_put_back(manifest_copy)
    [problem] = manifest_checks.CHECKS[CHECK](manifests.load(manifest_copy))
    assert "static control-plane pod" in problem and "(D3)" in problem, problem


def test_the_plans_own_path_rule_misses_it_too():
    [(static, log_file)] = [v for what, v in manifest_checks._LOG_FILES.items() if "static" in what]
    path = relabel(static, [PLAN_PATH_RULE])["__path__"]
    assert path.endswith("5d7e2c4a-0f61-4a8e-b2c9-7b1e6f0a9d33/kube-apiserver/*.log"), path
    assert not manifest_checks._glob_matches(log_file, path), "the plan's glob asks for the mirror's uid"


def test_go_expansion_rules_are_kept():
    rule = {"source_labels": ["a", "b"], "separator": "_", "regex": "(.+)_(.+)", "target_label": "x"}
    assert relabel({"a": "1", "b": "2"}, [{**rule, "replacement": "${1}_${2}"}])["x"] == "1_2"
    assert relabel({"a": "1", "b": "2"}, [{**rule, "replacement": "$1_$2"}])["x"] == "2", "$1_ names group '1_'"
    assert relabel({"a": "1"}, [{"source_labels": ["a"], "regex": "2", "action": "keep"}]) is None


@pytest.mark.slow
def test_d3_put_back_fails_the_deployment_feature(tmp_path, manifest_copy):
    _d3_put_back(manifest_copy)
    proc = run_suite(tmp_path / "r", "-m", "manifests", manifest_dir=manifest_copy, timeout=120)
    assert proc.returncode == 1 and "(D3)" in proc.stdout, proc.stdout[-3000:]


def _defect_rows() -> dict[str, list[str]]:
    text = (manifests.BASE.parent / "DIFFERENCES.md").read_text()
    table = text[text.index("## Each defect of the plan") :]
    rows = [line.split("|")[1:-1] for line in table.splitlines() if re.match(r"\| D\d+ ", line)]
    return {cells[0].split()[0]: [c.strip() for c in cells] for cells in rows}


def test_differences_claims_for_d3_name_a_scenario_that_runs_the_check():
    _, caught_by, project_test, target = _defect_rows()["D3"]
    feature = (REPO / "features" / "deployment.feature").read_text()
    scenario = caught_by.split(":", 1)[1].split("(")[0].strip()
    assert caught_by.startswith("How the manifests deploy the stack:") and f"Scenario: {scenario}" in feature
    body = feature[feature.index(f"Scenario: {scenario}") :].split("Scenario:")[1]
    assert CHECK in body, f"{scenario!r} does not run the D3 check"
    assert "not caught live" in target, "say that no live run on kind or cluster sees a static pod's logs"
    assert "test_d3_put_back_fails_the_deployment_feature" in project_test


def test_every_project_test_differences_names_exists():
    tests = " ".join(p.read_text() for p in (REPO / "tests").glob("test_*.py"))
    for defect, (_, _, project_test, _) in _defect_rows().items():
        for name in re.findall(r"`(test_\w+)", project_test):
            assert f"def {name}(" in tests, f"{defect}: DIFFERENCES.md names {name}, which does not exist"


def test_a_promtail_that_drops_static_pods_everywhere_says_no_job_keeps_them(manifest_copy):
    # Dropping the control plane's pods (their controller is the Node) is D3 too: their lines
    # never reach Loki, though no job's path is wrong.
    edit(
        manifest_copy / "promtail" / "promtail.yaml",
        "    relabel_configs:\n",
        "    relabel_configs:\n"
        "      - source_labels: [__meta_kubernetes_pod_controller_kind]\n"
        "        regex: Node\n"
        "        action: drop\n",
    )
    [problem] = manifest_checks.CHECKS[CHECK](manifests.load(manifest_copy))
    assert "no Promtail job keeps a static control-plane pod" in problem and "(D3)" in problem, problem
