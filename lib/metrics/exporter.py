"""``MetricsExporter``: the collector's Prometheus side (issue 16, points 1 and 4).

With ``OPS_METRICS_PORT`` set, a ``Collector`` owns one: the store hands it the tasks seen
finished as they are written (``FinishedCounts``), each poll's end makes one reading of the
gauges (``read_metrics``), and while the collector runs it is a member of the process's
``MetricsPort`` on ``OPS_METRICS_ADDRESS``:``OPS_METRICS_PORT``, whose one server serves
``/metrics`` and ``/healthz`` for every cluster of the process.

Invariants: nothing here stops the collector. A port that cannot be bound (another console
process or ``./ops collect`` serving it already) becomes ``note``, one plain sentence logged once
as a warning and shown in the collector's health; the bind is tried again after every poll, so
when the process holding the port ends, another one takes over. A reading that fails keeps the
last one (its store problem is the poll's own). ``stop()`` leaves the port (the last member
to leave closes it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from lib.errors import ConsoleError
from lib.failures import rules_or_defaults
from lib.metrics.families import ConsoleMetrics
from lib.metrics.finished import FinishedCounts
from lib.metrics.port import Member, MetricsPort
from lib.metrics.readings import Caps, MetricsReading, ParsedFailures, read_metrics
from lib.settings import Settings
from lib.store import Store

if TYPE_CHECKING:  # types only: lib.collector imports this package
    from lib.collector.health import CollectorHealth
    from lib.collector.snapshot import CollectorSnapshot

__all__ = ["MetricsExporter"]

log = logging.getLogger(__name__)


class MetricsExporter:
    """Counters, the per-poll reading and the HTTP server of one cluster's collector."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        cluster: str,
        health: Callable[[], CollectorHealth],
        caps: Caps | None = None,
    ):
        self.store, self.cluster, self.health = store, cluster, health
        self.address, self.port = settings.metrics_address, settings.metrics_port or 0
        self.caps = caps or Caps()
        self.finished = FinishedCounts(self.caps.tasks, self.caps.queues)
        rules, _ = rules_or_defaults(settings.error_rules_file)  # a bad file: the Errors page says
        self.parsed = ParsedFailures(rules)
        self.registry = CollectorRegistry()
        metrics = ConsoleMetrics(
            cluster, self.reading, self.finished.view, health, settings.secrets
        )
        self.registry.register(metrics)
        self._port: MetricsPort | None = None  # joined while the collector runs
        self._member = Member(cluster, self.registry, health)
        self._reading: MetricsReading | None = None

    @classmethod
    def for_settings(
        cls, settings: Settings, store: Store, cluster: str, health: Callable[[], CollectorHealth]
    ) -> MetricsExporter | None:
        """An exporter when ``OPS_METRICS_PORT`` is set, else None."""
        if settings.metrics_port is None:
            return None
        return cls(settings, store, cluster, health)

    def reading(self) -> MetricsReading | None:
        """The latest poll's gauges (None before the first)."""
        return self._reading

    @property
    def serving_port(self) -> int | None:
        """The port ``/metrics`` answers on in this process, or None."""
        return None if self._port is None else self._port.serving_port

    @property
    def note(self) -> str | None:
        """Why this process serves no /metrics, in plain words (None: it does, or is stopped)."""
        return None if self._port is None else self._port.note

    def start(self) -> None:
        """Serve ``/metrics`` and ``/healthz`` (or say why not in ``note``)."""
        self._port = MetricsPort.shared(self.address, self.port)
        self._port.join(self._member)

    def stop(self) -> None:
        """Stop serving this cluster (the port closes when no cluster is left on it)."""
        port, self._port = self._port, None
        if port is not None:
            port.leave(self._member)

    def after_poll(self, snapshot: CollectorSnapshot, now: float) -> None:
        """Bind again if the port was taken; read the gauges once for this poll, unless
        another process serves them (its reading is the one scraped: this one would be
        thrown away each poll)."""
        port = self._port
        if port is not None and not port.bind():
            return
        try:
            self._reading = read_metrics(
                self.store, snapshot, self.cluster, self.caps, self.parsed, now
            )
        except ConsoleError as exc:  # the store's problem is already the poll's: keep the last
            log.info("metrics not read this poll: %s", exc)
        except Exception:  # a bug here must not end the collector's loop: log it whole
            log.exception("metrics reading failed unexpectedly; the last one is kept")
