"""An image host on 127.0.0.1 for ``POST .../visual-assets/register-url``: serves scripted answers by path.

Plain HTTP (the fixture turns on ``ASSET_FETCH_ALLOW_HTTP`` and allows loopback in
``ASSET_FETCH_ALLOWED_NETWORKS``, which the SSRF guard refuses otherwise). ``serve(path, body, status=...,
content_type=..., headers=...)`` sets an answer; ``requests`` lists the paths asked for.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakePictureHost:
    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self.requests: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server hook's name
                host.requests.append(self.path)
                status, content_type, body, headers = host.routes.get(self.path, (404, "text/plain", b"no", {}))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-picture-host", daemon=True)

    def serve(self, path: str, body: bytes, *, status: int = 200, content_type: str = "image/png", headers=None) -> str:
        self.routes[path] = (status, content_type, body, dict(headers or {}))
        return f"{self.base_url}{path}"

    def reset(self) -> None:
        self.routes.clear()
        self.requests.clear()

    def __enter__(self) -> FakePictureHost:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
