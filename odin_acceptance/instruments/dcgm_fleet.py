"""The dcgm-exporter pods of a simulated GPU fleet, served by one process.

On the kwok target every GPU node runs a dcgm-exporter pod (a DaemonSet on the host
network), so a pod's IP is its node's, a loopback address of its own. This process listens
on each such address at the pod's container port and serves there what dcgm-exporter on
that node serves: that node's GPUs only, under the exporter's metric names and labels
(fake_dcgm_exporter.render_metrics).
Prometheus finds the pods through the Kubernetes API and scrapes them by IP, as in a
cluster; one process instead of thousands keeps a 1,000-node fleet within two cores.

Control API, on --listen (127.0.0.1):
PUT  /pods    [{"address": "127.65.1.7:9400", "Hostname": "node-1", "gpus": 8, <GPU fields>}]
              listen at each address, serving the GPUs of its Hostname (created with the
              fields; "Hostname": null serves an exposition without GPUs)
GET  /pods    the addresses served: Hostname and how many scrapes each answered
and the fake exporter's /gpus routes, to change what one GPU reports.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
from functools import partial
from typing import Any

try:
    from odin_acceptance.instruments import fake_dcgm_exporter as dcgm
    from odin_acceptance.instruments._http import json_body, serve
except ImportError:  # run as a plain script (files side by side)
    import fake_dcgm_exporter as dcgm  # type: ignore[no-redef]
    from _http import json_body, serve  # type: ignore[no-redef]

EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"

_loop = asyncio.new_event_loop()
_pods: dict[str, dict[str, Any]] = {}  # address -> {"Hostname": …, "scrapes": n}


def _response(status: str, ctype: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str) -> None:
    """HTTP/1.1 with keep-alive, as Prometheus scrapes: GET /metrics, nothing else."""
    try:
        while request := await reader.readline():
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # headers: a scrape carries no body
            method, target = request.decode("latin-1").split(" ")[:2]
            pod = _pods[address]
            if method == "GET" and target.split("?")[0] == "/metrics":
                host = pod["Hostname"]
                writer.write(_response("200 OK", EXPOSITION, dcgm.render_metrics([host] if host else []).encode()))
                pod["scrapes"] += 1
            else:
                writer.write(_response("404 Not Found", "text/plain", b"dcgm-exporter serves /metrics\n"))
            await writer.drain()
    except (ConnectionError, ValueError):
        pass
    finally:
        writer.close()


def _loopback(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{address}: pod addresses must be loopback (nothing listens beyond this host)")
    return host, int(port)


async def _listen(pods: list[dict[str, Any]]) -> None:
    new = [p for p in pods if p["address"] not in _pods]
    for pod in pods:
        _pods.setdefault(pod["address"], {"scrapes": 0})["Hostname"] = pod.get("Hostname")
    await asyncio.gather(
        *(asyncio.start_server(partial(_answer, address=p["address"]), *_loopback(p["address"])) for p in new)
    )


def add_pods(pods: list[dict[str, Any]]) -> dict[str, Any]:
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
    threading.Thread(target=_loop.run_forever, name="pod-listeners", daemon=True).start()
    serve("dcgm-fleet", handle)
