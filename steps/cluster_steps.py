"""Steps that need a Kubernetes cluster: nodes, DaemonSets, Grafana, node-level stress."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

from pytest_bdd import parsers, then, when

from fixtures import cluster_checks, links, manifests, timeouts
from fixtures.alerting import AlertPipeline, Stimulus
from fixtures.evidence import ScenarioEvidence
from fixtures.logs import LogPipeline
from fixtures.phrases import seconds
from fixtures.polling import eventually
from fixtures.prometheus_api import RuleAlert
from fixtures.targets.kubernetes import instrument_pod
from fixtures.timing import TimingProfile, delivery_window


@then("every node runs exactly one ready Promtail, the control plane included")
def promtail_on_every_node(logs: LogPipeline, scenario_evidence: ScenarioEvidence) -> None:
    k = logs.target.kubernetes()
    # Judged once the DaemonSet controller has placed and readied every pod it wants: a
    # node it leaves out (an untolerated taint) is then a result, not something to wait for.
    eventually(
        lambda: cluster_checks.daemonset_settled(k, "promtail"),
        timeout=timeouts.ROLLOUT,
        what="the Promtail DaemonSet to settle",
    )
    per_node = cluster_checks.promtail_per_node(k)
    wrong = {n: c for n, c in per_node.items() if c != 1}
    assert not wrong, (
        f"nodes without exactly one ready Promtail (node: count): {wrong} of {len(per_node)} nodes; "
        "a node without Promtail usually carries a taint the DaemonSet does not tolerate"
    )
    nodes = len(per_node)
    scenario_evidence.record("nodes with one ready Promtail", nodes, "nodes", low=float(nodes))


@then("every Deployment, StatefulSet and DaemonSet of the stack has all its replicas ready")
def workloads_ready(logs: LogPipeline) -> None:
    behind = cluster_checks.unready_workloads(logs.target.kubernetes())
    assert not behind, f"workloads not fully ready: {behind}"


@then("every Service of the stack has a ready endpoint for each of its ports")
def services_have_endpoints(logs: LogPipeline) -> None:
    k = logs.target.kubernetes()
    eventually(
        lambda: _none(cluster_checks.services_without_endpoints(k), "Services without endpoints"),
        timeout=timeouts.ROLLOUT,
        what="a ready endpoint behind every Service port",
        hint="a Service whose selector or targetPort matches no container port of its pods",
    )


def _none(problems: dict[str, str], what: str) -> None:
    assert not problems, f"{what}: {problems}"


# Where a permission is asked: a namespace the stack does not own stands for the rest of the cluster.
SCOPES = {"in every namespace": None, "in its own namespace": "", "in another namespace": "kube-system"}


@then(
    parsers.re(
        r'the "(?P<account>[^"]+)" service account (?P<may>may|may not) '
        r'"(?P<verb>[^"]+)" "(?P<resource>[^"]+)" (?P<scope>in .+)'
    )
)
def service_account_may(logs: LogPipeline, account: str, may: str, verb: str, resource: str, scope: str) -> None:
    k = logs.target.kubernetes()
    expected = {"may": True, "may not": False}[may]
    namespace = SCOPES[scope] if SCOPES[scope] != "" else k.namespace
    allowed = k.can_i(verb, resource, as_user=f"system:serviceaccount:{k.namespace}:{account}", namespace=namespace)
    assert allowed == expected, (
        f"service account {account!r} {'may' if allowed else 'may not'} {verb} {resource} {scope}; "
        f"it needs to be {'allowed' if expected else 'denied'} (see its role in the manifests)"
    )


@then(parsers.parse("every node has a log stream in Loki within {limit:d} seconds"))
def stream_per_node(logs: LogPipeline, limit: int) -> None:
    nodes = {n["metadata"]["name"] for n in logs.target.kubernetes().nodes()}

    def covered() -> None:
        seen = {s.get("node") for s in logs.loki.series('{node=~".+"}', since=900)}
        assert nodes <= seen, f"nodes without a log stream: {sorted(nodes - seen)}"

    eventually(covered, timeout=float(limit), what="a log stream from every node", needs=(links.LOGS,))


# -- CPU stress ------------------------------------------------------------------------


@dataclass(frozen=True)
class StressedNode:
    node: str
    instance: str  # the node-exporter target, the label HighCPUUsage carries
    started_at: float


@when(parsers.parse("every core of a worker node is kept busy for {duration}"), target_fixture="stressed")
def stress_worker(pipeline: AlertPipeline, run_id: str, duration: str) -> Iterator[StressedNode]:
    k = pipeline.target.kubernetes()
    nodes = k.nodes()
    workers = [n for n in nodes if "node-role.kubernetes.io/control-plane" not in n["metadata"]["labels"]]
    node = (workers or nodes)[0]
    name = node["metadata"]["name"]
    cpus = node["status"]["capacity"]["cpu"]
    exporter = next(p for p in k.pods("-l", "app=node-exporter") if p["spec"].get("nodeName") == name)
    pod = instrument_pod(
        k.namespace,
        f"cpu-stress-{run_id}",
        "cpu_stress.py",
        ["--cpus", str(cpus), "--seconds", str(seconds(duration))],
        node=name,
    )
    k.apply(json.dumps(pod))
    yield StressedNode(name, f"{exporter['status']['podIP']}:9100", time.time())
    k.run("delete", "pod", pod["metadata"]["name"], "--ignore-not-found", "--wait=false")


@then(parsers.parse('"{alert}" fires for that node once {load} of full load have passed'), target_fixture="cpu_alert")
def cpu_alert_fires(
    pipeline: AlertPipeline,
    stressed: StressedNode,
    timing_profile: TimingProfile,
    scenario_evidence: ScenarioEvidence,
    alert: str,
    load: str,
) -> RuleAlert:
    needed = timing_profile.scale(seconds(load))
    slack = pipeline.scrape_interval("node-exporter") + pipeline.evaluation_interval(alert) + timeouts.DELIVERY_SLACK
    stimulus = Stimulus(f"every core of {stressed.node} busy", {"instance": stressed.instance}, stressed.started_at)
    window = delivery_window(scrape=0, evaluation=pipeline.evaluation_interval(alert), for_=needed, group_wait=0)
    fired = pipeline.wait_firing(alert, stimulus, window)
    took = fired.observed_firing_at - stressed.started_at
    scenario_evidence.record(
        "load start → firing",
        took,
        "s",
        low=needed - slack,
        high=needed + 2 * slack,
        fails=f"{alert} fired {took:.0f} s after the load started; the rate window and hold need {needed:.0f} s "
        f"(± {slack:.0f} s of scrape and evaluation)",
    )
    return next(a for a in pipeline.rule_alerts(alert, stimulus.labels) if a.state == "firing")


@then(parsers.parse('receiver "{receiver}" is told about "{alert}" for that node, with a group wait of {wait}'))
def cpu_alert_delivered(
    pipeline: AlertPipeline,
    stressed: StressedNode,
    cpu_alert: RuleAlert,
    timing_profile: TimingProfile,
    receiver: str,
    alert: str,
    wait: str,
) -> None:
    deadline = timing_profile.scale(seconds(wait)) + timeouts.DELIVERY_SLACK + pipeline.evaluation_interval(alert)
    pipeline.wait_delivery(
        receiver,
        {"alertname": alert, "instance": stressed.instance},
        since=cpu_alert.active_at,
        deadline=time.time() - cpu_alert.active_at + deadline,
        what=f"{receiver!r} to be told about {alert} on {stressed.node}",
    )


# -- Grafana ---------------------------------------------------------------------------


def _grafana(logs: LogPipeline):
    grafana = logs.target.endpoints.grafana
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
def grafana_answers(logs: LogPipeline, manifest_dir, title: str) -> None:
    grafana = _grafana(logs)
    source = grafana.get_json("/api/datasources/name/Loki")
    objs = manifests.load(manifest_dir)
    dashboard = next(
        json.loads(text)
        for cm in objs.of_kind("ConfigMap")
        for key, text in (cm.get("data") or {}).items()
        if key.endswith(".json") and json.loads(text).get("title") == title
    )
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            body = {
                "from": "now-1h",
                "to": "now",
                "queries": [
                    {
                        "refId": target["refId"],
                        "expr": target["expr"],
                        "queryType": "range",
                        "datasource": {"uid": source["uid"], "type": "loki"},
                    }
                ],
            }
            answer = grafana.post_json("/api/ds/query", body)
            frames = answer["results"][target["refId"]].get("frames", [])
            assert frames, f"Grafana returned no data for panel {panel['title']!r}: {target['expr']}"
