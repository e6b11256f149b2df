"""Start and stop the component processes of a local run.

Children get their own process group (a Ctrl-C in the terminal reaches pytest, which then
stops them in order) and PR_SET_PDEATHSIG, so even a `kill -9` of pytest leaves nothing
running.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from odin_acceptance.core import timeouts
from odin_acceptance.core.errors import OdinError
from odin_acceptance.core.polling import eventually
from odin_acceptance.targets.local_pods import pump_to_cri

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Not glibc/Linux: the process group and fixture teardown still apply.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """A port free on 127.0.0.1 right now. The tiny race until the component binds it is
    acceptable: a clash makes the component exit, which `wait_ready` reports at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ProcessExited(OdinError, RuntimeError):
    """A component exited while we waited for it; not retried."""


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    log_path: Path
    popen: subprocess.Popen[bytes]
    cwd: Path | None = None
    env: dict[str, str] | None = None
    cri_log: Path | None = None
    pump: threading.Thread | None = None
    started_at: float = field(default_factory=time.time)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def running(self) -> bool:
        return self.popen.poll() is None

    def ensure_running(self) -> None:
        if not self.running():
            raise ProcessExited(
                f"{self.name} exited with code {self.popen.returncode}; command: {' '.join(self.argv)}\n"
                f"last lines of {self.log_path}:\n{self.log_tail()}"
            )

    def stop(self, timeout: float = timeouts.PROCESS_STOP) -> None:
        if not self.running():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=timeout)


class ProcessGroup:
    """The processes of one run, stopped in reverse start order."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: dict[str, ManagedProcess] = {}

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        cri_log: Path | None = None,
    ) -> ManagedProcess:
        """Start `argv`; output goes to <log_dir>/<name>.log and, with `cri_log`, also to
        that file in the CRI format (the process then looks like a pod to Promtail)."""
        log_path = self.log_dir / f"{name}.log"
        if cri_log is None:
            with log_path.open("ab") as log:
                popen = self._spawn(argv, log, cwd, env)
        else:
            popen = self._spawn(argv, subprocess.PIPE, cwd, env)
            pump = pump_to_cri(popen.stdout, log_path, cri_log)
        proc = ManagedProcess(name, list(argv), log_path, popen, cwd=cwd, env=env, cri_log=cri_log)
        proc.pump = pump if cri_log is not None else None
        self.processes[name] = proc
        return proc

    @staticmethod
    def _spawn(argv: Sequence[str], stdout: object, cwd: Path | None, env: dict[str, str] | None):
        return subprocess.Popen(
            list(argv),
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def wait_ready(self, proc: ManagedProcess, probe: Callable[[], object], what: str) -> float:
        """Poll `probe` until it passes; returns seconds from spawn to ready."""

        def check() -> object:
            proc.ensure_running()
            return probe()

        eventually(
            check, timeout=timeouts.PROCESS_READY, what=f"{proc.name} to be ready ({what})", hint=f"see {proc.log_path}"
        )
        return time.time() - proc.started_at

    def restart(self, name: str) -> ManagedProcess:
        old = self.processes[name]
        old.stop()
        return self.start(name, old.argv, cwd=old.cwd, env=old.env, cri_log=old.cri_log)

    def stop_all(self) -> None:
        for proc in reversed(list(self.processes.values())):
            with contextlib.suppress(ProcessLookupError, OSError):
                proc.stop()
