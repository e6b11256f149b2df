"""Benchmark: the sustained lines/s the local pipeline (writer → CRI file → Promtail → Loki)
carries with zero loss on this machine.

    .venv/bin/python -m benchmarks.log_throughput [--rates 500,1000,2000,4000] [--seconds 20]
        [--component loki=PATH --component promtail=PATH]

Loki and Promtail are never fetched (AGPL): supply them as for the suite (odin_acceptance.provisioning.supplied).

Each step writes for --seconds at one rate, spread over four workloads, then accounts for
every line. The figure is the highest rate whose lines all arrived; it is written to
reports/benchmark.json. A benchmark, not a test: it asserts nothing and never runs in CI.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from odin_acceptance.core.polling import Poll, eventually
from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.pipelines.log_path import LogPipeline
from odin_acceptance.provisioning import components, supplied
from odin_acceptance.stack_config import manifests
from odin_acceptance.target_api.base import TargetOptions
from odin_acceptance.targets.local import LocalTarget
from odin_acceptance.verdicts.line_accounting import account_all

WORKLOADS = 4


def step(pipeline: LogPipeline, rate: int, seconds: float) -> dict[str, float]:
    per = rate // WORKLOADS
    lines = int(per * seconds)
    writers = [
        (pipeline.start(f"bench{rate}-{i}", "--lines", str(lines), "--rate", str(per), "--size", "150"), lines)
        for i in range(WORKLOADS)
    ]
    started = time.time()
    for workload, _ in writers:
        pipeline.target.nodes.wait_workload_done(workload, timeout=seconds * 3 + 30)
    wrote_for = time.time() - started

    def arrived() -> int:
        report = account_all(pipeline.loki, writers, 3600)
        assert report.missing == 0, f"{report.missing} missing"
        return report.received

    try:
        received = eventually(arrived, timeout=60, what=f"{rate} lines/s to arrive", poll=Poll(1.0, 2.0))
        missing = 0
    except AssertionError:
        report = account_all(pipeline.loki, writers, 3600)
        received, missing = report.received, report.missing
    return {
        "target_rate": rate,
        "achieved_rate": round(lines * WORKLOADS / wrote_for, 1),
        "lines": lines * WORKLOADS,
        "received": received,
        "missing": missing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="1000,4000,16000,32000,64000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--component", action="append", default=[], metavar="NAME=PATH")
    args = parser.parse_args()
    try:
        found = supplied.discover(supplied.parse_options(args.component))
    except supplied.SupplyError as exc:
        raise SystemExit(f"error: {exc}") from exc
    if found.reason_missing({"loki"}):
        raise SystemExit(f"error: {found.reason_missing({'loki'})}")
    options = TargetOptions(profile=PROFILES["fast"], manifest_dir=manifests.BASE)
    target = LocalTarget(options=options, tools={**components.ensure_all(), **found.paths})
    results = []
    try:
        target.start()
        pipeline = LogPipeline(target, "bench")
        with pipeline.workloads():
            for rate in (int(r) for r in args.rates.split(",")):
                result = step(pipeline, rate, args.seconds)
                results.append(result)
                print(json.dumps(result), flush=True)
                if result["missing"] or result["achieved_rate"] < 0.9 * rate:
                    break  # lost lines, or the writers could not keep up: the limit is found
    finally:
        target.stop()
    clean = [r for r in results if not r["missing"] and r["achieved_rate"] >= 0.9 * r["target_rate"]]
    best = max((r["achieved_rate"] for r in clean), default=0.0)
    summary = {"zero_loss_lines_per_second": best, "seconds_per_step": args.seconds, "steps": results}
    out = Path("reports/benchmark.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"sustained with zero loss: {best:g} lines/s ({out})")


if __name__ == "__main__":
    main()
