import shutil
import subprocess

import pytest
import yaml

from odin_acceptance.provisioning.versions import COMPONENTS, PYTHON_IMAGE, SUPPLIED
from odin_acceptance.stack_config import manifests


def _key(obj):
    return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_reader_matches_kubectl_kustomize():
    out = subprocess.run(
        ["kubectl", "kustomize", str(manifests.BASE)], capture_output=True, text=True, check=True
    ).stdout
    rendered = {_key(o): o for o in yaml.safe_load_all(out) if o}
    ours = {_key(o): o for o in manifests.load().objects}
    assert rendered.keys() == ours.keys()
    for key, obj in ours.items():
        assert obj.get("data") == rendered[key].get("data"), f"{key} data differs from kubectl kustomize"
        assert obj.get("spec") == rendered[key].get("spec"), f"{key} spec differs from kubectl kustomize"


def _images(objs):
    for obj in objs:
        spec = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            yield obj["metadata"]["name"], container["image"]


def test_every_image_is_pinned_to_the_suite_versions():
    allowed = {image for c in COMPONENTS + SUPPLIED for image in c.images} | {PYTHON_IMAGE}
    images = list(_images(manifests.load().objects))
    assert images, "no workload found in the manifests"
    for workload, image in images:
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{workload}: unpinned {image}"
        assert image in allowed, (
            f"{workload}: {image} is not a version pinned in odin_acceptance/provisioning/versions.py"
        )


def test_missing_generator_file_names_the_file(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("configMapGenerator:\n- name: rules\n  files: [alert-rules.yml]\n")
    with pytest.raises(manifests.ManifestError, match=r"alert-rules\.yml"):
        manifests.load(tmp_path)


def test_differences_from_the_plan_are_written_down():
    text = (manifests.BASE.parent / "DIFFERENCES.md").read_text()
    for n in range(1, 23):
        assert f"\n| D{n} " in text, f"D{n} has no row (catching scenario or reason) in manifests/DIFFERENCES.md"
