"""The read side's single front door: tasks, workers and queues as frames, never waiting on Flower.

``ClusterMonitor`` reads one cluster as its collector (``lib.collector``) left it: tasks from the
history store, workers, queue depths and task types from the collector's latest snapshot
(in memory when the console runs the collector, ``StoredReadout`` when ``./ops collect`` does),
and the collector's health. A page's script run never calls Flower for these; only a single
task's detail (``task``: the stored row first) and actions do.

Invariants: no reading holds every stored task (a million may be stored): ``tasks`` is the
newest ``RECENT_TASKS``, ``task_page`` one page of a filter's matches read by query with their
count, the queues frame reads the last ``TRAFFIC_WINDOW`` and every running task. What comes
from the store's tasks (the tasks frame, each range's analytics and failures: a preset range
evaluated at the poll's time, ``lib.trends.history``) is built once per change of the stored
tasks (at most once a minute when none changes), what comes from samples and the snapshot
once per collector poll (``version``); both once per page while a full load runs (the store
then holds the newest tasks first), and shared by every session; a session that asks while
another builds gets the last value built (a poll old, its time said) instead of waiting; when the collector's last poll
failed, every reading carries its health as ``error`` and the last good value, so pages show
their stale banner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import TypeVar

import pandas as pd

from lib import failures, frames, trends
from lib.alert_readings import AlertReadings
from lib.built import Built
from lib.collector.health import CollectorHealth, catch_up_sentence, health_sentence
from lib.collector.snapshot import CollectorSnapshot
from lib.errors import ConsoleError
from lib.flower import FlowerClient
from lib.frames import flags
from lib.frames.filters import TaskFilter
from lib.frames.worker_facts import WorkerFacts
from lib.past_readings import PastReadings
from lib.reading import (
    FIRST_READ,
    CollectorFailing,
    MonitorStatus,
    Reading,
    Readout,
    not_yet,
)
from lib.redact import protect
from lib.settings import Settings
from lib.store import Store
from lib.store.rows import payload_of
from lib.store.task_query import TaskPage
from lib.time_range import ANALYTICS, OVERVIEW, SPANS
from lib.trends import history
from lib.trends.history import RangeAnalytics

__all__ = [
    "FIRST_READ",
    "ClusterMonitor",
    "CollectorFailing",
    "MonitorStatus",
    "Reading",
    "Readout",
]

T = TypeVar("T")

#: A single task's detail asks Flower at most this long (it is not in the store yet).
TASK_TIMEOUT = 3.0
#: The tasks ``tasks()`` holds: the newest by last event (a million stored never come in whole).
RECENT_TASKS = 10_000
#: The queues frame's recent traffic reads the tasks placed this long before its time (s), and
#: every running one.
TRAFFIC_WINDOW = 3600.0
#: An error group's tasks are found among this many newest matching failures (grouping runs
#: in pandas: ``lib.failures``).
GROUP_SCAN = 20_000
FAILED = ("FAILURE",)
#: Range results kept for the current poll version (analytics and failures of a few ranges:
#: the Overview's day, the range most sessions share, a custom one; least recent dropped first).
RANGES_KEPT = 6


class ClusterMonitor(PastReadings, AlertReadings):
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
        self._built = Built(RANGES_KEPT)  # what readings build, once per version

    @property
    def builds(self) -> int:
        """Values built so far (each once per version), for tests and benches."""
        return self._built.builds

    # -- the collector at a glance -----------------------------------------------------------

    @property
    def health(self) -> CollectorHealth:
        return self.readout.health

    def health_sentence(self, tz: tzinfo = UTC) -> str:
        """The collector's health now, times in ``tz`` (named)."""
        return health_sentence(self.health, self.clock(), tz)

    def status(self) -> MonitorStatus:
        """Where the collector reads, when data last came in, how many tasks, what failed."""
        health = self.health
        return MonitorStatus(
            self.client.display_url,
            health.data_until,
            self._error(),
            self.tasks_held(),
            catch_up_sentence(health),
        )

    def tasks_held(self) -> int:
        """How many tasks the store holds (counted once per poll version)."""
        return self._once("count", self.store.task_count)

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

    def warm_up(self, rules: tuple = ()) -> None:
        """Build what the pages open on, as of the collector's latest poll: the Overview's day
        (KPIs, pulse, strip, firing alerts), the analytics pages' default range (failures categorized by
        ``rules``), the sampled series, the newest tasks. A server does it at start, so its
        first visitor (or a console started while Flower hangs) only waits for the layout."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        self.analytics(now - SPANS[OVERVIEW], now, OVERVIEW)  # the Overview's first
        self.status()
        self.held_since(now)
        self.queues()
        self.attention()
        self.firing()
        default = ANALYTICS.default
        self.analytics(now - SPANS[default], now, default)
        self.failures(now - SPANS[default], now, default, rules)
        self.worker_figures(now - SPANS[default], now, default)
        self.queue_depths(now - SPANS[default], now, default)
        self.tasks()
        self.task_values()

    # -- tasks -------------------------------------------------------------------------------

    def tasks(self, force: bool = False) -> Reading[pd.DataFrame]:
        """The ``RECENT_TASKS`` stored tasks with the latest events, as a frame
        (``frames.tasks_frame`` columns, then ``in_flower``); never every stored task: a page
        that filters reads ``task_page``. ``force`` asks the collector to poll now; the
        reading is still the latest poll's."""
        if force:
            self.readout.wake()
        frame, note = self._once("tasks", self._tasks_frame)
        return self._tasks_reading(frame, note)

    def task_page(
        self,
        wanted: TaskFilter,
        limit: int,
        group: str = "",
        rules: tuple = (),
        force: bool = False,
    ) -> Reading[TaskPage]:
        """The ``limit`` newest stored tasks matching ``wanted`` and how many match, read by
        query (``lib.store.task_query``) each call: a page keeps what it read. With error
        ``group`` (``?error_group=``, grouped by ``rules``): every matching failure of it
        among the newest ``GROUP_SCAN`` matching failures (the note says when more exist).
        ``force`` asks the collector to poll now."""
        if force:
            self.readout.wake()
        note = self._once("tasks_note", self._tasks_note)
        if not group:
            return self._tasks_reading(self.store.tasks_page(wanted, limit), note)
        scanned = self.store.tasks_page(replace(wanted, states=wanted.states or FAILED), GROUP_SCAN)
        members = failures.in_error_group(scanned.rows, rules, group)
        if not scanned.complete:
            note = f"{note} Only the newest {GROUP_SCAN:,} matching failures were searched."
        return self._tasks_reading(TaskPage(members.reset_index(drop=True), len(members)), note)

    def tasks_in(self, start: datetime, end: datetime, label: str = "") -> Reading[pd.DataFrame]:
        """The stored tasks placed in ``[start, end)`` (``Store.tasks_window``; a preset
        ``label`` evaluated at the poll's time), once per poll version and range: a page over a
        range (Workflows) reads these instead of ``tasks``' newest few."""
        start, end = self._range(start, end, label)
        key = ("tasks", label if label in SPANS else (start, end))
        frame = self._once_for(key, lambda: self.store.tasks_window(start, end))
        return self._tasks_reading(frame, self._once("tasks_note", self._tasks_note))

    def matching_uuids(self, wanted: TaskFilter) -> list[str]:
        """Every stored task id matching ``wanted`` (what "act on all matching" targets)."""
        return self.store.matching_uuids(wanted)

    def task_values(self) -> dict[str, list]:
        """The states, names, workers and queues stored tasks have (once per poll version)."""
        return self._once("task_values", self.store.task_values)

    def _tasks_reading(self, value: T, note: str) -> Reading[T]:
        health = self.health
        # A first load under way: the pages written so far, as of the latest one (None for
        # the moment between a page's write and its progress line: not yet, then).
        at = health.data_until if health.data_until is not None else health.catching_up_at
        if at is None:
            return not_yet(self._error())
        note = " ".join(filter(None, (catch_up_sentence(health), note)))
        return Reading(value, at, self._error(), note)

    def _tasks_frame(self) -> tuple[pd.DataFrame, str]:
        # No masking here: the store masked every text with these settings before writing it.
        return self.store.newest_tasks(RECENT_TASKS), self._once("tasks_note", self._tasks_note)

    def _tasks_note(self) -> str:
        gone = self.store.gone_count()
        kept = f"{gone:,} of the stored tasks are no longer in Flower; the store keeps them."
        odd = self.readout.snapshot.tasks_note
        return " ".join(filter(None, (odd, kept if gone else "")))

    def task(self, uuid: str, live: bool = False) -> dict | None:
        """One task: its stored row (masked text), else (or ``live``: an admin's reveal needs
        the unmasked values) asked of Flower with a short timeout."""
        row = None if live else self.store.task(uuid)
        # ``in_flower`` and ``flag``: what an action can still do (lib.actions.checks)
        flag = flags.flag_of(self.flags().value, uuid)
        if row is not None:
            return {**payload_of(row), "in_flower": bool(row["in_flower"]), "flag": flag}
        info = self._detail_client.task_info(uuid)
        return {**info, "uuid": info.get("uuid") or uuid, "in_flower": True, "flag": flag}

    def flags(self) -> Reading[pd.DataFrame]:
        """Orphaned and stuck tasks (``frames.flags``: ``FLAG_COLUMNS``) as of the latest poll:
        every unfinished stored task against the workers and each name's p99 over the last
        ``P99_DAYS`` (hourly runtime histograms); built once per poll, the p99s once an hour."""
        return self._reading(self._once("flags", self._flags, per_poll=True))

    def _flags(self) -> pd.DataFrame:
        snap = self.readout.snapshot
        now = snap.workers_at or self.clock()
        p99 = self._built.once("runtime_p99", int(now // 3600), lambda: self._runtime_p99(now))
        return flags.flags_frame(self.store.flag_candidates(), snap.workers, p99, now)

    def _runtime_p99(self, now: float) -> pd.DataFrame:
        """Each name's p99 over the last week: a week's histograms barely move in an hour, and
        reading them is most of a flags build (0.23 s at 100k tasks, bench/flags.py)."""
        start, step = now - flags.P99_DAYS * 86400, flags.P99_STEP_MINUTES
        return flags.runtime_p99_frame(self.store.histograms("runtime", start, now, step))

    # -- analytics over a range ---------------------------------------------------------------

    def analytics(self, start: datetime, end: datetime, label: str = "") -> Reading[RangeAnalytics]:
        """Counts, trends, percentiles and worker usage over ``[start, end)`` from the store
        (``lib.trends.history``: raw rows, rollups where raw successes are pruned).

        A preset ``label`` ("Last 24 hours") is evaluated at the poll's time, not the caller's
        ``start``/``end``, so every session on that preset shares one result per poll version.
        """
        start, end = self._range(start, end, label)
        key = ("analytics", label if label in SPANS else (start, end))
        result = self._once_for(key, lambda: self._analyze(start, end))
        return self._reading(result)

    def failures(
        self, start: datetime, end: datetime, label: str = "", rules: tuple = ()
    ) -> Reading[pd.DataFrame]:
        """The FAILURE tasks placed in the range as ``failures.failures_frame`` describes them
        with ``rules`` (read by window: failures are kept ``OPS_RETENTION_DAYS``, raw for every
        range the pages offer), from the same start as ``analytics``; once per poll, range and
        rules."""
        start, end = self._range(start, end, label)
        key = ("failures", label if label in SPANS else (start, end), rules)
        result = self._once_for(key, lambda: self._failures(start, end, rules))
        return self._reading(result)

    def held_since(self, start: datetime) -> datetime | None:
        """Since when the store holds data, when that is after ``start``; else None."""
        oldest = self._once("oldest", self.store.oldest_at)
        if oldest is None or oldest <= start.timestamp():
            return None
        return datetime.fromtimestamp(oldest, UTC)

    def _range(self, start: datetime, end: datetime, label: str) -> tuple[datetime, datetime]:
        if label not in SPANS:
            return start, end
        polled = self.health.data_until or self.clock()
        end = datetime.fromtimestamp(polled, UTC)
        return end - SPANS[label], end

    def _plan(self, start: datetime, end: datetime) -> history.Plan:
        raw_from = history.raw_from(self.clock(), self.settings.retention_success_days)
        return history.plan(start, end, raw_from)

    def _analyze(self, start: datetime, end: datetime) -> RangeAnalytics:
        p, store = self._plan(start, end), self.store
        # Not the successes rollups hold; the tasks running since before: busy in the range.
        raw, running = store.range_rows(p.start, p.split, p.end)
        step = p.step_minutes
        counts = {
            key: store.rollup_counts(p.start, p.split, by, step)
            for key, by in history.GROUPINGS.items()
        }
        busy_from = history.busy_from(p, store.usage_from()) if p.rolled else p.start
        sources = history.Sources(
            raw,
            counts,
            self._runtime_histograms(p, raw),
            store.histogram_sums("wait", p.start, p.split),
            store.worker_usage(busy_from, p.split) if p.rolled else None,
            busy_from,
            running,
        )
        return history.analyze(sources, p, self.readout.snapshot.workers)

    def _runtime_histograms(self, p: history.Plan, raw: pd.DataFrame) -> history.RuntimeHistograms:
        """The rollups' runtime histograms a plan reads, summed by the store: by name, per
        bucket over every name, then per bucket for the names its trend shows."""
        store, step = self.store, p.step_minutes
        sums = store.histogram_sums("runtime", p.start, p.split)
        overall = store.histogram_sums("runtime", p.start, p.split, step, by_subject=False)
        shown = history.runtime_subjects(raw, sums, p) if p.rolled else []
        top = store.histogram_sums("runtime", p.start, p.split, step, subjects=shown)
        return history.RuntimeHistograms(sums, overall, top)

    def _failures(self, start: datetime, end: datetime, rules: tuple) -> pd.DataFrame:
        p = self._plan(start, end)
        rows = self.store.tasks_window(p.start, p.end, states=["FAILURE"])
        return failures.failures_frame(trends.window_frame(rows, p.start, p.end), rules)

    def _reading(self, value: T) -> Reading[T]:
        """``value`` with the collector's health and what was odd in the tasks Flower sent."""
        health = self.health
        if health.data_until is None and self._once("oldest", self.store.oldest_at) is None:
            return not_yet(self._error())
        return Reading(value, health.data_until, self._error(), self.readout.snapshot.tasks_note)

    def _once_for(self, key: Hashable, build: Callable[[], T], per_poll: bool = False) -> T:
        """``build()`` once per version (``_build_version``) and ``key`` (``lib.built``)."""
        return self._built.once_for(key, self._build_version(per_poll), build)

    # -- workers and queues ------------------------------------------------------------------

    def workers(self, force: bool = False) -> Reading[pd.DataFrame]:
        """Every worker Flower knows, online or not (see ``frames.workers_frame``)."""
        snap, error = self._latest(force)
        if snap.workers is None:
            return not_yet(error)
        return Reading(snap.workers, snap.workers_at, error, snap.workers_note)

    def worker_facts(self) -> Reading[dict[str, WorkerFacts]]:
        """Each worker's inspect facts (pool, prefetch, queues, task types, limits), as the
        collector last read them from Flower's inspect cache (``lib.collector.facts``)."""
        snap, error = self._latest(False)
        if snap.worker_facts is None:
            return not_yet(error)
        return Reading(snap.worker_facts, snap.workers_at, error)

    def queues(self, force: bool = False) -> Reading[pd.DataFrame]:
        """Depth, consumers and recent traffic per queue (see ``frames.queues_frame``)."""
        snap, error = self._latest(force)
        if snap.depths is None:
            return not_yet(error)
        frame = self._once("queues", lambda: self._queues_frame(snap), per_poll=True)
        return Reading(frame, snap.depths_at, error, snap.depths_note)

    def waiting(self) -> Reading[dict]:
        """What waits on each worker (scheduled, reserved, active, revoked) as the collector's
        latest per-worker inspect found it (``lib.collector.waiting``; frames:
        ``lib.frames.waiting``), at the time of that round."""
        snap, error = self._latest(False)
        at = (snap.waiting or {}).get("read_at")
        if not isinstance(at, int | float):  # never read (or kept by an older collector)
            return not_yet(error)
        return Reading(snap.waiting, float(at), error)

    def task_types(self) -> Reading[list[str]]:
        """Every task name Flower has seen, as the collector last read them; else (an external
        collector, or none read yet) every name the store holds tasks of."""
        snap, error = self._latest(False)
        if snap.task_types is not None:
            return Reading(list(snap.task_types), snap.workers_at, error)
        tasks = self._tasks_reading(None, "")
        if tasks.at is None:
            return not_yet(error)
        names = [str(n) for n in self.task_values()["name"]]
        return Reading(names, tasks.at, error, "Task types the store holds tasks of.")

    def training_metas(self) -> Reading[dict[str, dict]] | None:
        """Training jobs' result-backend records (each job's last progress record included) as
        the collector read them this poll (an external collector's: each job's latest progress
        sample in the store); None when it does not read them (no result backend or training
        view: the page then reads the backend itself).
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

    def training_curves(
        self, uuids: list[str], start: datetime, end: datetime
    ) -> Reading[pd.DataFrame]:
        """The progress samples of the training jobs ``uuids`` in ``[start, end)`` (the
        collector's, from the store). Read on each call: a few jobs' samples, picked per
        session, so not worth a place among the ranges shared per poll."""
        try:
            frame = self.store.progress_of(uuids, start, end)
        except ConsoleError as exc:
            return Reading(None, None, exc)
        return Reading(frame, self.health.data_until, self._error())

    def _queues_frame(self, snap: CollectorSnapshot) -> pd.DataFrame:
        workers = snap.workers if snap.workers is not None else frames.workers_frame([], {}, {})
        at = snap.depths_at or self.clock()
        tasks = self.store.queue_traffic(at - TRAFFIC_WINDOW)
        now = datetime.fromtimestamp(at, UTC)
        known = self.task_values()["queue"]
        frame = frames.queues_frame(snap.depths or {}, workers, tasks, now, known=known)
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

    def _build_version(self, per_poll: bool = False) -> tuple:
        """What a built value is valid for. From the store's tasks (``per_poll`` False): the
        task rows the collector has changed, the page of a full load that runs, and the minute
        of its latest data, so an idle cluster costs one rebuild a minute, not one a poll (a
        preset range then slides, and retention prunes, a minute at a time). From the
        samples and the snapshot (``per_poll``): each poll."""
        health = self.health
        if per_poll:
            return ("poll", self.version, health.catching_up)
        minute = None if health.data_until is None else int(health.data_until // 60)
        return ("tasks", health.tasks_written, health.catching_up, minute)

    def _once(self, name: str, build: Callable[[], T], per_poll: bool = False) -> T:
        """``build()`` once per version (``_build_version``), shared by every session and
        rerun (``lib.built``)."""
        return self._built.once(name, self._build_version(per_poll), build)

    def _error(self) -> CollectorFailing | None:
        """The collector's health when its last poll failed (said per viewer: ``sentence``)."""
        health = self.health
        if health.last_error is None:
            return None
        return CollectorFailing(health, self.clock())
