"""One sign-off across runs: several runs' verdicts.json put together.

No single target can prove every criterion (SC1 needs real containers and the 5,000-node
fleet, SC3 ExporterDown on local and the GPU fleet on kwok, SC6 a 24-hour soak), so the
sign-off a reviewer attaches is `python -m odin_acceptance.signoff RUN...` over a local, a
kwok and a kind (or cluster) run of the same manifests: reports/signoff.html and
reports/signoff.json."""
