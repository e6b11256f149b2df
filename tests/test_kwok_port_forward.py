"""A port-forward outlives its pod: `kubectl port-forward svc/…` as the kind and cluster
targets run it (odin_acceptance.clients.kubectl.PortForward), against the kwok control plane.
The Deployment's pod is simulated by KWOK, its container port served by an HTTP server of
this test; deleting the pod makes the Deployment replace it, as a Loki restarted near its
memory limit is replaced, and the endpoint handed out before must answer again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from odin_acceptance.clients.kube_api import KubeApi
from odin_acceptance.clients.kubectl import PortForward
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import eventually
from odin_acceptance.provisioning import components
from odin_acceptance.provisioning.versions import CONTROL_PLANE
from odin_acceptance.targets.kube_control_plane import ControlPlane, cluster_nodes, port_forward_config
from odin_acceptance.targets.overlay import wait_rolled_out

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("provisioned")]

PORT = 9400  # the container port of the pod, which KWOK connects to the server below


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tools = components.ensure_all(lambda message: None, CONTROL_PLANE)
    control_plane = ControlPlane(tools, tmp_path_factory.mktemp("kube"))
    try:
        control_plane.start(port_forward_config(None, {PORT: f"127.0.0.1:{server.server_port}"}))
        control_plane.register_nodes(cluster_nodes(2))
        yield control_plane
    finally:
        control_plane.stop()
        server.shutdown()


def _echo() -> list[dict]:
    labels = {"app": "echo"}
    container = {"name": "echo", "image": "echo:1", "ports": [{"containerPort": PORT, "name": "http"}]}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "echo", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }
    ports = [{"name": "http", "port": PORT, "targetPort": "http"}]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "echo", "namespace": "default"},
        "spec": {"selector": labels, "ports": ports},
    }
    return [deployment, service]


def _running_pod(api: KubeApi, other_than: str = "") -> str:
    running = [
        p["metadata"]["name"]
        for p in api.pods("app=echo")
        if p["status"].get("phase") == "Running"
        and p["metadata"]["name"] != other_than
        and not p["metadata"].get("deletionTimestamp")
    ]
    assert running, f"no running echo pod besides {other_than or 'none'}"
    return running[0]


def _answers(url: str) -> str:
    return requests.get(url, timeout=5).text


@pytest.fixture
def forward(plane: ControlPlane) -> Iterator[PortForward]:
    """The echo Deployment rolled out and its Service forwarded, as OverlayDeployment forwards
    the stack's (the Service's selector watched); the forward answers."""
    kubectl, api = plane.kubectl("default"), plane.api("default")
    kubectl.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": _echo()}))
    wait_rolled_out(api, "deployment", "echo")
    eventually(lambda: _running_pod(api), timeout=timeouts.ROLLOUT, what="the echo pod to run")
    started = PortForward(kubectl, "svc/echo", PORT, pods="app=echo").start()
    try:
        url = started.url
        assert (
            eventually(lambda: _answers(url), timeout=timeouts.PORT_FORWARD, what="the forward to answer") == "hello\n"
        )
        yield started
    finally:
        started.stop()


def test_a_forward_follows_its_pod_when_the_deployment_replaces_it(plane: ControlPlane, forward: PortForward) -> None:
    api, url = plane.api("default"), forward.url
    first = _running_pod(api)
    api.delete_pod(first)
    eventually(lambda: _running_pod(api, other_than=first), timeout=timeouts.ROLLOUT, what="a replacement pod")

    def reestablished() -> None:
        assert any(f"its pod {first} was deleted" in why for _, why in forward.restarts), forward.restarts

    eventually(reestablished, timeout=timeouts.PORT_FORWARD, what=f"the forward to follow pod {first}'s replacement")
    assert eventually(lambda: _answers(url), timeout=timeouts.PORT_FORWARD, what=f"{url} to answer") == "hello\n"
    assert forward.url == url, "the endpoint handed out to the scenarios keeps its port"
    assert "svc/echo: its pod" in forward.describe_restarts()[-1]


def test_a_forward_whose_kubectl_died_answers_again_on_the_same_port(forward: PortForward) -> None:
    # What a real kubelet does to a forward when its pod goes: kubectl exits ("lost connection
    # to pod"), and every later request is refused, unless a new forward takes its port.
    url = forward.url
    assert forward._proc is not None
    forward._proc.kill()
    answer = eventually(
        lambda: _answers(url), timeout=timeouts.PORT_FORWARD, what=f"{url} to answer after its kubectl died"
    )
    assert answer == "hello\n" and forward.url == url
    assert any("kubectl port-forward exited" in why for _, why in forward.restarts), forward.restarts
