"""A CPU stress load: one busy process per core for a given time (the plan's stress test,
without a special image). Standard library only."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time


def _burn(until: float) -> None:
    x = 0
    while time.monotonic() < until:
        x = (x * 31 + 7) % 1_000_003


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cpu-stress")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args(argv)
    until = time.monotonic() + args.seconds
    workers = [multiprocessing.Process(target=_burn, args=(until,)) for _ in range(args.cpus)]
    for worker in workers:
        worker.start()
    print(f"cpu-stress: {args.cpus} busy processes for {args.seconds:g} s", flush=True)
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
