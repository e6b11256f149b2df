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


@dataclass
class PortForward:
    """`kubectl port-forward` to a Service on a local port the kernel picks (port 0)."""

    kubectl: Kubectl
    resource: str  # e.g. "svc/loki"
    remote_port: int
    local_port: int = 0
    _proc: subprocess.Popen[str] | None = field(default=None, repr=False)
    _lines: list[str] = field(default_factory=list, repr=False)

    def command(self) -> list[str]:
        return self.kubectl.cmd("port-forward", "--address", "127.0.0.1", self.resource, f":{self.remote_port}")

    @staticmethod
    def parse_port(line: str) -> int | None:
        match = _FORWARDING.search(line)
        return int(match[1]) if match else None

    def start(self) -> PortForward:
        self._proc = subprocess.Popen(
            self.command(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL
        )
        reader = threading.Thread(target=self._read, daemon=True)
        reader.start()

        def bound() -> int:
            assert self._proc is not None
            if self._proc.poll() is not None:
                reader.join(timeout=5)  # the output up to its exit says why
                raise KubectlError(f"port-forward to {self.resource} exited: {' '.join(self._lines[-5:])}")
            ports = [p for p in map(self.parse_port, self._lines) if p]
            assert ports, f"no 'Forwarding from' line yet: {self._lines[-3:]}"
            return ports[0]

        self.local_port = eventually(
            bound, timeout=timeouts.PORT_FORWARD, what=f"kubectl port-forward {self.resource} to listen"
        )
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.append(line.strip())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
