"""A kind cluster whose DNS answers cluster names only: kubeadm's CoreDNS forwards every
other name to the node's resolver (Docker's, then the host's); with
kind_node_files.cluster_corefile() a pod's lookup never leaves the machine.

Applied after `kind create cluster` (kubeadm writes the ConfigMap; kind has no setting for
it): the ConfigMap is replaced and CoreDNS restarted, so no pod of the old configuration,
nor its cache, answers after this returns.
"""

from __future__ import annotations

import subprocess

from odin_acceptance.provisioning.kind_node_files import cluster_corefile


def _kubectl(kubectl: list[str], *args: str, stdin: str | None = None, timeout: float = 60) -> str:
    proc = subprocess.run([*kubectl, *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join([*kubectl, *args])}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def keep_dns_in_cluster(kubectl: list[str], rollout_timeout: float = 120) -> None:
    """Replace CoreDNS's Corefile with one that answers cluster names only and wait until
    every CoreDNS pod runs it. `kubectl`: the command with its --kubeconfig/--context."""
    manifest = _kubectl(
        kubectl,
        *("-n", "kube-system", "create", "configmap", "coredns", "--dry-run=client", "-o", "yaml"),
        f"--from-literal=Corefile={cluster_corefile()}",
    )
    _kubectl(kubectl, "apply", "-f", "-", stdin=manifest)
    # The reload plugin would notice within its interval; a restart makes "applied" mean
    # "answering", and the old pods (and their caches) go.
    _kubectl(kubectl, "-n", "kube-system", "rollout", "restart", "deployment/coredns")
    _kubectl(
        kubectl,
        *("-n", "kube-system", "rollout", "status", "deployment/coredns", f"--timeout={int(rollout_timeout)}s"),
        timeout=rollout_timeout + 30,
    )
