"""One run's share of a shared cluster (odin_acceptance.targets.run_scope), checked on the rendered
cluster overlay: its own namespace and cluster-wide names, its label on everything, Promtail
and the logs dashboard scoped to it, and nothing deleted that is not labelled with it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import kubernetes_validate
import pytest
import yaml
from pytest_bdd.parser import FeatureParser

from odin_acceptance.clients.grafana_dashboards import Panel, PlanDashboard
from odin_acceptance.core.evidence import EvidenceLog, ScenarioEvidence
from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.features import __file__ as features_init
from odin_acceptance.stack_config import manifests
from odin_acceptance.target_api.base import KEEP_RESOURCES
from odin_acceptance.targets.kubernetes import ClusterTarget, KindCluster, keeps_resources
from odin_acceptance.targets.overlay import OverlayDeployment, for_profile
from odin_acceptance.targets.run_scope import MANAGED_BY, RUN_LABEL, RUN_META_LABEL, RunScope
from odin_acceptance.verdicts import log_verdicts
from tests.offline_cluster import offline_target

FEATURES = Path(features_init).parent

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


@pytest.fixture(scope="module")
def cluster_overlay() -> list[dict]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(manifests.OVERLAYS / "cluster")],
        capture_output=True,
        text=True,
        check=True,
    )
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def _names(objects: list[dict], kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in objects if o["kind"] == kind}


def test_everything_of_a_run_is_in_its_namespace_and_labelled(cluster_overlay):
    scope = RunScope("odin-acceptance", run_id="a1b2c3")
    objects = scope.apply(cluster_overlay)
    assert _names(objects, "Namespace") == {"odin-acceptance-a1b2c3"}
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] not in {"Namespace", "ClusterRole"}} - {
        None
    } == {"odin-acceptance-a1b2c3"}
    for obj in objects:
        assert obj["metadata"]["labels"][RUN_LABEL] == "a1b2c3", obj["metadata"]["name"]
        assert obj["metadata"]["labels"][MANAGED_BY] == "odin-acceptance"
        if "template" in obj.get("spec", {}):
            assert obj["spec"]["template"]["metadata"]["labels"][RUN_LABEL] == "a1b2c3", "its pods carry it too"
        kubernetes_validate.validate(obj, "1.32", strict=True)


def test_two_runs_share_no_name_a_cluster_holds_once(cluster_overlay):
    one, two = (RunScope("odin-acceptance", run_id=i).apply(cluster_overlay) for i in ("aaaaaa", "bbbbbb"))
    for kind in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
        assert _names(one, kind) and not _names(one, kind) & _names(two, kind), kind
    [binding] = [o for o in one if o["kind"] == "ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == "odin-acceptance-aaaaaa-promtail"
    assert {s["namespace"] for s in binding["subjects"]} == {"odin-acceptance-aaaaaa"}
    role_bindings = [o for o in one if o["kind"] == "RoleBinding"]
    assert all(s["namespace"] == "odin-acceptance-aaaaaa" for rb in role_bindings for s in rb["subjects"])
    [promtail] = [o for o in one if o["kind"] == "DaemonSet" and o["metadata"]["name"] == "promtail"]
    paths = [v["hostPath"]["path"] for v in promtail["spec"]["template"]["spec"]["volumes"] if "hostPath" in v]
    assert "/run/odin-acceptance-aaaaaa-promtail" in paths, "positions of two runs on one node must not mix"


def test_promtail_reads_the_runs_pods_only(cluster_overlay):
    objects = RunScope("odin-acceptance", run_id="c0ffee").apply(cluster_overlay)
    [config] = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "promtail-config"]
    jobs = yaml.safe_load(config["data"]["promtail.yaml"])["scrape_configs"]
    for job in jobs:
        first = job["relabel_configs"][0]
        assert first == {"source_labels": [RUN_META_LABEL], "regex": "c0ffee", "action": "keep"}, job["job_name"]


def test_the_logs_dashboard_shows_the_stack_namespace_of_the_run(cluster_overlay):
    objects = RunScope("odin-acceptance", run_id="d00d00").apply(cluster_overlay)
    dashboard = manifests.Manifests(tuple(objects)).dashboard("Logs Overview")
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert queries and all('namespace="odin-acceptance-d00d00"' in q for q in queries), queries
    assert not any('"monitoring"' in q for q in queries)


def test_the_fast_profile_scales_the_deployed_configs_as_the_local_target_does(cluster_overlay):
    fast = for_profile(cluster_overlay, PROFILES["fast"])
    data = {o["metadata"]["name"]: o.get("data", {}) for o in fast if o["kind"] == "ConfigMap"}
    rules = yaml.safe_load(data["prometheus-alert-rules"]["alert-rules.yml"])
    gpu = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "GPUHighTemperature")
    assert gpu["for"] == "4s" and "> 80" in gpu["expr"], "durations divided, thresholds untouched"
    route = yaml.safe_load(data["alertmanager-config"]["alertmanager.yml"])["route"]
    assert route["group_wait"] == "333ms"
    [prometheus] = [o for o in fast if o["kind"] == "Deployment" and o["metadata"]["name"] == "prometheus"]
    assert "--rules.alert.resend-delay=2s" in prometheus["spec"]["template"]["spec"]["containers"][0]["args"]
    assert for_profile(cluster_overlay, PROFILES["real"]) == cluster_overlay


class _Cluster:
    """The two calls `remove` makes, over objects held in a dict (kind, name) -> object."""

    def __init__(self, objects: dict[tuple[str, str], dict]) -> None:
        self.objects, self.deleted = objects, []
        self.namespace = "odin-acceptance-a1b2c3"

    def at(self, namespace: str) -> _Cluster:
        return self

    def cluster_object(self, kind: str, name: str) -> dict | None:
        return self.objects.get((kind, name))

    def delete_cluster_object(self, kind: str, name: str) -> None:
        self.deleted.append((kind, name))


def _deployment(api: _Cluster, scope: RunScope, applied: list[dict]) -> OverlayDeployment:
    deployment = OverlayDeployment(
        overlay=manifests.OVERLAYS / "cluster",
        manifest_dir=manifests.BASE,
        kubectl=_NoKubectl(),
        api=api,  # type: ignore[arg-type]
        forwarded={},
        grafana_auth=("admin", "x"),
        profile=PROFILES["real"],
        scope=scope,
    )
    deployment.applied = applied
    return deployment


class _NoKubectl:
    namespace = "odin-acceptance"

    def at(self, namespace: str) -> _NoKubectl:
        return self


def test_only_what_carries_the_runs_label_is_deleted(cluster_overlay):
    scope = RunScope("odin-acceptance", run_id="a1b2c3")
    applied = scope.apply(cluster_overlay)
    live = {(o["kind"], o["metadata"]["name"]): o for o in applied if o["kind"] in {"Namespace", "ClusterRole"}}
    # A ClusterRoleBinding of that name exists, but another run (or a person) made it.
    foreign = {"metadata": {"name": "odin-acceptance-a1b2c3-promtail", "labels": {RUN_LABEL: "ffffff"}}}
    live[("ClusterRoleBinding", "odin-acceptance-a1b2c3-promtail")] = foreign
    live[("Namespace", "odin-test-1234")] = {"metadata": {"name": "odin-test-1234"}}  # unlabelled
    api = _Cluster(live)
    left = _deployment(api, scope, applied).remove([("Namespace", "odin-test-1234")])
    assert sorted(api.deleted) == [
        ("ClusterRole", "odin-acceptance-a1b2c3-promtail"),
        ("Namespace", "odin-acceptance-a1b2c3"),
    ]
    assert len(left) == 2 and all("not this run's: left alone" in line for line in left), left


@pytest.mark.parametrize(
    ("policy", "failed", "kept"),
    [
        ("never", True, False),
        ("never", False, False),
        ("on-failure", True, True),
        ("on-failure", False, False),
        ("always", False, True),
    ],
)
def test_keep_resources_policy(policy, failed, kept):
    assert policy in KEEP_RESOURCES
    assert keeps_resources(policy, failed) is kept


def test_a_kind_cluster_the_run_did_not_create_is_never_deleted(tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    kind = tmp_path / "kind"
    kind.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    kind.chmod(0o755)
    # A Docker with no containers: this machine's own may run a real cluster of that name.
    docker = tmp_path / "docker"
    docker.write_text("#!/bin/sh\nexit 0\n")
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    cluster = KindCluster.__new__(KindCluster)
    cluster.created_cluster, cluster.keep_cluster, cluster.keep_resources = False, False, "never"
    cluster.left_behind = []
    cluster.stop(failed=False)
    assert not calls.exists() or "delete" not in calls.read_text(), "a kind cluster it found was deleted"
    cluster.created_cluster = True
    cluster.stop(failed=True)
    assert "delete cluster --name odin-acceptance" in calls.read_text()
    calls.unlink()
    cluster.keep_resources = "on-failure"
    cluster.stop(failed=True)
    assert not calls.exists(), "--keep-resources=on-failure kept nothing of a failed run"
    assert cluster.left_behind == ["kind cluster odin-acceptance kept: kind delete cluster --name odin-acceptance"]


def test_the_nightly_and_tox_pass_the_cluster_settings_through():
    tox = (Path(__file__).resolve().parent.parent / "tox.ini").read_text()
    assert "KUBECONFIG" in tox and "DOCKER_HOST" in tox


def _feature_dashboard(name: str) -> PlanDashboard:
    """The dashboard table of a feature's Background, as the step reads it."""
    feature = FeatureParser(str(FEATURES), name).parse()
    [step] = [s for s in feature.background.steps if s.datatable is not None]
    rows = [[cell.value for cell in row.cells] for row in step.datatable.rows]
    return PlanDashboard(step.name.split('"')[1], tuple(Panel(*row) for row in rows[1:]))


class _RecordingLoki:
    """Answers every query with one series and keeps what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def query_range(self, expr: str, **_: object) -> dict:
        self.asked.append(expr)
        return {"result": [{"stream": {}}]}


def test_the_dashboard_scenario_asks_loki_for_the_runs_namespace_on_a_cluster(tmp_path):
    """On kind and cluster the stack runs in the run's namespace and Promtail keeps only the
    run's pods: "Every panel of the logs dashboard has data" must send the queries as the run
    deployed them, not the plan's literal `{namespace="monitoring"}` (which can only time out)."""
    target = offline_target(ClusterTarget, tmp_path)
    deployment = target.stack.deployment
    deployment.applied = deployment.objects()  # what deploy() applies, rendered without a cluster
    plan = _feature_dashboard("logs_dashboard.feature")
    loki = _RecordingLoki()
    logs = SimpleNamespace(target=target, loki=loki)  # the two things the verdict reads of the pipeline
    evidence = ScenarioEvidence(EvidenceLog(), "Every panel of the logs dashboard has data")
    log_verdicts.dashboard_has_data(logs, evidence, plan)  # type: ignore[arg-type]
    run_namespace = target.stack.scope.namespace
    assert run_namespace.startswith("odin-acceptance-")
    assert loki.asked == [
        f'{{namespace="{run_namespace}"}}',
        f'sum(rate({{namespace="{run_namespace}"}}[5m])) by (pod)',
    ], "the plan's queries, in the run's namespace"
