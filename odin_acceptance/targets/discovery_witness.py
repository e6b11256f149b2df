"""A real Prometheus running the manifests' Kubernetes discovery against the kwok cluster.

On kwok the stack's Prometheus is a local process scraping rendered static targets, so the
manifests' `kubernetes_sd_configs` would never meet an API server. The witness runs them as
they are, the way the Deployment's pod does: in-cluster, with the `prometheus` service
account's token, the cluster's CA and the pod's namespace at
/var/run/secrets/kubernetes.io/serviceaccount (what `namespaces: {own_namespace: true}`
reads). That path is given to it alone, in a user and mount namespace of its own
(`unshare`), so no root is needed and the host is untouched.

Its jobs are the manifests' discovery jobs, relabelling included; two rules are appended after
theirs sending every kept target to a closed loopback port (labelled with its pod): KWOK's
pod IPs are invented and may be routable on the user's network, and the witness only lists
what it discovered.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from odin_acceptance.clients.kubectl import Kubectl
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.targets.processes import ProcessGroup, free_port

SERVICE_ACCOUNT_DIR = "secrets/kubernetes.io/serviceaccount"  # under /var/run
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]


def user_namespaces_allowed() -> bool:
    """Whether this host lets an unprivileged user enter a user and mount namespace (some
    distributions restrict it: kernel.apparmor_restrict_unprivileged_userns)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run([*UNSHARE, "true"], capture_output=True, check=False, timeout=10)
    return probe.returncode == 0


def _unscraped(closed: str) -> list[dict[str, Any]]:
    # One label naming the pod and port keeps targets apart once they share an address
    # (Prometheus merges targets whose labels are equal).
    pod = ["__meta_kubernetes_namespace", "__meta_kubernetes_pod_name", "__meta_kubernetes_pod_container_port_number"]
    return [
        {"source_labels": pod, "separator": "/", "target_label": "odin_witness_target"},
        {"target_label": "__address__", "replacement": closed},
    ]


def witness_config(prometheus_yml: str, closed: str) -> str:
    """The discovery jobs of the deployed prometheus.yml, verbatim but for the last rule."""
    doc = yaml.safe_load(prometheus_yml)
    jobs: list[dict[str, Any]] = []
    for job in doc.get("scrape_configs", []):
        if "kubernetes_sd_configs" in job:
            rules = [*job.get("relabel_configs", []), *_unscraped(closed)]
            jobs.append({**job, "relabel_configs": rules})
    return yaml.safe_dump({"global": doc.get("global", {}), "scrape_configs": jobs}, sort_keys=False)


def start_in_cluster(
    *,
    name: str,
    prometheus: Path,
    processes: ProcessGroup,
    kubectl: Kubectl,
    ca: Path,
    server_port: int,
    config: str,
    directory: Path,
    args: tuple[str, ...] = (),
) -> PrometheusApi:
    """Start a real Prometheus with `config` as a pod of the stack would run it: in-cluster,
    as the stack's `prometheus` service account. Returns its API once ready."""
    mounted = directory / "var-run"
    account = mounted / SERVICE_ACCOUNT_DIR
    account.mkdir(parents=True, exist_ok=True)
    (account / "token").write_text(kubectl.run("create", "token", "prometheus", "--duration=1h").strip())
    (account / "namespace").write_text(kubectl.namespace)
    shutil.copy(ca, account / "ca.crt")
    config_file = directory / "prometheus.yml"
    config_file.write_text(config)
    listen = f"127.0.0.1:{free_port()}"
    # unshare makes the new mount namespace's propagation private: the bind stays inside.
    argv = [str(prometheus), f"--config.file={config_file}", f"--storage.tsdb.path={directory / 'data'}"]
    argv += [f"--web.listen-address={listen}", *args]
    command = f"mount --bind {shlex.quote(str(mounted))} /var/run && exec {shlex.join(argv)}"
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(server_port), "PATH": "/usr/bin:/bin"}
    proc = processes.start(name, [*UNSHARE, "sh", "-c", command], env=env)
    api = PrometheusApi(f"http://{listen}")
    processes.wait_ready(proc, api.ready, "GET /-/ready")
    return api


def start_witness(
    *,
    prometheus: Path,
    processes: ProcessGroup,
    kubectl: Kubectl,
    ca: Path,
    server_port: int,
    prometheus_yml: str,
    directory: Path,
) -> PrometheusApi:
    """Start the witness as the stack's `prometheus` service account; returns its API once ready."""
    return start_in_cluster(
        name="discovery-witness",
        prometheus=prometheus,
        processes=processes,
        kubectl=kubectl,
        ca=ca,
        server_port=server_port,
        config=witness_config(prometheus_yml, f"127.0.0.1:{free_port()}"),
        directory=directory,
    )
