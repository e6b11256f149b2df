"""The dcgm-exporter pods of a simulated GPU fleet, served by one process.

On the kwok target every GPU node runs a dcgm-exporter pod (a DaemonSet on the host
network), so a pod's IP is its node's, a loopback address of its own. This process listens
on each such address at the pod's container port and serves there what dcgm-exporter on
that node serves: that node's GPUs only, under the exporter's metric names and labels
(fake_dcgm_exporter.render_metrics).
Prometheus finds the pods through the Kubernetes API and scrapes them by IP, as in a
cluster; one process instead of thousands keeps a 1,000-node fleet within two cores.

Its descriptors stay bounded whatever the scrapers do (a Prometheus that gives up on a slow
scrape, a client that connects and never asks): a connection is closed when its peer
leaves, when it waits too long for a request or for its answer to be taken, and past
`connection_cap()` the one waiting longest for a request is dropped to make room. A full
descriptor table (EMFILE) drops such a connection too, so accept() never stays wedged.
The GPU fleet (targets/gpu_fleet.py) raises this process's limit to what its pods need
under the same rule, and refuses to start where the hard limit is too low.

Control API, on --listen (127.0.0.1):
PUT  /pods    [{"address": "127.65.1.7:9400", "Hostname": "node-1", "gpus": 8, <GPU fields>}]
              listen at each address, serving the GPUs of its Hostname (created with the
              fields; "Hostname": null serves an exposition without GPUs)
GET  /pods    the addresses served: Hostname and how many scrapes each answered
and the fake exporter's /gpus routes, to change what one GPU reports.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import ipaddress
import resource
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

try:
    from odin_acceptance.instruments import fake_dcgm_exporter as dcgm
    from odin_acceptance.instruments._http import json_body, serve
except ImportError:  # run as a plain script (files side by side)
    import fake_dcgm_exporter as dcgm  # type: ignore[no-redef]
    from _http import json_body, serve  # type: ignore[no-redef]

EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"

# A scraper keeps one connection per pod alive between scrapes; one more per pod covers a
# scrape it abandoned on a timeout while the old connection still waits to be closed.
CONNECTIONS_PER_POD = 2
SPARE_CONNECTIONS = 16  # curl, a probe: what is not Prometheus
# Descriptors that are not a pod's: stdio, the event loop's, the control API and its clients.
RESERVED_DESCRIPTORS = 32
# Prometheus reuses a connection every scrape interval (minutes at most); a silent one is gone.
# (--idle-timeout)
IDLE_TIMEOUT = 300.0
# Once a request has begun, its head must arrive, and its answer be taken, within this time
# (Prometheus's own scrape timeout is 10 s by default). (--io-timeout)
IO_TIMEOUT = 10.0
ACCEPT_BURST = 16  # accepts per wake-up of one listener, so no pod starves the others
ACCEPT_RETRY = 0.1  # s before a listener tries again when no descriptor could be freed

_loop: asyncio.AbstractEventLoop | None = None
_pods: dict[str, dict[str, Any]] = {}  # address -> {"Hostname": …, "scrapes": n}
_listeners: dict[str, socket.socket] = {}


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    waiting_since: float | None  # monotonic time it began waiting for a request; None while answering
    task: asyncio.Task[None] | None = None
    writer: asyncio.StreamWriter | None = None
    started: bool = False

    def drop(self) -> None:
        _open.discard(self)
        if self.writer is not None:
            self.writer.transport.abort()  # off the selector now, so its number is not reused under it
        elif not self.started:
            self.sock.close()  # a task cancelled before its first step never runs its `finally`
        if self.task is not None:
            self.task.cancel()


_open: set[_Connection] = set()


def connection_cap(pods: int, nofile: int) -> int:
    """How many connections `pods` pods may hold open at once under a descriptor limit
    (at least one: a limit too low for more is refused before a fleet starts)."""
    return max(1, min(pods * CONNECTIONS_PER_POD + SPARE_CONNECTIONS, nofile - pods - RESERVED_DESCRIPTORS))


def _response(status: str, ctype: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _headers(reader: asyncio.StreamReader) -> None:
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
        pass  # a scrape carries no body


async def _answer(sock: socket.socket, address: str, me: _Connection) -> None:
    """HTTP/1.1 with keep-alive, as Prometheus scrapes: GET /metrics, nothing else."""
    me.started = True
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.open_connection(sock=sock)
        me.writer = writer
        while True:
            request = await asyncio.wait_for(reader.readline(), IDLE_TIMEOUT)
            if not request:  # the peer left
                break
            await asyncio.wait_for(_headers(reader), IO_TIMEOUT)
            me.waiting_since = None
            method, target = request.decode("latin-1").split(" ")[:2]
            pod = _pods[address]
            if method == "GET" and target.split("?")[0] == "/metrics":
                host = pod["Hostname"]
                writer.write(_response("200 OK", EXPOSITION, dcgm.render_metrics([host] if host else []).encode()))
                pod["scrapes"] += 1
            else:
                writer.write(_response("404 Not Found", "text/plain", b"dcgm-exporter serves /metrics\n"))
            await asyncio.wait_for(writer.drain(), IO_TIMEOUT)
            me.waiting_since = time.monotonic()
        writer.close()  # flush what a half-closed peer may still read
        await asyncio.wait_for(writer.wait_closed(), IO_TIMEOUT)
    except (TimeoutError, OSError, ValueError):
        pass
    finally:
        _open.discard(me)
        if writer is not None:
            writer.transport.abort()
        else:
            sock.close()


def _nofile() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def _drop_longest_waiting() -> bool:
    """Free a connection slot: the one waiting longest for a request goes (a keep-alive a
    scraper left, or a client that never asked). False when all are mid-answer."""
    waiting = [c for c in _open if c.waiting_since is not None]
    if not waiting:
        return False
    min(waiting, key=lambda c: c.waiting_since or 0.0).drop()
    return True


def _accept(listener: socket.socket, address: str) -> None:
    assert _loop is not None
    for _ in range(ACCEPT_BURST):
        try:
            sock, _peer = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionAbortedError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                raise
            if not _drop_longest_waiting():  # nothing to free now: try again shortly, not in a busy loop
                _loop.remove_reader(listener.fileno())
                _loop.call_later(ACCEPT_RETRY, _loop.add_reader, listener.fileno(), _accept, listener, address)
            return
        if len(_open) >= connection_cap(len(_listeners), _nofile()) and not _drop_longest_waiting():
            sock.close()  # every connection is being answered: shed this one, its scraper retries
            continue
        sock.setblocking(False)
        me = _Connection(sock, time.monotonic())
        _open.add(me)
        me.task = _loop.create_task(_answer(sock, address, me))


def _loopback(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{address}: pod addresses must be loopback (nothing listens beyond this host)")
    return host, int(port)


async def _listen(pods: list[dict[str, Any]]) -> None:
    assert _loop is not None
    for pod in pods:
        _pods.setdefault(pod["address"], {"scrapes": 0})["Hostname"] = pod.get("Hostname")
    for address in [p["address"] for p in pods if p["address"] not in _listeners]:
        listener = socket.create_server(_loopback(address), backlog=128)
        listener.setblocking(False)
        _listeners[address] = listener
        _loop.add_reader(listener.fileno(), _accept, listener, address)


def add_pods(pods: list[dict[str, Any]]) -> dict[str, Any]:
    assert _loop is not None, "the pod listeners' loop is not running"
    for pod in pods:
        _loopback(pod["address"])
        host = pod.get("Hostname")
        fields = {k: v for k, v in pod.items() if k in dcgm.IDLE}
        for index in range(int(pod.get("gpus", 0)) if host else 0):
            dcgm.set_gpu(host, index, fields)
    asyncio.run_coroutine_threadsafe(_listen(pods), _loop).result(timeout=60)
    return {"serving": len(_pods)}


def handle(method: str, path: str, body: Any) -> tuple[int, str, bytes]:
    parts = [p for p in path.split("?")[0].split("/") if p]
    if parts == ["pods"] and method == "PUT":
        return json_body(200, add_pods(list(body or [])))
    if parts == ["pods"] and method == "GET":
        return json_body(200, {a: dict(p) for a, p in sorted(_pods.items())})
    return dcgm.handle(method, path, body)


if __name__ == "__main__":
    options = argparse.ArgumentParser(prog="dcgm-fleet", add_help=False)
    options.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT, help="s a pod connection may wait")
    options.add_argument("--io-timeout", type=float, default=IO_TIMEOUT, help="s to read a request head or write")
    known, rest = options.parse_known_args()
    IDLE_TIMEOUT, IO_TIMEOUT = known.idle_timeout, known.io_timeout
    _loop = asyncio.new_event_loop()
    threading.Thread(target=_loop.run_forever, name="pod-listeners", daemon=True).start()
    serve("dcgm-fleet", handle, rest)
