"""`python -m odin_acceptance.provisioning.kind_tools`: kind and kubectl at their pins
(versions.KIND_TOOLS), found or built into the cache like every component; prints the
directory of each, one a line, for a CI job's PATH (the nightly appends it to $GITHUB_PATH),
so the job runs the versions this repository pins rather than a second copy of them."""

from __future__ import annotations

import sys

from odin_acceptance.provisioning.components import ProvisioningError, ensure
from odin_acceptance.provisioning.versions import KIND_TOOLS


def main() -> int:
    # stdout is the job's PATH: progress goes to stderr.
    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        found = [path for component in KIND_TOOLS for path in ensure(component, progress).values()]
    except ProvisioningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(dict.fromkeys(str(path.parent) for path in found)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
