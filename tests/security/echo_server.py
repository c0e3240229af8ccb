"""A loopback HTTP server that echoes the request's secret headers back, the way careless
APIs and proxies do: raw, base64, URL-encoded and hex, in the body and in a header."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ECHOED = ("Authorization", "X-Api-Key", "Cookie")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        seen = {}
        for name in ECHOED:
            value = self.headers.get(name)
            if value is None:
                continue
            raw = value.encode()
            seen[name] = {"raw": value, "base64": base64.b64encode(raw).decode(),
                          "urlsafe_base64": base64.urlsafe_b64encode(raw).decode(),
                          "url": urllib.parse.quote(value, safe=""), "hex": raw.hex()}
        self.server.seen.append({k: self.headers.get(k) for k in ECHOED})  # type: ignore[attr-defined]
        body = json.dumps({"echo": seen}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo-B64", base64.b64encode(json.dumps(seen).encode()).decode())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class EchoServer:
    def __enter__(self) -> "EchoServer":
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.seen = []  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/echo"

    @property
    def seen(self) -> list[dict]:
        return self.httpd.seen  # type: ignore[attr-defined]

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
