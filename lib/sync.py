"""Incremental mirror of Flower's task list: the data every page reads.

Flower returns ``/api/tasks`` newest event first (reference §5), so after one full load a
refresh only needs the top of the list: it pages from offset 0 until a page reaches tasks older
than the watermark (the newest ``timestamp`` seen) minus an overlap that absorbs event lag and
small clock skew, and merges by ``uuid``.

Invariants:

- An older record of a task never overwrites a newer one (``apply_task_payload``).
- A refresh that fails leaves the store exactly as it was; the error is kept for the banner.
- A Flower restart or a dropped window is detected and answered with a full reload: Flower
  is empty while we hold tasks, its newest task is older than our watermark, the paging ran
  off the end of Flower's list without reaching known ground, or the known ground is gone.
- Workers with skewed clocks can hide updates below the watermark, so a full reload also
  runs every ``full_every`` seconds.
- A full load writes each page as it arrives (newest tasks first), so readers of the store see
  the newest tasks while the walk goes on; tasks Flower no longer holds are let go
  (``TaskStore.keep_only``) and the watermark and ``last_full`` move only when the walk ends.
  A walk stopped midway (``stopping``) keeps the old cursor: the next sync walks again.

One ``TaskSync`` serves all browser sessions; ``refresh`` and ``snapshot`` take its lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from celery import states

from lib.errors import ConsoleError
from lib.flower import FlowerClient

__all__ = [
    "MemoryTaskStore",
    "SyncCursor",
    "SyncReport",
    "TaskStore",
    "TaskSync",
    "apply_task_payload",
    "is_newer",
]

log = logging.getLogger(__name__)

#: Flower 2.2 pays ~0.3 s per /api/tasks request whatever its size (it ranks every task),
#: and more as the offset grows: pages of 1000 balance request count against page cost.
PAGE_SIZE = 1000
#: The smallest first page of an incremental walk. The walk starts at twice what the last one
#: found new (a page of page_size right after a full load), so it usually takes one request.
FIRST_INCREMENTAL_PAGE = 100
#: Event lag is 1-3 s and worker clocks drift a little: re-read this much below the watermark.
OVERLAP_SECONDS = 10.0
#: A periodic full reload catches updates hidden below the watermark by skewed worker clocks.
FULL_EVERY_SECONDS = 900.0

Progress = Callable[[int, int | None], None]


class TaskStore(Protocol):
    """Where synced tasks live. In memory now; a persistent history store can take its place."""

    def upsert(self, tasks: Iterable[dict]) -> int:
        """Merge ``tasks`` by uuid with ``apply_task_payload``; return how many changed."""

    def keep_only(self, uuids: set[str]) -> None:
        """Flower holds only ``uuids`` now: let go of every other task (drop or mark it)."""

    def get(self, uuid: str) -> dict | None: ...

    def holds(self, uuid: str) -> bool:
        """Whether the task is held (cheaper than ``get`` for a store on disk)."""

    def uuids(self) -> set[str]:
        """The ids of every task held."""

    def tasks(self) -> list[dict]:
        """Every task held; callers must not mutate the dicts."""

    def __len__(self) -> int: ...


class MemoryTaskStore:
    """A dict of task payloads by uuid."""

    def __init__(self) -> None:
        self._tasks: dict[str, dict] = {}

    def upsert(self, tasks: Iterable[dict]) -> int:
        return sum(apply_task_payload(self._tasks, task) for task in tasks)

    def keep_only(self, uuids: set[str]) -> None:
        self._tasks = {u: t for u, t in self._tasks.items() if u in uuids}

    def replace(self, tasks: Iterable[dict]) -> None:
        """Hold exactly ``tasks`` from now on (bench/sync.py copies a sync's state with it)."""
        fresh: dict[str, dict] = {}
        for task in tasks:
            apply_task_payload(fresh, task)
        self._tasks = fresh

    def get(self, uuid: str) -> dict | None:
        return self._tasks.get(uuid)

    def holds(self, uuid: str) -> bool:
        return uuid in self._tasks

    def uuids(self) -> set[str]:
        return set(self._tasks)

    def tasks(self) -> list[dict]:
        return list(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)


def apply_task_payload(held: dict[str, dict], task: dict) -> bool:
    """Upsert one Flower task into ``held``; an older record never replaces a newer one.

    Newer means a later ``timestamp`` (Flower's last state-changing event); on a tie the state
    that Celery ranks higher wins (``celery.states.precedence``: SUCCESS beats STARTED).
    """
    uuid = task.get("uuid")
    if not uuid:
        return False
    current = held.get(uuid)
    if current is not None and not is_newer(task, current):
        return False
    held[uuid] = task
    return True


def is_newer(incoming: dict, current: dict) -> bool:
    """Whether ``incoming`` may replace ``current``, two records of one task (the rule above).

    The history store (``lib.store``) merges by this same rule.
    """
    new_ts, old_ts = _timestamp(incoming), _timestamp(current)
    if new_ts != old_ts:
        return new_ts > old_ts
    if incoming == current:
        return False
    new_state, old_state = incoming.get("state"), current.get("state")
    return new_state == old_state or states.state(new_state) >= states.state(old_state)


def _timestamp(task: dict) -> float:
    value = task.get("timestamp")
    return float(value) if isinstance(value, int | float) else float("-inf")


@dataclass(frozen=True)
class SyncCursor:
    """Where a sync stands: enough for a restarted process to resume incrementally.

    ``watermark``: the newest task timestamp seen; ``last_full``: when the last full reload
    ran (epoch s). A cursor is only meaningful with the same ``TaskStore`` contents.
    """

    watermark: float | None = None
    last_full: float | None = None


@dataclass(frozen=True)
class SyncReport:
    """What one refresh did: the benchmark and the sidebar read it."""

    mode: str  # "full", "incremental" or "partial" (a full load stopped midway)
    fetched: int
    changed: int
    requests: int
    bytes: int
    seconds: float
    reason: str = ""


class TaskSync:
    """Keeps a ``TaskStore`` in step with one Flower."""

    def __init__(
        self,
        client: FlowerClient,
        store: TaskStore | None = None,
        page_size: int = PAGE_SIZE,
        overlap: float = OVERLAP_SECONDS,
        full_every: float = FULL_EVERY_SECONDS,
        clock: Callable[[], float] = time.time,
        stopping: Callable[[], bool] = lambda: False,
    ):
        self.client = client
        self.stopping = stopping  # asked between pages of a full load: True ends the walk
        self.store: TaskStore = store if store is not None else MemoryTaskStore()
        self.page_size = page_size
        self.overlap = overlap
        self.full_every = full_every
        self.clock = clock
        self.watermark: float | None = None
        self.version = 0
        self.last_success: float | None = None
        self.last_attempt: float | None = None
        self.last_error: ConsoleError | None = None
        self.last_report: SyncReport | None = None
        self._last_full: float | None = None
        self._next_first_page = page_size
        # Re-entrant: a progress callback may ask for the cursor (the old one) mid-walk.
        self._lock = threading.RLock()

    # -- public ------------------------------------------------------------------------------

    def refresh(self, progress: Progress | None = None) -> SyncReport:
        """Bring the store up to date with Flower; raise ``ConsoleError`` and keep it if not."""
        with self._lock:
            return self._refresh_locked(progress)

    def refresh_if_due(self, max_age: float, progress: Progress | None = None) -> None:
        """Refresh unless another session did within ``max_age`` seconds.

        A failure within ``max_age`` is raised again without calling Flower, so many open
        tabs do not hammer a Flower that is down.
        """
        with self._lock:
            now = self.clock()
            if self.last_attempt is not None and now - self.last_attempt < max_age:
                if self.last_error is not None:
                    raise self.last_error
                return
            self._refresh_locked(progress)

    def snapshot(self) -> tuple[int, list[dict]]:
        """``(version, tasks)``: the version changes whenever the tasks do."""
        with self._lock:
            return self.version, self.store.tasks()

    def task(self, uuid: str) -> dict | None:
        with self._lock:
            return self.store.get(uuid)

    def cursor(self) -> SyncCursor:
        """Where this sync stands, to be kept beside its store (``resume`` takes it back)."""
        with self._lock:
            return SyncCursor(self.watermark, self._last_full)

    def resume(self, cursor: SyncCursor) -> None:
        """Continue from ``cursor`` over a store that already holds what it was taken with:
        the next refresh reads only what is newer (or reloads if Flower restarted meanwhile)."""
        with self._lock:
            self.watermark, self._last_full = cursor.watermark, cursor.last_full
            if cursor.watermark is not None and cursor.last_full is None:
                # A periodic reload must still come: count from now.
                self._last_full = self.clock()

    @property
    def is_stale(self) -> bool:
        return self.last_error is not None

    # -- refresh -----------------------------------------------------------------------------

    def _refresh_locked(self, progress: Progress | None) -> SyncReport:
        self.last_attempt = self.clock()
        before = (self.client.stats.requests, self.client.stats.bytes, time.monotonic())
        try:
            mode, fetched, changed, reason = self._pull(progress)
        except ConsoleError as exc:
            self.last_error = exc
            log.warning("task sync failed: %s", exc)
            raise
        self.last_error = None
        self.last_success = self.last_attempt
        if changed:
            self.version += 1
        report = SyncReport(
            mode=mode,
            fetched=fetched,
            changed=changed,
            requests=self.client.stats.requests - before[0],
            bytes=self.client.stats.bytes - before[1],
            seconds=time.monotonic() - before[2],
            reason=reason,
        )
        self.last_report = report
        log.info("task sync %s: %s", mode, report)
        return report

    def _pull(self, progress: Progress | None) -> tuple[str, int, int, str]:
        if self.watermark is None:
            return self._full(progress, "first load")
        if self._last_full is not None and self.clock() - self._last_full >= self.full_every:
            return self._full(progress, "periodic full reload")
        walk = _Walk(floor=self.watermark - self.overlap, quiet_pages=1)
        reason, complete = self._incremental(walk, progress)
        if walk.stopped:
            return walk.outcome("partial", f"{reason or 'catch-up'}: stopped before the end")
        if reason:
            if complete:  # the walk already read all of Flower: no need to read again
                return self._finish_full(walk, reason)
            return self._full(progress, reason)
        self._next_first_page = min(self.page_size, max(FIRST_INCREMENTAL_PAGE, 2 * walk.fresh))
        if walk.newest > self.watermark:
            self.watermark = walk.newest
        return walk.outcome("incremental", "")

    def _full(self, progress: Progress | None, reason: str) -> tuple[str, int, int, str]:
        """Walk all of Flower, writing each page as it comes (see the invariants)."""
        walk = _Walk()
        for page in self._pages():
            if self._write(walk, page, progress):
                return walk.outcome("partial", f"{reason}: stopped before the walk ended")
        return self._finish_full(walk, reason)

    def _finish_full(self, walk: _Walk, reason: str) -> tuple[str, int, int, str]:
        """The walk read all of Flower: let go of what it no longer holds; only now move the
        cursor."""
        self.store.keep_only(walk.seen)
        self._next_first_page = self.page_size
        self.watermark = None if walk.newest == float("-inf") else walk.newest
        self._last_full = self.clock()
        walk.changed = max(walk.changed, 1)  # a full load always makes a new version
        return walk.outcome("full", reason)

    def _incremental(self, walk: _Walk, progress: Progress | None) -> tuple[str, bool]:
        """Write from the top down to known ground; ``(reason, complete)`` when a reload is
        due, ``complete`` when the walk ran off the end of Flower's list (it read it all)."""
        for page in self._pages(first_size=self._next_first_page):
            if not walk.pages and _newest(page) < walk.floor:
                return "Flower's newest task is older than the last sync (Flower restarted?)", False
            below = [t for t in page if _timestamp(t) < walk.floor]
            # Asked before the page is written: afterwards the store holds every task of it.
            gone = bool(below) and len(self.store) and not any(map(self.store.holds, _ids(below)))
            if self._write(walk, page, progress):
                return "", False
            if gone:
                return "the tasks seen last time are gone from Flower", False
            if below:
                return "", False
        if self.store.uuids() - walk.seen:
            return "Flower no longer holds some tasks seen before (restarted?)", True
        return "", False

    def _write(self, walk: _Walk, page: list[dict], progress: Progress | None) -> bool:
        """Write one page and say how far the walk is; True when it must stop here."""
        walk.changed += self.store.upsert(page)
        walk.add(page)
        if progress and walk.pages > walk.quiet_pages:
            if walk.total is None:  # asked after a first page: a hung Flower costs one wait
                whole = walk.pages == 1 and len(page) < self.page_size
                walk.total = walk.fetched if whole else self._total_hint()
            progress(walk.fetched, walk.total)
        walk.stopped = self.stopping()
        return walk.stopped

    def _pages(self, first_size: int | None = None) -> Iterable[list[dict]]:
        """Flower's list in consecutive pages; sizes double from ``first_size`` to page_size."""
        size = min(first_size or self.page_size, self.page_size)
        offset = 0
        while True:
            page = self.client.list_tasks(limit=size, offset=offset)
            if page:
                yield page
            if len(page) < size:
                return
            offset += size
            size = min(size * 2, self.page_size)

    def _total_hint(self) -> int | None:
        try:
            return self.client.task_count()
        except ConsoleError as exc:
            log.info("no task count for the progress bar: %s", exc)
            return None


@dataclass
class _Walk:
    """What one walk down Flower's list has written so far."""

    floor: float = float("-inf")  # an incremental walk's known ground (watermark - overlap)
    quiet_pages: int = 0  # pages written before progress is reported (a short walk is quiet)
    seen: set[str] = field(default_factory=set)
    newest: float = float("-inf")
    pages: int = 0
    fetched: int = 0
    fresh: int = 0  # tasks at or above the floor
    changed: int = 0
    total: int | None = None  # Flower's estimate of its size, asked once
    stopped: bool = False

    def add(self, page: list[dict]) -> None:
        self.seen.update(_ids(page))
        self.newest = max(self.newest, _newest(page))
        self.pages, self.fetched = self.pages + 1, self.fetched + len(page)
        self.fresh += sum(_timestamp(t) >= self.floor for t in page)

    def outcome(self, mode: str, reason: str) -> tuple[str, int, int, str]:
        return mode, self.fetched, self.changed, reason


def _ids(tasks: list[dict]) -> list[str]:
    return [t["uuid"] for t in tasks if t.get("uuid")]


def _newest(page: list[dict]) -> float:
    return max((_timestamp(t) for t in page), default=float("-inf"))
