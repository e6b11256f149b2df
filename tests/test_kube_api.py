"""The kubernetes client as the suite uses it, against an HTTP server on 127.0.0.1 that
answers as an API server would (status codes and JSON of the Kubernetes API).

What is proven: a busy (429) or failing (5xx) API server is "not yet" for a wait, every
other 4xx is an answer; requests are counted by the client's own hook; an access check is
the SubjectAccessReview kubectl sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from odin_acceptance.clients.kube_api import KubeApi, row_is_ready
from odin_acceptance.core.polling import Poll, WaitTimeout, eventually
from odin_acceptance.verdicts.cluster_checks import promtail_per_node
from tests.scripted_server import NOT_FOUND, ScriptedServer, serving

NODE_LIST = {"kind": "NodeList", "apiVersion": "v1", "items": [{"metadata": {"name": "odin-worker"}}]}


@pytest.fixture
def api_server(request: pytest.FixtureRequest) -> Iterator[ScriptedServer]:
    with serving(request.param) as server:
        yield server


def _kubeconfig(tmp_path: Path, server: str) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "ctx",
            }
        )
    )
    return str(path)


def _api(tmp_path: Path, server: ScriptedServer, sent: list[str] | None = None) -> KubeApi:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    return KubeApi(_kubeconfig(tmp_path, url), "ctx", "monitoring", sent)


TOO_MANY = (429, {"kind": "Status", "code": 429, "reason": "TooManyRequests"})
UNAVAILABLE = (503, {"kind": "Status", "code": 503, "reason": "ServiceUnavailable"})


@pytest.mark.parametrize("api_server", [{"/api/v1/nodes": [TOO_MANY, UNAVAILABLE, (200, NODE_LIST)]}], indirect=True)
def test_a_busy_or_failing_api_server_is_retried_until_it_answers(tmp_path: Path, api_server: ScriptedServer) -> None:
    api = _api(tmp_path, api_server)
    nodes = eventually(api.nodes, timeout=10, what="the node list", poll=Poll(interval=0.01))
    assert [n["metadata"]["name"] for n in nodes] == ["odin-worker"]
    assert [path for _, path, _ in api_server.seen] == ["/api/v1/nodes"] * 3, "429, then 503, then 200"


@pytest.mark.parametrize("api_server", [{"/api/v1/namespaces/monitoring/pods/gone": [NOT_FOUND]}], indirect=True)
def test_a_not_found_is_an_answer_not_a_reason_to_wait(tmp_path: Path, api_server: ScriptedServer) -> None:
    api = _api(tmp_path, api_server)
    with pytest.raises(ApiException) as raised:
        eventually(lambda: api.pod("gone"), timeout=10, what="the pod")
    assert raised.value.status == 404
    assert len(api_server.seen) == 1, "a 404 must not be retried into a timeout"


@pytest.mark.parametrize("api_server", [{"/api/v1/nodes": [UNAVAILABLE]}], indirect=True)
def test_an_api_server_that_stays_unavailable_times_out_saying_what_it_last_answered(
    tmp_path: Path, api_server: ScriptedServer
) -> None:
    api = _api(tmp_path, api_server)
    with pytest.raises(WaitTimeout) as raised:
        eventually(api.nodes, timeout=0.5, what="the node list", poll=Poll(interval=0.05))
    assert "HTTP 503 Service Unavailable" in raised.value.last, raised.value.last
    assert len(api_server.seen) >= 3


def test_a_refused_connection_is_not_yet(tmp_path: Path) -> None:
    server = ScriptedServer({})
    port = server.server_address[1]
    server.server_close()  # nothing listens on the port any more
    api = KubeApi(_kubeconfig(tmp_path, f"http://127.0.0.1:{port}"), "ctx", "monitoring")
    with pytest.raises(WaitTimeout) as raised:
        eventually(api.nodes, timeout=0.5, what="the node list", poll=Poll(interval=0.05))
    assert "refused" in raised.value.last.lower() or "MaxRetryError" in raised.value.last


@pytest.mark.parametrize("api_server", [{"/api/v1/nodes": [(200, NODE_LIST)]}], indirect=True)
def test_requests_are_counted_by_the_clients_hook_across_namespaces(tmp_path: Path, api_server: ScriptedServer) -> None:
    sent: list[str] = []
    api = _api(tmp_path, api_server, sent)
    api.nodes()
    api.at("other").nodes()
    assert sent == ["GET /api/v1/nodes", "GET /api/v1/nodes"]


def _review(body: dict) -> dict:
    attributes = body["spec"]["resourceAttributes"]
    allowed = attributes == {"verb": "list", "resource": "pods", "subresource": "", "group": "", "namespace": ""}
    return {**body, "status": {"allowed": allowed}}


@pytest.mark.parametrize(
    "api_server", [{"/apis/authorization.k8s.io/v1/subjectaccessreviews": [(201, _review)]}], indirect=True
)
def test_an_access_check_is_a_subject_access_review_for_the_service_account(
    tmp_path: Path, api_server: ScriptedServer
) -> None:
    api = _api(tmp_path, api_server)
    as_user = "system:serviceaccount:monitoring:promtail"
    assert api.can_i("list", "pods", as_user=as_user) is True
    assert api.can_i("list", "secrets", as_user=as_user) is False
    method, _, body = api_server.seen[0]
    assert method == "POST"
    assert body["spec"]["user"] == as_user
    assert "system:serviceaccounts:monitoring" in body["spec"]["groups"], "kubectl --as gives the SA's groups too"


def _table(columns: list[str], *rows: list[str]) -> dict:
    """A list as the API server answers it as a Table (meta.k8s.io/v1, includeObject=None)."""
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "columnDefinitions": [
            {"name": c, "type": "string", "format": "", "description": "", "priority": 0} for c in columns
        ],
        "rows": [{"cells": cells} for cells in rows],
    }


NODE_COLUMNS = ["Name", "Status", "Roles", "Age", "Version"]
POD_COLUMNS = ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]
NODES = _table(
    NODE_COLUMNS,
    ["cp", "Ready", "control-plane", "1m", "v1.34.4"],
    ["w1", "Ready", "<none>", "1m", "v1.34.4"],
    ["w2", "NotReady", "<none>", "1m", "v1.34.4"],  # stopped reporting: its pods' Ready condition is False
    ["w3", "Ready", "<none>", "1m", "v1.34.4"],
)
PODS = _table(
    POD_COLUMNS,
    ["p-cp", "1/1", "Running", "0", "1m", "10.0.0.1", "cp", "<none>", "<none>"],
    ["p-w1", "1/1", "Running", "0", "1m", "10.0.0.2", "w1", "<none>", "<none>"],
    ["p-w2", "1/1", "Running", "0", "1m", "10.0.0.3", "w2", "<none>", "<none>"],
    ["p-w3", "0/1", "Running", "0", "1m", "10.0.0.4", "w3", "<none>", "<none>"],
    ["p-gone", "1/1", "Running", "0", "1m", "10.0.0.5", "cordoned", "<none>", "<none>"],
)


@pytest.mark.parametrize(
    "api_server",
    [{"/api/v1/nodes": [UNAVAILABLE, (200, NODES)], "/api/v1/namespaces/monitoring/pods": [(200, PODS)]}],
    indirect=True,
)
def test_the_per_node_check_reads_two_tables_and_counts_no_pod_of_a_node_that_is_not_ready(
    tmp_path: Path, api_server: ScriptedServer
) -> None:
    sent: list[str] = []
    api = _api(tmp_path, api_server, sent)
    counts = eventually(lambda: promtail_per_node(api), timeout=10, what="the check", poll=Poll(interval=0.01))
    assert counts == {"cp": 1, "w1": 1, "w2": 0, "w3": 0}, "w2 is NotReady, w3's pod is not ready"
    assert sent == ["GET /api/v1/nodes"] * 2 + ["GET /api/v1/namespaces/monitoring/pods"], "a 503 is not yet"
    (nodes_path, sent_headers), (pods_path, _) = api_server.sent_raw[1:]
    headers = {name.lower(): value for name, value in sent_headers.items()}  # names are case-blind
    assert headers["authorization"] == "Bearer t", "the kubeconfig's token goes with a table request too"
    assert headers["accept"].startswith("application/json;as=Table;g=meta.k8s.io;v=v1")
    assert "fieldSelector=spec.unschedulable%3Dfalse" in nodes_path and "resourceVersion=0" in nodes_path
    assert "includeObject=None" in pods_path and "labelSelector=app%3Dpromtail" in pods_path
    assert api.received_bytes > 0
    promtail_per_node(api, from_cache=False)
    assert "resourceVersion" not in api_server.sent_raw[-1][0], "a consistent read names no resourceVersion"


@pytest.mark.parametrize("api_server", [{"/api/v1/nodes": [(403, {"kind": "Status", "code": 403})]}], indirect=True)
def test_a_forbidden_table_is_an_answer(tmp_path: Path, api_server: ScriptedServer) -> None:
    api = _api(tmp_path, api_server)
    with pytest.raises(ApiException) as raised:
        eventually(api.node_names, timeout=10, what="the node names")
    assert raised.value.status == 403 and len(api_server.seen) == 1


@pytest.mark.parametrize("api_server", [{"/api/v1/nodes": [(200, NODE_LIST)]}], indirect=True)
def test_a_server_answering_a_list_instead_of_a_table_says_so(tmp_path: Path, api_server: ScriptedServer) -> None:
    with pytest.raises(ValueError, match="as a Table answered a NodeList"):
        _api(tmp_path, api_server).node_names()


@pytest.mark.parametrize(
    ("ready", "gates", "counted"),
    [
        ("1/1", "<none>", True),
        ("2/2", "1/1", True),
        ("1/2", "<none>", False),
        ("0/1", "<none>", False),
        ("1/1", "0/1", False),
        ("0/0", "<none>", False),
    ],
)
def test_a_pod_row_is_ready_when_every_container_and_gate_is(ready: str, gates: str, counted: bool) -> None:
    assert row_is_ready({"Ready": ready, "Readiness Gates": gates}) is counted
