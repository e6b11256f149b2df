"""Benchmark: what the per-node check and the failure diagnostics cost as the cluster grows.

    .venv/bin/python -m benchmarks.kwok_scale [--nodes 10,100,1000,5000]

For each size: a fresh control plane (odin_acceptance.targets.kube_control_plane) with that many
simulated nodes (one of them the tainted control plane), the kwok overlay applied so the
real DaemonSet controller puts a Promtail and a node-exporter on every node, then one
per-node check (odin_acceptance.verdicts.cluster_checks.promtail_per_node, what the scenario runs) and
one diagnostics collection (what a failing scenario attaches to the report). Each is
timed, its API requests are counted by the kubernetes client's own hook
(odin_acceptance.clients.kube_api.CountingApiClient) and the bytes of their answers summed:
the checks must make a fixed number of list calls, not one per node. Also measured: node
registration, the CPU seconds and peak memory of the API server, etcd, KWOK and the
controllers (from /proc), and with --plot the curves against node count with the fitted
growth exponent (1: linear). Results go to reports/kwok-scale.json. A benchmark: it asserts
nothing and never runs in CI.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from odin_acceptance.clients.kube_api import KubeApi
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
# The settled cluster is watched for longer than KWOK's status-report period (300–330 s,
# odin_acceptance/targets/kwok_stages.yaml), so its idle cost includes one full round of
# node status writes besides the Lease renewals. (--idle)
IDLE_S = 340.0


def _measure(k: KubeApi, action) -> tuple[float, int, int, dict[str, int]]:
    """Seconds, API calls, bytes received and calls by kind of one `action`."""
    assert k.sent is not None
    before, received = len(k.sent), k.received_bytes
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    made = k.sent[before:]
    # "GET /api/v1/namespaces/m/pods/loki-0/log?tailLines=40" -> "GET …/pods/{name}/log": repeats group together
    kinds = Counter(re.sub(r"/pods/[^/?]+", "/pods/{name}", r.split("?", 1)[0]) for r in made)
    return seconds, len(made), k.received_bytes - received, dict(kinds)


def process_costs(plane: ControlPlane) -> dict[str, dict[str, float]]:
    """CPU seconds (user + system) and peak resident memory (VmHWM, MiB) of each process."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, proc in plane.processes.processes.items():
        try:
            stat = Path(f"/proc/{proc.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{proc.popen.pid}/status").read_text()
        except OSError:
            continue
        kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
        # Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the ")" of the name.
        out[name] = {"cpu_s": round((int(stat[11]) + int(stat[12])) / ticks, 1), "peak_mib": round(kib / 1024, 1)}
    return out


def one_size(tools: dict[str, Path], count: int, overlay: str, workdir: Path, idle_s: float) -> dict[str, object]:
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

        eventually(one_per_node, timeout=1800, what=f"a ready Promtail on each of {count} nodes", poll=Poll(2.0, 5.0))
        rollout = time.perf_counter() - started
        costs_settled = process_costs(plane)
        check_s, check_calls, check_bytes, check_kinds = _measure(k, lambda: cluster_checks.promtail_per_node(k))
        apps = [name for _, name in ROLLOUTS]
        diag_s, diag_calls, diag_bytes, diag_kinds = _measure(k, lambda: cluster_diagnostics(k, apps))
        # The settled cluster left alone: what keeping `count` simulated nodes alive costs.
        idle_from = process_costs(plane)
        time.sleep(idle_s)  # a measured interval, not a wait for a state
        idle = process_costs(plane)
        return {
            "nodes": count,
            "nodes_ready_s": round(nodes_ready, 1),
            "daemonsets_on_every_node_s": round(rollout, 1),
            "per_node_check_s": round(check_s, 3),
            "per_node_check_api_calls": check_calls,
            "per_node_check_bytes": check_bytes,
            "per_node_check_requests": check_kinds,
            "diagnostics_s": round(diag_s, 2),
            "diagnostics_api_calls": diag_calls,
            "diagnostics_bytes": diag_bytes,
            "diagnostics_requests": diag_kinds,
            "cpu_s_until_settled": {name: c["cpu_s"] for name, c in costs_settled.items()},
            "idle_cpu_share": {
                name: round((idle[name]["cpu_s"] - idle_from[name]["cpu_s"]) / idle_s, 3) for name in idle
            },
            "idle_window_s": idle_s,
            "peak_mib": {name: c["peak_mib"] for name, c in idle.items()},
        }
    finally:
        plane.stop()


# The growth is fitted from this size up: below it, fixed costs (a request, a process's
# start) hide how a cost grows.
FIT_FROM_NODES = 100


def growth(nodes: list[int], values: list[float]) -> float:
    """The exponent b of the least-squares fit value = a * nodes**b over the sizes from
    FIT_FROM_NODES up (1: linear, 2: quadratic)."""
    points = [(math.log(n), math.log(v)) for n, v in zip(nodes, values, strict=True) if n >= FIT_FROM_NODES and v > 0]
    if len(points) < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def plot(results: list[dict], png: Path) -> None:
    """Each cost against node count on log-log axes, labelled with its fitted exponent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nodes = [r["nodes"] for r in results]
    times = {
        "nodes registered and Ready (s)": [r["nodes_ready_s"] for r in results],
        "Promtail + node-exporter on every node (s)": [r["daemonsets_on_every_node_s"] for r in results],
        "per-node check (s)": [r["per_node_check_s"] for r in results],
        "per-node check (MB received)": [r["per_node_check_bytes"] / 1e6 for r in results],
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for label, values in times.items():
        left.plot(nodes, values, marker="o", label=f"{label}, n^{growth(nodes, values):.2f}")
    left.set(
        xscale="log", yscale="log", xlabel="simulated nodes", title=f"time and bytes (n^b fitted from {FIT_FROM_NODES})"
    )
    left.legend(fontsize=7)
    for name in ("kube-apiserver", "etcd", "kwok", "kube-controller-manager"):
        values = [r["idle_cpu_share"].get(name, float("nan")) for r in results]
        right.plot(nodes, values, marker="o", label=f"{name}, n^{growth(nodes, values):.2f}")
    right.set(xscale="log", yscale="log", xlabel="simulated nodes", ylabel="cores", title="CPU to keep them alive")
    right.legend(fontsize=7)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", default="10,100,1000,5000")
    parser.add_argument("--idle", type=float, default=IDLE_S, help="s the settled cluster is watched idle")
    parser.add_argument("--output", default="reports/kwok-scale.json")
    parser.add_argument("--plot", default="docs/kwok-scale.png", help="the curves, drawn from --output")
    parser.add_argument("--plot-only", action="store_true", help="draw --plot from an earlier --output; run nothing")
    args = parser.parse_args()
    if args.idle <= 0:
        parser.error("--idle: seconds the settled cluster is watched, more than 0")
    if args.plot_only:
        plot(json.loads(Path(args.output).read_text()), Path(args.plot))
        return
    tools = components.ensure_all(lambda m: print(m, flush=True), CONTROL_PLANE)
    results = []
    with tempfile.TemporaryDirectory(prefix="odin-kwok-scale-") as tmp:
        workdir = Path(tmp)
        overlay_dir = manifests.overlay_on(manifests.OVERLAYS / "kwok", manifests.BASE, workdir)
        overlay = Kubectl(None, NAMESPACE, binary=str(tools["kubectl"])).kustomize(overlay_dir)
        for count in (int(n) for n in args.nodes.split(",")):
            result = one_size(tools, count, overlay, workdir, args.idle)
            print(json.dumps(result), flush=True)
            results.append(result)
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            Path(args.output).write_text(json.dumps(results, indent=1))
    plot(results, Path(args.plot))
    print(f"{'nodes':>6} {'check s':>8} {'calls':>6} {'bytes':>10} {'diag s':>7} {'diag calls':>10} {'rollout s':>9}")
    for r in results:
        print(
            f"{r['nodes']:>6} {r['per_node_check_s']:>8} {r['per_node_check_api_calls']:>6} "
            f"{r['per_node_check_bytes']:>10} {r['diagnostics_s']:>7} {r['diagnostics_api_calls']:>10} "
            f"{r['daemonsets_on_every_node_s']:>9}"
        )


if __name__ == "__main__":
    main()
