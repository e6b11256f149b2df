"""A Kubernetes target built without a cluster: what its code renders and applies is
checked offline (kubectl renders client-side; nothing is sent)."""

from __future__ import annotations

from pathlib import Path

import yaml

from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.stack_config import manifests
from odin_acceptance.target_api.base import TargetOptions
from odin_acceptance.targets.kubernetes import ClusterTarget


def offline_kubeconfig(directory: Path) -> str:
    """A kubeconfig of a cluster nobody serves (its current context): enough for kubectl's
    client-side rendering."""
    path = directory / "kubeconfig"
    cluster = {"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}
    context = {"name": "offline", "context": {"cluster": "c", "user": "u"}}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "contexts": [context],
        "current-context": "offline",
    }
    path.write_text(yaml.safe_dump({**config, "users": [{"name": "u", "user": {"token": "t"}}]}))
    return str(path)


def offline_target(cls: type[ClusterTarget], directory: Path) -> ClusterTarget:
    """A cluster (or kind) target whose cluster is never reached."""
    options = TargetOptions(PROFILES["real"], manifests.BASE, kubeconfig=offline_kubeconfig(directory))
    return cls(options=options, tools={})
