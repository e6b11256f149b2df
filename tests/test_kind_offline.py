"""The kind target without the AGPL components' images (this machine: the suite never fetches
them): it deploys the rest of the stack, waits for nothing it did not deploy, and the
scenarios that need Loki, Promtail or Grafana skip with the reason."""

import shutil
from pathlib import Path

import pytest

from odin_acceptance.clients.kubectl import Kubectl
from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.provisioning import supplied
from odin_acceptance.stack_config import manifests
from odin_acceptance.target_api.base import LOG_COMPONENTS
from odin_acceptance.targets import kubernetes as kube
from odin_acceptance.targets import skip_reason, target_class
from odin_acceptance.targets.overlay import OverlayDeployment, forwards

NOTHING_SUPPLIED = supplied.Supplied({}, supplied.SUPPLIED)
WITHOUT_LOG_IMAGES = target_class("kind").capabilities - {LOG_COMPONENTS}


@pytest.mark.parametrize("tags", [{"loki"}, {"grafana"}, {"kubernetes", "per_node"}, {"containers", "loki"}])
def test_without_the_log_images_their_scenarios_skip_naming_the_images(tags):
    reason = skip_reason(WITHOUT_LOG_IMAGES, tags, NOTHING_SUPPLIED)
    assert reason and "docker.io/grafana/loki:" in reason and "AGPL" in reason, reason
    assert skip_reason(target_class("kind").capabilities, tags, NOTHING_SUPPLIED) is None


@pytest.mark.parametrize("tags", [{"gpu", "alerting"}, {"kubernetes", "cluster_api"}, {"containers"}])
def test_without_the_log_images_the_rest_runs(tags):
    assert skip_reason(WITHOUT_LOG_IMAGES, tags, NOTHING_SUPPLIED) is None


def test_an_existing_cluster_pulls_the_log_images_itself():
    assert LOG_COMPONENTS in target_class("cluster").capabilities


def test_kind_lacks_the_log_components_exactly_when_docker_lacks_an_image(monkeypatch):
    present: set[str] = set()
    monkeypatch.setattr(kube, "docker_has", lambda image: image in present)
    monkeypatch.setattr(kube, "preflight", lambda name: None)
    assert LOG_COMPONENTS not in kube.KindCluster.preflight(None)  # type: ignore[arg-type]
    present.update(image for c in kube.SUPPLIED for image in c.images)
    assert LOG_COMPONENTS in kube.KindCluster.preflight(None)  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_left_out_components_lose_their_workloads_and_services_but_keep_their_configs():
    deployment = OverlayDeployment(
        overlay=manifests.OVERLAYS / "kind",
        manifest_dir=manifests.BASE,
        kubectl=Kubectl(None, "monitoring"),
        api=kube.KubeApi(None, None, "monitoring"),
        forwarded=forwards(manifests.BASE, leave_out=kube.LOG_APPS),
        grafana_auth=("admin", "x"),
        profile=PROFILES["real"],
    )
    everything = {(o["kind"], o["metadata"]["name"]) for o in deployment.objects()}
    deployment.leave_out = kube.LOG_APPS
    kept = {(o["kind"], o["metadata"]["name"]) for o in deployment.objects()}
    gone = everything - kept
    assert gone == {
        ("StatefulSet", "loki"),
        ("Service", "loki"),
        ("Service", "loki-headless"),
        ("DaemonSet", "promtail"),
        ("Deployment", "grafana"),
        ("Service", "grafana"),
    }
    assert ("ConfigMap", "loki-config") in kept and ("ConfigMap", "promtail-config") in kept
    assert {name for _, name in deployment.rollouts()} == {
        "prometheus",
        "alertmanager",
        "node-exporter",
        "dcgm-exporter",
        "webhook-receiver",
    }


def _fake_tools(tmp_path, monkeypatch, network_exists: bool):
    """kind and docker that record their calls; Docker has the kind network or not."""
    calls = tmp_path / "calls"
    (tmp_path / "kind").write_text(f'#!/bin/sh\necho kind "$@" >> {calls}\n')
    (tmp_path / "docker").write_text(
        f'#!/bin/sh\necho docker "$@" >> {calls}\n'
        f'[ "$1 $2" = "network inspect" ] && exit {0 if network_exists else 1}\nexit 0\n'
    )
    for tool in ("kind", "docker"):
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(kube.stack_images, "ensure_images", lambda progress, stack=True: [])
    monkeypatch.setattr(kube, "pinned_images", lambda: [])
    cluster = kube.KindCluster.__new__(kube.KindCluster)
    cluster.kubeconfig, cluster.created_cluster, cluster.keep_cluster = None, False, False
    cluster.keep_resources, cluster.left_behind = "never", []
    return cluster, calls


@pytest.mark.parametrize("network_exists", [False, True], ids=["new network", "network there before"])
def test_a_run_removes_the_kind_network_only_if_it_brought_it_into_being(tmp_path, monkeypatch, network_exists):
    cluster, calls = _fake_tools(tmp_path, monkeypatch, network_exists)
    cluster.ensure_cluster()
    cluster.stop(failed=False)
    said = calls.read_text()
    assert "kind delete cluster --name odin-acceptance" in said
    assert ("docker network rm kind" in said) is not network_exists, said


def test_the_nightly_pulls_only_what_a_registry_serves():
    # The instruments' image is built where kind runs: a pull of it fails the nightly.
    assert kube.PYTHON_IMAGE in kube.pinned_images() and kube.PYTHON_IMAGE not in kube.registry_images()
    workflow = (Path(__file__).resolve().parent.parent / ".github/workflows/nightly-kind.yml").read_text()
    assert "print(*registry_images())" in workflow and "print(*pinned_images())" not in workflow


def test_a_node_docker_finishes_after_the_first_delete_is_deleted_too(tmp_path, monkeypatch):
    """Ctrl-C during `kind create cluster`: a node container appeared after the first delete."""
    cluster, calls = _fake_tools(tmp_path, monkeypatch, network_exists=True)
    late = tmp_path / "late"
    late.write_text("odin-acceptance-worker2\n")
    # docker ps lists the late node once (then it is gone with the second delete).
    (tmp_path / "docker").write_text(
        f'#!/bin/sh\necho docker "$@" >> {calls}\n'
        f'if [ "$1" = ps ]; then [ -f {late} ] && cat {late} && rm {late}; exit 0; fi\nexit 0\n'
    )
    cluster.created_cluster = True
    cluster.stop(failed=True)
    deletes = [line for line in calls.read_text().splitlines() if line.startswith("kind delete cluster")]
    assert len(deletes) == 2, calls.read_text()
    assert not cluster.left_behind


def test_a_stack_stopped_before_anything_was_applied_asks_no_api(monkeypatch):
    """Ctrl-C while kind created the cluster: no kubeconfig yet, and its error must not hide the interrupt."""
    stack = kube.OverlayStack.__new__(kube.OverlayStack)

    class NotDeployed:
        applied = ()

        def stop(self) -> None:
            pass

        def remove(self, extra):
            raise AssertionError("asked the API of a cluster where nothing was applied")

    stack.deployment, stack.extra, stack.keep_resources, stack.left_behind = NotDeployed(), [], "never", []
    stack.stop(failed=True)
    assert stack.left_behind == []


@pytest.mark.parametrize("created", [True, False], ids=["created", "found"])
def test_a_cluster_the_run_created_gets_dns_for_cluster_names_only(monkeypatch, created):
    said: list[list[str]] = []
    monkeypatch.setattr(kube.ExistingCluster, "start", lambda self: None)
    monkeypatch.setattr(kube, "keep_dns_in_cluster", said.append)
    cluster = kube.KindCluster.__new__(kube.KindCluster)
    cluster.kubeconfig, cluster.created_cluster = "/k/config", created
    cluster.start()
    expected = [["kubectl", "--context", "kind-odin-acceptance", "--kubeconfig", "/k/config"]] if created else []
    assert said == expected


@pytest.mark.parametrize(("choice", "stack_built"), [("built", True), (None, False), ("kindest/node:v1", False)])
def test_only_a_node_built_here_gets_the_stack_images_built(choice, stack_built, monkeypatch):
    """With the official node image (a laptop, the nightly) the nodes pull upstream's images
    and the suite builds only the instruments' image, which no registry has."""
    from odin_acceptance.provisioning import stack_images

    asked: list[bool] = []

    def ensure_images(progress, *, stack=True):
        asked.append(stack)
        raise RuntimeError("stop here")

    monkeypatch.setattr(stack_images, "ensure_images", ensure_images)
    cluster = kube.KindCluster.__new__(kube.KindCluster)
    cluster.node_image = choice or kube.KIND_NODE_IMAGE
    with pytest.raises(RuntimeError, match="stop here"):
        cluster.ensure_cluster()
    assert asked == [stack_built]


def test_without_the_stack_only_the_instruments_image_is_built(monkeypatch):
    from odin_acceptance.provisioning import stack_images

    built: list[str] = []
    monkeypatch.setattr(stack_images, "ensure_image", lambda recipe, progress: built.append(recipe.reference))
    monkeypatch.setattr(stack_images, "ensure_python_image", lambda progress: built.append("python"))
    stack_images.ensure_images(lambda _: None, stack=False)
    assert built == ["python"]
    built.clear()
    stack_images.ensure_images(lambda _: None)
    assert built == [r.reference for r in stack_images.STACK_RECIPES] + ["python"]


def test_a_docker_that_cannot_list_is_not_read_as_no_node_left(tmp_path, monkeypatch):
    """`docker ps` failing (daemon gone) must not count as "every node deleted"."""
    cluster, calls = _fake_tools(tmp_path, monkeypatch, network_exists=True)
    (tmp_path / "docker").write_text(f'#!/bin/sh\necho docker "$@" >> {calls}\necho "daemon gone" >&2\nexit 1\n')
    cluster.created_cluster = True
    cluster.stop(failed=True)
    assert len(cluster.left_behind) == 1 and "docker ps failed" in cluster.left_behind[0], cluster.left_behind
