"""``MetricsServer``: ``/metrics`` and ``/healthz`` over HTTP, in a daemon thread of the collector.

``/metrics`` is Prometheus' text exposition of one collector (``lib.metrics.port``: every
cluster's series of the process); ``/healthz`` answers 200 with each collector's last success and
lag as JSON, and 503 once ``FAILED_POLLS`` polls in a row have had a problem on any cluster
(``health_answer`` for one cluster, ``healthz_answer`` for all: pure, tested on their own).
Anything else is 404.

``/healthz``'s body keeps the single-cluster keys at the top (those of the worst cluster:
failing, else starting, else the one whose last success is oldest) and adds ``clusters`` (each
cluster's own answer, in order) and ``failing`` (the names of the failing ones).

Invariants: a port that cannot be bound (in use, not allowed) is an ``OSError`` for the caller
to put in plain words; ``stop()`` closes the socket and joins the thread; the answers carry
nothing the collector's health does not (its error text is scrubbed before it gets there).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # types only: lib.collector imports this package
    from lib.collector.health import CollectorHealth

__all__ = ["FAILED_POLLS", "MetricsServer", "health_answer", "healthz_answer"]

#: /healthz turns 503 after this many polls in a row with a problem (issue 16, point 4).
FAILED_POLLS = 3
#: serve_forever's check for shutdown (s): stop() returns within about this.
SHUTDOWN_POLL = 0.2


def health_answer(health: CollectorHealth, now: float) -> tuple[int, dict]:
    """``/healthz``'s status and JSON body for ``health`` at ``now``."""
    failing = health.consecutive_failures >= FAILED_POLLS
    if failing:
        status = "failing"
    elif health.last_success is None:
        status = "starting"
    else:
        status = "ok"
    last = health.last_success
    body = {
        "status": status,
        "cluster": health.cluster,
        "last_success": None if last is None else datetime.fromtimestamp(last, UTC).isoformat(),
        "last_success_timestamp": last,
        "lag_seconds": None if last is None else round(max(0.0, now - last), 3),
        "consecutive_failed_polls": health.consecutive_failures,
        "polls": health.polls,
        "poll_seconds": health.poll_seconds,
        "error": health.last_error,
    }
    return (503 if failing else 200), body


#: Which cluster's answer heads a several-cluster /healthz: the lower the worse.
RANK = {"failing": 0, "starting": 1, "ok": 2}


def healthz_answer(healths: list[tuple[str, CollectorHealth]], now: float) -> tuple[int, dict]:
    """``/healthz`` for every cluster served: 503 when any is failing, naming which."""
    answers = [health_answer(replace(h, cluster=name), now)[1] for name, h in healths]
    if not answers:
        return 503, {"status": "starting", "clusters": [], "failing": [], "error": None}
    worst = min(answers, key=lambda a: (RANK[a["status"]], a["last_success_timestamp"] or 0.0))
    failing = [a["cluster"] for a in answers if a["status"] == "failing"]
    body = {**worst, "clusters": answers, "failing": failing}
    if len(failing) > 1:
        said = (f"{a['cluster']}: {a['error']}" for a in answers if a["status"] == "failing")
        body["error"] = " ".join(said)
    return (503 if failing else 200), body


class MetricsServer:
    """Serves ``series`` and ``healthz(now)`` on ``address``:``port`` (0: any free port)."""

    def __init__(
        self,
        address: str,
        port: int,
        series: Collector,
        healthz: Callable[[float], tuple[int, dict]],
        name: str = "metrics",
    ):
        handler = _handler(series, healthz)
        self._httpd = ThreadingHTTPServer((address, port), handler)  # binds: may raise OSError
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(SHUTDOWN_POLL,), name=name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


def _handler(series: Collector, healthz: Callable[[float], tuple[int, dict]]) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(series), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                code, body = healthz(time.time())
                self._send(code, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b"Not found: try /metrics or /healthz\n", "text/plain")

        def _send(self, code: int, data: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            return  # a scrape every 15 s is no news; errors reach the collector's log

    return Handler
