"""Bounded, cached reads of the result backend, and the task names views have identified.

The training and chain views need what only the result backend holds: a running task's
progress meta (a custom state such as PROGRESS) and a group member's ``group_id``. Reading
it costs one round trip per task, so ``MetaCache`` bounds and caches the reads, and
``KnownNames`` remembers names a view identified across refreshes. Both are long-lived and
shared by every session (thread-safe); the view modules stay pure and take what these hold.

Invariants:

* At most ``limit`` reads per call (``MAX_META_READS``) and one per task per ``ttl``; a
  finished task's record never changes, so it is never read again.
* A failed read stops the call (a down backend costs one timeout, not one per task) and
  rests the backend for ``ttl``; the last known records are served meanwhile, with the error.
* A task's last progress record is kept apart: the backend replaces it with the exception
  when the task fails, and the training view still shows the last numbers it reported.
* Both are bounded (``max_entries``, ``limit``): the oldest entries go first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from celery import states as celery_states

from lib.errors import ConsoleError
from lib.workflows.lifecycle import FINAL
from lib.workflows.literals import MAX_META_READS

__all__ = ["KnownNames", "MetaCache", "MetaReading"]


@dataclass(frozen=True)
class MetaReading:
    """Backend records by task id (fresh or last known), and why some may be old or absent."""

    metas: dict[str, dict]
    error: str | None = None
    skipped: int = 0  # ids over the per-read limit, not read this time


class MetaCache:
    """Result-backend records, read at most once per ``ttl`` per task and ``limit`` per call.

    A finished task's record never changes, so it is kept without re-reading. On the first
    failed read the rest are skipped (a down backend must not cost one timeout per task) and
    the backend is left alone for ``ttl``; the last known records are returned meanwhile.
    Each task's last progress record (a custom state such as PROGRESS) is also kept apart:
    when the task fails the backend replaces it with the exception, and the training view
    still shows the last numbers it reported. Thread-safe: one cache serves every session.
    """

    def __init__(
        self,
        fetch: Callable[[str], Mapping | None],
        ttl: float,
        limit: int = MAX_META_READS,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ):
        self._fetch, self._ttl, self._limit, self._max = fetch, ttl, limit, max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, dict | None]] = {}
        self._progress: dict[str, dict] = {}
        self._failed: tuple[float, str] | None = None

    def read(self, ids: Iterable[str]) -> MetaReading:
        """Records for ``ids`` (missing ids: the backend holds nothing, or it was not read)."""
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            now = self._clock()
            due = [u for u in wanted if self._due(u, now)]
            error = self._failed[1] if self._failed and now - self._failed[0] < self._ttl else None
            for uuid in due[: self._limit] if error is None else []:
                try:
                    self._entries[uuid] = (now, self._keep(uuid, self._fetch(uuid)))
                except ConsoleError as exc:
                    self._failed, error = (now, str(exc)), str(exc)
                    break
            self._trim()
            metas = {u: e[1] for u in wanted if (e := self._entries.get(u)) and e[1] is not None}
        return MetaReading(metas, error, max(0, len(due) - self._limit) if error is None else 0)

    def known(self, ids: Iterable[str] | None = None) -> dict[str, dict]:
        """The last records read (for ``ids``, or all held), without reading anything."""
        with self._lock:
            held = {u: e[1] for u, e in self._entries.items() if e[1] is not None}
        return held if ids is None else {u: held[u] for u in ids if u in held}

    def progress(self, ids: Iterable[str] | None = None) -> dict[str, dict]:
        """Each task's last progress record read (for ``ids``, or all held), kept after the
        task finished, failed or was revoked."""
        with self._lock:
            held = dict(self._progress)
        return held if ids is None else {u: held[u] for u in ids if u in held}

    def _keep(self, uuid: str, meta: Mapping | None) -> dict | None:
        record = _plain(meta)
        # Celery's own states never carry progress meta; a custom one (PROGRESS) does.
        custom = record and record.get("status") not in celery_states.ALL_STATES
        if custom and isinstance(record.get("result"), Mapping):
            self._progress[uuid] = record
        return record

    def _due(self, uuid: str, now: float) -> bool:
        entry = self._entries.get(uuid)
        if entry is None:
            return True
        read_at, meta = entry
        return not (meta and meta.get("status") in FINAL) and now - read_at >= self._ttl

    def _trim(self) -> None:
        if len(self._entries) > self._max:
            oldest = sorted(self._entries, key=lambda u: self._entries[u][0])
            for uuid in oldest[: len(self._entries) - self._max]:
                del self._entries[uuid]
                self._progress.pop(uuid, None)


def _plain(meta: Mapping | None) -> dict | None:
    return dict(meta) if isinstance(meta, Mapping) else None


class KnownNames:
    """Task names a view has identified (e.g. ``training_names``), remembered across
    refreshes: a name stays identified after the tasks that showed it leave Flower or the
    cache. Bounded (the oldest name goes first) and thread-safe, shared by every session."""

    def __init__(self, limit: int = 10_000):
        self._limit = limit
        self._names: dict[str, None] = {}  # insertion order = age
        self._lock = threading.Lock()

    @property
    def names(self) -> frozenset[str]:
        """Every name held."""
        with self._lock:
            return frozenset(self._names)

    def add(self, names: Iterable[str]) -> frozenset[str]:
        """Remember ``names``; every name held, old and new."""
        with self._lock:
            for name in names:
                self._names.pop(name, None)
                self._names[name] = None
            for name in list(self._names)[: max(0, len(self._names) - self._limit)]:
                del self._names[name]
            return frozenset(self._names)
