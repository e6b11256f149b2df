"""What the suite reads from a Kubernetes API, through the `kubernetes` client.

Answers come back as the API's own JSON (the shapes of `kubectl get -o json`), not as the
client's model objects: the checks read a handful of fields, the diagnostics print them as
they are, and deserialising a thousand Node models costs more than the request itself.

Which errors mean "not yet" (429, 5xx, a refused or reset connection) and which are
answers (every other 4xx) is decided in `odin_acceptance.core.polling.is_transient`, so a wait on
cluster state rides out an API server that is busy or restarting.

Writes stay with kubectl (`odin_acceptance.clients.kubectl`): the suite applies what kustomize renders,
and a failed apply quotes a command that can be pasted into a terminal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from odin_acceptance.core import timeouts

if TYPE_CHECKING:  # the client itself is imported at the first request: loading the suite never costs it
    from kubernetes import client

Obj = dict[str, Any]
# kind -> the AppsV1Api method suffix (read_namespaced_<…>, list_namespaced_<…>).
WORKLOAD_KINDS = {"deployment": "deployment", "statefulset": "stateful_set", "daemonset": "daemon_set"}
# resourceVersion "0": the API server answers a list from its watch cache as it stands, with
# no wait for the cache to catch up with etcd (fresh to within its watch's delay, which a
# poll rides out). What a wait polls reads this way; a one-off read that must see what was
# just written leaves it out (a consistent list, which 1.31+ also serves from the cache once
# it has caught up).
FROM_WATCH_CACHE = "0"
# A list as the API server's own table, what `kubectl get` prints, with includeObject=None:
# a row of cells per object (name, ready containers, node, ...) and no object at all, so a
# 5,000-pod answer is a few hundred kilobytes, not tens of megabytes of specs, statuses
# and managedFields. Plain JSON is accepted too, so a server or proxy without tables answers
# with a list, which `table` names, rather than a bare 406.
TABLE = "application/json;as=Table;g=meta.k8s.io;v=v1, application/json"
WORKLOAD_KIND_NAMES = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet"}


def _client() -> Any:
    """The `kubernetes.client` module, imported on first use (it takes about 0.3 s)."""
    from kubernetes import client

    return client


@cache
def _counting_client_class() -> type:
    """An ApiClient that appends "GET /api/v1/nodes" for every request it sends: how the
    scale benchmark counts API calls per check. `call_api` is the client's one way out."""

    class CountingApiClient(_client().ApiClient):
        def __init__(self, configuration: client.Configuration, sent: list[str]) -> None:
            super().__init__(configuration)
            self.sent = sent

        def call_api(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            host = self.configuration.host
            self.sent.append(f"{method} {url.removeprefix(host).split('?')[0]}")
            return super().call_api(method, url, *args, **kwargs)

    return CountingApiClient


@dataclass
class KubeApi:
    """One cluster (kubeconfig file and context, None for the defaults) seen from one namespace.

    The kubeconfig is read at the first request: a kind target names its context before
    the cluster exists.
    """

    kubeconfig: str | None
    context: str | None
    namespace: str
    # When a list is given, every request sent is appended to it (the counting client).
    sent: list[str] | None = field(default=None, compare=False)
    # The ApiClient ("client") and the bytes received ("received"), shared with `at`'s views.
    _shared: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def at(self, namespace: str) -> KubeApi:
        """The same cluster, connection and counter, another namespace."""
        return KubeApi(self.kubeconfig, self.context, namespace, self.sent, self._shared)

    @property
    def api_client(self) -> client.ApiClient:
        if "client" not in self._shared:
            from kubernetes import client, config

            configuration = client.Configuration()
            config.load_kube_config(
                config_file=self.kubeconfig, context=self.context, client_configuration=configuration
            )
            # Retrying is the waits' job (odin_acceptance.core.polling): a request fails once, quickly.
            configuration.retries = False
            self._shared["client"] = (
                _counting_client_class()(configuration, self.sent)
                if self.sent is not None
                else client.ApiClient(configuration)
            )
        return self._shared["client"]

    @cached_property
    def core(self) -> client.CoreV1Api:
        return _client().CoreV1Api(self.api_client)

    @cached_property
    def apps(self) -> client.AppsV1Api:
        return _client().AppsV1Api(self.api_client)

    @cached_property
    def discovery(self) -> client.DiscoveryV1Api:
        return _client().DiscoveryV1Api(self.api_client)

    @cached_property
    def authorization(self) -> client.AuthorizationV1Api:
        return _client().AuthorizationV1Api(self.api_client)

    @cached_property
    def rbac(self) -> client.RbacAuthorizationV1Api:
        return _client().RbacAuthorizationV1Api(self.api_client)

    def _cluster_scoped(self, kind: str, verb: str) -> Any:
        methods = {
            "Namespace": (self.core, "namespace"),
            "ClusterRole": (self.rbac, "cluster_role"),
            "ClusterRoleBinding": (self.rbac, "cluster_role_binding"),
        }
        if kind not in methods:
            raise ValueError(f"no cluster-scoped {kind} in this client (have {sorted(methods)})")
        api, name = methods[kind]
        return getattr(api, f"{verb}_{name}")

    def _raw(self, method: Any, *args: Any, **kwargs: Any) -> bytes:
        """The body of one request of a typed API method, undeserialised."""
        return self._received(
            method(*args, _preload_content=False, _request_timeout=timeouts.KUBE_REQUEST, **kwargs).data
        )

    def _received(self, body: bytes) -> bytes:
        self._shared["received"] = self.received_bytes + len(body)
        return body

    @property
    def received_bytes(self) -> int:
        """Bytes of the response bodies read so far through this client (and its `at`s)."""
        return self._shared.get("received", 0)

    def _json(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        return json.loads(self._raw(method, *args, **kwargs))

    # -- reads -------------------------------------------------------------------------

    def server_version(self) -> str:
        return _client().VersionApi(self.api_client).get_code(_request_timeout=timeouts.KUBE_REQUEST).git_version

    def ready(self) -> bool:
        """The API server's /readyz says ok (it serves before its controllers are set up)."""
        response = self.api_client.call_api(
            "GET", f"{self.api_client.configuration.host}/readyz", _request_timeout=timeouts.KUBE_REQUEST
        )
        response.read()
        return response.status == 200

    def nodes(self) -> list[Obj]:
        return self._json(self.core.list_node)["items"]

    def table(self, path: str, *, from_cache: bool = True, **query: str) -> list[dict[str, str]]:
        """One list of `path` ("/api/v1/nodes") as the API server's table: a dict of column
        name -> cell per row, no objects (TABLE). `from_cache`: as the watch cache stands
        (FROM_WATCH_CACHE), else consistent with etcd. `query`: more parameters
        (labelSelector, fieldSelector)."""
        client = self.api_client
        params = [("includeObject", "None"), *query.items()]
        if from_cache:
            params.append(("resourceVersion", FROM_WATCH_CACHE))
        method, url, headers, _, _ = client.param_serialize(
            "GET", path, query_params=params, header_params={"Accept": TABLE}, auth_settings=["BearerToken"]
        )
        response = client.call_api(method, url, header_params=headers, _request_timeout=timeouts.KUBE_REQUEST)
        body = response.read()
        if not 200 <= response.status < 300:
            # As the typed methods raise it: 429 and 5xx are "not yet" to a wait, the rest answers.
            raise _client().ApiException.from_response(
                http_resp=response, body=body.decode(errors="replace"), data=None
            )
        self._received(body)
        listed = json.loads(body)
        if listed.get("kind") != "Table":
            raise ValueError(f"GET {path} as a Table answered a {listed.get('kind')}")
        columns = [c["name"] for c in listed["columnDefinitions"]]
        return [dict(zip(columns, row["cells"], strict=True)) for row in listed.get("rows") or []]

    def node_readiness(
        self, selector: str | None = None, *, schedulable_only: bool = False, from_cache: bool = True
    ) -> dict[str, bool]:
        """Node name -> whether its Ready condition is True, for the nodes matching a label
        selector, `schedulable_only`: not cordoned (one request of a table whatever the
        cluster's size; `from_cache` as for `table`)."""
        selected = {"fieldSelector": "spec.unschedulable=false"} if schedulable_only else {}
        if selector:
            selected["labelSelector"] = selector
        rows = self.table("/api/v1/nodes", from_cache=from_cache, **selected)
        # The Status cell: "Ready", "NotReady" (Ready False or Unknown), then ",SchedulingDisabled" if cordoned.
        return {row["Name"]: row["Status"].split(",")[0] == "Ready" for row in rows}

    def node_names(self, selector: str | None = None, *, from_cache: bool = True) -> list[str]:
        """The names of the nodes matching a label selector (one request of a table)."""
        return list(self.node_readiness(selector, from_cache=from_cache))

    def pod_rows(self, selector: str, *, from_cache: bool = True) -> list[dict[str, str]]:
        """The namespace's pods matching a label selector as table rows: Name, Ready ("1/1"),
        Status, IP, Node, Readiness Gates, ... (one request whatever their number)."""
        return self.table(f"/api/v1/namespaces/{self.namespace}/pods", from_cache=from_cache, labelSelector=selector)

    def pods(self, selector: str | None = None, *, all_namespaces: bool = False) -> list[Obj]:
        if all_namespaces:
            return self._json(self.core.list_pod_for_all_namespaces, label_selector=selector)["items"]
        return self._json(self.core.list_namespaced_pod, self.namespace, label_selector=selector)["items"]

    def pod(self, name: str) -> Obj:
        return self._json(self.core.read_namespaced_pod, name, self.namespace)

    def workload(self, kind: str, name: str) -> Obj:
        """A Deployment, StatefulSet or DaemonSet by kind ("deployment", …) and name."""
        read = getattr(self.apps, f"read_namespaced_{WORKLOAD_KINDS[kind]}")
        return self._json(read, name, self.namespace)

    def workloads(self) -> list[Obj]:
        """Every Deployment, StatefulSet and DaemonSet of the namespace (three list calls)."""
        out = []
        for kind, method in WORKLOAD_KINDS.items():
            listed = self._json(getattr(self.apps, f"list_namespaced_{method}"), self.namespace)["items"]
            # A list's items carry no kind: name it, as kubectl does.
            out += [{**item, "kind": WORKLOAD_KIND_NAMES[kind]} for item in listed]
        return out

    def services(self) -> list[Obj]:
        return self._json(self.core.list_namespaced_service, self.namespace)["items"]

    def endpoint_slices(self) -> list[Obj]:
        return self._json(self.discovery.list_namespaced_endpoint_slice, self.namespace)["items"]

    def events(self) -> list[Obj]:
        return self._json(self.core.list_namespaced_event, self.namespace)["items"]

    def configmap_data(self, name: str) -> dict[str, str]:
        return self._json(self.core.read_namespaced_config_map, name, self.namespace).get("data") or {}

    def pod_log(
        self, pod: str, container: str | None = None, *, tail: int | None = None, timestamps: bool = False
    ) -> str:
        read = self.core.read_namespaced_pod_log
        body = self._raw(read, pod, self.namespace, container=container, tail_lines=tail, timestamps=timestamps)
        return body.decode(errors="replace")

    def pod_proxy_get(self, pod: str, port: int, path: str) -> str:
        """GET `path` of a pod's port through the API server's proxy (no port-forward per pod)."""
        proxy = self.core.connect_get_namespaced_pod_proxy_with_path
        return self._raw(proxy, f"{pod}:{port}", self.namespace, path.lstrip("/")).decode(errors="replace")

    def can_i(self, verb: str, resource: str, *, as_user: str, namespace: str | None = None) -> bool:
        """What the API server's authorizer answers for `as_user` doing `verb` on `resource`
        in `namespace` (None: across all namespaces): a SubjectAccessReview, what
        `kubectl auth can-i --as` sends."""
        # "pods", "deployments.apps", "pods/log": kubectl's resource[.group][/subresource].
        resource_and_group, _, subresource = resource.partition("/")
        plural, _, group = resource_and_group.partition(".")
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": as_user,
                "groups": _service_account_groups(as_user),
                "resourceAttributes": {
                    "verb": verb,
                    "resource": plural,
                    "subresource": subresource,
                    "group": group,
                    "namespace": namespace or "",
                },
            },
        }
        answer = self._json(self.authorization.create_subject_access_review, review)
        return bool(answer.get("status", {}).get("allowed"))

    def cluster_object(self, kind: str, name: str) -> Obj | None:
        """A Namespace, ClusterRole or ClusterRoleBinding, or None if there is none."""
        try:
            return self._json(self._cluster_scoped(kind, "read"), name)
        except _client().ApiException as exc:
            if exc.status == 404:
                return None
            raise

    # -- deletes (idempotent; nothing to paste when one fails) ---------------------------

    def delete_cluster_object(self, kind: str, name: str) -> None:
        """Delete a Namespace, ClusterRole or ClusterRoleBinding without waiting for it to go."""
        try:
            self._cluster_scoped(kind, "delete")(name, _request_timeout=timeouts.KUBE_REQUEST)
        except _client().ApiException as exc:
            if exc.status != 404:
                raise

    def delete_pod(self, name: str) -> None:
        try:
            self.core.delete_namespaced_pod(name, self.namespace, _request_timeout=timeouts.KUBE_REQUEST)
        except _client().ApiException as exc:
            if exc.status != 404:
                raise


def _service_account_groups(user: str) -> list[str]:
    # Impersonating a service account gives it these groups too (kubectl auth can-i --as
    # does the same); a RoleBinding to a group must count.
    if not user.startswith("system:serviceaccount:"):
        return []
    namespace = user.split(":")[2]
    return ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]


def row_is_ready(row: dict[str, str]) -> bool:
    """What a pod's table row says of its readiness: every container ready ("2/2") and every
    readiness gate met ("<none>" or "1/1"). Not all of the Ready condition: when its node
    stops reporting, the node controller turns the pods' Ready condition False and leaves
    the containers' flags as they were, so a check must also ask whether the node is Ready."""

    def all_of(cell: str) -> bool:
        ready, _, total = cell.partition("/")
        return ready.isdigit() and total.isdigit() and int(total) > 0 and ready == total

    gates = row.get("Readiness Gates", "<none>")
    return all_of(row["Ready"]) and (gates == "<none>" or all_of(gates))


def is_ready(obj: dict[str, Any]) -> bool:
    """A pod's or a node's Ready condition is True."""
    return any(c["type"] == "Ready" and c["status"] == "True" for c in obj["status"].get("conditions", []))
