"""What one doctor run has read from Flower, each answer read once and shared by the checks.

Several checks look at the same answers (the workers' heartbeats, their inspected
configuration, Flower's newest tasks): ``Evidence`` reads each at most once per run through
the console's own ``FlowerClient`` and hands out the value, or raises the same ``ConsoleError``
again to every check that asks after a failed read. ``blocked`` is why Flower can no longer be
asked (unreachable, credentials refused, no API at FLOWER_URL, no answer in time): set once by
the first check that finds it, then later Flower checks are skipped with that reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lib.errors import ConsoleError
from lib.flower import FlowerClient, RawAnswer
from lib.settings import Settings

__all__ = ["RECENT_TASKS", "Evidence"]

#: Flower's newest tasks read to see whether producers send task-sent events.
RECENT_TASKS = 200


class Evidence:
    """The run's reads of Flower (memoized) and the reason Flower is out of reach, if any."""

    def __init__(
        self,
        settings: Settings,
        client: FlowerClient | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.client = client or FlowerClient.from_settings(settings)
        self.clock = clock
        self.blocked: str | None = None
        self._reads: dict[str, tuple[Any, ConsoleError | None]] = {}

    def block(self, reason: str) -> None:
        """Skip every later Flower check, saying ``reason`` (the first reason found stays)."""
        if self.blocked is None:
            self.blocked = reason

    def healthcheck(self) -> RawAnswer:
        """``/healthcheck`` as it came: Flower's ``OK``, or whatever answers at FLOWER_URL."""
        return self._once("healthcheck", lambda: self.client.answer("/healthcheck"))

    def api_answer(self) -> RawAnswer:
        """``/api/workers?status=1`` as it came: the cheapest call Flower's API gate guards."""
        return self._once("api", lambda: self.client.answer("/api/workers", status=1))

    def worker_status(self) -> dict[str, bool]:
        """``{hostname: online}`` from heartbeats."""
        return self._once("status", self.client.worker_status)

    def workers(self) -> dict[str, dict]:
        """Flower's inspect of every worker, refreshed (``stats``, ``conf``, ``active_queues``)."""
        return self._once("workers", lambda: self.client.list_workers(refresh=True))

    def summaries(self) -> dict[str, dict]:
        """Flower's dashboard row per worker: event counters, heartbeats, ``freq``, ``status``."""

        def rows() -> dict[str, dict]:
            found = self.client.worker_summaries()
            return {str(r["hostname"]): r for r in found if r.get("hostname")}

        return self._once("summaries", rows)

    def recent_tasks(self) -> list[dict]:
        """Flower's newest tasks (``RECENT_TASKS`` of them)."""
        return self._once("tasks", lambda: self.client.list_tasks(limit=RECENT_TASKS))

    def online(self) -> list[str]:
        """The workers whose heartbeats Flower hears now, sorted."""
        return sorted(host for host, up in self.worker_status().items() if up)

    def confs(self) -> dict[str, dict]:
        """The online workers' Celery configuration as inspect answers it (settings they
        changed from Celery's defaults); a worker that did not answer is left out."""
        info = self.workers()
        found = {host: (info.get(host) or {}).get("conf") for host in self.online()}
        return {host: conf for host, conf in found.items() if isinstance(conf, dict)}

    def _once(self, name: str, fetch: Callable[[], Any]) -> Any:
        if name not in self._reads:
            try:
                self._reads[name] = (fetch(), None)
            except ConsoleError as exc:
                self._reads[name] = (None, exc)
        value, error = self._reads[name]
        if error is not None:
            raise error
        return value
