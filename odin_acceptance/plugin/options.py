"""The suite's command-line options, and what is decided before anything starts: host
preconditions, supplied components, and which scenarios this target skips."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from odin_acceptance.core.evidence import EvidenceLog
from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.plugin.state import (
    CAPABILITIES_KEY,
    EVIDENCE_KEY,
    RESULTS_KEY,
    SCENARIOS_KEY,
    STARTED_KEY,
    SUPPLIED_KEY,
    ExitCode,
    capabilities,
    target_options,
)
from odin_acceptance.provisioning import supplied
from odin_acceptance.targets import NAMES, TargetError, preflight, skip_reason
from odin_acceptance.targets.base import KEEP_RESOURCES
from odin_acceptance.targets.kube_control_plane import DEFAULT_NODES
from odin_acceptance.verdicts.criteria import CRITERION_TAGS


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("odin", "ODIN acceptance suite")
    group.addoption(
        "--target",
        choices=NAMES,
        default="local",
        help="where the stack runs (default: local processes on 127.0.0.1; kwok: a real control "
        "plane with simulated nodes, built from source on first use)",
    )
    group.addoption(
        "--timing",
        choices=tuple(PROFILES),
        default=None,
        help="timing profile: fast divides every duration by a stated factor "
        "(default on the local target), real keeps them",
    )
    group.addoption(
        "--kubeconfig",
        default=None,
        help="kind, cluster: the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)",
    )
    group.addoption("--context", default=None, help="cluster: the kubeconfig context (default: its current one)")
    group.addoption(
        "--keep-resources",
        choices=KEEP_RESOURCES,
        default="never",
        help="kind, cluster: leave the run's namespace and cluster-wide objects in the cluster after the run: "
        "never (default), on-failure or always; only objects labelled with the run are ever deleted",
    )
    group.addoption("--evidence", default="reports/evidence.json", help="where to write the evidence JSON")
    group.addoption(
        "--manifests",
        default=None,
        help="the kustomize directory under test (default: manifests/base of the directory pytest runs from)",
    )
    group.addoption(
        "--soak-duration",
        default="120s",
        help="how long the no-loss soak writes (e.g. 120s in CI, 24h for the criterion)",
    )
    group.addoption(
        "--require-criteria",
        default=None,
        metavar="all|SC1,SC2,…",
        help="exit with code 10 unless these criteria (idents of the report's tables, or all success "
        "criteria) hold; for CI jobs that sign off",
    )
    group.addoption("--keep-cluster", action="store_true", help="kind: keep the cluster after the run")
    group.addoption(
        "--kind-node-image",
        default=None,
        metavar="REF|built",
        help="kind: the node image of a cluster the run creates (default: the official kindest/node pinned by "
        "digest, versions.KIND_NODE_IMAGE); `built` builds one of the same Kubernetes release here from the "
        "pinned sources, for machines no registry answers "
        "(Docker, mmdebstrap, gcc and Go; minutes the first time, cached by version)",
    )
    group.addoption(
        "--nodes",
        type=int,
        default=DEFAULT_NODES,
        help=f"kwok: simulated nodes, one of them the control plane (default {DEFAULT_NODES})",
    )
    group.addoption(
        "--gpu-nodes",
        type=int,
        default=0,
        help="kwok: ODIN GPU nodes beside the --nodes (GPU feature discovery's labels, the nvidia.com/gpu "
        "taint and capacity; default 0); the scale scenarios grow the fleet to their own size",
    )
    group.addoption("--gpus-per-node", type=int, default=8, help="kwok: GPUs of each GPU node (default 8)")
    group.addoption("--keep-run-dir", action="store_true", help="keep the local run directory (configs, logs, data)")
    group.addoption(
        "--component",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a component the suite never fetches (AGPL): loki, promtail or grafana, e.g. "
        "--component loki=/opt/loki/loki-linux-amd64 (repeatable; default: found on PATH, else its scenarios skip)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[EVIDENCE_KEY] = EvidenceLog()
    config.stash[RESULTS_KEY] = {}
    config.stash[SCENARIOS_KEY] = {}
    config.stash[STARTED_KEY] = time.time()
    for tag in CRITERION_TAGS:
        config.addinivalue_line(
            "markers", f"{tag}: proves a criterion of the plan (odin_acceptance/verdicts/criteria.py)"
        )
    # Report writers fail at the end of a run if their directory is missing.
    for option in ("htmlpath", "xmlpath", "cucumber_json_path", "evidence"):
        value = getattr(config.option, option, None)
        if value:
            Path(value).parent.mkdir(parents=True, exist_ok=True)
    # CI and `timeout` send SIGTERM: turn it into Ctrl-C so fixtures tear the stack down.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Scenarios the target cannot run are skipped, with the reason reported."""
    can, found = capabilities(config), config.stash.get(SUPPLIED_KEY, None)
    for item in items:
        reason = skip_reason(can, {m.name for m in item.iter_markers()}, found)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Host preconditions of the target (Docker, kind, kubectl, limits) and the supplied
    components (each checked against its pin), before anything starts."""
    config = session.config
    try:
        config.stash[CAPABILITIES_KEY] = preflight(config.getoption("--target"), target_options(config))
        config.stash[SUPPLIED_KEY] = supplied.discover(supplied.parse_options(config.getoption("--component")))
    except (TargetError, supplied.SupplyError) as exc:
        pytest.exit(str(exc), returncode=ExitCode.TARGET_UNAVAILABLE)
