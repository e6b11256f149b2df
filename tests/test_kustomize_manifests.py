"""`--manifests` takes a real kustomization: fields the suite's own reader does not know
(patches, images, labels, components) are rendered by kustomize (`kubectl kustomize`); where
there is none, one error names the fields and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from odin_acceptance.stack_config import manifests
from odin_acceptance.stack_config.manifests import ManifestError, Manifests

OVERLAY = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
labels:
  - pairs:
      team: observability
images:
  - name: docker.io/grafana/loki
    newName: registry.example/loki
patches:
  - target:
      kind: Deployment
      name: prometheus
    patch: |-
      - op: add
        path: /metadata/annotations
        value: {reviewed: "yes"}
"""


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """Someone's repository: our base, and their overlay on it."""
    shutil.copytree(manifests.BASE, tmp_path / "base")
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "kustomization.yaml").write_text(OVERLAY)
    return tmp_path / "prod"


@pytest.mark.skipif(manifests.kustomize_command() is None, reason="no kubectl or kustomize here")
def test_a_kustomization_with_patches_images_and_labels_is_rendered(user_repo):
    rendered = manifests.load(user_repo)
    prometheus = rendered.get("Deployment", "prometheus")
    assert prometheus["metadata"]["annotations"] == {"reviewed": "yes"}
    assert prometheus["metadata"]["labels"]["team"] == "observability"
    images = [c["image"] for o in rendered.of_kind("StatefulSet") for c in o["spec"]["template"]["spec"]["containers"]]
    assert any(i.startswith("registry.example/loki:") for i in images), images
    assert "rule_files" in rendered.config_file("prometheus-config", "prometheus.yml")


def test_without_kustomize_one_error_names_the_fields_and_the_fix(user_repo, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    monkeypatch.setenv("ODIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(ManifestError) as caught:
        manifests.load(user_repo)
    message = str(caught.value)
    assert message.startswith(f"{user_repo / 'kustomization.yaml'}: images, labels, patches need kustomize"), message
    assert "install kubectl" in message


def test_a_generated_configmap_is_found_by_its_name_under_kustomizes_hash():
    hashed = {"kind": "ConfigMap", "metadata": {"name": "prometheus-config-5g2dkt8m9b"}, "data": {"k": "v"}}
    assert Manifests((hashed,)).config_file("prometheus-config", "k") == "v"
    with pytest.raises(ManifestError, match="no ConfigMap named 'prometheus'"):
        Manifests((hashed,)).get("ConfigMap", "prometheus")
