"""What can be checked of the Kubernetes targets without a cluster: the rendered overlays,
their objects against the API schemas, every embedded config through its own tool, and
the commands the targets would run."""

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from odin_acceptance.clients.kubectl import Kubectl, KubectlError, PortForward
from odin_acceptance.core.polling import eventually
from odin_acceptance.offline import config_tools
from odin_acceptance.provisioning import supplied
from odin_acceptance.provisioning.components import ensure
from odin_acceptance.provisioning.versions import ALERTMANAGER, KIND_NODE_IMAGE, PROMETHEUS
from odin_acceptance.stack_config import manifests
from odin_acceptance.targets import TargetError, cluster_diagnostics, overlay
from odin_acceptance.targets import kubernetes as kube
from odin_acceptance.verdicts import cluster_checks

OVERLAYS = manifests.OVERLAYS
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


def render(overlay: str) -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", str(OVERLAYS / overlay)], capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module", params=["kind", "cluster", "kwok"])
def objects(request):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    return render(request.param)


def test_every_object_validates_against_the_api_schemas(objects):
    for obj in objects:
        kubernetes_validate.validate(obj, "1.32", strict=True)


def test_every_daemonset_tolerates_the_control_plane(objects):
    for ds in (o for o in objects if o["kind"] == "DaemonSet"):
        tolerations = ds["spec"]["template"]["spec"].get("tolerations", [])
        tolerated = any(
            t.get("operator") == "Exists"
            and t.get("key") in (None, "node-role.kubernetes.io/control-plane")
            and t.get("effect") in (None, "NoSchedule")
            for t in tolerations
        )
        assert tolerated, f"DaemonSet {ds['metadata']['name']} skips the control-plane node: {tolerations}"


def test_promtail_rbac_is_least_privilege(objects):
    [role] = [o for o in objects if o["kind"] == "ClusterRole" and o["metadata"]["name"].endswith("promtail")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}]


def test_images_are_pinned_and_loadable_offline(objects):
    pinned = set(kube.pinned_images())
    for obj in objects:
        for container in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            assert container["image"] in pinned, f"{obj['metadata']['name']}: {container['image']} is not pinned"
            assert container.get("imagePullPolicy") == "IfNotPresent", f"{obj['metadata']['name']} pulls always"


def _embedded(objects, tmp_path, *names):
    data = {k: v for o in objects if o["kind"] == "ConfigMap" for k, v in (o.get("data") or {}).items()}
    for name in names:
        (tmp_path / name).write_text(data[name])
    return tmp_path


def test_embedded_alerting_configs_pass_their_own_tools(objects, tmp_path):
    tools = {**ensure(PROMETHEUS), **ensure(ALERTMANAGER)}
    configs = _embedded(objects, tmp_path, "alert-rules.yml", "prometheus.yml", "alertmanager.yml")
    config_tools.check_rules(tools["promtool"], configs / "alert-rules.yml")
    config_tools.check_prometheus(tools["promtool"], configs / "prometheus.yml")
    config_tools.check_alertmanager(tools["amtool"], configs / "alertmanager.yml")


def test_embedded_log_configs_pass_the_supplied_programs(objects, tmp_path):
    found = supplied.discover({})
    if found.reason_missing({"loki"}):
        pytest.skip(found.reason_missing({"loki"}))
    configs = _embedded(objects, tmp_path, "loki.yaml", "promtail.yaml")
    config_tools.check_loki(found.paths["loki"], configs / "loki.yaml")
    config_tools.check_promtail(found.paths["promtail"], configs / "promtail.yaml")


@needs_kubectl
def test_cluster_overlay_touches_nothing_of_the_clusters_own_stack():
    objs = render("cluster")
    for obj in objs:
        namespace = obj["metadata"].get("namespace")
        assert namespace in (None, "odin-acceptance"), f"{obj['kind']} {obj['metadata']['name']} in {namespace}"
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding", "Namespace"):
            assert obj["metadata"]["name"].startswith("odin-acceptance"), obj["metadata"]["name"]
    [promtail] = [o for o in objs if o["kind"] == "DaemonSet" and o["metadata"]["name"] == "promtail"]
    paths = [v["hostPath"]["path"] for v in promtail["spec"]["template"]["spec"]["volumes"] if "hostPath" in v]
    assert "/run/odin-acceptance-promtail" in paths and "/run/promtail" not in paths


def test_kind_config_has_a_tainted_control_plane_and_two_workers():
    config = yaml.safe_load(kube.KIND_CONFIG.read_text())
    roles = [n["role"] for n in config["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]


def test_kubectl_commands():
    k = Kubectl("kind-odin-acceptance", "monitoring")
    assert k.cmd("get", "pods") == [
        "kubectl",
        "--context",
        "kind-odin-acceptance",
        "--namespace",
        "monitoring",
        "get",
        "pods",
    ]
    assert k.cmd("get", "nodes", namespaced=False) == ["kubectl", "--context", "kind-odin-acceptance", "get", "nodes"]
    forward = PortForward(k, "svc/loki", 3100)
    assert forward.command()[-4:] == ["--address", "127.0.0.1", "svc/loki", ":3100"]
    assert PortForward.parse_port("Forwarding from 127.0.0.1:41234 -> 3100") == 41234
    assert PortForward.parse_port("Forwarding from [::1]:41234 -> 3100") is None


def test_instrument_pod_uses_the_clusters_image_and_the_configmap():
    image = kube.KindCluster.instruments_image
    pod = kube.instrument_pod("odin-test", "w", "log_writer.py", ["--lines", "1"], image, node="worker")
    [container] = pod["spec"]["containers"]
    assert container["image"] == image and image in kube.pinned_images()
    assert container["command"][:3] == ["python", "-u", "/instruments/log_writer.py"]
    assert pod["spec"]["volumes"][0]["configMap"]["name"] == "odin-instruments"
    assert pod["spec"]["nodeName"] == "worker"
    assert {p.name for p in overlay.instrument_files()} >= {"log_writer.py", "fake_dcgm_exporter.py", "_http.py"}


def test_low_inotify_limits_are_reported(tmp_path):
    (tmp_path / "max_user_instances").write_text("128\n")
    (tmp_path / "max_user_watches").write_text("1048576\n")
    [problem] = kube.inotify_problems(tmp_path)
    assert "max_user_instances is 128" in problem


def test_kind_without_docker_names_docker(monkeypatch, tmp_path):
    kubectl = tmp_path / "kubectl"
    kubectl.write_text("#!/bin/sh\n")
    kubectl.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TargetError, match="needs Docker"):
        kube.preflight("kind")


def test_nightly_workflow_runs_kind_with_real_timing():
    workflow = (Path(__file__).resolve().parent.parent / ".github" / "workflows" / "nightly-kind.yml").read_text()
    doc = yaml.safe_load(workflow)
    steps = " ".join(str(s.get("run", "")) for job in doc["jobs"].values() for s in job["steps"])
    assert "--target kind" in steps and "--timing real" in steps
    assert "upload-artifact" in workflow


def _fake_kubectl(tmp_path, script: str) -> Kubectl:
    path = tmp_path / "kubectl"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return Kubectl("ctx", "monitoring", binary=str(path))


def test_port_forward_waits_for_its_port_line(tmp_path):
    kubectl = _fake_kubectl(tmp_path, 'echo "Forwarding from 127.0.0.1:43210 -> 3100"\nexec sleep 30\n')
    forward = PortForward(kubectl, "svc/loki", 3100).start()
    try:
        assert forward.url == "http://127.0.0.1:43210"
    finally:
        forward.stop()


def test_port_forward_that_exits_says_why(tmp_path):
    kubectl = _fake_kubectl(tmp_path, 'echo "error: services \\"loki\\" not found"\nexit 1\n')
    with pytest.raises(KubectlError, match="not found"):
        PortForward(kubectl, "svc/loki", 3100).start()


def test_a_forward_that_loses_its_pod_is_reestablished_on_the_same_port(tmp_path):
    # The first kubectl forwards until told its pod went ("lost connection to pod", as kubectl
    # says when the pod is deleted), then exits; the next one must be started on the same port.
    calls, gone = tmp_path / "calls", tmp_path / "pod-gone"
    kubectl = _fake_kubectl(
        tmp_path,
        f'echo "$@" >> {calls}\necho "Forwarding from 127.0.0.1:43210 -> 3100"\n'
        f'if [ "$(wc -l < {calls})" -gt 1 ]; then exec sleep 30; fi\n'
        f"while [ ! -e {gone} ]; do sleep 0.05; done\n"
        'echo "E1207 lost connection to pod"\nexit 1\n',
    )
    forward = PortForward(kubectl, "svc/loki", 3100).start()
    try:
        gone.touch()

        def reestablished() -> None:
            assert forward.restarts, "not re-established yet"

        eventually(reestablished, timeout=10, what="the forward to be re-established")
        first, second = calls.read_text().splitlines()
        assert first.endswith("svc/loki :3100") and second.endswith("svc/loki 43210:3100"), (first, second)
        assert forward.url == "http://127.0.0.1:43210"
        [note] = forward.describe_restarts()
        assert "svc/loki: E1207 lost connection to pod" in note, note
    finally:
        forward.stop()


def test_failed_kubectl_quotes_the_command(tmp_path):
    kubectl = _fake_kubectl(tmp_path, 'echo "forbidden" >&2\nexit 1\n')
    with pytest.raises(
        KubectlError, match=r"`.*kubectl --context ctx --namespace monitoring get pods` failed: forbidden"
    ):
        kubectl.run("get", "pods")


class _AnsweringApi:
    """The two reads `rollout_stalled` makes, answered from recorded API objects."""

    def __init__(self, obj: dict, events: list[dict]) -> None:
        self.obj, self.recorded_events = obj, events

    def workload(self, kind: str, name: str) -> dict:
        return self.obj

    def events(self) -> list[dict]:
        return self.recorded_events


def test_a_stalled_rollout_names_the_object_its_conditions_and_events():
    events = [
        {
            "involvedObject": {"kind": "Pod", "name": "loki-0"},
            "type": "Warning",
            "reason": "FailedScheduling",
            "message": "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
            "lastTimestamp": "2026-12-03T09:33:41Z",
        },
        {"involvedObject": {"kind": "Pod", "name": "lokiother-0"}, "reason": "Other", "message": "not ours"},
    ]
    statefulset = {
        "status": {
            "replicas": 1,
            "readyReplicas": 0,
            "conditions": [{"type": "Available", "status": "False", "reason": "NoPods", "message": "none ready"}],
        }
    }
    api = _AnsweringApi(statefulset, events)
    message = cluster_diagnostics.rollout_stalled(api, "statefulset", "loki", RuntimeError("timed out"))
    assert message.startswith("statefulset/loki did not roll out within")
    assert "'readyReplicas': 0" in message and "condition Available=False: NoPods none ready" in message
    assert "Pod/loki-0 FailedScheduling: 0/3 nodes are available: pod has unbound immediate" in message
    assert "not ours" not in message


SCHEDULED_3 = {"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3}


def _workload(kind: str, spec: dict, status: dict, generation: int = 2) -> dict:
    return {"kind": kind, "metadata": {"name": "x", "generation": generation}, "spec": spec, "status": status}


@pytest.mark.parametrize(
    ("obj", "pending"),
    [
        (_workload("Deployment", {"replicas": 1}, {"observedGeneration": 1}), "not yet observed"),
        (_workload("Deployment", {"replicas": 2}, {"observedGeneration": 2, "updatedReplicas": 1}), "1 of 2 new"),
        (
            _workload("Deployment", {"replicas": 1}, {"observedGeneration": 2, "updatedReplicas": 1, "replicas": 2}),
            "1 old replicas pending termination",
        ),
        (
            _workload("Deployment", {"replicas": 1}, {"observedGeneration": 2, "updatedReplicas": 1, "replicas": 1}),
            "0 of 1 updated replicas available",
        ),
        (
            _workload(
                "Deployment",
                {"replicas": 1},
                {"observedGeneration": 2, "updatedReplicas": 1, "replicas": 1, "availableReplicas": 1},
            ),
            None,
        ),
        (_workload("StatefulSet", {"replicas": 1}, {"observedGeneration": 2, "readyReplicas": 0}), "0 of 1 pods"),
        (
            _workload(
                "StatefulSet",
                {"replicas": 1},
                {"observedGeneration": 2, "readyReplicas": 1, "currentRevision": "a", "updateRevision": "b"},
            ),
            "revision b not yet complete",
        ),
        (
            _workload(
                "StatefulSet",
                {"replicas": 1},
                {"observedGeneration": 2, "readyReplicas": 1, "currentRevision": "b", "updateRevision": "b"},
            ),
            None,
        ),
        (
            _workload(
                "DaemonSet", {}, {"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 2}
            ),
            "2 of 3 new pods updated",
        ),
        (
            _workload(
                "DaemonSet",
                {},
                {
                    "observedGeneration": 2,
                    "desiredNumberScheduled": 3,
                    "updatedNumberScheduled": 3,
                    "numberAvailable": 2,
                },
            ),
            "2 of 3 updated pods available",
        ),
        (
            _workload(
                "DaemonSet",
                {},
                {
                    "observedGeneration": 2,
                    "desiredNumberScheduled": 3,
                    "updatedNumberScheduled": 3,
                    "numberAvailable": 3,
                },
            ),
            None,
        ),
    ],
)
def test_a_rollout_is_complete_when_kubectl_rollout_status_would_say_so(obj, pending):
    found = cluster_checks.rollout_pending(obj)
    assert (found is None) if pending is None else (pending in (found or "")), found


def test_a_deployment_past_its_progress_deadline_is_an_answer_not_a_wait():
    stuck = _workload(
        "Deployment",
        {"replicas": 1},
        {"observedGeneration": 2, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]},
    )
    with pytest.raises(RuntimeError, match="progress deadline"):
        cluster_checks.rollout_pending(stuck)


@needs_kubectl
@pytest.mark.parametrize("overlay", ["kind", "kwok", "cluster"])
def test_prometheus_discovers_only_its_own_namespace_on_every_overlay(overlay):
    """On a shared cluster, the cluster's own exporters carry the same app labels: discovered
    cluster-wide they would be scraped into the verdicts."""
    objs = render(overlay)
    [config] = [
        o["data"]["prometheus.yml"] for o in objs if o["kind"] == "ConfigMap" and "prometheus.yml" in o.get("data", {})
    ]
    for job in yaml.safe_load(config)["scrape_configs"]:
        for sd in job.get("kubernetes_sd_configs", []):
            assert sd.get("namespaces", {}).get("own_namespace") is True, (
                f"job {job['job_name']} discovers cluster-wide"
            )
    kinds = {o["kind"] for o in objs if o["metadata"]["name"].endswith("prometheus")}
    assert "ClusterRole" not in kinds and {"Role", "RoleBinding"} <= kinds, kinds


# Where a component may not meet the restricted profile, and why (manifests/DIFFERENCES.md).
RUNS_AS_ROOT = {"promtail"}  # reads every pod's log files on the node, owned by root
NEEDS_API_TOKEN = {"prometheus", "promtail"}  # pod discovery through the Kubernetes API
WRITES_ITS_ROOT = {"grafana"}  # its database lives under /var/lib/grafana in the image


def _pod_templates(objs):
    for obj in objs:
        spec = obj.get("spec", {}).get("template", {}).get("spec")
        if spec is not None:
            yield obj["metadata"]["name"], spec


@needs_kubectl
@pytest.mark.parametrize("overlay", ["kind", "kwok", "cluster"])
def test_every_pod_is_as_restricted_as_its_component_allows(overlay):
    objs = render(overlay)
    checked = 0
    for name, spec in _pod_templates(objs):
        pod = spec.get("securityContext", {})
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{name}: no RuntimeDefault seccomp"
        if name not in RUNS_AS_ROOT:
            assert pod.get("runAsNonRoot") is True, f"{name}: may run as root"
        if name not in NEEDS_API_TOKEN:
            assert spec.get("automountServiceAccountToken") is False, f"{name}: mounts an API token it never uses"
        for container in spec["containers"]:
            sc = container.get("securityContext", {})
            assert sc.get("allowPrivilegeEscalation") is False, f"{name}/{container['name']}: may escalate"
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}/{container['name']}: keeps capabilities"
            if name not in WRITES_ITS_ROOT:
                assert sc.get("readOnlyRootFilesystem") is True, f"{name}/{container['name']}: writable root"
        checked += 1
    assert checked >= 7, f"only {checked} pod templates found"
    [namespace] = [o for o in objs if o["kind"] == "Namespace"]
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/warn"] == "restricted", "violations of restricted must be visible"
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged", "node-exporter and Promtail need it"


def test_the_kind_cluster_is_created_on_the_one_pinned_node_image(tmp_path, monkeypatch):
    nodes = yaml.safe_load(kube.KIND_CONFIG.read_text())["nodes"]
    assert not [n for n in nodes if "image" in n], "a second copy of the node image (versions.KIND_NODE_IMAGE)"
    calls = tmp_path / "calls"
    for tool in ("kind", "docker"):  # no cluster yet, no image pulled: create it, load nothing
        (tmp_path / tool).write_text(f'#!/bin/sh\necho {tool} "$@" >> {calls}\nexit {int(tool == "docker")}\n')
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(kube.stack_images, "ensure_images", lambda progress, stack=True: [])  # test_stack_images.py
    cluster = kube.KindCluster.__new__(kube.KindCluster)
    cluster.kubeconfig, cluster.created_cluster = None, False
    cluster.ensure_cluster()
    [create] = [line for line in calls.read_text().splitlines() if line.startswith("kind create cluster")]
    assert f"--image {KIND_NODE_IMAGE} " in create, create
    assert re.fullmatch(r"kindest/node:v[\d.]+@sha256:[0-9a-f]{64}", KIND_NODE_IMAGE), KIND_NODE_IMAGE


def _failed_create(owner: str, message: str, when: str = "2026-12-03T10:00:00Z") -> dict:
    return {
        "reason": "FailedCreate",
        "type": "Warning",
        "involvedObject": {"kind": "DaemonSet", "name": owner},
        "message": message,
        "lastTimestamp": when,
    }


def test_pods_refused_by_pod_security_are_named_at_once_and_races_are_not():
    psa = (
        'pods "node-exporter-x" is forbidden: violates PodSecurity "baseline:latest": host namespaces '
        '(hostPID=true), hostPath volumes (volume "root")'
    )
    race = 'pods "promtail-y" is forbidden: error looking up service account monitoring/promtail: not found'
    events = [_failed_create("node-exporter", psa), _failed_create("promtail", race)]
    assert cluster_checks.pods_refused(events, "node-exporter") == psa
    assert cluster_checks.pods_refused(events, "promtail") is None, "a missing service account resolves itself"
    assert cluster_checks.pods_refused(events, "loki") is None


def test_a_forward_whose_pod_watch_fails_at_start_leaves_no_kubectl_running(tmp_path):
    # `port-forward` keeps running; `get pods --watch` fails at once: start() raises, and the
    # port-forward it had started must be ended with it (nobody else holds the object).
    pids = tmp_path / "pids"
    kubectl = _fake_kubectl(
        tmp_path,
        f'case "$*" in *--watch*) echo "error: pods is forbidden"; exit 1;; esac\n'
        f'echo $$ >> {pids}\necho "Forwarding from 127.0.0.1:43210 -> 3100"\nexec sleep 30\n',
    )
    with pytest.raises(KubectlError, match="forbidden"):
        PortForward(kubectl, "svc/loki", 3100, pods="app=loki").start()
    [pid] = pids.read_text().split()

    def ended() -> None:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), pid

    eventually(ended, timeout=10, what=f"the port-forward kubectl (pid {pid}) to be ended")


def test_an_existing_cluster_runs_the_instruments_on_an_image_it_can_pull():
    """The instruments' image built here exists only in this machine's Docker (and kind's
    nodes): on a real cluster every instrument, in the overlay or started later, uses a
    registry's image instead."""
    from odin_acceptance.provisioning.versions import PYTHON_IMAGE

    pulled = kube.ExistingCluster.instruments_image
    assert not pulled.startswith("localhost/") and pulled != PYTHON_IMAGE
    assert kube.KindCluster.instruments_image == PYTHON_IMAGE
    deployment = {
        "kind": "Deployment",
        "spec": {"template": {"spec": {"containers": [{"image": PYTHON_IMAGE}, {"image": "quay.io/x:1"}]}}},
    }
    [swapped] = overlay.with_instruments_image([deployment], pulled)
    assert [c["image"] for c in swapped["spec"]["template"]["spec"]["containers"]] == [pulled, "quay.io/x:1"]
    rendered = (Path(overlay.__file__).parent.parent / "overlays" / "kind" / "instruments.yaml").read_text()
    assert PYTHON_IMAGE in rendered, "the overlay's instruments no longer name PYTHON_IMAGE: nothing would be swapped"
