"""Two real, independent Celery clusters for the several-clusters tests, and a clusters file.

``TwoClusters`` starts ``alpha`` and ``beta`` side by side (each: redis-server, one worker,
Flower with basic auth: ``demo.cluster.Cluster``) and puts a ``RecordingProxy`` in front of each
Flower; the clusters file (``OPS_CLUSTERS_FILE``) points the console at the proxies, so every
request the console makes to a Flower is in that Flower's request log (Flower itself logs no
requests unless ``--debug``, which also turns on Tornado's autoreload). A proxy can also
``hang``: it accepts requests and never answers until ``answer`` (a hung Flower).

Invariants: each Flower's password is in the file only as ``"env:NAME"`` (``environ`` holds
it); the log keeps every request's method and path, held ones included, in arrival order; a
held request is released by ``answer`` or ``stop`` (never by a test's timeout), its connection
closed without an answer.
"""

from __future__ import annotations

import http.client
import itertools
import select
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from demo.cluster import Cluster, WorkerSpec

__all__ = ["CLUSTER_NAMES", "Member", "RecordingProxy", "TwoClusters"]

CLUSTER_NAMES = ("alpha", "beta")
#: Headers that belong to one hop, not to the request or answer passed on.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}
#: How long a held request waits at most when nobody answers it (a forgotten ``answer``).
HOLD_LIMIT = 300.0
#: How often a held request checks whether its client has hung up (s).
HOLD_CHECK = 0.1


class RecordingProxy:
    """An HTTP proxy on a free loopback port in front of ``upstream_port``, logging each request."""

    def __init__(self, upstream_port: int, upstream_timeout: float = 30.0):
        self.upstream_port, self.upstream_timeout = upstream_port, upstream_timeout
        self._log: list[tuple[str, str]] = []
        self._held: set[int] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._hanging: threading.Event | None = None  # set: the held requests are released
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name=f"proxy-{self.port}", daemon=True
        )
        self._thread.start()

    # -- the log -------------------------------------------------------------------------------

    def requests(self, since: int = 0) -> list[tuple[str, str]]:
        """Every request's ``(method, path with query)`` that reached this proxy, in order."""
        with self._lock:
            return self._log[since:]

    def mark(self) -> int:
        """Where the log ends now: ``requests(since=mark)`` is what came after."""
        with self._lock:
            return len(self._log)

    def posts(self, since: int = 0) -> list[str]:
        """The paths of the POSTs (Flower's actions) that reached this proxy."""
        return [path for method, path in self.requests(since) if method == "POST"]

    def held(self) -> set[int]:
        """The ids of the requests held unanswered now whose clients still wait (``hang``)."""
        with self._lock:
            return set(self._held)

    # -- hanging -------------------------------------------------------------------------------

    def hang(self) -> None:
        """From now on accept every request and never answer it (until ``answer``)."""
        with self._lock:
            if self._hanging is None:
                self._hanging = threading.Event()

    def answer(self) -> None:
        """Pass requests on again; the held ones are dropped unanswered."""
        with self._lock:
            hanging, self._hanging = self._hanging, None
        if hanging is not None:
            hanging.set()

    def stop(self) -> None:
        self.answer()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    # -- serving -------------------------------------------------------------------------------

    def _take(self, method: str, path: str) -> tuple[int, threading.Event | None]:
        with self._lock:
            self._log.append((method, path))
            number, hanging = next(self._ids), self._hanging
            if hanging is not None:
                self._held.add(number)
            return number, hanging

    def _hold(self, number: int, hanging: threading.Event, client: socket.socket) -> None:
        """Keep request ``number`` unanswered until ``answer``, or until its client gives up."""
        deadline = time.monotonic() + HOLD_LIMIT
        while not hanging.wait(HOLD_CHECK) and time.monotonic() < deadline:
            if _hung_up(client):
                break
        with self._lock:
            self._held.discard(number)

    def _forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(
            "127.0.0.1", self.upstream_port, timeout=self.upstream_timeout
        )
        try:
            upstream.request(method, path, body=body or None, headers=headers)
            answer = upstream.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            upstream.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the console's session expects

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                number, hanging = proxy._take(self.command, self.path)
                if hanging is not None:
                    proxy._hold(number, hanging, self.connection)
                    self.close_connection = True  # dropped, never answered
                    return
                keep = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                try:
                    status, headers, data = proxy._forward(self.command, self.path, body, keep)
                except OSError as exc:  # Flower down: the console sees a gateway error
                    status, headers, data = 502, [], f"proxy: {exc}".encode()
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args) -> None:
                return  # the log is ``requests()``, not stderr

        return Handler


def _hung_up(client: socket.socket) -> bool:
    """True when the client closed its end (readable, with nothing left to read)."""
    # poll, not select: the whole suite holds more than select's 1024 descriptors open.
    watch = select.poll()
    watch.register(client, select.POLLIN)
    if not watch.poll(0):
        return False
    try:
        return client.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


@dataclass(frozen=True)
class Member:
    """One of the two clusters: its name, its processes, the proxy the console reaches it by."""

    name: str
    cluster: Cluster
    proxy: RecordingProxy

    @property
    def worker(self) -> str:
        """Its one worker's hostname (``alpha1@host``)."""
        return self.cluster.worker_names[0]

    @property
    def auth_variable(self) -> str:
        """The environment variable the clusters file reads its Flower's credentials from."""
        return f"{self.name.upper()}_FLOWER_AUTH"

    def table(self, flower_timeout: float) -> str:
        """Its ``[clusters.<name>]`` table; the credentials only as ``env:NAME``."""
        return (
            f"[clusters.{self.name}]\n"
            f'title = "{self.name.title()}"\n'
            f'flower_url = "{self.proxy.url}"\n'
            f'flower_basic_auth = "env:{self.auth_variable}"\n'
            f'broker_url = "{self.cluster.broker_url}"\n'
            f'result_backend = "{self.cluster.backend_url}"\n'
            f"flower_timeout = {flower_timeout:g}\n"
        )


class TwoClusters:
    """``alpha`` and ``beta``, started together; ``clusters_file`` and ``environ`` for the console.

    ``timeouts``: each cluster's ``flower_timeout`` in the file (beta's longer than alpha's poll,
    so a hung beta is seen to hold one request while alpha polls on).
    """

    def __init__(self, workdir: Path, timeouts: dict[str, float] | None = None):
        self.workdir = Path(workdir)
        self.timeouts = {"alpha": 2.0, "beta": 6.0, **(timeouts or {})}
        self.members: dict[str, Member] = {}
        self.clusters_file = self.workdir / "clusters.toml"
        self.started_in: float | None = None  # seconds start() took (the fixture's cost)

    @property
    def alpha(self) -> Member:
        return self.members["alpha"]

    @property
    def beta(self) -> Member:
        return self.members["beta"]

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members.values())

    def environ(self, **more: str) -> dict[str, str]:
        """The console's variables: the clusters file, each Flower's credentials (what its
        ``env:`` names), 1 s polls, login off; ``more`` adds or overrides."""
        base = {
            "OPS_CLUSTERS_FILE": str(self.clusters_file),
            "OPS_POLL_SECONDS": "1",
            "FLOWER_TIMEOUT": "2",
            "OPS_AUTH": "off",
        }
        secrets = {m.auth_variable: m.cluster.flower_auth or "" for m in self}
        return {**base, **secrets, **more}

    def start(self) -> TwoClusters:
        began = time.monotonic()
        made = {
            name: Cluster(self.workdir / name, workers=(WorkerSpec(f"{name}1@%h", ("default",)),))
            for name in CLUSTER_NAMES
        }
        try:
            with ThreadPoolExecutor(len(made)) as pool:  # both start at once: half the wait
                for started in [pool.submit(c.start) for c in made.values()]:
                    started.result()
            for name, cluster in made.items():
                self.members[name] = Member(name, cluster, RecordingProxy(cluster.flower_port))
        except BaseException:
            self._stop(made.values())
            raise
        tables = [m.table(self.timeouts[m.name]) for m in self]
        self.clusters_file.write_text("\n".join(tables), encoding="utf-8")
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> None:
        self._stop([m.cluster for m in self])

    def _stop(self, clusters) -> None:
        for member in self:
            member.proxy.stop()
        for cluster in clusters:
            cluster.stop()  # idempotent; a cluster that never started has nothing to stop

    def __enter__(self) -> TwoClusters:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
