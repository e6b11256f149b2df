"""The kwok target's parts that need no control plane: the generated build module, the
simulated nodes, KWOK's port-forward configuration, which scenarios run where, and the
overlay built on a changed base."""

import inspect
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from odin_acceptance.clients.kubectl import Kubectl
from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.provisioning import supplied
from odin_acceptance.provisioning.components import staging_replaces, wrapper_gomod
from odin_acceptance.provisioning.versions import KUBERNETES, GoWrapperModule
from odin_acceptance.stack_config import manifests
from odin_acceptance.stack_config.services import stack_services
from odin_acceptance.target_api.base import (
    COMPONENT_FAULTS,
    KUBERNETES_API,
    POD_DISCOVERY,
    REAL_CONTAINERS,
    SIMULATED_FLEET,
    TargetOptions,
)
from odin_acceptance.target_api.parts import Cluster, Nodes, Stack
from odin_acceptance.targets import NAMES, kwok, skip_reason, target_class
from odin_acceptance.targets.kube_control_plane import CONTROL_PLANE_TAINT, cluster_nodes, port_forward_config
from odin_acceptance.targets.kubernetes import ClusterTarget, simulated_nodes

GOMOD = """module k8s.io/kubernetes

go 1.24.0

require (
\tk8s.io/api v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/kms => ./staging/src/k8s.io/kms
)
"""


def test_staging_replaces_map_each_staging_module_to_its_published_version():
    assert staging_replaces(GOMOD, "v1.34.4") == {"k8s.io/api": "v0.34.4", "k8s.io/kms": "v0.34.4"}


def test_wrapper_module_requires_the_release_and_replaces_staging():
    src = GoWrapperModule("k8s.io/kubernetes", "v1.34.4", {"kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver"})
    text = wrapper_gomod(src, staging_replaces(GOMOD, "v1.34.4"))
    assert "require k8s.io/kubernetes v1.34.4" in text
    assert "\tk8s.io/api => k8s.io/api v0.34.4" in text and "./staging" not in text


def test_kubernetes_binaries_report_their_real_version():
    [src] = KUBERNETES.sources
    assert f"k8s.io/component-base/version.gitVersion=v{KUBERNETES.version}" in src.ldflags
    assert "k8s.io/component-base/version.gitMinor=34" in src.ldflags


def test_default_cluster_is_a_tainted_control_plane_and_two_workers():
    nodes = cluster_nodes(3)
    assert [n.name for n in nodes] == ["odin-kwok-control-plane", "odin-kwok-worker", "odin-kwok-worker2"]
    control, *workers = (n.manifest() for n in nodes)
    assert control["spec"]["taints"] == [CONTROL_PLANE_TAINT]
    assert all("taints" not in w["spec"] for w in workers)


def test_node_objects_validate_against_the_api_schema():
    for node in cluster_nodes(2):
        kubernetes_validate.validate(node.manifest(), "1.32", strict=True)


def test_port_forward_without_a_namespace_serves_every_pod():
    doc = yaml.safe_load(port_forward_config(None, {9090: "127.0.0.1:40002"}))
    assert "selector" not in doc["spec"], "KWOK matches every pod when the selector is absent"


def test_port_forward_sends_each_container_port_to_its_process():
    doc = yaml.safe_load(port_forward_config("monitoring", {3100: "127.0.0.1:40001", 9090: "127.0.0.1:40002"}))
    assert doc["kind"] == "ClusterPortForward"
    assert doc["spec"]["selector"] == {"matchNamespaces": ["monitoring"]}
    assert {f["ports"][0]: f["target"] for f in doc["spec"]["forwards"]} == {
        3100: {"address": "127.0.0.1", "port": 40001},
        9090: {"address": "127.0.0.1", "port": 40002},
    }


@pytest.mark.parametrize(
    ("target", "tags", "runs"),
    [
        ("local", {"kubernetes"}, False),
        ("local", {"local_only"}, True),
        ("kwok", {"kubernetes", "per_node"}, True),
        ("kwok", {"kubernetes", "containers"}, False),
        ("kwok", {"local_only"}, False),
        ("kind", {"kubernetes", "containers"}, True),
        ("kind", {"loki"}, True),
        ("cluster", {"local_only"}, False),
        ("cluster", {"loki", "sc1"}, True),
    ],
)
def test_scenarios_run_where_the_target_can_run_them(target, tags, runs):
    assert (skip_reason(target_class(target).capabilities, tags) is None) == runs


NOTHING_SUPPLIED = supplied.Supplied({}, supplied.SUPPLIED)


def test_a_cluster_whose_nodes_kwok_simulates_runs_no_container_scenario():
    simulated = ClusterTarget.capabilities - {REAL_CONTAINERS, POD_DISCOVERY}
    assert "KWOK simulates" in skip_reason(simulated, {"loki"}, NOTHING_SUPPLIED)
    assert "KWOK simulates" in skip_reason(simulated, {"grafana"}, NOTHING_SUPPLIED)
    assert skip_reason(simulated, {"containers"}, NOTHING_SUPPLIED)
    assert skip_reason(simulated, {"pod_discovery"}, NOTHING_SUPPLIED)
    assert skip_reason(simulated, {"kubernetes", "per_node"}, NOTHING_SUPPLIED) is None
    assert skip_reason(simulated, {"gpu", "alerting"}, NOTHING_SUPPLIED) is None


@pytest.mark.parametrize("target", NAMES)
def test_the_log_programs_offline_check_needs_them_supplied_on_every_target(target):
    # The KeyError 'loki' of kind and cluster runs: the check ran without the programs.
    reason = skip_reason(target_class(target).capabilities, {"loki_programs", "rules"}, NOTHING_SUPPLIED)
    assert reason and "--component loki=PATH" in reason, reason


def test_kwok_node_annotation_marks_a_simulated_cluster():
    nodes = [n.manifest() for n in cluster_nodes(3)]
    assert simulated_nodes(nodes)
    real = {"metadata": {"name": "gpu-01", "annotations": {"node.alpha.kubernetes.io/ttl": "0"}}}
    assert not simulated_nodes([*nodes, real]), "one real node: containers run there"
    assert not simulated_nodes([])


def test_every_target_declares_its_capabilities():
    for name in NAMES:
        assert target_class(name).name == name
        assert target_class(name).capabilities, f"{name} declares no capability"


@pytest.mark.parametrize("name", NAMES)
def test_a_target_is_its_parts_and_can_what_they_provide(name):
    """A target composes a cluster (or none), a stack and nodes; it forwards nothing to them,
    and its capabilities are the union of what its parts provide."""
    cls = target_class(name)
    kinds = [next(k for k in (Cluster, Stack, Nodes) if issubclass(part, k)) for part in cls.parts]
    assert sorted(k.__name__ for k in kinds) == sorted(["Stack", "Nodes"] + (["Cluster"] if name != "local" else []))
    assert cls.capabilities == frozenset().union(*(part.provides for part in cls.parts))
    own = [n for n, v in vars(cls).items() if inspect.isfunction(v) and n != "__init__"]
    assert not own, f"{cls.__name__} defines {own}: behaviour belongs to its parts"


def test_the_parts_decide_the_capabilities():
    from odin_acceptance.targets.kubernetes import ExistingCluster, OverlayStack
    from odin_acceptance.targets.local import ProcessStack

    assert COMPONENT_FAULTS in ProcessStack.provides and COMPONENT_FAULTS not in OverlayStack.provides
    assert {KUBERNETES_API, REAL_CONTAINERS} <= ExistingCluster.provides
    assert KUBERNETES_API not in target_class("local").capabilities, "no cluster part, no Kubernetes API"
    assert REAL_CONTAINERS not in target_class("kwok").capabilities, "KWOK's nodes run no container"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_overlay_builds_on_the_manifests_under_test(tmp_path):
    base = tmp_path / "changed" / "base"
    shutil.copytree(manifests.BASE, base)
    daemonset = base / "promtail" / "promtail-daemonset.yaml"
    daemonset.write_text(
        daemonset.read_text().replace("    app: promtail\n", "    app: promtail\n    changed: 'yes'\n", 1)
    )
    overlay = manifests.overlay_on(manifests.OVERLAYS / "kwok", base, tmp_path / "work")
    objects = list(yaml.safe_load_all(Kubectl(None, "monitoring").kustomize(overlay)))
    promtail = next(o for o in objects if o and o["kind"] == "DaemonSet" and o["metadata"]["name"] == "promtail")
    assert promtail["metadata"].get("labels", {}).get("changed") == "yes"
    assert sum(1 for o in objects if o and o["kind"] == "PersistentVolume") == 2


def test_the_service_table_comes_from_the_manifests_services(manifest_copy):
    """One table: every Service the suite forwards, with the port the manifests give it; a
    changed port in the manifests is the port the suite forwards and renders."""
    from odin_acceptance.targets.overlay import FORWARDED, forwards

    assert forwards(manifests.BASE) == {
        "prometheus": 9090,
        "alertmanager": 9093,
        "loki": 3100,
        "webhook-receiver": 5001,
        "dcgm-exporter": 9400,
        "grafana": 3000,
    }
    table = stack_services(manifests.load(manifests.BASE))
    assert set(FORWARDED) <= set(table) and table["promtail"] == 9080 and table["node-exporter"] == 9100
    service = manifest_copy / "loki" / "loki-service.yaml"
    service.write_text(service.read_text().replace("port: 3100", "port: 3101", 1))
    assert forwards(manifest_copy)["loki"] == 3101
    assert forwards(manifests.BASE, leave_out=("loki", "grafana")).keys() == set(FORWARDED) - {"loki", "grafana"}


def test_openssl_makes_a_ca_the_api_server_accepts(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    from odin_acceptance.targets.kube_control_plane import make_certificates

    make_certificates(tmp_path)
    out = subprocess.run(
        ["openssl", "verify", "-CAfile", tmp_path / "ca.crt", tmp_path / "admin.crt"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    text = subprocess.run(
        ["openssl", "x509", "-in", tmp_path / "admin.crt", "-noout", "-text"], capture_output=True, text=True
    ).stdout
    assert "IP Address:127.0.0.1" in text and "O=system:masters" in text.replace(" = ", "=")


def _size(quantity: str) -> int:
    return int(quantity.removesuffix("Gi"))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kwok_volumes_are_bound_by_the_scheduler_alone_each_to_one_claim():
    """No race between the volume controller and the scheduler (the cause of a stalled loki
    rollout): a first-consumer class, no pre-bound volume, and sizes that fit one claim each."""
    objects = [o for o in yaml.safe_load_all(Kubectl(None, "monitoring").kustomize(manifests.OVERLAYS / "kwok")) if o]
    [storage_class] = [o for o in objects if o["kind"] == "StorageClass"]
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    volumes = [o for o in objects if o["kind"] == "PersistentVolume"]
    assert all("claimRef" not in v["spec"] for v in volumes), "a pre-bound volume races the scheduler's bind"
    claims = [o["spec"] for o in objects if o["kind"] == "PersistentVolumeClaim"]
    claims += [
        t["spec"] for o in objects if o["kind"] == "StatefulSet" for t in o["spec"].get("volumeClaimTemplates", [])
    ]
    sizes = sorted(_size(v["spec"]["capacity"]["storage"]) for v in volumes)
    for claim in claims:
        wanted = _size(claim["resources"]["requests"]["storage"])
        smallest_fit = min(s for s in sizes if s >= wanted)
        assert smallest_fit == wanted, f"a {wanted}Gi claim would take the {smallest_fit}Gi volume"


def test_kwok_declares_discovery_and_the_fleet_and_only_its_preflight_drops_them_on_a_host_without_userns(
    monkeypatch,
):
    # The declared capabilities are the verdicts' ceiling ("the most kwok can show"): a host
    # that forbids user namespaces must read as a shortfall of that host, not lower the ceiling.
    assert {POD_DISCOVERY, SIMULATED_FLEET} <= target_class("kwok").capabilities
    monkeypatch.setattr(kwok, "user_namespaces_allowed", lambda: False)
    options = TargetOptions(profile=PROFILES["fast"], manifest_dir=manifests.BASE)
    here = kwok.KwokCluster.preflight(options)
    assert KUBERNETES_API in here and not {POD_DISCOVERY, SIMULATED_FLEET} & here
