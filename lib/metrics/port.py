"""``MetricsPort``: one ``/metrics`` + ``/healthz`` server per address:port per process, shared by
every cluster's exporter in it (several clusters, issue 17).

A console or ``./ops collect`` watching several clusters runs one ``Collector`` (and so one
``MetricsExporter``) per cluster; they all name the same ``OPS_METRICS_ADDRESS``:
``OPS_METRICS_PORT``. Each exporter joins the port's ``MetricsPort`` (``MetricsPort.shared``)
with its cluster's registry and health; the port's one ``MetricsServer`` serves every member's
series (merged into one family per metric name: the exposition allows each name once) and
``/healthz`` for all of them (``healthz_answer``).

Invariants: at most one server per address:port in a process, bound while it has members and
closed when the last one leaves (then the port is forgotten: a later join binds afresh). A bind
that fails (another process holds the port) is ``note``, one plain sentence logged once; any
member's ``bind()`` tries again, so when the other process ends one of this process's members
takes over for all of them. Port 0 (tests) is one shared free port per address.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from lib.metrics.server import MetricsServer, healthz_answer

if TYPE_CHECKING:  # types only: lib.collector imports this package
    from lib.collector.health import CollectorHealth

__all__ = ["ClusterSeries", "Member", "MetricsPort"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Member:
    """One cluster's exporter on a port: its series and its health."""

    cluster: str
    registry: CollectorRegistry
    health: Callable[[], CollectorHealth]


class ClusterSeries(Collector):
    """Every member's families, one per metric name, their samples together (file order)."""

    def __init__(self, members: Callable[[], list[Member]]):
        self._members = members

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for member in self._members():
            for family in member.registry.collect():
                kept = merged.setdefault(family.name, family)
                if kept is not family:  # a fresh family per scrape: extending it is safe
                    kept.samples.extend(family.samples)
        yield from merged.values()


_PORTS: dict[tuple[str, int], MetricsPort] = {}
_PORTS_LOCK = threading.Lock()


class MetricsPort:
    """The members and the server (when bound) of one address:port in this process."""

    def __init__(self, address: str, port: int):
        self.address, self.port = address, port
        self.note: str | None = None  # why this process serves nothing there, in plain words
        self._members: list[Member] = []
        self._server: MetricsServer | None = None
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, address: str, port: int) -> MetricsPort:
        """This process's one ``MetricsPort`` for ``address``:``port``."""
        with _PORTS_LOCK:
            found = _PORTS.get((address, port))
            if found is None:
                found = _PORTS[(address, port)] = cls(address, port)
            return found

    @property
    def serving_port(self) -> int | None:
        """The port answering in this process (the bound one for port 0), or None."""
        server = self._server
        return None if server is None else server.port

    def members(self) -> list[Member]:
        with self._lock:
            return list(self._members)

    def join(self, member: Member) -> None:
        """Serve ``member`` too (binding the port if nothing in this process holds it yet)."""
        with _PORTS_LOCK:  # not forgotten by a last leave() meanwhile
            _PORTS[(self.address, self.port)] = self
            with self._lock:
                if member not in self._members:
                    self._members.append(member)
        self.bind()

    def leave(self, member: Member) -> None:
        """Stop serving ``member``; the last member to leave closes the port."""
        with _PORTS_LOCK:
            with self._lock:
                if member in self._members:
                    self._members.remove(member)
                if self._members:
                    return
                server, self._server, self.note = self._server, None, None
            if _PORTS.get((self.address, self.port)) is self:
                del _PORTS[(self.address, self.port)]
        if server is not None:
            server.stop()

    def bind(self) -> bool:
        """Listen, unless this process already does or no member is left; True when serving."""
        with self._lock:
            if self._server is not None or not self._members:
                return self._server is not None
            try:
                server = MetricsServer(
                    self.address, self.port, ClusterSeries(self.members), self._healthz
                )
            except OSError as exc:
                self._said(exc)
                return False
            self._server, self.note = server, None
        log.info("serving /metrics and /healthz on %s:%s", self.address, server.port)
        return True

    def _healthz(self, now: float) -> tuple[int, dict]:
        return healthz_answer([(m.cluster, m.health()) for m in self.members()], now)

    def _said(self, exc: OSError) -> None:
        note = (
            f"Prometheus metrics are not served from this process: {self.address}:"
            f"{self.port} cannot be listened on ({exc.strerror or exc}). Another console "
            "process or ./ops collect may serve them; this one tries again after each poll."
        )
        if note != self.note:
            log.warning("%s", note)
        self.note = note
