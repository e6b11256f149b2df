"""`python -m odin_acceptance.signoff RUN_DIR_OR_VERDICTS_JSON...`: writes signoff.html and
signoff.json (into reports/, or --out).

Exit status: 0 accepted; 1 not accepted (a scenario failed on some run); 10 not every
success criterion proven yet; 2 the runs cannot be signed off together (nothing written)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from odin_acceptance.signoff.combine import SignoffError, combine, load
from odin_acceptance.signoff.page import render

EXIT = {"accepted": 0, "not_accepted": 1, "not_fully_proven": 10}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m odin_acceptance.signoff", description=__doc__.splitlines()[0])
    parser.add_argument(
        "runs", nargs="+", type=Path, help="run directories (with verdicts.json) or verdicts.json files"
    )
    parser.add_argument("--out", type=Path, default=Path("reports"), help="where signoff.html and .json go")
    parser.add_argument(
        "--allow-mixed-manifests",
        action="store_true",
        help="sign off runs of different manifests together (the page says so)",
    )
    args = parser.parse_args(argv)
    # A run named twice (its directory and its verdicts.json, say) counts once.
    sources = list(dict.fromkeys(p.resolve() / "verdicts.json" if p.is_dir() else p.resolve() for p in args.runs))
    try:
        doc = combine([load(p) for p in sources], args.allow_mixed_manifests)
    except SignoffError as exc:
        print(f"signoff: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "signoff.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    (args.out / "signoff.html").write_text(render(doc))
    states = ", ".join(f"{i} {c['state']}" for i, c in doc["criteria"].items() if c["kind"] == "success")
    print(f"signoff: {doc['overall']} over {len(sources)} runs ({states}): {args.out / 'signoff.html'}")
    return EXIT[doc["overall"]]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
