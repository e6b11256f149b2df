"""Benchmark: what the per-node check and the failure diagnostics cost as the cluster grows.

    .venv/bin/python -m benchmarks.kwok_scale [--nodes 10,100,1000]

For each size: a fresh control plane (odin_acceptance.targets.kube_control_plane) with that many
simulated nodes (one of them the tainted control plane), the kwok overlay applied so the
real DaemonSet controller puts a Promtail and a node-exporter on every node, then one
per-node check (odin_acceptance.verdicts.cluster_checks.promtail_per_node, what the scenario runs) and
one diagnostics collection (what a failing scenario attaches to the report). Each is
timed, and its API requests are counted by the kubernetes client's own hook
(odin_acceptance.clients.kube_api.CountingApiClient): the checks must make a fixed number of list
calls, not one per node. Results go to reports/kwok-scale.json. A benchmark: it asserts
nothing and never runs in CI.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from odin_acceptance.clients.kubectl import Kubectl
from odin_acceptance.core.polling import Poll, eventually
from odin_acceptance.provisioning import components
from odin_acceptance.provisioning.versions import CONTROL_PLANE
from odin_acceptance.stack_config import manifests
from odin_acceptance.targets.cluster_diagnostics import cluster_diagnostics
from odin_acceptance.targets.kube_control_plane import ControlPlane, cluster_nodes
from odin_acceptance.targets.overlay import ROLLOUTS
from odin_acceptance.verdicts import cluster_checks

NAMESPACE = "monitoring"


def _measure(k_requests: list[str], action) -> tuple[float, int, dict[str, int]]:
    before = len(k_requests)
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    made = k_requests[before:]
    # "GET /api/v1/namespaces/m/pods/loki-0/log?tailLines=40" -> "GET …/pods/{name}/log": repeats group together
    kinds = Counter(re.sub(r"/pods/[^/?]+", "/pods/{name}", r.split("?", 1)[0]) for r in made)
    return seconds, len(made), dict(kinds)


def one_size(tools: dict[str, Path], count: int, overlay: str, workdir: Path) -> dict[str, object]:
    plane = ControlPlane(tools, workdir / f"kube-{count}")
    try:
        plane.start(kwok_config="")
        started = time.perf_counter()
        plane.register_nodes(cluster_nodes(count))
        nodes_ready = time.perf_counter() - started
        requests: list[str] = []
        k = plane.api(NAMESPACE, sent=requests)
        kubectl = plane.kubectl(NAMESPACE)
        kubectl.apply(next(doc for doc in overlay.split("\n---\n") if "kind: Namespace" in doc))
        started = time.perf_counter()
        kubectl.apply(overlay)

        def one_per_node() -> int:
            wrong = {n: c for n, c in cluster_checks.promtail_per_node(k).items() if c != 1}
            assert not wrong, f"{len(wrong)} nodes without exactly one ready Promtail"
            return count

        eventually(one_per_node, timeout=900, what=f"a ready Promtail on each of {count} nodes", poll=Poll(2.0, 5.0))
        rollout = time.perf_counter() - started
        check_s, check_calls, check_kinds = _measure(requests, lambda: cluster_checks.promtail_per_node(k))
        apps = [name for _, name in ROLLOUTS]
        diag_s, diag_calls, diag_kinds = _measure(requests, lambda: cluster_diagnostics(k, apps))
        return {
            "nodes": count,
            "nodes_ready_s": round(nodes_ready, 1),
            "daemonsets_on_every_node_s": round(rollout, 1),
            "per_node_check_s": round(check_s, 3),
            "per_node_check_api_calls": check_calls,
            "per_node_check_requests": check_kinds,
            "diagnostics_s": round(diag_s, 2),
            "diagnostics_api_calls": diag_calls,
            "diagnostics_requests": diag_kinds,
        }
    finally:
        plane.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", default="10,100,1000")
    parser.add_argument("--output", default="reports/kwok-scale.json")
    args = parser.parse_args()
    tools = components.ensure_all(lambda m: print(m, flush=True), CONTROL_PLANE)
    results = []
    with tempfile.TemporaryDirectory(prefix="odin-kwok-scale-") as tmp:
        workdir = Path(tmp)
        overlay_dir = manifests.overlay_on(manifests.OVERLAYS / "kwok", manifests.BASE, workdir)
        overlay = Kubectl(None, NAMESPACE, binary=str(tools["kubectl"])).kustomize(overlay_dir)
        for count in (int(n) for n in args.nodes.split(",")):
            result = one_size(tools, count, overlay, workdir)
            print(json.dumps(result), flush=True)
            results.append(result)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=1))
    print(f"{'nodes':>6} {'check s':>8} {'check calls':>11} {'diag s':>7} {'diag calls':>10} {'rollout s':>9}")
    for r in results:
        print(
            f"{r['nodes']:>6} {r['per_node_check_s']:>8} {r['per_node_check_api_calls']:>11} "
            f"{r['diagnostics_s']:>7} {r['diagnostics_api_calls']:>10} {r['daemonsets_on_every_node_s']:>9}"
        )


if __name__ == "__main__":
    main()
