"""The suite's command-line options and ini values, registered only in a run that loaded the
suite (`odin_acceptance.plugin`): a user's own `--target` elsewhere never meets ours."""

from __future__ import annotations

import pytest

from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.plugin import settings
from odin_acceptance.target_api.base import DEFAULT_NODES, KEEP_RESOURCES
from odin_acceptance.targets import NAMES


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)
    group = parser.getgroup("odin", "ODIN acceptance suite")
    group.addoption(
        "--target",
        choices=NAMES,
        default=None,
        help="where the stack runs (default: local processes on 127.0.0.1; kwok: a real control "
        "plane with simulated nodes, built from source on first use; ini: odin_target)",
    )
    group.addoption(
        "--timing",
        choices=tuple(PROFILES),
        default=None,
        help="timing profile: rapid and fast divide every duration by 60 and 30 "
        "(defaults on the local and kwok targets), real keeps them (ini: odin_timing)",
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
    group.addoption("--evidence", default=None, help="where to write the evidence JSON (default: in --reports)")
    group.addoption(
        "--manifests",
        default=None,
        help="the kustomize directory under test (default: manifests/base of pytest's rootdir; ini: odin_manifests)",
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
