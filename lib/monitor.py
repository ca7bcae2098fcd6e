"""The read side's single front door: tasks, workers and queues as frames, never waiting on Flower.

``ClusterMonitor`` reads one cluster as its collector (``lib.collector``) left it: tasks from the
history store, workers, queue depths and task types from the collector's latest snapshot
(in memory when the console runs the collector, ``StoredReadout`` when ``./ops collect`` does),
and the collector's health. A page's script run never calls Flower for these; only a single
task's detail (``task``: the stored row first) and actions do.

Invariants: the tasks and queues frames are built once per collector poll (``version``), and
once per page while a full load runs (the store then holds the newest tasks first), and are
shared by every session; when the collector's last poll failed, every reading carries its health
sentence as ``error`` and the last good value, so pages show their stale banner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

import pandas as pd

from lib import frames
from lib.collector.health import CollectorHealth, catch_up_sentence, health_sentence
from lib.collector.snapshot import CollectorSnapshot
from lib.errors import ConsoleError
from lib.flower import FlowerClient
from lib.redact import protect
from lib.settings import Settings
from lib.store import Store
from lib.store.rows import payload_of

__all__ = ["FIRST_READ", "ClusterMonitor", "MonitorStatus", "Reading", "Readout"]

T = TypeVar("T")

#: What a page says before the collector's first poll has ended.
FIRST_READ = "The collector has not finished its first read of Flower yet."
#: A single task's detail asks Flower at most this long (it is not in the store yet).
TASK_TIMEOUT = 3.0
#: Every stored task, whatever its time (the store's retention bounds how many).
ALL_TIME = (0.0, 2.0**40)


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
    last_error: ConsoleError | None  # the collector's health sentence when its last poll failed
    tasks_held: int
    catching_up: str = ""  # "Catching up: 12,000 of ~30,000 new tasks." while a full load runs


class Readout(Protocol):
    """A collector as the monitor reads it (``Collector`` or ``StoredReadout``)."""

    @property
    def health(self) -> CollectorHealth: ...
    @property
    def snapshot(self) -> CollectorSnapshot: ...
    def wait_polled(self, version: int, timeout: float) -> bool: ...
    def wake(self) -> None: ...


class ClusterMonitor:
    """Everything the pages read about one cluster."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        readout: Readout,
        client: FlowerClient | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.settings, self.store, self.readout, self.clock = settings, store, readout, clock
        protect(settings.secrets)  # before anything reads the cluster, logs or builds a frame
        self.client = client or FlowerClient.from_settings(settings)
        # One short-timeout client for task details (each call of a new one was a new session).
        self._detail_client = FlowerClient(
            settings.flower_url, settings.flower_auth, min(TASK_TIMEOUT, settings.flower_timeout)
        )
        self._lock = threading.RLock()  # the queues frame reads the tasks frame inside it
        self._built: dict[str, tuple[tuple[int, int | None], object]] = {}
        self.builds = 0  # frames built (once per poll version each), for tests and benches

    # -- the collector at a glance -----------------------------------------------------------

    @property
    def health(self) -> CollectorHealth:
        return self.readout.health

    def health_sentence(self) -> str:
        return health_sentence(self.health, self.clock())

    def status(self) -> MonitorStatus:
        """Where the collector reads, when data last came in, how many tasks, what failed."""
        health = self.health
        tasks = self.tasks().value
        held = 0 if tasks is None else len(tasks)
        return MonitorStatus(
            self.client.display_url,
            health.data_until,
            self._error(),
            held,
            catch_up_sentence(health),
        )

    @property
    def synced(self) -> bool:
        """True once the collector has finished a poll (or data is in the store from before)."""
        return self.version > 0 or self.health.data_until is not None

    @property
    def version(self) -> int:
        """The collector's poll count: everything built from a poll is built once per version."""
        return self.readout.snapshot.version

    def wait_first_read(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the collector's first poll; True once it has ended."""
        return self.synced or self.readout.wait_polled(0, timeout)

    # -- tasks -------------------------------------------------------------------------------

    def tasks(self, force: bool = False) -> Reading[pd.DataFrame]:
        """The stored tasks as a frame (``frames.tasks_frame`` columns, then ``in_flower``).
        ``force`` asks the collector to poll now; the reading is still the latest poll's."""
        if force:
            self.readout.wake()
        health = self.health
        frame, note = self._once("tasks", self._tasks_frame)
        # A first load under way: the pages written so far, as of the latest one (None for
        # the moment between a page's write and its progress line: not yet, then).
        at = health.data_until if health.data_until is not None else health.catching_up_at
        if at is None:
            return _not_yet(self._error())
        note = " ".join(filter(None, (catch_up_sentence(health), note)))
        return Reading(frame, at, self._error(), note)

    def _tasks_frame(self) -> tuple[pd.DataFrame, str]:
        # No masking here: the store masked every text with these settings before writing it.
        frame = self.store.tasks_window(*ALL_TIME)
        gone = int((~frame["in_flower"]).sum())
        kept = f"{gone:,} of these tasks are no longer in Flower; the store keeps them."
        odd = self.readout.snapshot.tasks_note
        return frame, " ".join(filter(None, (odd, kept if gone else "")))

    def task(self, uuid: str, live: bool = False) -> dict | None:
        """One task: its stored row (masked text), else (or ``live``: an admin's reveal needs
        the unmasked values) asked of Flower with a short timeout."""
        row = None if live else self.store.task(uuid)
        if row is not None:
            return payload_of(row)
        info = self._detail_client.task_info(uuid)
        return {**info, "uuid": info.get("uuid") or uuid}

    # -- workers and queues ------------------------------------------------------------------

    def workers(self, force: bool = False) -> Reading[pd.DataFrame]:
        """Every worker Flower knows, online or not (see ``frames.workers_frame``)."""
        snap, error = self._latest(force)
        if snap.workers is None:
            return _not_yet(error)
        return Reading(snap.workers, snap.workers_at, error, snap.workers_note)

    def queues(self, force: bool = False) -> Reading[pd.DataFrame]:
        """Depth, consumers and recent traffic per queue (see ``frames.queues_frame``)."""
        snap, error = self._latest(force)
        if snap.depths is None:
            return _not_yet(error)
        frame = self._once("queues", lambda: self._queues_frame(snap))
        return Reading(frame, snap.depths_at, error, snap.depths_note)

    def task_types(self) -> Reading[list[str]]:
        """Every task name Flower has seen, as the collector last read them; else (an external
        collector, or none read yet) every name the store holds tasks of."""
        snap, error = self._latest(False)
        if snap.task_types is not None:
            return Reading(list(snap.task_types), snap.workers_at, error)
        tasks = self.tasks()
        if tasks.value is None:
            return _not_yet(error)
        names = self._once("task_types", lambda: _names(tasks.value))
        return Reading(names, tasks.at, error, "Task types the store holds tasks of.")

    def training_metas(self) -> Reading[dict[str, dict]] | None:
        """Training jobs' result-backend records (each job's last progress record included) as
        the collector read them this poll; None when it does not read them (no result backend
        or training view, or an external collector: the page then reads the backend itself).
        The reading's error says why some records may be old or absent."""
        snap = self.readout.snapshot
        if snap.metas is None:
            return None
        error = ConsoleError(snap.metas_error) if snap.metas_error else None
        skipped = snap.metas_skipped
        note = (
            f"{skipped} running task(s) over the limit of reads were not read." if skipped else ""
        )
        return Reading(snap.metas, snap.metas_at, error, note)

    def _queues_frame(self, snap: CollectorSnapshot) -> pd.DataFrame:
        workers = snap.workers if snap.workers is not None else frames.workers_frame([], {}, {})
        tasks = self.tasks().value
        tasks = tasks if tasks is not None else frames.tasks_frame([])
        now = datetime.fromtimestamp(snap.depths_at or self.clock(), UTC)
        frame = frames.queues_frame(snap.depths or {}, workers, tasks, now)
        if snap.consumers is not None:  # sampled counts: which workers consume is not known
            sampled = frame["queue"].map(snap.consumers)
            frame["consumers"] = sampled.fillna(frame["consumers"]).astype(int)
        return frame

    def _latest(self, force: bool) -> tuple[CollectorSnapshot, ConsoleError | None]:
        """The collector's latest snapshot and health (``force``: ask it to poll now)."""
        if force:
            self.readout.wake()
        return self.readout.snapshot, self._error()

    # -- shared work -------------------------------------------------------------------------

    def _once(self, name: str, build: Callable[[], T]) -> T:
        """``build()`` once per poll version (and per page of a full load that is running),
        shared by every session and rerun."""
        version = (self.version, self.health.catching_up)
        with self._lock:
            held = self._built.get(name)
            if held is None or held[0] != version:
                self.builds += 1
                held = (version, build())
                self._built[name] = held
            return held[1]  # type: ignore[return-value]

    def _error(self) -> ConsoleError | None:
        """The collector's health sentence when its last poll failed."""
        health = self.health
        if health.last_error is None:
            return None
        sentence = health_sentence(health, self.clock())
        # The short no-answer sentence leaves out the detail (refused, timed out): add it.
        return ConsoleError(f"{sentence} {health.last_error}" if health.no_answer else sentence)


def _names(tasks: pd.DataFrame) -> list[str]:
    return sorted(str(n) for n in tasks["name"].dropna().unique() if str(n))


def _not_yet(error: ConsoleError | None) -> Reading:
    """Nothing to show: why (the collector's failure, else that it has not read yet)."""
    return Reading(None, None, error or ConsoleError(FIRST_READ))
