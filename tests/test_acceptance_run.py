"""The acceptance suite itself, run as a user runs it: in full, and against manifests
that put one of the plan's mistakes back (the run must fail and say which criterion)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import eventually
from odin_acceptance.core.timing_profiles import PROFILES
from odin_acceptance.provisioning import components
from odin_acceptance.provisioning.versions import COMPONENTS, CONTROL_PLANE
from odin_acceptance.stack_config import manifests
from odin_acceptance.target_api.base import TargetOptions
from odin_acceptance.targets.discovery_witness import user_namespaces_allowed
from odin_acceptance.targets.kwok import served_cluster
from tests.report_screenshot import ink, screenshot
from tests.suite_runs import edit, run_suite

REPO = Path(__file__).resolve().parent.parent
# Builds happen before any timed test (tests/conftest.py), never inside a deadline.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("provisioned")]


def test_full_local_acceptance_run_passes_and_reports(local_run, supplied_components, tmp_path):
    out, proc = local_run.out, local_run.proc  # made once a session: the sign-off reads it too
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) >= 25 and suite.get("failures") == "0" and suite.get("errors") == "0"
    evidence = json.loads((out / "evidence.json").read_text())
    outcomes = {s["scenario"]: s["outcome"] for s in evidence["context"]["scenarios"]}
    loki_ran = outcomes["Loki health: Loki is ready and runs the pinned release"]
    assert loki_ran == ("skipped" if supplied_components.reason_missing({"loki"}) else "passed")
    assert outcomes["GPU temperature alerting: A GPU at exactly 80 °C does not alert"] == "passed"
    judged = [m for m in evidence["measurements"] if m["within"] is not None]
    assert judged and all(m["within"] for m in judged)
    gpu = [m for m in judged if m["name"] == "crossing → notified" and "85 °C" in m["scenario"]]
    assert len(gpu) == 1 and gpu[0]["unit"] == "s" and gpu[0]["bound"]
    assert json.loads((out / "cucumber.json").read_text())
    html = (out / "acceptance.html").read_text()
    assert "Success criteria (Phase 3 plan)" in html and "crossing → notified" in html
    assert "data:image/png;base64," in html, "no timeline or histogram embedded"
    assert "not covered on local" in html, "SC6 (24-hour loss) must not be shown as passing locally"
    if loki_ran == "skipped":
        assert "Loki 3.6.3, Promtail 3.6.3 not supplied" in html and "--component loki=PATH" in html
    # Opt-in scenarios left out of the default run say how to include them.
    assert (
        "left out of this run: a slow scenario (the CPU stress takes many minutes even in a scaled profile). "
        "Run it with --include slow" in html
    ), "deselected ≠ proven"
    png = screenshot(out / "acceptance.html", tmp_path / "report.png")
    assert ink(png) > 0.02, "the report renders blank in Chromium"


def test_raised_gpu_threshold_fails_the_criterion(tmp_path, manifest_copy):
    edit(manifest_copy / "prometheus" / "alert-rules.yml", "DCGM_FI_DEV_GPU_TEMP > 80", "DCGM_FI_DEV_GPU_TEMP > 90")
    proc = run_suite(tmp_path / "r", "-k", "held_at_85 or GPUHighTemperature", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "GPUHighTemperature is not pending with GPU temperature in °C at 81" in proc.stdout
    assert "timed out" in proc.stdout and "GPUHighTemperature to fire after GPU 1 at 85 °C" in proc.stdout
    # A failed run keeps what a person needs: whole component logs and the rendered configs.
    kept = tmp_path / "r" / "artifacts" / "local"
    assert (kept / "prometheus.log").stat().st_size > 0 and (kept / "config" / "prometheus.yml").is_file()
    assert "DCGM_FI_DEV_GPU_TEMP > 90" in (kept / "config" / "rules" / "alert-rules.yml").read_text()
    assert not list(kept.rglob("*-data/*")), "TSDB and other data directories are not artifacts"
    assert f"artifacts of this run: {kept}" in proc.stdout


def test_longer_hold_is_caught_offline(tmp_path, manifest_copy):
    rules = manifest_copy / "prometheus" / "alert-rules.yml"
    text = rules.read_text()
    rules.write_text(
        text.replace("DCGM_FI_DEV_GPU_TEMP > 80\n        for: 2m", "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 3m")
    )
    proc = run_suite(tmp_path / "r", "-m", "rules", "-k", "GPUHighTemperature", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "GPUHighTemperature is not firing with severity 'warning' 120 s after" in proc.stdout
    # The promtool test files the failed outline generated are kept, to be run by hand.
    tests = sorted((tmp_path / "r" / "artifacts").glob("*gpuhightemperature*/promtool-test-*.yml"))
    assert tests and "promql_expr_test" in tests[0].read_text(), sorted((tmp_path / "r").rglob("*"))


def test_broken_gpu_route_fails_the_routing_criterion(tmp_path, manifest_copy):
    edit(
        manifest_copy / "alertmanager" / "alertmanager.yml",
        """alertname =~ "GPU.+\"""",
        """alertname = "GPUHighTemperature\"""",
    )
    proc = run_suite(tmp_path / "r", "-m", "routing", "-k", "GPUMemoryFull", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "is routed to ['default-receiver']; the plan says ['gpu-alerts']" in proc.stdout


def test_unparsable_rule_stops_before_anything_starts(tmp_path, manifest_copy):
    edit(manifest_copy / "prometheus" / "alert-rules.yml", "DCGM_FI_DEV_GPU_TEMP > 80", "DCGM_FI_DEV_GPU_TEMP >")
    proc = run_suite(tmp_path / "r", "-m", "gpu", manifest_dir=manifest_copy, timeout=120)
    assert proc.returncode == 12, proc.stdout[-3000:]
    assert "promtool check rules rejected" in proc.stdout and "alert-rules.yml" in proc.stdout
    assert "prometheus log" not in proc.stdout, "no component should have been started"


def test_a_broken_link_ends_the_run_in_about_a_minute_naming_it(tmp_path, manifest_copy):
    # Prometheus sends its alerts to a closed port: every wait for a notification would run
    # to its deadline; the wait sees Prometheus's own send errors instead.
    edit(manifest_copy / "prometheus" / "prometheus.yml", '"alertmanager:9093"', '"127.0.0.1:9"')
    started = time.monotonic()
    proc = run_suite(tmp_path / "r", "-m", "gpu or routing", manifest_dir=manifest_copy)
    took = time.monotonic() - started
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "a link it needs is broken" in proc.stdout
    assert "Prometheus → Alertmanager:" in proc.stdout and "alert batches Prometheus failed to send" in proc.stdout
    assert "timed out" not in proc.stdout, "no wait behind the broken link may run to its deadline"
    assert took < 90, f"took {took:.0f} s"


def test_alertmanager_data_off_its_volume_claim_is_lost_with_the_pod(tmp_path, manifest_copy):
    # The plan's --storage.path on the claim is what keeps silences and the notification log.
    deployment = manifest_copy / "alertmanager" / "alertmanager-deployment.yaml"
    edit(deployment, "- --storage.path=/alertmanager", "- --storage.path=/tmp/alertmanager")
    proc = run_suite(tmp_path / "r", "-k", "keeps_its_silences", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "after a restart the silence is unknown" in proc.stdout
    assert "Alertmanager's --storage.path is not on the manifests' volume claim" in proc.stdout


@pytest.mark.cpu
def test_cpu_stress_raises_high_cpu_usage_on_time_on_the_local_node(tmp_path):
    # About 13 minutes: the rate window (5 m) is never shortened by the timing profile, and
    # the plan's 300 s stress runs in full (D10).
    out = tmp_path / "reports"
    proc = run_suite(out, "-m", "cpu_stress", "--include", "slow")
    assert proc.returncode == 0, proc.stdout[-6000:]
    measurements = json.loads((out / "evidence.json").read_text())["measurements"]
    [firing] = [m for m in measurements if m["name"] == "load start → pending (window crossed)"]
    assert firing["within"] and firing["bound"], firing
    [held] = [m for m in measurements if m["name"] == "HighCPUUsage condition held, against the plan's hold"]
    assert held["within"] and 60 < held["value"] < 300, held


@pytest.mark.cpu
def test_a_lowered_cpu_threshold_fails_the_live_stress_scenario(tmp_path, manifest_copy):
    # About 5 minutes: 77 % instead of 80 % is crossed 9 s early under full load (the bound
    # is ± 2 s); promtool's 30-second evaluations cannot tell them apart.
    edit(manifest_copy / "prometheus" / "alert-rules.yml", "[5m])) * 100) > 80", "[5m])) * 100) > 77")
    proc = run_suite(tmp_path / "r", "--include", "slow", "-k", "fully_busy", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert re.search(r"HighCPUUsage turned pending \d+ s after the load started", proc.stdout), proc.stdout[-3000:]


def test_kind_without_docker_is_one_clear_error(tmp_path):
    # A Docker that answers nowhere, whether or not this machine runs one.
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    proc = run_suite(tmp_path / "r", "--target", "kind", "-m", "gpu", timeout=120, env=env)
    assert proc.returncode == 12
    assert "kind" in proc.stdout


@pytest.mark.usefixtures("needs_loki")
def test_retention_off_fails_the_retention_criterion(tmp_path, manifest_copy):
    edit(manifest_copy / "loki" / "loki.yaml", "retention_enabled: true", "retention_enabled: false")
    proc = run_suite(tmp_path / "r", "-k", "retention", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "the compactor's retention is off" in proc.stdout


@pytest.mark.usefixtures("needs_loki")
def test_plan_docker_stage_fails_the_timestamp_criterion(tmp_path, manifest_copy):
    edit(manifest_copy / "promtail" / "promtail.yaml", "      - cri: {}", "      - docker: {}")
    proc = run_suite(tmp_path / "r", "-k", "marker_line_is_found", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "the pipeline does not parse CRI lines" in proc.stdout


@pytest.mark.usefixtures("needs_loki")
def test_soak_and_faults_lose_nothing_and_see_loss(tmp_path):
    out = tmp_path / "reports"
    proc = run_suite(out, "-m", "soak or fault", "--include", "soak,fault", "--soak-duration", "60s")
    assert proc.returncode == 0, proc.stdout[-6000:]
    measurements = json.loads((out / "evidence.json").read_text())["measurements"]
    soak = {m["name"]: m["value"] for m in measurements if m["scenario"].startswith("No log line lost")}
    assert soak["lines written"] == 3600 and soak["lines missing"] == 0 and soak["lines received"] == 3600
    seen_loss = [m for m in measurements if m["name"] == "lines missing (checker)"]
    assert seen_loss and seen_loss[0]["value"] > 0, "the checker must see the loss of the long outage"


def _children(parent: int) -> list[int]:
    """Pids whose parent is `parent` (Linux /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return pids


# Where to interrupt: start-up (a component in the middle of the start order exists), or
# mid-scenario (a scenario has passed and the next is running).
START_UP_PROCESS = {"local": "alertmanager", "kwok": "etcd"}


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.mark.parametrize(
    ("target", "moment", "signum"),
    [
        ("local", "start-up", signal.SIGINT),
        ("local", "mid-scenario", signal.SIGTERM),
        ("kwok", "start-up", signal.SIGTERM),
        ("kwok", "mid-scenario", signal.SIGINT),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_an_interrupt_leaves_no_process_port_or_directory(tmp_path, target, moment, signum):
    out, scratch = tmp_path / "reports", tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", "features", "-m", "gpu", "--target", target, "-v"),
            f"--reports={out}",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, TMPDIR=str(scratch)),  # every temporary directory of the run lands here
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()

    def at_the_moment() -> list[int]:
        children = _children(proc.pid)
        if moment == "start-up":
            assert START_UP_PROCESS[target] in {_comm(p) for p in children}, "not starting yet"
        else:
            assert any(" PASSED" in line for line in lines), "no scenario finished yet"
        return children

    children = eventually(at_the_moment, timeout=300, what=f"the {moment} of a {target} run")
    ports = {address for _, address in _listeners(set(children))} if shutil.which("ss") else set()
    proc.send_signal(signum)
    proc.wait(timeout=120)
    reader.join(10)
    said = "".join(lines)[-3000:]
    alive = [f"{pid} {_comm(pid)} {_state(pid)}" for pid in children if _state(pid) not in ("gone", "Z")]
    assert not alive, f"still running after {signum.name} at {moment}: {alive}\n{said}"
    still = ports & {address for _, address in _listeners(None)} if ports else set()
    assert not still, f"still listening after {signum.name} at {moment}: {sorted(still)}"
    left = sorted(p.name for p in scratch.iterdir())
    assert not left, f"temporary directories left after {signum.name} at {moment}: {left}"


def last_listener(target: str, found) -> str:
    """The program that binds last on each target: once it listens, every listener exists."""
    if target == "kwok":
        return "kubectl"
    return next((name for name in ("grafana", "promtail") if name in found.paths), "prometheus")


@pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) is not installed")
@pytest.mark.parametrize("target", ["local", "kwok"])
def test_nothing_listens_beyond_loopback(tmp_path, target, supplied_components):
    last = last_listener(target, supplied_components)
    out = tmp_path / "reports"
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", "features", "-m", "gpu", "--target", target),
            f"--reports={out}",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def all_bound() -> list[tuple[str, str]]:
            found = _listeners(set(_children(proc.pid)))
            assert last in {name for name, _ in found}, f"listening so far: {found}"
            return found

        listeners = eventually(all_bound, timeout=300, what=f"every component of the {target} target to listen")
        exposed = [(name, address) for name, address in listeners if not address.startswith("127.0.0.1:")]
        assert not exposed, f"listening beyond 127.0.0.1: {exposed}"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)


def _listeners(pids: set[int] | None) -> list[tuple[str, str]]:
    """(program, local address) of every TCP listener of `pids` (None: of any process), from `ss -ltnpH`."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            if pids is None or int(pid) in pids:
                found.append((name, line.split()[3]))
    return found


def _state(pid: int) -> str:
    """A process's state letter, or "gone"; a zombie (Z) is dead, waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_full_kwok_acceptance_run_passes_on_a_real_control_plane(kwok_run):
    out, proc = kwok_run.out, kwok_run.proc  # made once a session: the sign-off reads it too
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    evidence = json.loads((out / "evidence.json").read_text())
    outcomes = {s["scenario"]: s["outcome"] for s in evidence["context"]["scenarios"]}
    assert outcomes["One Promtail per node: Every node runs one ready Promtail"] == "passed"
    assert outcomes["One Promtail per node: Every node ships its pods' logs"] == "skipped"
    per_node = [m for m in evidence["measurements"] if m["name"] == "nodes with one ready Promtail"]
    assert [m["value"] for m in per_node] == [3], "1 control plane + 2 workers by default"
    assert "kube-apiserver ready after" in evidence["context"]
    html = (out / "acceptance.html").read_text()
    assert "needs real containers on every node" in html, "the report must say why Grafana and CPU stress skip"


def test_kwok_namespace_enforcing_baseline_stops_the_start_naming_pod_security(tmp_path, manifest_copy):
    """A cluster whose Pod Security forbids node-exporter's hostPID and hostPath: the start
    fails as soon as the DaemonSet controller is refused, not after the rollout deadline."""
    edit(
        manifest_copy / "namespace.yaml",
        "pod-security.kubernetes.io/enforce: privileged",
        "pod-security.kubernetes.io/enforce: baseline",
    )
    started = time.monotonic()
    proc = run_suite(tmp_path / "r", "--target", "kwok", "-m", "cluster_api", manifest_dir=manifest_copy)
    took = time.monotonic() - started
    assert proc.returncode == 12, proc.stdout[-3000:]
    out = proc.stdout + proc.stderr
    assert "the cluster refuses its pods" in out and "violates PodSecurity" in out, out[-3000:]
    assert took < timeouts.ROLLOUT, f"took {took:.0f} s: it waited out the rollout deadline"


def test_kwok_without_the_control_plane_toleration_names_the_node(tmp_path, manifest_copy):
    daemonset = manifest_copy / "promtail" / "promtail-daemonset.yaml"
    text = daemonset.read_text()
    start, end = text.index("      tolerations:"), text.index("      containers:")
    daemonset.write_text(text[:start] + text[end:])  # the plan's DaemonSet: no tolerations (D1)
    proc = run_suite(tmp_path / "r", "--target", "kwok", "-m", "per_node", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "nodes without exactly one ready Promtail" in proc.stdout
    assert "'odin-kwok-control-plane': 0" in proc.stdout, proc.stdout[-3000:]


def _discover_every_namespace(manifest_copy: Path) -> None:
    edit(manifest_copy / "prometheus" / "prometheus.yml", "        namespaces: {own_namespace: true}\n", "")


@pytest.mark.skipif(not user_namespaces_allowed(), reason="the kwok discovery witness needs user namespaces")
def test_kwok_prometheus_discovering_every_namespace_scrapes_the_look_alike(tmp_path, manifest_copy):
    # Config and Role both cluster-wide: the decoy of the other namespace is scraped.
    _discover_every_namespace(manifest_copy)
    rbac = manifest_copy / "prometheus" / "prometheus-deployment.yaml"
    edit(rbac, "kind: Role\n", "kind: ClusterRole\n")
    edit(rbac, "kind: RoleBinding\n", "kind: ClusterRoleBinding\n")
    proc = run_suite(tmp_path / "r", "--target", "kwok", "-m", "pod_discovery", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "Prometheus discovers pods of other namespaces" in proc.stdout and "node-exporter-decoy" in proc.stdout


@pytest.mark.skipif(not user_namespaces_allowed(), reason="the kwok discovery witness needs user namespaces")
def test_kwok_prometheus_discovering_every_namespace_with_a_namespaced_role_discovers_nothing(tmp_path, manifest_copy):
    _discover_every_namespace(manifest_copy)
    proc = run_suite(tmp_path / "r", "--target", "kwok", "-m", "pod_discovery", manifest_dir=manifest_copy)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "Prometheus's pod discovery to list the sentinel pod" in proc.stdout, proc.stdout[-3000:]


def test_the_cluster_target_runs_its_whole_path_against_a_kwok_cluster(tmp_path):
    """`--target cluster --kubeconfig` at a kwok cluster whose containers the local processes
    serve: the code a user's cluster run executes (overlay into a namespace of the run,
    rollouts, port-forwards, RBAC, skips by capability, cleanup by label), unchanged."""
    tools = components.ensure_all(lambda message: None, COMPONENTS + CONTROL_PLANE)
    options = TargetOptions(profile=PROFILES["fast"], manifest_dir=manifests.BASE)
    out = tmp_path / "reports"
    with served_cluster(options, tools) as plane:
        proc = run_suite(out, "--target", "cluster", "--kubeconfig", str(plane.kubeconfig), "--timing", "fast")
        api = plane.api()
        namespaces = {n["metadata"]["name"]: n for n in api.at("default")._json(api.core.list_namespace)["items"]}
        roles = api._json(api.rbac.list_cluster_role)["items"]
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    evidence = json.loads((out / "evidence.json").read_text())
    outcomes = {s["scenario"]: s for s in evidence["context"]["scenarios"]}
    assert outcomes["One Promtail per node: Every node runs one ready Promtail"]["outcome"] == "passed"
    assert outcomes["GPU temperature alerting: A GPU at exactly 80 °C does not alert"]["outcome"] == "passed"
    programs = outcomes["Alert rule validation: The log pipeline's configs are accepted by their own programs"]
    assert programs["outcome"] == "skipped", "it ran without the programs: KeyError 'loki' on kind and cluster"
    loki = outcomes["Loki health: Loki is ready and runs the pinned release"]
    assert loki["outcome"] == "skipped" and "KWOK simulates" in json.dumps(loki), loki
    run_namespace = evidence["context"]["stack namespace"]
    assert run_namespace.startswith("odin-acceptance-") and run_namespace != "odin-acceptance"
    # Cleanup: the run's namespace is going (KWOK's pods take a moment), its cluster role gone.
    left = namespaces.get(run_namespace)
    assert left is None or left["status"]["phase"] == "Terminating", left
    assert not [r["metadata"]["name"] for r in roles if r["metadata"]["name"].startswith(run_namespace)]


def test_a_run_cut_short_reads_incomplete_everywhere(tmp_path, manifest_copy):
    # -x after the first failure: the scenarios after it never report.
    rules = manifest_copy / "prometheus" / "alert-rules.yml"
    edit(rules, "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 2m", "DCGM_FI_DEV_GPU_TEMP > 80\n        for: 3m")
    out = tmp_path / "r"
    proc = run_suite(out, "-m", "rules", "-x", manifest_dir=manifest_copy, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:]
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert verdicts["complete"] is False and "stopping after 1 failures" in verdicts["ended_early"], verdicts
    assert all(c["state"] != "holds" for c in verdicts["criteria"].values() if "not run" in json.dumps(c))
    html = (out / "acceptance.html").read_text()
    assert "INCOMPLETE: the run ended early (stopping after 1 failures)" in html
    names = [e["name"] for f in json.loads((out / "cucumber.json").read_text()) for e in f["elements"]]
    assert any("GPUMemoryFull" in n for n in names), "scenarios that did not run are in cucumber.json too"
    assert not any("<alert>" in n for n in names), "outline values are filled in"


def test_required_criteria_that_do_not_hold_fail_the_run_with_their_own_code(tmp_path):
    # Only the offline rule checks run: SC3's live scenarios are left out, so it holds in part.
    proc = run_suite(tmp_path / "r", "-m", "rules", "--require-criteria", "SC3", timeout=300)
    assert proc.returncode == 10, proc.stdout[-3000:]
    assert "required criteria that do not hold: SC3 holds in part" in proc.stdout
    junit = ET.parse(tmp_path / "r" / "junit.xml").getroot().find("testsuite")
    assert junit.get("name") == "odin-phase3-acceptance"
    properties = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert properties["target"] == "local" and len(properties["manifests_sha256"]) == 64
    assert all("criteria: " in c.find("system-out").text for c in junit.iter("testcase")), "each names its criteria"
