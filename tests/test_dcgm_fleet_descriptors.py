"""The dcgm_fleet instrument keeps serving, with bounded descriptors, whatever its clients do:
scrapes abandoned half-sent, connections that never ask, a descriptor table that runs full.
Loopback only, a few seconds."""

import os
import resource
import socket
import sys
import time
from pathlib import Path

import pytest
import requests

from odin_acceptance.clients.instrument_clients import DcgmFleetClient
from odin_acceptance.core.polling import eventually
from odin_acceptance.targets.processes import ProcessGroup, free_port

REPO = Path(__file__).resolve().parent.parent
LIMIT = 64  # RLIMIT_NOFILE of the instrument under test: far fewer than the clients below
PARTIAL = b"GET /metrics HTTP/1.1\r\nHost: dcgm\r\n"  # a request whose head never ends


@pytest.fixture
def fleet(request, tmp_path):
    """A running dcgm_fleet serving two GPU nodes (options: the test's indirect parameter);
    yields (pid, client, pod addresses)."""
    group = ProcessGroup(tmp_path)
    listen = f"127.0.0.1:{free_port()}"
    options = getattr(request, "param", [])
    argv = [sys.executable, "-m", "odin_acceptance.instruments.dcgm_fleet", "--listen", listen, *options]
    proc = group.start("dcgm-fleet", argv)
    client = DcgmFleetClient(f"http://{listen}")
    try:
        group.wait_ready(proc, client.ready, "GET /healthz")
        port = free_port()
        pods = [f"127.65.251.{i}:{port}" for i in (1, 2)]
        client.add_pods(
            [{"address": a, "Hostname": f"gpu-{i}", "gpus": 8, "temperature_c": 45} for i, a in enumerate(pods)]
        )
        yield proc.popen.pid, client, pods
    finally:
        group.stop_all()


def _descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _connect(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=5)


def _scrape(address: str) -> str:
    """A whole exposition for node gpu-N, or AssertionError."""
    text = requests.get(f"http://{address}/metrics", timeout=2).text
    temps = [x for x in text.splitlines() if x.startswith("DCGM_FI_DEV_GPU_TEMP{")]
    assert len(temps) == 8 and all(x.endswith(" 45") for x in temps), f"incomplete exposition: {temps}"
    return text


def test_abandoned_and_idle_connections_beyond_the_descriptor_limit_leave_scrapes_answered(fleet):
    pid, client, pods = fleet
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
    before = _descriptors(pid)
    # Scrapes given up half-sent, and connections closed before asking: more than the limit.
    for i in range(LIMIT):
        with _connect(pods[i % 2]) as sock:
            if i % 2:
                sock.sendall(PARTIAL)
    # Connections that stay open and never finish a request: twice the limit.
    idle = [_connect(pods[i % 2]) for i in range(2 * LIMIT)]
    try:
        for sock in idle[::2]:
            sock.sendall(PARTIAL)
        text = eventually(
            lambda: _scrape(pods[0]),
            timeout=5,
            what="a complete scrape while idle connections hold every slot they can",
            hint="the instrument must drop the connection waiting longest for a request to make room",
        )
        assert 'Hostname="gpu-0"' in text and "gpu-1" not in text

        def bounded() -> int:
            now = _descriptors(pid)
            # Two pods may hold 2 connections each plus 16 spare: 20 beyond what it had before.
            assert now <= before + 20, f"{now} descriptors open with {len(idle)} idle clients, {before} before"
            return now

        held = eventually(bounded, timeout=5, what="the instrument to drop idle connections beyond its cap")
    finally:
        for sock in idle:
            sock.close()

    def released() -> int:
        now = _descriptors(pid)
        assert now <= before, f"{now} descriptors still open once every client left, {before} before"
        return now

    after = eventually(released, timeout=5, what="the instrument to close the connections its clients left")
    print(f"descriptors: {before} before, {held} with {2 * LIMIT} idle clients, {after} after")
    assert client.pods()[pods[0]]["scrapes"] >= 1


def test_a_full_descriptor_table_does_not_wedge_the_pods(fleet):
    """accept() failing with EMFILE (here: the limit at what is open) delays scrapes until
    a descriptor frees up; then they are answered again."""
    pid, _, pods = fleet
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (_descriptors(pid), LIMIT))
    with pytest.raises(requests.RequestException):
        _scrape(pods[1])
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
    eventually(lambda: _scrape(pods[1]), timeout=5, what="a scrape once descriptors are free again")


@pytest.mark.parametrize("fleet", [["--idle-timeout", "0.5", "--io-timeout", "0.5"]], indirect=True)
def test_silent_and_stalled_connections_are_closed_after_their_timeouts(fleet):
    """A client that never asks, and one whose request head never ends, are closed by the
    instrument (not before their timeout), so their descriptors come back while they linger."""
    pid, _, pods = fleet
    before = _descriptors(pid)
    silent, stalled = _connect(pods[0]), _connect(pods[1])
    opened = time.monotonic()
    stalled.sendall(PARTIAL)
    try:
        for sock in (silent, stalled):
            sock.settimeout(5)  # a read with a deadline: the instrument's close is what ends it
            assert sock.recv(1) == b"", "the instrument answered a request it never received"
        assert time.monotonic() - opened >= 0.4, "closed before its timeout"

        def released() -> int:
            now = _descriptors(pid)
            assert now <= before, f"{now} descriptors open, {before} before the two clients came"
            return now

        eventually(released, timeout=5, what="the instrument to release the connections it closed")
    finally:
        silent.close()
        stalled.close()


def _responses(sock: socket.socket, count: int) -> list[bytes]:
    """`count` whole HTTP responses read from `sock` (Content-Length framed)."""
    data, out = b"", []
    while len(out) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            fields = data[:head_end].split(b"\r\n")
            length = int(next(h for h in fields if h.lower().startswith(b"content-length:"))[15:])
            if len(data) >= head_end + 4 + length:
                out.append(data[: head_end + 4 + length])
                data = data[head_end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed after {len(out)} of {count} responses"
        data += chunk
    return out


def test_one_kept_alive_connection_answers_pipelined_scrapes_and_sees_each_change(fleet):
    # Prometheus keeps one connection per target; each scrape must show what the GPU reports
    # now, though the instrument keeps each node's rendered answer between changes.
    _, client, pods = fleet
    request = b"GET /metrics HTTP/1.1\r\nHost: dcgm\r\n\r\n"
    with _connect(pods[0]) as sock:
        first, second = _responses_after(sock, request * 2, 2)
        assert first == second and b'gpu="3"' in first and b"} 85\n" not in first
        client.set_gpu("gpu-0", 3, temperature_c=85)
        [changed] = _responses_after(sock, request, 1)
        hot = [line for line in changed.decode().splitlines() if line.startswith("DCGM_FI_DEV_GPU_TEMP{")]
        assert [line.endswith(" 85") for line in hot] == [i == 3 for i in range(8)], hot
    assert client.pods()[pods[0]]["scrapes"] == 3


def _responses_after(sock: socket.socket, requests_: bytes, count: int) -> list[bytes]:
    sock.sendall(requests_)
    return _responses(sock, count)


@pytest.mark.parametrize("fleet", [["--io-timeout", "0.5"]], indirect=True)
def test_a_client_that_asks_and_never_reads_is_closed_after_the_io_timeout(fleet):
    """Answers a client leaves unread must not pile up: the instrument stops reading from it
    and closes it once its answers have waited past the I/O timeout."""
    pid, _, pods = fleet
    before = _descriptors(pid)
    greedy = _connect(pods[0])
    greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        # Requests for ~10 kB answers, sent on and on: an instrument that kept reading them
        # would pile answers up without bound; one that stops reading makes the sends block.
        greedy.settimeout(0.5)
        refused = False
        deadline = time.monotonic() + 2
        try:
            while time.monotonic() < deadline:
                greedy.sendall(b"GET /metrics HTTP/1.1\r\nHost: dcgm\r\n\r\n" * 50)
        except OSError:  # blocked (timeout), or reset by the instrument
            refused = True
        assert refused, "the instrument kept reading requests for 2 s from a client that reads none of its answers"
        eventually(
            lambda: _assert_at_most(_descriptors(pid), before),
            timeout=5,
            what="the instrument to close a connection that never reads its answers",
        )
        _scrape(pods[0])  # and the pod still answers others
    finally:
        greedy.close()


def _assert_at_most(now: int, before: int) -> None:
    assert now <= before, f"{now} descriptors open, {before} before the client came"
