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
