"""The read side's single front door: tasks, workers and queues as frames, last good kept.

``ClusterMonitor`` owns the Flower client, the task sync and the broker probe for one cluster.
Each reading is polled at most once per ``poll_seconds`` for all browser sessions together
(each ``_Poll`` has a lock), and a failed poll returns the last good frame with the error
attached, so a page can show both: the data, marked stale, and why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import pandas as pd

from lib import frames
from lib.broker import BrokerProbe
from lib.errors import ConsoleError
from lib.flower import FlowerClient
from lib.readers import WorkerReader, read_queues
from lib.redact import mask_frame, protect
from lib.settings import Settings
from lib.sync import Progress, TaskSync

__all__ = ["ClusterMonitor", "MonitorStatus", "Reading"]

log = logging.getLogger(__name__)

T = TypeVar("T")


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
    """The task sync at a glance, for the sidebar: where, when, how much, what failed."""

    flower_url: str  # Flower's address without credentials
    last_success: float | None  # epoch s of the last good task refresh; None before the first
    last_error: ConsoleError | None  # the latest refresh's failure; None when it worked
    tasks_held: int


class _Poll(Generic[T]):
    """Calls ``fetch`` at most every ``ttl`` seconds; keeps the last good value on failure."""

    def __init__(self, fetch: Callable[[], tuple[T, str]], ttl: float, clock=time.time):
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._reading: Reading[T] = Reading(None, None)
        self._tried: float | None = None

    def get(self, force: bool = False) -> Reading[T]:
        with self._lock:
            now = self._clock()
            if force or self._tried is None or now - self._tried >= self._ttl:
                self._tried = now
                self._reading = self._read(now)
            return self._reading

    def _read(self, now: float) -> Reading[T]:
        try:
            value, note = self._fetch()
        except ConsoleError as exc:
            log.warning("poll failed: %s", exc)
            return Reading(self._reading.value, self._reading.at, exc, self._reading.note)
        return Reading(value, now, None, note)


class ClusterMonitor:
    """Everything the pages read about one cluster."""

    def __init__(self, settings: Settings, client: FlowerClient | None = None, clock=time.time):
        self.settings = settings
        protect(settings.secrets)  # before anything reads the cluster, logs or builds a frame
        self.client = client or FlowerClient.from_settings(settings)
        self.sync = TaskSync(self.client, clock=clock)
        self.probe = BrokerProbe(settings.broker_url) if settings.broker_url else None
        self.clock = clock
        self._frame_lock = threading.Lock()
        self._frame: tuple[int, pd.DataFrame, str] | None = None
        ttl = settings.poll_seconds
        self._workers = _Poll(WorkerReader(self.client, clock).read, ttl, clock)
        self._queues = _Poll(self._read_queues, ttl, clock)
        self._task_types = _Poll(lambda: (self.client.task_types(), ""), ttl, clock)

    # -- the sync at a glance ----------------------------------------------------------------

    def status(self) -> MonitorStatus:
        """Where the monitor reads, when it last read tasks well, how many it holds."""
        sync = self.sync
        return MonitorStatus(
            self.client.display_url, sync.last_success, sync.last_error, len(sync.store)
        )

    @property
    def synced(self) -> bool:
        """True once a task refresh has worked (the first load may take a while)."""
        return self.sync.last_success is not None

    @property
    def version(self) -> int:
        """The task sync's version: it changes whenever a refresh changed a task."""
        return self.sync.version

    # -- tasks -------------------------------------------------------------------------------

    def tasks(self, progress: Progress | None = None, force: bool = False) -> Reading[pd.DataFrame]:
        """The synced tasks as a frame (see ``frames.tasks_frame``)."""
        error: ConsoleError | None = None
        try:
            if force:
                self.sync.refresh(progress)
            else:
                self.sync.refresh_if_due(self.settings.poll_seconds, progress)
        except ConsoleError as exc:
            error = exc
        if self.sync.last_success is None:
            return Reading(None, None, error)
        frame, note = self._tasks_frame()
        return Reading(frame, self.sync.last_success, error, note)

    def _tasks_frame(self) -> tuple[pd.DataFrame, str]:
        """The frame of the current sync version, sensitive values masked (built once), and
        what was odd in its payloads."""
        version, tasks = self.sync.snapshot()
        with self._frame_lock:
            if self._frame is None or self._frame[0] != version:
                odd = frames.OddValues("task")
                frame = frames.tasks_frame(tasks, odd)
                masked = mask_frame(frame, self.settings.sensitive_keys)
                self._frame = (version, masked, odd.sentence())
            return self._frame[1], self._frame[2]

    def task(self, uuid: str) -> dict | None:
        """One task: from the synced store, else asked of Flower (it may be newer than a sync)."""
        held = self.sync.task(uuid)
        if held is not None:
            return held
        info = self.client.task_info(uuid)
        return {**info, "uuid": info.get("uuid") or uuid}

    # -- workers and queues ------------------------------------------------------------------

    def workers(self, force: bool = False) -> Reading[pd.DataFrame]:
        """Every worker Flower knows, online or not (see ``frames.workers_frame``)."""
        return self._workers.get(force)

    def queues(self, force: bool = False) -> Reading[pd.DataFrame]:
        """Depth, consumers and recent traffic per queue (see ``frames.queues_frame``)."""
        return self._queues.get(force)

    def task_types(self) -> Reading[list[str]]:
        """Every task name Flower has seen, polled like the other readings."""
        return self._task_types.get()

    def _read_queues(self) -> tuple[pd.DataFrame, str]:
        workers = self.workers().value
        if workers is None:
            workers = frames.workers_frame([], {}, {})
        tasks = self.tasks().value
        if tasks is None:
            tasks = frames.tasks_frame([])
        reading = read_queues(self.client, self.probe, workers, tasks, self.clock())
        return reading.frame, reading.note
