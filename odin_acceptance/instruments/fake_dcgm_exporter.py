"""A stand-in for NVIDIA's dcgm-exporter: the same metric names, types and labels, with
values set through a small control API instead of read from GPUs.

GET    /metrics                     Prometheus text format, as dcgm-exporter serves it
PUT    /gpus/<Hostname>/<gpu>       set fields of one GPU (JSON: temperature_c, fb_used_mib,
                                    fb_free_mib, power_w, power_limit_w, utilization_pct,
                                    model); creates the GPU with idle defaults if new
DELETE /gpus/<Hostname>             remove every GPU of that host (its series go stale)
GET    /healthz                     liveness

One process can serve several hosts so that each scenario gets GPUs of its own (a unique
Hostname) without starting another exporter.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

try:
    from odin_acceptance.instruments._http import json_body, serve
    from odin_acceptance.instruments.gpu_signals import BY_FIELD, MODEL, SIGNALS
except ImportError:  # run as a plain script inside a pod (files mounted side by side)
    from _http import json_body, serve  # type: ignore[no-redef]
    from gpu_signals import BY_FIELD, MODEL, SIGNALS  # type: ignore[no-redef]

DRIVER_VERSION = "550.54.15"
# A new GPU's fields: every signal at its idle value (the signal table), and its model.
IDLE = {**{s.field: s.idle for s in SIGNALS}, "model": MODEL}

_lock = threading.Lock()
# Hostname -> GPU index -> fields: a scrape of one host reads only its own GPUs.
_hosts: dict[str, dict[int, dict[str, Any]]] = {}
# Hostname -> how many times its GPUs changed: a server that keeps a host's rendered
# exposition (dcgm_fleet) renders it again when this moves.
_changes: dict[str, int] = {}


def changes(host: str) -> int:
    with _lock:
        return _changes.get(host, 0)


def _label_value(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(hosts: list[str] | None = None) -> str:
    """The exposition of every GPU, or of the GPUs of `hosts` (one dcgm-exporter pod per
    node serves its own node's GPUs)."""
    with _lock:
        names = sorted(_hosts) if hosts is None else hosts
        gpus = [((h, i), dict(g)) for h in names for i, g in sorted(_hosts.get(h, {}).items())]
    lines: list[str] = []
    for signal in SIGNALS:
        metric, field, help_text = signal.metric, signal.field, signal.help
        lines.append(f"# HELP {metric} {help_text}")
        lines.append(f"# TYPE {metric} gauge")
        for (host, index), gpu in gpus:
            labels = (
                f'gpu="{index}",UUID="{gpu["uuid"]}",device="nvidia{index}",'
                f'modelName="{_label_value(gpu["model"])}",Hostname="{_label_value(host)}",'
                f'DCGM_FI_DRIVER_VERSION="{DRIVER_VERSION}"'
            )
            lines.append(f"{metric}{{{labels}}} {float(gpu[field]):g}")
    return "\n".join(lines) + "\n"


def set_gpu(host: str, index: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Set fields of one GPU (created with idle defaults if new); returns its state and
    `changed_at`, the moment the exporter serves the new value."""
    unknown = set(fields) - set(IDLE)
    if unknown:
        raise ValueError(f"unknown GPU fields: {sorted(unknown)}; the signals are {', '.join(BY_FIELD)} and model")
    with _lock:
        gpu = _hosts.setdefault(host, {}).setdefault(
            index, {**IDLE, "uuid": f"GPU-{uuid.uuid5(uuid.NAMESPACE_DNS, f'{host}/{index}')}"}
        )
        gpu.update({k: (v if k == "model" else float(v)) for k, v in fields.items()})
        _changes[host] = _changes.get(host, 0) + 1
        changed_at = time.time()
        snapshot = dict(gpu)
    return {"changed_at": changed_at, "Hostname": host, "gpu": index, **snapshot}


def handle(method: str, path: str, body: Any) -> tuple[int, str, bytes]:
    parts = [p for p in path.split("?")[0].split("/") if p]
    if method == "GET" and parts == ["metrics"]:
        return 200, "text/plain; version=0.0.4; charset=utf-8", render_metrics().encode()
    if method == "GET" and parts == ["healthz"]:
        return json_body(200, {"status": "ok"})
    if method == "GET" and parts == ["gpus"]:
        with _lock:
            listed = [{"Hostname": h, "gpu": i, **g} for h in sorted(_hosts) for i, g in sorted(_hosts[h].items())]
        return json_body(200, listed)
    if method == "PUT" and len(parts) == 3 and parts[0] == "gpus":
        return json_body(200, set_gpu(parts[1], int(parts[2]), dict(body or {})))
    if method == "DELETE" and len(parts) == 2 and parts[0] == "gpus":
        with _lock:
            _hosts.pop(parts[1], None)
            _changes[parts[1]] = _changes.get(parts[1], 0) + 1
        return json_body(200, {"removed": parts[1], "at": time.time()})
    return json_body(404, {"error": f"no route for {method} {path}"})


if __name__ == "__main__":
    serve("fake-dcgm-exporter", handle)
