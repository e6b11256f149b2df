"""Read the kustomize tree under manifests/ into Kubernetes objects, without kubectl.

Only the subset of kustomize the tree uses is supported (resources, namespace,
configMapGenerator with files); a project test compares the result with
`kubectl kustomize`, so this reader cannot silently drift from the real renderer.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from odin_acceptance.core import timeouts
from odin_acceptance.core.errors import OdinError
from odin_acceptance.provisioning.components import component_dir
from odin_acceptance.provisioning.versions import KUBECTL

# The suite's own overlays (package data): how each target deploys the manifests under test.
OVERLAYS = Path(str(importlib.resources.files("odin_acceptance") / "overlays")).resolve()
KIND_CLUSTER = OVERLAYS / "kind-cluster.yaml"
# The manifests under test when `--manifests` is not given: manifests/base of the directory
# pytest runs from (in this repository, the fixed manifests of the plan).
DEFAULT_BASE = Path("manifests") / "base"
# This repository's manifests, for the project's own tests and benchmarks (a checkout only:
# the package never reads them).
BASE = Path(__file__).resolve().parents[2] / "manifests" / "base"
# How the overlays name the base they build on, in this repository.
_OVERLAY_BASE = "- ../../../manifests/base"

# Deployed config name -> (ConfigMap, key) in the manifests.
CONFIGS = {
    "prometheus.yml": ("prometheus-config", "prometheus.yml"),
    "alert-rules.yml": ("prometheus-alert-rules", "alert-rules.yml"),
    "alertmanager.yml": ("alertmanager-config", "alertmanager.yml"),
    "loki.yaml": ("loki-config", "loki.yaml"),
    "log-alerts.yaml": ("loki-rules", "log-alerts.yaml"),
    "promtail.yaml": ("promtail-config", "promtail.yaml"),
}

# What the suite's own reader renders; a kustomization that uses more (patches, images, labels,
# components, …) is rendered by kustomize itself (`kubectl kustomize`).
_SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "configMapGenerator", "generatorOptions"}
# kustomize appends a hash of a generated ConfigMap's content to its name (unless
# generatorOptions.disableNameSuffixHash): `get` finds it by the name the kustomization gives.
_HASH_SUFFIX = "-[a-z0-9]{10}"


class ManifestError(OdinError, ValueError):
    """A manifest is missing or malformed; the message names the file."""


class _NeedsKustomize(Exception):
    """A kustomization uses fields only kustomize renders."""

    def __init__(self, kfile: Path, fields: list[str]) -> None:
        super().__init__(f"{kfile}: {fields}")
        self.kfile, self.fields = kfile, fields


@dataclass(frozen=True)
class Manifests:
    objects: tuple[dict[str, Any], ...]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        of_kind = [o for o in self.objects if o.get("kind") == kind]
        for obj in of_kind:
            if obj.get("metadata", {}).get("name") == name:
                return obj
        hashed = [
            o for o in of_kind if re.fullmatch(re.escape(name) + _HASH_SUFFIX, o.get("metadata", {}).get("name", ""))
        ]
        if len(hashed) == 1:
            return hashed[0]
        raise ManifestError(f"no {kind} named {name!r} in the manifests")

    def config_file(self, configmap: str, key: str) -> str:
        data = self.get("ConfigMap", configmap).get("data") or {}
        if key not in data:
            raise ManifestError(f"ConfigMap {configmap!r} has no key {key!r} (keys: {sorted(data)})")
        return data[key]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    def dashboard(self, title: str) -> dict[str, Any]:
        """A Grafana dashboard (JSON in a ConfigMap) by its title."""
        found = {}
        for configmap in self.of_kind("ConfigMap"):
            for key, text in (configmap.get("data") or {}).items():
                if key.endswith(".json"):
                    doc = json.loads(text)
                    found[doc.get("title")] = doc
        if title not in found:
            raise ManifestError(f"no dashboard titled {title!r} in the manifests (have {sorted(found)})")
        return found[title]


def _read_yaml_docs(path: Path) -> list[dict[str, Any]]:
    try:
        docs = list(yaml.safe_load_all(path.read_text()))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from exc
    return [d for d in docs if d]


def _load(directory: Path) -> list[dict[str, Any]]:
    kfile = directory / "kustomization.yaml"
    if not kfile.is_file():
        raise ManifestError(f"{directory}: no kustomization.yaml")
    spec = _read_yaml_docs(kfile)[0]
    unsupported = set(spec) - _SUPPORTED
    if unsupported:
        raise _NeedsKustomize(kfile, sorted(unsupported))
    objects: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        path = directory / resource
        if path.is_dir():
            objects.extend(_load(path))
        elif path.is_file():
            objects.extend(_read_yaml_docs(path))
        else:
            raise ManifestError(f"{kfile}: resource {resource!r} does not exist")
    for generator in spec.get("configMapGenerator", []):
        data: dict[str, str] = {}
        for entry in generator.get("files", []):
            key, _, rel = entry.rpartition("=") if "=" in entry else (Path(entry).name, "", entry)
            path = directory / rel
            if not path.is_file():
                raise ManifestError(f"{kfile}: configMapGenerator {generator['name']!r} names missing file {rel!r}")
            data[key] = path.read_text()
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
    if "namespace" in spec:
        for obj in objects:
            if obj.get("kind") not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
                obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    return objects


def load(directory: Path = BASE) -> Manifests:
    """The objects a kustomization renders: by the suite's reader where it uses only the fields
    that reader knows, else by kustomize (`kubectl kustomize`) where there is one."""
    try:
        return Manifests(tuple(_load(directory)))
    except _NeedsKustomize as needs:
        command = kustomize_command()
        if command is None:
            raise ManifestError(
                f"{needs.kfile}: {', '.join(needs.fields)} need kustomize to render, and there is no kubectl or "
                "kustomize on PATH nor a kubectl in the suite's cache: install kubectl (`kubectl kustomize`), or run "
                "`make provision`"
            ) from None
        return Manifests(tuple(_render(command, directory)))


def kustomize_command() -> list[str] | None:
    """How to render a kustomization here: kubectl on PATH, else the kubectl the suite cached
    (the kind and cluster targets fetch it), else a standalone kustomize; None if none exists."""
    on_path = shutil.which("kubectl")
    cached = component_dir(KUBECTL) / "bin" / "kubectl"
    if on_path or cached.is_file():
        return [on_path or str(cached), "kustomize"]
    standalone = shutil.which("kustomize")
    return [standalone, "build"] if standalone else None


def _render(command: list[str], directory: Path) -> list[dict[str, Any]]:
    try:
        proc = subprocess.run(
            [*command, str(directory)], capture_output=True, text=True, timeout=timeouts.KUBECTL, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ManifestError(f"{directory}: {' '.join(command)} failed: {exc}") from exc
    if proc.returncode != 0:
        raise ManifestError(f"{directory}: {' '.join(command)} failed: {proc.stderr.strip()[-2000:]}")
    try:
        return [d for d in yaml.safe_load_all(proc.stdout) if d]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{directory}: {' '.join(command)} rendered no valid YAML: {exc}") from exc


def overlay_on(overlay: Path, base: Path, workdir: Path) -> Path:
    """A copy of the overlays tree whose kustomizations build on `base` instead of
    manifests/base, so `--manifests` (a changed base) reaches every target alike.
    Returns the copy of `overlay`."""
    copy = workdir / "overlays"
    shutil.copytree(OVERLAYS, copy, dirs_exist_ok=True)
    for kfile in copy.rglob("kustomization.yaml"):
        text = kfile.read_text()
        # kustomize takes relative paths only
        kfile.write_text(text.replace(_OVERLAY_BASE, f"- {os.path.relpath(base.resolve(), kfile.parent)}"))
    return copy / overlay.resolve().relative_to(OVERLAYS)
