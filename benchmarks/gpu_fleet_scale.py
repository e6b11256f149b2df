"""Benchmark: what the GPU fleet costs as it grows, on the kwok target.

    .venv/bin/python -m benchmarks.gpu_fleet_scale [--gpu-nodes 10,100,1000,5000] [--timing fast] [--real-from 5000]

For each size, a fresh kwok target (the real control plane, the stack deployed from the
manifests) with that many GPU nodes beside its 3 plain nodes, then the fleet
(odin_acceptance.targets.gpu_fleet): the DaemonSet on every GPU node, every GPU scraped by
the in-cluster Prometheus through pod discovery. Measured: control-plane and stack start,
GPU nodes Ready, the DaemonSets on every node, the per-node check (what the scenario runs),
scrape duration and series count of the fleet's Prometheus, the latency of one
GPUHighTemperature from crossing to the gpu-alerts receiver and how far it lies above its
physical limit (the hold H plus the group wait W, which no configuration can beat), and the
peak resident memory (VmHWM) of every process. Sizes from --real-from up run on the real
profile (15 s scrapes): the fast profile's 0.5 s would ask 10,000 scrapes a second of 5,000
GPU nodes, a load no real fleet puts on its Prometheus. Results go to reports/gpu-fleet-scale.json.
A benchmark: it asserts nothing and never runs in CI.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core.polling import Poll, eventually
from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.pipelines.alert_journey import AlertPipeline
from odin_acceptance.pipelines.gpu_node import GpuNode
from odin_acceptance.provisioning import components
from odin_acceptance.provisioning.versions import COMPONENTS, CONTROL_PLANE
from odin_acceptance.stack_config import manifests
from odin_acceptance.targets import TargetOptions, create
from odin_acceptance.targets.kwok import KwokTarget
from odin_acceptance.verdicts import cluster_checks

GPUS_PER_NODE = 8
CELSIUS = 45.0


def peak_memory_mib(target: KwokTarget) -> dict[str, float]:
    """VmHWM (peak resident set) of every process the target runs, in MiB."""
    groups = [target.cluster.control_plane.processes, target.stack.processes]
    out = {}
    for group in groups:
        for name, proc in group.processes.items():
            try:
                status = Path(f"/proc/{proc.popen.pid}/status").read_text()
            except OSError:
                continue
            kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
            out[name] = round(kib / 1024, 1)
    return out


def first_value(prometheus: PrometheusApi, expr: str) -> float:
    found = prometheus.query(expr)
    return float(found[0]["value"][1]) if found else float("nan")


def alert_latency(pipeline: AlertPipeline, node_name: str, profile_factor: float) -> dict[str, float]:
    """One GPU crossing 80 °C: seconds to firing and to the gpu-alerts receiver, and the
    physical limit H+W below which no configuration delivers."""
    node = GpuNode(node_name, GPUS_PER_NODE, pipeline.api.dcgm)
    hold, wait = 120 / profile_factor, 10 / profile_factor
    window = pipeline.window(hold, wait)
    stimulus = node.set(3, "GPU 3 at 85 °C", temperature_c=85)
    try:
        fired = pipeline.wait_firing("GPUHighTemperature", stimulus, window, "dcgm-exporter")
        delivery = pipeline.wait_delivery(
            "gpu-alerts",
            {"alertname": "GPUHighTemperature", **stimulus.labels},
            since=stimulus.changed_at,
            deadline=window.latest + 5,
            what="gpu-alerts to hear of the hot GPU",
        )
    finally:
        node.reset(CELSIUS)
    return {
        "crossing_to_pending_s": round(fired.pending_at - stimulus.changed_at, 2),
        "crossing_to_notified_s": round(delivery.latency, 2),
        "physical_limit_s": round(hold + wait, 2),
        "above_physical_limit_s": round(delivery.latency - hold - wait, 2),
        "formula_latest_s": round(window.latest, 2),
    }


def one_size(tools: dict[str, Path], gpu_nodes: int, timing: str) -> dict[str, Any]:
    profile = PROFILES[timing]
    options = TargetOptions(profile=profile, manifest_dir=manifests.BASE, nodes=3)
    target = create("kwok", options=options, tools=tools)
    assert isinstance(target, KwokTarget)
    result: dict[str, Any] = {"gpu_nodes": gpu_nodes, "gpus": gpu_nodes * GPUS_PER_NODE, "timing": timing}
    try:
        started = time.perf_counter()
        target.start()
        result["target_start_s"] = round(time.perf_counter() - started, 1)
        result["control_plane_ready_s"] = dict(target.cluster.control_plane.ready_seconds)
        fleet = target.cluster.gpu_fleet(gpu_nodes, GPUS_PER_NODE, CELSIUS)
        result["fleet_s"] = {k: round(v, 1) for k, v in fleet.seconds.items()}
        k = target.cluster.kubernetes()
        started = time.perf_counter()
        eventually(
            lambda: cluster_checks.daemonset_settled(k, "promtail"),
            timeout=1800,
            what="Promtail on every node",
            poll=Poll(2.0, 5.0),
        )
        result["promtail_settled_after_fleet_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        per_node = cluster_checks.promtail_per_node(k)
        result["per_node_check_s"] = round(time.perf_counter() - started, 3)
        result["nodes_checked"] = len(per_node)
        prometheus = fleet.prometheus
        result["scrape_duration_avg_s"] = round(
            first_value(prometheus, 'avg(scrape_duration_seconds{job="dcgm-exporter"})'), 4
        )
        result["scrape_duration_max_s"] = round(
            first_value(prometheus, 'max(scrape_duration_seconds{job="dcgm-exporter"})'), 4
        )
        result["targets_up"] = first_value(prometheus, 'sum(up{job="dcgm-exporter"})')
        # The fleet's Prometheus scrapes only the GPUs, not itself: its TSDB status says.
        result["head_series"] = prometheus.get_json("/api/v1/status/tsdb")["data"]["headStats"]["numSeries"]
        result["gpu_series"] = first_value(prometheus, "count(DCGM_FI_DEV_GPU_TEMP)")
        pipeline = AlertPipeline(target, fleet.endpoints(target.stack.endpoints))
        result["alert"] = alert_latency(pipeline, fleet.node_name(max(1, gpu_nodes // 2)), profile.factor)
        result["peak_memory_mib"] = peak_memory_mib(target)
        return result
    finally:
        target.stop()


def plot(results: list[dict[str, Any]], png: Path) -> None:
    """How each cost grows with the fleet, on log-log axes (a straight line of slope 1 is linear)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in results if "failed" not in r]
    nodes = [r["gpu_nodes"] for r in done]
    curves = {
        "GPU nodes Ready (s)": [r["fleet_s"]["nodes ready"] for r in done],
        "dcgm-exporter on every GPU node (s)": [r["fleet_s"]["dcgm-exporter pods running"] for r in done],
        "every GPU scraped (s)": [r["fleet_s"]["every GPU scraped"] for r in done],
        "per-node check (s)": [r["per_node_check_s"] for r in done],
        "scrape duration, max (s)": [r["scrape_duration_max_s"] for r in done],
        "GPU alert above its physical limit H+W (s)": [r["alert"]["above_physical_limit_s"] for r in done],
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for label, values in curves.items():
        left.plot(nodes, values, marker="o", label=label)
    for r in done:  # a point on another profile than the rest says so
        if r["timing"] != done[0]["timing"]:
            left.annotate(f"{r['timing']} timing", (r["gpu_nodes"], r["fleet_s"]["nodes ready"]), fontsize=7)
    left.set(xscale="log", yscale="log", xlabel="GPU nodes (8 GPUs each)", ylabel="seconds", title="time")
    left.legend(fontsize=7)
    for name in ("kube-apiserver", "etcd", "kwok", "kube-controller-manager", "gpu-fleet-prometheus", "dcgm-fleet"):
        right.plot(nodes, [r["peak_memory_mib"].get(name, float("nan")) for r in done], marker="o", label=name)
    right.set(xscale="log", yscale="log", xlabel="GPU nodes (8 GPUs each)", ylabel="MiB", title="peak memory (VmHWM)")
    right.legend(fontsize=7)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu-nodes", default="10,100,1000,5000")
    parser.add_argument("--timing", choices=tuple(PROFILES), default="fast")
    parser.add_argument("--real-from", type=int, default=5000, help="sizes from this many GPU nodes up: --timing real")
    parser.add_argument("--output", default="reports/gpu-fleet-scale.json")
    parser.add_argument("--plot", default="docs/gpu-fleet-scale.png", help="the curves, drawn from --output")
    parser.add_argument("--plot-only", action="store_true", help="draw --plot from an earlier --output; run nothing")
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads(Path(args.output).read_text()), Path(args.plot))
        return
    tools = components.ensure_all(lambda m: print(m, flush=True), COMPONENTS + CONTROL_PLANE)
    results = []
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    for count in (int(n) for n in args.gpu_nodes.split(",")):
        try:
            timing = "real" if count >= args.real_from else args.timing
            if timing != args.timing:
                print(f"{count} GPU nodes: --timing real (--real-from {args.real_from})", flush=True)
            result = one_size(tools, count, timing)
        except Exception as exc:  # a size the machine cannot hold is a result too
            result = {"gpu_nodes": count, "failed": f"{type(exc).__name__}: {exc}"[:2000]}
        print(json.dumps(result), flush=True)
        results.append(result)
        output.write_text(json.dumps(results, indent=1))
    plot(results, Path(args.plot))


if __name__ == "__main__":
    main()
