"""The dcgm-exporter pods of a simulated GPU fleet, served by one process.

On the kwok target every GPU node runs a dcgm-exporter pod (a DaemonSet on the host
network), so a pod's IP is its node's, a loopback address of its own. This process listens
on each such address at the pod's container port and serves there what dcgm-exporter on
that node serves: that node's GPUs only, under the exporter's metric names and labels
(fake_dcgm_exporter.render_metrics).
Prometheus finds the pods through the Kubernetes API and scrapes them by IP, as in a
cluster; one process instead of thousands keeps a 1,000-node fleet within two cores. A
scrape is answered in the event loop's read callback from a response kept per node (rendered
again only when one of its GPUs changed): a thousand pods scraped every 0.5 s are 2,000
requests a second, and a server that falls behind its scrapers' timeouts never catches up
(every timed-out scrape comes back as a new connection).

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
from collections import OrderedDict
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

MAX_HEAD = 16 * 1024  # bytes of a request head; a scrape's is a few hundred

_loop: asyncio.AbstractEventLoop | None = None
_pods: dict[str, dict[str, Any]] = {}  # address -> {"Hostname": …, "scrapes": n}
_listeners: dict[str, socket.socket] = {}
# Every open connection, the one waiting longest for a request first (an answer moves it last).
_open: OrderedDict[_Scrape, None] = OrderedDict()
# Accepted sockets whose protocol is not connected yet: they hold descriptors, and the loop
# keeps only weak references to its tasks.
_arriving: set[asyncio.Task[None]] = set()
_rendered: dict[str | None, tuple[int, bytes]] = {}  # Hostname -> (its changes, the response)


def _metrics_response(host: str | None) -> bytes:
    """The whole HTTP response to a scrape of `host`'s pod, rendered again only when one of
    its GPUs changed: a thousand pods scraped twice a second must cost next to nothing."""
    changes = dcgm.changes(host) if host else 0  # read before rendering: a change meanwhile renders again
    cached = _rendered.get(host)
    if cached is None or cached[0] != changes:
        body = dcgm.render_metrics([host] if host else []).encode()
        cached = _rendered[host] = (changes, _response("200 OK", EXPOSITION, body))
    return cached[1]


class _Scrape(asyncio.Protocol):
    """One connection to a pod: HTTP/1.1 with keep-alive, as Prometheus scrapes. Answered in
    the callback that reads the request, so no scrape waits for a task to be scheduled."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.head = bytearray()
        self.since = time.monotonic()  # when it began waiting for a request (or its end)
        self.blocked: float | None = None  # since when its answers pile up unread

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        _open[self] = None

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        if not self.head:
            self.since = time.monotonic()  # a request began: IO_TIMEOUT runs from here
        self.head += data
        while (end := self.head.find(b"\r\n\r\n")) >= 0:
            request = bytes(self.head[:end]).split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            del self.head[: end + 4]  # a scrape carries no body
            pod = _pods[self.address]
            if request[0] == "GET" and len(request) > 1 and request[1].split("?")[0] == "/metrics":
                pod["scrapes"] += 1  # counted first: the scraper may ask for the count as soon as it has the answer
                self.transport.write(_metrics_response(pod["Hostname"]))
            else:
                self.transport.write(_response("404 Not Found", "text/plain", b"dcgm-exporter serves /metrics\n"))
            self.since = time.monotonic()
            _open.move_to_end(self)
        if len(self.head) > MAX_HEAD:
            self.drop()

    def pause_writing(self) -> None:
        # A peer that asks and does not read: read nothing more from it until it does, so its
        # answers cannot pile up; the sweep closes it after IO_TIMEOUT.
        assert self.transport is not None
        self.blocked = time.monotonic()
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        assert self.transport is not None
        self.blocked = None
        self.transport.resume_reading()

    def eof_received(self) -> bool:
        return False  # the peer left: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        _open.pop(self, None)

    def waiting(self) -> bool:
        """Waiting for a request: nothing of one received, every answer taken."""
        return not self.head and self.blocked is None

    def overdue(self, now: float) -> bool:
        """Silent past IDLE_TIMEOUT, a request head pending past IO_TIMEOUT, or answers left
        unread past IO_TIMEOUT."""
        if self.blocked is not None:
            return now - self.blocked > IO_TIMEOUT
        return now - self.since > (IDLE_TIMEOUT if self.waiting() else IO_TIMEOUT)

    def drop(self) -> None:
        _open.pop(self, None)
        if self.transport is not None:
            self.transport.abort()  # off the selector now, so its number is not reused under it


def connection_cap(pods: int, nofile: int) -> int:
    """How many connections `pods` pods may hold open at once under a descriptor limit
    (at least one: a limit too low for more is refused before a fleet starts)."""
    return max(1, min(pods * CONNECTIONS_PER_POD + SPARE_CONNECTIONS, nofile - pods - RESERVED_DESCRIPTORS))


def _response(status: str, ctype: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _sweep() -> None:
    """Close the connections past their timeouts; runs a few times per the shorter one."""
    assert _loop is not None
    try:
        now = time.monotonic()
        for conn in [c for c in _open if c.overdue(now)]:
            conn.drop()
    finally:  # whatever one connection did, the timeouts keep being enforced
        _loop.call_later(max(0.05, min(1.0, IO_TIMEOUT / 4, IDLE_TIMEOUT / 4)), _sweep)


def _nofile() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def _drop_longest_waiting() -> bool:
    """Free a connection slot: the one waiting longest for a request goes (a keep-alive a
    scraper left, or a client that never asked); where every one is mid-request, the oldest.
    False when none is open. (_open is in wait order: the first waiting one is found at once
    unless many are mid-request.)"""
    if not _open:
        return False
    next((c for c in _open if c.waiting()), next(iter(_open))).drop()
    return True


async def _connect(sock: socket.socket, address: str) -> None:
    assert _loop is not None
    try:
        await _loop.connect_accepted_socket(lambda: _Scrape(address), sock)
    except OSError:
        sock.close()


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
        if len(_open) + len(_arriving) >= connection_cap(len(_listeners), _nofile()) and not _drop_longest_waiting():
            sock.close()  # every slot is a connection still being set up: shed this one, its scraper retries
            continue
        sock.setblocking(False)
        task = _loop.create_task(_connect(sock, address))
        _arriving.add(task)
        task.add_done_callback(_arriving.discard)


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
    _loop.call_soon(_sweep)
    threading.Thread(target=_loop.run_forever, name="pod-listeners", daemon=True).start()
    serve("dcgm-fleet", handle, rest)
