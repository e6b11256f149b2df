"""The acceptance suite on a three-node kind cluster with real containers, as the nightly and
users run it, on this machine's Docker, with the node image and the stack's images built here
(no registry answers). Skipped with one reason where Docker cannot run privileged containers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from odin_acceptance.core.polling import eventually
from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.provisioning.kind_node_image import BUILT
from odin_acceptance.stack_config import manifests
from odin_acceptance.target_api.base import TargetOptions
from odin_acceptance.targets import create
from odin_acceptance.targets.run_scope import RUN_LABEL
from tests import kind_runs
from tests.conftest import KindSetup, kind_args
from tests.suite_runs import REPO, SuiteRun, run_suite

pytestmark = [pytest.mark.slow, pytest.mark.kind]

# What must have run with real containers (feature: scenario), beyond "nothing failed".
RAN = (
    "The cluster accepts and runs the stack: Every workload of the stack is fully rolled out",
    "The cluster accepts and runs the stack: Every Service of the stack has a ready endpoint",
    "The cluster accepts and runs the stack: Prometheus discovers the exporters of its own namespace only",
    "GPU temperature alerting: A GPU held at 85 °C alerts the GPU team, and cooling down resolves it",
    "CPU stress alerting: A node kept fully busy raises HighCPUUsage to the default receiver",
)
# What needs the AGPL components (not on this machine) and says so.
SKIPPED_FOR_THE_LOG_IMAGES = ("One Promtail per node: Every node runs one ready Promtail",)


def scenario_outcomes(run: SuiteRun) -> dict[str, str]:
    return {s["scenario"]: s["outcome"] for s in kind_runs.evidence(run.out)["context"]["scenarios"]}


def test_full_kind_run_passes_with_real_containers_and_deletes_its_cluster(kind_run: SuiteRun, kind_setup):
    proc = kind_run.proc
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    suite = ET.parse(kind_run.out / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    outcomes = scenario_outcomes(kind_run)
    ran = {name: outcomes.get(name) for name in RAN}
    assert all(outcome == "passed" for outcome in ran.values()), ran
    assert all(outcomes.get(name) == "skipped" for name in SKIPPED_FOR_THE_LOG_IMAGES), outcomes
    html = (kind_run.out / "acceptance.html").read_text()
    assert "pull or load them into Docker" in html, "the report must say why the log scenarios skip"
    evidence = kind_runs.evidence(kind_run.out)
    judged = [m for m in evidence["measurements"] if m["within"] is not None]
    assert judged and all(m["within"] for m in judged), [m for m in judged if not m["within"]]
    context = evidence["context"]
    assert "kind cluster created in" in context and "stack deployed and ready in" in context, context
    # The run created the cluster, so it deleted it: no cluster, no node container left.
    assert kind_runs.CLUSTER not in kind_runs.clusters(kind_setup.env)
    assert not kind_runs.containers_of_the_cluster()


def test_a_second_run_reuses_the_images_built_before_it(kind_run: SuiteRun, kind_setup: KindSetup):
    """kind_setup built (or found) every image; the run built none again."""
    context = kind_runs.evidence(kind_run.out)["context"]
    for reference in kind_setup.images:
        assert context[f"image {reference}"].startswith("built here by an earlier run"), context[f"image {reference}"]
    assert kind_runs.image_ids(list(kind_setup.images)) == kind_setup.images


def test_keep_resources_always_keeps_the_cluster_and_the_runs_namespace(kind_setup: KindSetup, tmp_path):
    network_before = kind_runs.network_exists()
    try:
        proc = run_suite(
            tmp_path / "reports",
            *kind_args(tmp_path),
            "--keep-resources",
            "always",
            "-k",
            "fully_rolled_out",
            env=kind_setup.env,
            timeout=1800,
        )
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
        assert kind_runs.CLUSTER in kind_runs.clusters(kind_setup.env)
        namespaces = subprocess.run(
            [
                *("kubectl", "--kubeconfig", str(tmp_path / "kubeconfig"), "--context", f"kind-{kind_runs.CLUSTER}"),
                *("get", "namespaces", "-l", RUN_LABEL),
                "-o",
                "name",
            ],
            capture_output=True,
            text=True,
            env=kind_setup.env,
            check=True,
        ).stdout.split()
        assert namespaces, "the run's namespace was not kept"
        assert "kept (--keep-resources=always)" in proc.stdout
        workloads_logs_and_the_pod_proxy_on_the_kept_cluster(kind_setup, tmp_path)
    finally:
        kind_runs.delete_cluster(kind_setup.env)
        if not network_before:
            kind_runs.docker("network", "rm", "kind")


def workloads_logs_and_the_pod_proxy_on_the_kept_cluster(kind_setup: KindSetup, tmp_path) -> None:
    """What only the log scenarios use (skipped here without Loki's image), on real containers:
    a log workload started, waited for and read (container_log's timestamps, running_containers'
    log probe), and the API server's pod proxy (promtail_metric's path) to a node-exporter. The
    kept cluster is found, not created: the target leaves it."""
    options = TargetOptions(
        profile=PROFILES["fast"],
        manifest_dir=manifests.BASE,
        kubeconfig=str(tmp_path / "kubeconfig"),
        kind_node_image=BUILT,
    )
    env = dict(os.environ)
    os.environ["PATH"] = kind_setup.env["PATH"]
    target = create("kind", options=options, tools={})
    try:
        target.start()
        nodes = target.nodes
        namespace = f"{target.stack.scope.namespace}-w"
        workload = nodes.start_workload(namespace, "writer", ["--stream-id", "w1", "--lines", "3", "--marker", "M1"])
        nodes.wait_workload_done(workload, timeout=120)
        lines = nodes.container_log(workload)
        assert len(lines) == 3 and all(ts > 0 for ts, _ in lines), lines
        assert any("M1" in line for _, line in lines), lines
        api = target.cluster.kubernetes()
        exporter = api.pods("app=node-exporter")[0]["metadata"]["name"]
        metrics = api.pod_proxy_get(exporter, target.stack.ports["node-exporter"], "/metrics")
        assert "node_cpu_seconds_total" in metrics
        running = nodes.running_containers()  # the stack's own pods: each has logged a line by now
        assert any(w.pod.startswith("prometheus-") for w in running), running
    finally:
        target.stop()
        os.environ.clear()
        os.environ.update(env)
    assert kind_runs.CLUSTER in kind_runs.clusters(kind_setup.env), "a cluster the target found was deleted"


def test_ctrl_c_while_the_cluster_is_created_leaves_no_container_cluster_or_network(kind_setup: KindSetup, tmp_path):
    network_before = kind_runs.network_exists()
    out = tmp_path / "reports"
    # A terminal's Ctrl-C: SIGINT to the whole process group (pytest, kind, kubectl alike).
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", "features", *kind_args(tmp_path), "-m", "gpu"),
            *(f"--html={out / 'a.html'}", f"--junitxml={out / 'j.xml'}", f"--cucumberjson={out / 'c.json'}"),
            f"--evidence={out / 'e.json'}",
        ],
        cwd=REPO,
        env=kind_setup.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:

        def a_node_container() -> None:
            assert kind_runs.containers_of_the_cluster(), "no node container yet"

        eventually(a_node_container, timeout=600, what="the kind cluster's first node container")
        os.killpg(proc.pid, signal.SIGINT)
        said, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    left = {
        "containers": kind_runs.containers_of_the_cluster(),
        "clusters": [c for c in kind_runs.clusters(kind_setup.env) if c == kind_runs.CLUSTER],
        "network": [kind_runs.docker("network", "ls", "-q", "-f", "name=^kind$").stdout.strip()]
        if not network_before and kind_runs.network_exists()
        else [],
    }
    try:
        assert not any(left.values()), f"left after Ctrl-C: {left}\n{said[-3000:]}"
    finally:
        kind_runs.delete_cluster(kind_setup.env)
