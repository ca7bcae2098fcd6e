"""A TCP forwarder in front of a real service, that a test can cut: the service keeps running
for everyone else, while whoever connects through the forwarder sees it die (connections
dropped, new ones refused). For "a dead broker" without stopping the session's Redis.
"""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["Forwarder"]


class Forwarder:
    """Forwards ``127.0.0.1:<port>`` to ``target_port`` until ``cut()``; a context manager."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                return  # cut: the listener is closed
            with self._lock:
                self._open += [client, upstream]
            self._start(self._pipe, client, upstream)
            self._start(self._pipe, upstream, client)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        # OSError: the other side closed, or the test cut the line: the pipe just ends.
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):  # already closed
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """The service looks dead from here on: no new connection, open ones dropped."""
        self._listener.close()
        with self._lock:
            for sock in self._open:
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(self, *exc) -> None:
        self.cut()
