"""An HTTP server on 127.0.0.1 that answers from a script, for the API clients' tests:
path -> list of (status, body), the last one repeating. A body is JSON (dict or list),
text (str), or a callable of the request's JSON body returning either."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Body = dict | list | str | Callable[[Any], Any]
Script = dict[str, list[tuple[int, Body]]]
NOT_FOUND = (404, {"kind": "Status", "code": 404, "reason": "NotFound"})


class ScriptedServer(ThreadingHTTPServer):
    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script
        self.seen: list[tuple[str, str, Any]] = []
        # The same requests as sent: path with its query, and headers.
        self.sent_raw: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        path = self.path.split("?")[0]
        self.server.seen.append((self.command, path, body))
        self.server.sent_raw.append((self.path, dict(self.headers)))
        replies = self.server.script.get(path, [NOT_FOUND])
        status, payload = replies.pop(0) if len(replies) > 1 else replies[0]
        if callable(payload):
            payload = payload(body)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:  # keep pytest's output clean
        pass


@contextmanager
def serving(script: Script) -> Iterator[ScriptedServer]:
    server = ScriptedServer(script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
