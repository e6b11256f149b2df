"""Alertmanager webhook receiver: records every notification with its arrival time.

POST <any path>        one Alertmanager webhook notification (JSON); recorded as-is
GET  /notifications    all recorded notifications, oldest first (?path=/gpu filters)
GET  /healthz          liveness
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

try:
    from odin_acceptance.instruments._http import json_body, serve
except ImportError:  # run as a plain script inside a pod (files mounted side by side)
    from _http import json_body, serve  # type: ignore[no-redef]

_lock = threading.Lock()
_received: list[dict[str, Any]] = []


def handle(method: str, path: str, body: Any) -> tuple[int, str, bytes]:
    url = urlsplit(path)
    if method == "GET" and url.path == "/healthz":
        return json_body(200, {"status": "ok"})
    if method == "GET" and url.path == "/notifications":
        wanted = parse_qs(url.query).get("path")
        with _lock:
            items = [n for n in _received if not wanted or n["path"] in wanted]
        return json_body(200, items)
    if method == "POST":
        if not isinstance(body, dict) or "alerts" not in body:
            return json_body(400, {"error": "not an Alertmanager webhook payload"})
        with _lock:
            _received.append({"path": url.path, "received_at": time.time(), "payload": body})
        return json_body(200, {"status": "recorded"})
    return json_body(404, {"error": f"no route for {method} {url.path}"})


if __name__ == "__main__":
    serve("webhook-receiver", handle)
