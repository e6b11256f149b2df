"""The local target's parts: the real components as processes on 127.0.0.1 (`ProcessStack`),
and this machine playing the node the workloads run on (`ProcessNodes`).

Configs come from the manifests (odin_acceptance.stack_config.render); ports are chosen at run
time; all state lives in a temporary directory of this run. Every process is registered as a
pod of the local node (odin_acceptance.targets.local_pods) and its output is written in the CRI
format where the kubelet would write it, so Promtail's manifest config tails it unchanged.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from odin_acceptance.clients.alertmanager_api import AlertmanagerApi
from odin_acceptance.clients.instrument_clients import FakeDcgmClient, WebhookReceiverClient
from odin_acceptance.clients.json_http import JsonApi
from odin_acceptance.clients.links import LinkWatch
from odin_acceptance.clients.loki_api import LokiApi
from odin_acceptance.clients.metrics_text import LabelFilter, metric_sum
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core import timeouts
from odin_acceptance.core.artifacts import Artifacts, from_titles
from odin_acceptance.core.polling import eventually
from odin_acceptance.core.workloads import LoadableNode, StressedNode, Workload
from odin_acceptance.offline import config_tools
from odin_acceptance.provisioning.versions import COMPONENTS
from odin_acceptance.stack_config import manifests, render
from odin_acceptance.stack_config.services import StandIns, stack_table
from odin_acceptance.target_api.base import (
    COMPONENT_FAULTS,
    PER_NODE_CPU,
    SUPPLIED_EXECUTABLES,
    Endpoints,
    Target,
    TargetError,
    TargetOptions,
    api_snapshots,
)
from odin_acceptance.target_api.parts import Nodes, Stack
from odin_acceptance.targets import process_configs
from odin_acceptance.targets.local_pods import NODE, Container, LocalNode, Pod, parse_cri_line
from odin_acceptance.targets.process_configs import RunLayout
from odin_acceptance.targets.processes import ProcessExited, ProcessGroup, free_port

# Where `python -m odin_acceptance.instruments.…` finds the package, installed or not.
PACKAGE_PARENT = Path(__file__).resolve().parents[2]
NAMESPACE = "monitoring"


# Data directories (TSDB blocks, chunks, WAL) are large and unreadable; logs and configs are not.
_KEPT_SUFFIXES = {".log", ".yml", ".yaml", ".ini", ".json", ".txt"}


def _worth_keeping(path: Path, root: Path) -> bool:
    return path.suffix in _KEPT_SUFFIXES and not any(part.endswith("-data") for part in path.relative_to(root).parts)


class ProcessStack(Stack):
    """The components as processes of this machine, rendered from the manifests."""

    provides = frozenset({COMPONENT_FAULTS, SUPPLIED_EXECUTABLES})

    def __init__(self, *, options: TargetOptions, tools: dict[str, Path], name: str = "local") -> None:
        self.name = name  # the target's, which names its artifacts directory
        self.profile = options.profile
        self.tools = tools
        self.manifest_dir = options.manifest_dir
        self.keep_run_dir = options.keep_run_dir
        # Read before the run directory exists: unreadable manifests leave nothing behind.
        table = stack_table(manifests.load(self.manifest_dir))
        self.run_dir = Path(tempfile.mkdtemp(prefix="odin-acceptance-"))
        self.config_dir = self.run_dir / "config"
        self.processes = ProcessGroup(self.run_dir)
        self.node = LocalNode(self.run_dir)
        ports = {name: port for name, (port, _) in table.items()}
        # Container port names, as the manifests' pods declare them (Prometheus's relabelling reads them).
        self.port_names = {name: port_name for name, (_, port_name) in table.items()}
        self.stand_ins = StandIns(ports, {name: f"127.0.0.1:{free_port()}" for name in ports})
        self.addresses = self.stand_ins.addresses
        self.loki_grpc_port = free_port()
        # Loki, Promtail and Grafana run only where the user supplied them (odin_acceptance.provisioning.supplied).
        self.runs_logs = {"loki", "promtail"} <= tools.keys()
        self.runs_grafana = "grafana" in tools
        # Grafana's API is read as its admin (Viewer lacks datasources:read), with a password of this run.
        self.grafana_auth = ("admin", uuid.uuid4().hex)
        self._grafana_env: dict[str, str] = {}
        self.links: LinkWatch | None = None
        # Component -> its data directory, when the manifests keep that data on no volume
        # claim: a restart (a new pod) then starts it empty, as the cluster would.
        self.ephemeral: dict[str, Path] = {}
        self.image_dirs: dict[str, Path] = {}
        self.ready_seconds: dict[str, float] = {}
        self._configs: dict[str, Path] = {}
        self.pods: dict[Workload, Pod] = {}  # every container of this run, the stack's and the workloads'
        self._probes: dict[str, tuple[Callable[[], object], str]] = {}
        self._promtail = JsonApi(self._url("promtail"), "Promtail")
        self._endpoints = Endpoints(
            prometheus=PrometheusApi(self._url("prometheus")),
            alertmanager=AlertmanagerApi(self._url("alertmanager")),
            webhook=WebhookReceiverClient(self._url("webhook-receiver")),
            dcgm=FakeDcgmClient(self._url("dcgm-exporter")),
            loki=LokiApi(self._url("loki")) if self.runs_logs else None,
            promtail=self._promtail if self.runs_logs else None,
            grafana=JsonApi(self._url("grafana"), "Grafana", auth=self.grafana_auth) if self.runs_grafana else None,
        )
        # Container path -> directory of this run (the volumes of the manifests).
        self.mounts = {
            "/loki": str(self.run_dir / "loki-data"),
            "/etc/loki/rules": str(self.run_dir / "loki-rules"),
            "/run/promtail": str(self.run_dir / "promtail"),
            "/var/log/pods": str(self.node.pods_dir),
        }

    def _url(self, service: str) -> str:
        return f"http://{self.addresses[service]}"

    @property
    def endpoints(self) -> Endpoints:
        return self._endpoints

    # -- configs -----------------------------------------------------------------------

    def render_configs(self) -> dict[str, Path]:
        """Render and check every config; raises before any process exists."""
        rendered = process_configs.render(
            self.manifest_dir,
            RunLayout(self.run_dir, self.config_dir, self.mounts, self.node.sd_files),
            self.stand_ins,
            self.profile,
            self.tools,
            loki_grpc_port=self.loki_grpc_port,
            runs_logs=self.runs_logs,
            runs_grafana=self.runs_grafana,
        )
        self.ephemeral.update(rendered.ephemeral)
        self.image_dirs.update(rendered.image_dirs)
        self._grafana_env = rendered.grafana_env
        self._configs = rendered.paths
        return rendered.paths

    def deployed_dashboard(self, title: str) -> dict:
        # Grafana is provisioned with the manifests' dashboard as it is (render_grafana).
        return manifests.load(self.manifest_dir).dashboard(title)

    def deployed_config(self, name: str) -> str:
        if name not in self._configs:
            raise KeyError(f"no deployed config named {name!r} (have {sorted(self._configs)})")
        return self._configs[name].read_text()

    # -- lifecycle ---------------------------------------------------------------------

    def _start_pod(
        self, name: str, argv: list[str], probe: Callable[[], object], what: str, env: dict[str, str] | None = None
    ) -> None:
        """Start a component as the one container of a pod named after it, and wait for it."""
        port = int(self.addresses[name].rsplit(":", 1)[1])
        pod = self.node.add(Pod(NAMESPACE, f"{name}-0", (Container(name, port, self.port_names[name]),), {"app": name}))
        proc = self.processes.start(name, argv, cwd=PACKAGE_PARENT, env=env, cri_log=self.node.log_path(pod, name))
        self.pods[Workload(NAMESPACE, pod.name, name)] = pod
        self._probes[name] = (probe, what)
        self.ready_seconds[name] = self.processes.wait_ready(proc, probe, what)

    def prepare(self) -> None:
        """Render every config and check it with its own tool, before any process starts."""
        try:
            self.render_configs()
        except (manifests.ManifestError, render.RenderError, config_tools.ConfigCheckError) as exc:
            raise TargetError(str(exc)) from exc

    def start(self) -> None:
        if not self._configs:
            self.prepare()
        py, e, c, run = sys.executable, self._endpoints, self._configs, self.run_dir
        listen = self.addresses
        self._start_pod(
            "webhook-receiver",
            [py, "-m", "odin_acceptance.instruments.webhook_receiver", "--listen", listen["webhook-receiver"]],
            e.webhook.ready,
            "GET /healthz",
        )
        self._start_pod(
            "dcgm-exporter",
            [py, "-m", "odin_acceptance.instruments.fake_dcgm_exporter", "--listen", listen["dcgm-exporter"]],
            e.dcgm.ready,
            "GET /healthz",
        )
        (run / "textfiles").mkdir()
        node = JsonApi(self._url("node-exporter"), "node_exporter")
        self._start_pod(
            "node-exporter",
            [
                str(self.tools["node_exporter"]),
                f"--web.listen-address={listen['node-exporter']}",
                "--no-collector.systemd",
                f"--collector.textfile.directory={run / 'textfiles'}",
            ],
            lambda: node.probe("/metrics"),
            "GET /metrics",
        )
        self._start_pod(
            "alertmanager",
            [
                str(self.tools["alertmanager"]),
                f"--config.file={c['alertmanager.yml']}",
                f"--storage.path={run / 'alertmanager-data'}",
                f"--web.listen-address={listen['alertmanager']}",
                f"--web.external-url={self._url('alertmanager')}/",
                "--cluster.listen-address=",
            ],
            e.alertmanager.ready,
            "GET /-/ready",
        )
        self._start_pod(
            "prometheus",
            [
                str(self.tools["prometheus"]),
                f"--config.file={c['prometheus.yml']}",
                f"--storage.tsdb.path={run / 'prometheus-data'}",
                f"--web.listen-address={listen['prometheus']}",
                f"--web.external-url={self._url('prometheus')}/",
                "--web.enable-lifecycle",
                *render.prometheus_args(self.profile),
            ],
            e.prometheus.ready,
            "GET /-/ready",
        )
        if self.runs_logs:
            self._start_logs()
        if self.runs_grafana:
            self._start_grafana()
        self._wait_wired()
        metrics = {"prometheus": e.prometheus, "alertmanager": e.alertmanager, "promtail": e.promtail}
        self.links = LinkWatch(
            {name: api.metrics_text for name, api in metrics.items() if api is not None},
            e.prometheus.targets,
            self._exited,
        )
        self.links.baseline()

    def _exited(self) -> dict[str, str]:
        """Components that exited without being stopped on purpose: name -> how."""
        stopped = self.links.stopped_on_purpose if self.links else set()
        out = {}
        for name in self._probes:
            proc = self.processes.processes[name]
            if name not in stopped and not proc.running():
                tail = proc.log_tail(3).replace("\n", " | ")
                out[name] = f"{name} exited with code {proc.popen.returncode}; its last lines: {tail}"
        return out

    def broken_links(self) -> dict[str, str]:
        return self.links.broken() if self.links else {}

    def _start_logs(self) -> None:
        e, c = self._endpoints, self._configs
        assert e.loki is not None and e.promtail is not None
        self._start_pod(
            "loki",
            [
                str(self.tools["loki"]),
                f"-config.file={c['loki.yaml']}",
                "-server.http-listen-address=127.0.0.1",
                "-server.grpc-listen-address=127.0.0.1",
                # Loki advertises its query frontend on the host's first interface by default;
                # its own querier must reach it on loopback.
                "-frontend.instance-addr=127.0.0.1",
            ],
            e.loki.ready,
            "GET /ready",
        )
        self._start_pod(
            "promtail",
            [
                str(self.tools["promtail"]),
                f"-config.file={c['promtail.yaml']}",
                "-server.http-listen-address=127.0.0.1",
                "-server.grpc-listen-address=127.0.0.1",
                "-server.grpc-listen-port=0",
            ],
            lambda: e.promtail.probe("/ready"),
            "GET /ready",
            env={**os.environ, "HOSTNAME": NODE},
        )

    def _start_grafana(self) -> None:
        grafana = self._endpoints.grafana
        assert grafana is not None
        executable = self.tools["grafana"]
        # The release archive's layout: bin/grafana beside conf/ and public/ (its home path).
        home = executable.resolve().parent.parent
        self._start_pod(
            "grafana",
            [str(executable), "server", f"--homepath={home}", f"--config={self._configs['grafana.ini']}"],
            lambda: grafana.probe("/api/health"),
            "GET /api/health",
            env={
                **os.environ,
                **self._grafana_env,
                "GF_SECURITY_ADMIN_USER": self.grafana_auth[0],
                "GF_SECURITY_ADMIN_PASSWORD": self.grafana_auth[1],
            },
        )

    def _wait_wired(self) -> None:
        """Every scrape target up and Alertmanager discovered: the stack is one pipeline."""
        prom = self._endpoints.prometheus

        def all_up() -> list[str]:
            targets = prom.targets()
            jobs = {t["labels"].get("job"): t["health"] for t in targets}
            assert {"prometheus", "node-exporter", "dcgm-exporter"} <= jobs.keys(), f"targets: {jobs}"
            assert all(h == "up" for h in jobs.values()), f"targets: {jobs}"
            assert prom.alertmanagers(), "no Alertmanager discovered"
            return sorted(jobs)

        scrape = self.config.global_interval("scrape_interval")
        eventually(
            all_up,
            timeout=timeouts.TARGET_UP + 2 * scrape,
            what="Prometheus to scrape every target and find Alertmanager",
        )

    def stop(self, *, failed: bool = False) -> None:
        self.processes.stop_all()
        if not self.keep_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # -- faults ------------------------------------------------------------------------

    def stop_component(self, name: str) -> None:
        if self.links:
            self.links.stopped_on_purpose.add(name)
        self.processes.processes[name].stop()

    def start_component(self, name: str) -> None:
        """The same command again, on the same log file: a new pod, which keeps only the data
        the manifests put on a volume claim."""
        if name in self.ephemeral:
            shutil.rmtree(self.ephemeral[name], ignore_errors=True)
        if name in self.image_dirs:
            self.image_dirs[name].mkdir(parents=True, exist_ok=True)
        proc = self.processes.restart(name)
        probe, what = self._probes[name]
        self.processes.wait_ready(proc, probe, what)
        if self.links:  # failures while it was down were the fault's, not a broken link
            self.links.back(name)

    def promtail_metric(self, name: str, where: LabelFilter | None = None) -> float:
        return metric_sum(self._promtail.get_text("/metrics"), name, where)

    # -- reporting ---------------------------------------------------------------------

    def diagnostics(self) -> dict[str, str]:
        out = {f"{name} log (last lines)": proc.log_tail(40) for name, proc in self.processes.processes.items()}
        return {**out, **api_snapshots(self._endpoints)}

    def artifacts(self) -> Artifacts:
        """Every component's whole log and every rendered config, by their place in the run
        directory (a hint naming <run dir>/X.log finds it as artifacts/local/X.log)."""
        files = [p for p in self.run_dir.rglob("*") if p.is_file() and _worth_keeping(p, self.run_dir)]
        out: dict[str, str | Path] = {str(p.relative_to(self.run_dir)): p for p in files}
        out.update(from_titles(api_snapshots(self._endpoints)))
        return out

    def describe(self) -> dict[str, str]:
        facts = {f"{c.name} version": f"{c.version} ({c.licence}, fetched by the suite)" for c in COMPONENTS}
        facts.update(
            {
                "target": "local (processes on 127.0.0.1)",
                "timing profile": self.profile.describe(),
                "run directory": str(self.run_dir)
                + (
                    ""
                    if self.keep_run_dir
                    else " (removed at the end; after a failure its logs and configs are in reports/artifacts/"
                    f"{self.name}/ under the same names)"
                ),
            }
        )
        facts.update({f"{n} ready after": f"{s:.2f} s" for n, s in self.ready_seconds.items()})
        return facts


class ProcessNodes(Nodes):
    """This machine as the one node: workloads are processes registered as its pods, their
    output in the CRI files the stack's Promtail tails."""

    provides = frozenset({PER_NODE_CPU})  # the one node is this machine: its CPU counters are its own

    def __init__(self, stack: ProcessStack) -> None:
        self.stack = stack

    def start_workload(
        self,
        namespace: str,
        name: str,
        args: list[str],
        labels: Mapping[str, str] | None = None,
        instrument: str = "log_writer",
    ) -> Workload:
        pod = self.stack.node.add(Pod(namespace, name, (Container("app"),), {**(labels or {}), "app": name}))
        workload = Workload(namespace, name, "app")
        self.stack.processes.start(
            f"workload-{namespace}-{name}",
            [sys.executable, "-m", f"odin_acceptance.instruments.{instrument}", *args],
            cwd=PACKAGE_PARENT,
            cri_log=self.stack.node.log_path(pod, "app"),
        )
        self.stack.pods[workload] = pod
        return workload

    def loadable_node(self) -> LoadableNode:
        # This machine is the node: its node_exporter reports the load.
        exporter = next(
            t for t in self.stack.endpoints.prometheus.targets() if t["labels"].get("job") == "node-exporter"
        )
        return LoadableNode(NODE, exporter["labels"]["instance"], os.cpu_count() or 1)

    def stress_cpu(self, node: LoadableNode, name: str, seconds: float) -> StressedNode:
        args = ["--cpus", str(node.cpus), "--seconds", f"{seconds:g}"]
        started = time.time()
        workload = self.start_workload(NAMESPACE, name, args, instrument="cpu_stress")
        return StressedNode(node.node, node.instance, started, workload, seconds)

    def stop_workload(self, workload: Workload) -> None:
        pod = self.stack.pods.pop(workload)
        name = f"workload-{workload.namespace}-{workload.pod}"
        self.stack.processes.processes.pop(name).stop()
        self.stack.node.remove(pod)

    def wait_workload_done(self, workload: Workload, timeout: float) -> None:
        proc = self.stack.processes.processes[f"workload-{workload.namespace}-{workload.pod}"]

        def exited() -> None:
            try:
                proc.ensure_running()
            except ProcessExited:
                return
            raise AssertionError("still writing")

        eventually(exited, timeout=timeout, what=f"workload {workload.pod} to write its lines")
        proc.pump.join(timeout)

    def container_log(self, workload: Workload) -> list[tuple[int, str]]:
        path = self.stack.node.log_path(self.stack.pods[workload], workload.container)
        return [(ts, text) for ts, _, _, text in map(parse_cri_line, path.read_text().splitlines())]

    def running_containers(self) -> list[Workload]:
        def wrote(workload: Workload) -> bool:
            path = self.stack.node.log_path(self.stack.pods[workload], workload.container)
            return path.is_file() and path.stat().st_size > 0

        return [w for w in self.stack.pods if wrote(w)]


class LocalTarget(Target):
    """The real components as processes on 127.0.0.1, the workloads beside them."""

    name = "local"
    parts = (ProcessStack, ProcessNodes)
    default_timing = "rapid"  # every hop on loopback (timing_profiles.PROFILES)
    # Loki's restarts and ingestion take real seconds that rapid's budgets do not cover: its
    # retry budget (Promtail's backoff, 4.3–8.5 s) would not outlast a Loki restart. The log
    # half was proven on fast.
    default_timing_with_logs = "fast"

    def __init__(self, *, options: TargetOptions, tools: dict[str, Path]) -> None:
        stack = ProcessStack(options=options, tools=tools)
        super().__init__(profile=options.profile, stack=stack, nodes=ProcessNodes(stack))
