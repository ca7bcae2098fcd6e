"""A tiny real HTTP server that answers from a script: for client fault tests over a socket.

Each answer is ``(status, body, headers)`` (a ``str`` body is sent as UTF-8, ``bytes`` as they
are: for bodies that are not valid UTF-8) or the string ``"hang"`` (never answer, to make the
client time out). Requests are recorded as ``(method, path_with_query, body, headers)``.
``port``: a given port (a server that comes back where a client already points), else a free one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, str | bytes, dict] | str


class ScriptedServer:
    def __init__(self, respond: Callable[[str, str], Answer], port: int = 0):
        self.respond = respond
        self.requests: list[tuple[str, str, bytes, dict]] = []
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append((self.command, self.path, body, dict(self.headers)))
                answer = server.respond(self.command, self.path)
                if answer == "hang":
                    server._release.wait(10)
                    return
                status, text, headers = answer
                data = text if isinstance(text, bytes) else text.encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _any

            def log_message(self, *args) -> None:
                return  # keep test output clean

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
