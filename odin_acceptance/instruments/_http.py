"""Shared plumbing for the instruments: a threaded JSON/text HTTP server on a given
address that announces the port it really bound (port 0 = pick a free one).

Standard library only, so each instrument runs unchanged in a stock Python image.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[str, str, Any], tuple[int, str, bytes]]


def json_body(status: int, payload: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(payload).encode()


def serve(name: str, handle: Handler, argv: list[str] | None = None) -> None:
    """Run `handle(method, path, parsed_body)` for every request until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog=name)
    parser.add_argument("--listen", default="127.0.0.1:0", help="host:port (port 0 picks a free one)")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                status, ctype, out = json_body(400, {"error": "body is not JSON"})
            else:
                try:
                    status, ctype, out = handle(self.command, self.path, body)
                except (KeyError, ValueError, TypeError) as exc:
                    status, ctype, out = json_body(400, {"error": str(exc)})
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_DELETE = _dispatch

        def log_message(self, fmt: str, *args: object) -> None:  # keep the log for errors
            pass

    server = ThreadingHTTPServer((host or "127.0.0.1", int(port or 0)), _Handler)
    server.daemon_threads = True
    bound = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as fh:
            fh.write(str(bound))
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"{name} listening on {host or '127.0.0.1'}:{bound}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
