"""Steps that need a Kubernetes cluster: nodes, DaemonSets, Services, RBAC, pod discovery, Grafana."""

from __future__ import annotations

from collections.abc import Iterator

from pytest_bdd import given, parsers, then

from odin_acceptance.clients import grafana_dashboards
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.pipelines import discovery_probe
from odin_acceptance.pipelines.discovery_probe import Discovered, ProbePods
from odin_acceptance.pipelines.log_path import LogPipeline
from odin_acceptance.verdicts import cluster_checks


@then("every node runs exactly one ready Promtail, the control plane included")
def promtail_on_every_node(logs: LogPipeline, scenario_evidence: ScenarioEvidence) -> None:
    per_node = cluster_checks.settled_promtail_per_node(logs.target.cluster.kubernetes())
    wrong = {node: count for node, count in per_node.items() if count != 1}
    shown = dict(sorted(wrong.items())[:10])
    scenario_evidence.record(
        "nodes with one ready Promtail",
        len(per_node) - len(wrong),
        "nodes",
        low=float(len(per_node)),
        fails=f"{len(wrong)} of {len(per_node)} nodes without exactly one ready Promtail (node: count): {shown}; "
        "a node without Promtail usually carries a taint the DaemonSet does not tolerate",
    )


@then("every Deployment, StatefulSet and DaemonSet of the stack has all its replicas ready")
def workloads_ready(logs: LogPipeline) -> None:
    behind = cluster_checks.unready_workloads(logs.target.cluster.kubernetes())
    assert not behind, f"workloads not fully ready: {behind}"


@then("every Service of the stack has a ready endpoint for each of its ports")
def services_have_endpoints(logs: LogPipeline) -> None:
    cluster_checks.every_service_has_endpoints(logs.target.cluster.kubernetes())


# Where a permission is asked: a namespace the stack does not own stands for the rest of the cluster.
SCOPES = {"in every namespace": None, "in its own namespace": "", "in another namespace": "kube-system"}


@then(
    parsers.re(
        r'the "(?P<account>[^"]+)" service account (?P<may>may|may not) '
        r'"(?P<verb>[^"]+)" "(?P<resource>[^"]+)" (?P<scope>in .+)'
    )
)
def service_account_may(logs: LogPipeline, account: str, may: str, verb: str, resource: str, scope: str) -> None:
    k = logs.target.cluster.kubernetes()
    expected = {"may": True, "may not": False}[may]
    namespace = SCOPES[scope] if SCOPES[scope] != "" else k.namespace
    allowed = k.can_i(verb, resource, as_user=f"system:serviceaccount:{k.namespace}:{account}", namespace=namespace)
    assert allowed == expected, (
        f"service account {account!r} {'may' if allowed else 'may not'} {verb} {resource} {scope}; "
        f"it needs to be {'allowed' if expected else 'denied'} (see its role in the manifests)"
    )


@then(parsers.parse("every node has a log stream in Loki within {limit:d} seconds"))
def stream_per_node(logs: LogPipeline, limit: int) -> None:
    nodes = {n["metadata"]["name"] for n in logs.target.cluster.kubernetes().nodes()}
    logs.await_stream_per_node(nodes, timeout=float(limit))


# -- Grafana ---------------------------------------------------------------------------


def _grafana(logs: LogPipeline):
    grafana = logs.target.stack.endpoints.grafana
    assert grafana is not None, f"no Grafana on the {logs.target.name} target"
    return grafana


@then(parsers.parse('Grafana reports the "{name}" datasource healthy'))
def grafana_datasource(logs: LogPipeline, name: str) -> None:
    grafana = _grafana(logs)
    source = grafana.get_json(f"/api/datasources/name/{name}")
    health = grafana.get_json(f"/api/datasources/uid/{source['uid']}/health")
    assert health.get("status") == "OK", f"Grafana's {name} datasource: {health}"


@then(parsers.parse('Grafana has the "{title}" dashboard'))
def grafana_dashboard(logs: LogPipeline, title: str) -> None:
    found = _grafana(logs).get_json("/api/search", query=title)
    assert any(d.get("title") == title for d in found), f"Grafana has no dashboard {title!r}: {found}"


@then(parsers.parse('Grafana answers every query of the "{title}" dashboard with data'))
def grafana_answers(logs: LogPipeline, title: str) -> None:
    # The dashboard Grafana was provisioned with (on a shared cluster its queries name the run's
    # namespace); its panels are held to the plan's in log_steps.
    dashboard = logs.target.stack.deployed_dashboard(title)
    empty = grafana_dashboards.panels_without_data(_grafana(logs), dashboard, datasource="Loki")
    assert not empty, f"Grafana returned no data for these panels of {title!r}: {empty}"


@given(
    "a pod like the stack's node-exporter, its labels and metrics port included, runs in another namespace",
    target_fixture="probes",
)
def look_alike_elsewhere(logs: LogPipeline, run_id: str) -> Iterator[ProbePods]:
    with logs.target.cluster.discovery_probes(run_id) as probes:
        yield probes


@then("Prometheus's pod discovery scrapes every node-exporter pod of the stack's namespace", target_fixture="seen")
def discovery_keeps_own(logs: LogPipeline, probes: ProbePods, scenario_evidence: ScenarioEvidence) -> Discovered:
    seen = discovery_probe.caught_up(logs.target.cluster.pod_discovery(), probes)
    exporters = {
        (probes.namespace, p["metadata"]["name"]) for p in logs.target.cluster.kubernetes().pods("app=node-exporter")
    }
    kept = seen.kept.get("node-exporter", set())
    why = f"the node-exporter job scrapes {sorted(kept)}, not every one of the stack's {sorted(exporters)}"
    scraped = len(kept & exporters)
    scenario_evidence.record("stack's node-exporter pods scraped", scraped, "pods", low=len(exporters), fails=why)
    return seen


@then("it discovers no pod of any other namespace, the look-alike included")
def discovery_stays_home(
    logs: LogPipeline, probes: ProbePods, seen: Discovered, scenario_evidence: ScenarioEvidence
) -> None:
    elsewhere = discovery_probe.outside(seen, probes.namespace)
    why = f"Prometheus discovers pods of other namespaces: {sorted(elsewhere)[:5]}"
    scenario_evidence.record("pods discovered outside the stack's namespace", len(elsewhere), "pods", high=0, fails=why)
    discovery_probe.stays_in(logs.target.cluster.pod_discovery(), probes.namespace)
