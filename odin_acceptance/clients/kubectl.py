"""kubectl, thinly, for what it does better than a client library: render the kustomize
overlay, apply it, make the ConfigMap and Secret manifests, forward ports, delete a namespace.

Each error quotes the command, so it can be pasted into a terminal. Reads go through the
kubernetes client (odin_acceptance.clients.kube_api).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from odin_acceptance.core import timeouts
from odin_acceptance.core.errors import OdinError
from odin_acceptance.core.polling import eventually


class KubectlError(OdinError, RuntimeError):
    pass


@dataclass(frozen=True)
class Kubectl:
    context: str | None
    namespace: str
    binary: str = "kubectl"
    kubeconfig: str | None = None

    def at(self, namespace: str) -> Kubectl:
        """The same cluster and credentials, another namespace."""
        return dataclasses.replace(self, namespace=namespace)

    def cmd(self, *args: str, namespaced: bool = True) -> list[str]:
        base = [self.binary]
        if self.kubeconfig:
            base += ["--kubeconfig", self.kubeconfig]
        if self.context:
            base += ["--context", self.context]
        if namespaced:
            base += ["--namespace", self.namespace]
        return [*base, *args]

    def run(
        self, *args: str, stdin: str | None = None, namespaced: bool = True, timeout: float = timeouts.KUBECTL
    ) -> str:
        command = self.cmd(*args, namespaced=namespaced)
        try:
            proc = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise KubectlError(f"`{' '.join(command)}` did not finish within {timeout:g} s") from exc
        if proc.returncode != 0:
            raise KubectlError(f"`{' '.join(command)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc.stdout

    def apply(self, manifest: str) -> str:
        return self.run("apply", "-f", "-", stdin=manifest, namespaced=False)

    def kustomize(self, directory: Path) -> str:
        return self.run("kustomize", str(directory), namespaced=False)

    def configmap_from_files(self, name: str, files: Sequence[Path]) -> str:
        """The YAML of a ConfigMap holding `files` (applied, not created, so reruns work)."""
        args = ["create", "configmap", name, "--dry-run=client", "-o", "yaml"]
        return self.run(*args, *[f"--from-file={f.name}={f}" for f in files])

    def secret_literal(self, name: str, key: str, value: str) -> str:
        """The YAML of a generic Secret holding one key (applied, not created, so reruns work)."""
        return self.run(
            "create", "secret", "generic", name, f"--from-literal={key}={value}", "--dry-run=client", "-o", "yaml"
        )


_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) ->")
# What kubectl prints when a forward no longer reaches its pod (deleted or replaced: Loki
# restarted near its memory limit). kubectl resolves `svc/NAME` to one pod once, at start, so
# only a new kubectl finds the new pod. Not "error forwarding port": kubectl says that of
# every refused connection too (a container restarting inside the same pod), and the same
# forward works again once the container listens.
_BROKEN = ("lost connection to pod",)
# The event types `kubectl get --watch --output-watch-events` prints first on each line.
_WATCH_EVENTS = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK"})


@dataclass
class PortForward:
    """`kubectl port-forward` to a Service on a local port the kernel picks (port 0) at the
    first start. Re-established on the same port when a pod behind it is deleted (`pods`:
    their label selector, watched), or kubectl exits or says it lost its pod, so the URL handed
    out stays good across a pod's replacement; each time is in `restarts`."""

    kubectl: Kubectl
    resource: str  # e.g. "svc/loki"
    remote_port: int
    local_port: int = 0
    pods: str | None = None  # label selector of the pods behind `resource`, watched for deletions
    # (unix time, why) of each time the forward was re-established, or failed to be.
    restarts: list[tuple[float, str]] = field(default_factory=list)
    # (unix time, why) the pod watch ended for good: replaced pods go unseen from then on.
    unwatched: list[tuple[float, str]] = field(default_factory=list)
    _proc: subprocess.Popen[str] | None = field(default=None, repr=False)
    _lines: list[str] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _live: bool = field(default=False, repr=False)  # started and not stopped: re-establish when it breaks
    _watch: subprocess.Popen[str] | None = field(default=None, repr=False)

    def command(self) -> list[str]:
        local = str(self.local_port) if self.local_port else ""
        return self.kubectl.cmd("port-forward", "--address", "127.0.0.1", self.resource, f"{local}:{self.remote_port}")

    @staticmethod
    def parse_port(line: str) -> int | None:
        match = _FORWARDING.search(line)
        return int(match[1]) if match else None

    def start(self) -> PortForward:
        self._launch()
        self._live = True
        if self.pods:
            try:
                self._start_watch()
            except BaseException:  # nobody holds this forward yet to stop it later
                self.stop()
                raise
        return self

    def _start_watch(self) -> None:
        """`kubectl get pods --watch`: a deleted pod (replaced by its Deployment or StatefulSet)
        is seen at once, where a request through the old forward might not say so (KWOK's
        kubelet keeps serving a deleted pod's forward; a real one cuts it). Returns once the
        watch has listed the pods there are: a deletion after that is seen."""
        assert self.pods is not None
        events = 'jsonpath={.type} {.object.metadata.name}{"\\n"}'
        command = self.kubectl.cmd("get", "pods", "-l", self.pods, "--watch", "--output-watch-events")
        watch = subprocess.Popen([*command, "-o", events], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._watch = watch
        seen: list[str] = []
        reader = threading.Thread(target=self._read_watch, args=(watch, seen, time.monotonic()), daemon=True)
        reader.start()

        def listed() -> None:
            if watch.poll() is not None:
                reader.join(timeout=5)  # the output up to its exit says why
                raise KubectlError(f"watching pods {self.pods} ended: {' '.join(seen[-3:]) or watch.returncode}")
            # An event line, not just any line: kubectl's errors and warnings come on the same stream.
            assert any(line.partition(" ")[0] in _WATCH_EVENTS for line in seen), f"no pod {self.pods} listed yet"

        eventually(listed, timeout=timeouts.PORT_FORWARD, what=f"kubectl get pods -l {self.pods} --watch to list them")

    def _read_watch(self, watch: subprocess.Popen[str], seen: list[str], started: float) -> None:
        assert watch.stdout is not None
        for line in watch.stdout:
            seen.append(line.strip())
            event, _, pod = seen[-1].partition(" ")
            if event == "DELETED" and self._proc is not None:
                self._reestablish(self._proc, f"its pod {pod} was deleted")
        watch.wait()
        if not self._live or watch is not self._watch:
            return
        # The API server ends a watch after 30-60 minutes: watch again, unless it failed at once.
        why = seen[-1] if seen else f"exit {watch.returncode}"
        if time.monotonic() - started >= timeouts.PORT_FORWARD:
            try:
                self._start_watch()
                return
            except Exception as exc:  # the forward still works; only a replaced pod goes unseen
                why = str(exc)
        self.unwatched.append((time.time(), f"stopped watching pods {self.pods}: {why}"))

    def _launch(self) -> None:
        """Start kubectl and wait for it to listen; raises KubectlError if it exits first."""
        proc = subprocess.Popen(
            self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL
        )
        lines: list[str] = []
        self._proc, self._lines = proc, lines
        reader = threading.Thread(target=self._read, args=(proc, lines), daemon=True)
        reader.start()

        def bound() -> int:
            if proc.poll() is not None:
                reader.join(timeout=5)  # the output up to its exit says why
                raise KubectlError(f"port-forward to {self.resource} exited: {' '.join(lines[-5:])}")
            ports = [p for p in map(self.parse_port, lines) if p]
            assert ports, f"no 'Forwarding from' line yet: {lines[-3:]}"
            return ports[0]

        self.local_port = eventually(
            bound, timeout=timeouts.PORT_FORWARD, what=f"kubectl port-forward {self.resource} to listen"
        )

    def _read(self, proc: subprocess.Popen[str], lines: list[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if any(words in line for words in _BROKEN):
                self._reestablish(proc, line.strip())
        proc.wait()
        self._reestablish(proc, f"kubectl port-forward exited ({proc.returncode}): {' '.join(lines[-2:])}")

    def _reestablish(self, broken: subprocess.Popen[str], why: str) -> None:
        """A new kubectl on the same local port, which resolves the Service to its pod of now;
        retried until the Service has a running pod again (a replaced pod takes a while)."""
        with self._lock:
            if not self._live or broken is not self._proc:
                return  # stopped, or already replaced
            _end(broken)

            def relaunch() -> None:
                if not self._live:
                    raise _Stopped
                self._launch()

            try:
                eventually(
                    relaunch,
                    timeout=timeouts.ROLLOUT,
                    what=f"kubectl port-forward {self.resource} to listen again on port {self.local_port}",
                    transient=(KubectlError, AssertionError),
                )
            except _Stopped:
                return
            except Exception as exc:  # the next request says "refused"; the report says why
                self.restarts.append((time.time(), f"{why}; could not re-establish it: {exc}"))
                return
            if not self._live:  # stopped while it started
                _end(self._proc)
                return
            self.restarts.append((time.time(), why))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def describe_restarts(self) -> list[str]:
        """Each re-establishment (or the end of the pod watch), for the report: "HH:MM:SS svc/loki: why"."""
        events = sorted(self.restarts + self.unwatched)
        return [f"{time.strftime('%H:%M:%S', time.gmtime(t))} {self.resource}: {why}" for t, why in events]

    def stop(self) -> None:
        # Not under the lock: a re-establishment may hold it for minutes; it checks `_live`.
        self._live = False
        for proc in (self._watch, self._proc):
            if proc is not None:
                _end(proc)


class _Stopped(Exception):
    """The forward was stopped while it was being re-established."""


def _end(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
