"""What pages read from a cluster: a value with its time, its error and a note; the collector's
status for the sidebar; its failure, said in any viewer's timezone.

Invariant: a ``Reading`` with an error and a value is stale (the last good value, kept); one
with an error and no value says why there is nothing yet (``not_yet``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Generic, Protocol, TypeVar

from lib.collector.health import FLOWER, CollectorHealth, health_sentence
from lib.collector.snapshot import CollectorSnapshot
from lib.errors import ConsoleError

__all__ = [
    "FIRST_READ",
    "CollectorFailing",
    "MonitorStatus",
    "Reading",
    "Readout",
    "not_yet",
]

T = TypeVar("T")

#: What a page says before the collector's first poll has ended.
FIRST_READ = "The collector has not finished its first read of Flower yet."


@dataclass(frozen=True)
class Reading(Generic[T]):
    """A value with the time it was read (epoch s) and the error of the latest try, if any."""

    value: T | None
    at: float | None
    error: ConsoleError | None = None
    note: str = ""  # something true about the value the page should say (e.g. its source)

    @property
    def stale(self) -> bool:
        return self.error is not None and self.value is not None


@dataclass(frozen=True)
class MonitorStatus:
    """The collector at a glance, for the sidebar: where, when, how much, what failed."""

    flower_url: str  # Flower's address without credentials
    last_success: float | None  # epoch s when Flower's tasks last reached the store
    last_error: CollectorFailing | None  # the collector's health when its last poll failed
    tasks_held: int
    catching_up: str = ""  # "Catching up: 12,000 of ~30,000 new tasks." while a full load runs


class CollectorFailing(ConsoleError):
    """The collector's last poll failed: its health at ``now``, said in any viewer's timezone.

    ``str()`` is the sentence in UTC (logs, tests); a page says ``sentence(tz)`` in the viewer's
    zone (``lib.ui``), so the monitor needs no viewer and builds no per-viewer text.
    """

    def __init__(self, health: CollectorHealth, now: float):
        self.health, self.now = health, now
        super().__init__(self.sentence(UTC))

    def sentence(self, tz: tzinfo) -> str:
        sentence = health_sentence(self.health, self.now, tz)
        # Flower's short no-answer sentence leaves out the detail (refused, timed out): add it.
        # Every other sentence already ends with it.
        short = self.health.no_answer and self.health.source == FLOWER
        return f"{sentence} {self.health.last_error}" if short else sentence


class Readout(Protocol):
    """A collector as the monitor reads it (``Collector`` or ``StoredReadout``)."""

    @property
    def health(self) -> CollectorHealth: ...
    @property
    def snapshot(self) -> CollectorSnapshot: ...
    def wait_polled(self, version: int, timeout: float) -> bool: ...
    def wake(self) -> None: ...


def not_yet(error: ConsoleError | None) -> Reading:
    """Nothing to show: why (the collector's failure, else that it has not read yet)."""
    return Reading(None, None, error or ConsoleError(FIRST_READ))
