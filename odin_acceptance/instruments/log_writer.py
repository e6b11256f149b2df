"""A log workload: prints sequence-numbered lines to stdout, as an application in a pod.

Each line is `<stream-id> seq=<n> <level> <marker> <padding>` so a checker can tell
missing, duplicate and out-of-order entries apart. Standard library only.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="log-writer")
    parser.add_argument("--stream-id", required=True)
    parser.add_argument("--lines", type=int, default=1, help="how many lines (0: until stopped)")
    parser.add_argument("--rate", type=float, default=0.0, help="lines per second (0: as fast as possible)")
    parser.add_argument("--size", type=int, default=0, help="pad each line to about this many bytes")
    parser.add_argument("--level", default="info")
    parser.add_argument("--error-every", type=int, default=0, help="every Nth line at level=error")
    parser.add_argument("--words", default="", help="comma-separated words, one per line in turn")
    parser.add_argument("--marker", default="")
    parser.add_argument("--linger", action="store_true", help="stay alive after the last line (like a server)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    out = sys.stdout
    started = time.monotonic()
    words = [w for w in args.words.split(",") if w]
    seq = 0
    while args.lines == 0 or seq < args.lines:
        seq += 1
        level = "error" if args.error_every and seq % args.error_every == 0 else args.level
        word = words[seq % len(words)] if words else ""
        line = " ".join(part for part in (args.stream_id, f"seq={seq}", f"level={level}", word, args.marker) if part)
        if args.size > len(line):
            line += " " + "x" * (args.size - len(line) - 1)
        out.write(line + "\n")
        if args.rate > 0:
            out.flush()
            delay = started + seq / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the workload itself, not waiting on a condition
    out.flush()
    while args.linger:
        signal.pause()


if __name__ == "__main__":
    main()
