"""``AuditLog``: the one object callers hold to record actions and read them back.

It owns its place in the history store (``AuditStore``), a lock that serialises this process's
writes, and the retention clock; the SQL lives in ``writing`` and ``reading``. Opening never
fails: when the store is down, each use raises an ``AuditError`` saying why. With
``retention_days`` set, rows older than that are pruned when the log opens and then at most once
an hour, by the first read after the hour is up (never a prune per read); unset, every row is
kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Select, delete, select

from lib.audit import reading, writing
from lib.audit.database import AuditStore, store_url
from lib.audit.records import (
    OUTCOMES,
    AuditError,
    AuditRow,
    Claim,
    EarlierRetry,
    TargetOutcome,
    row_from,
)
from lib.clusters import DEFAULT_CLUSTER
from lib.redact import SCRUBBER
from lib.store.purged import purged_frame, record_purged
from lib.store.schema import AUDIT, AUDIT_TARGET, PURGED_TASKS

__all__ = ["AuditLog"]

log = logging.getLogger(__name__)

#: Seconds between two retention prunes: pruning is a write, reads must not each pay for one.
PRUNE_EVERY = 3600.0
DAY = 86_400.0


class AuditLog:
    """An append-only audit table in the store, pruned only by retention; thread-safe.

    ``store`` is the store's URL (``OPS_STORE_URL``), or an SQLite store file's path;
    ``retention_days`` None keeps every row; ``clock`` (seconds since the epoch) decides what is
    old and when the next prune is due; ``timeout`` is how long a write waits for another
    writer's lock.
    """

    def __init__(
        self,
        store: str | Path,
        retention_days: int | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ):
        self.retention_days = retention_days
        self._clock = clock
        self.timeout = timeout
        self._store = AuditStore(store_url(store), timeout)
        self.url = self._store.url
        self.path = self._store.path  # the SQLite file; None for another database
        self._lock = threading.Lock()
        self._next_prune = 0.0
        try:
            self._store.open()  # migrated, so the store is ready before the first action
            self.prune()
        except AuditError as exc:
            # The store is down: pages still show the cluster; each use of the log says why.
            log.warning("%s", exc)

    def claim(
        self,
        op_id: str,
        user: str,
        role: str,
        action: str,
        targets: Iterable[str],
        params: Mapping[str, Any] | None = None,
        preview_count: int | None = None,
        skipped: Mapping[str, str] | None = None,
        again: Collection[int] = (),
        cluster: str = DEFAULT_CLUSTER,
    ) -> Claim:
        """Write the intent row and one pending row per target, in one transaction.

        ``cluster`` is the cluster acted on (``role`` is the actor's role there); a retry is
        held back only by earlier retries on the same cluster.

        ``skipped`` targets (target → why) are recorded as such. For a retry, a target with an
        earlier retry whose audit id is not in ``again`` is held back (recorded as skipped) and
        returned in ``Claim.held``. Raises ``DuplicateOperation`` for a seen ``op_id`` and
        ``AuditError`` when the store cannot be written.
        """
        intent = (op_id, user, role, action, list(targets), params, preview_count)
        with self._lock, self._store.writing() as db:
            return writing.claim(db, *intent, skipped, again, cluster)

    def record_targets(
        self,
        row_id: int,
        outcomes: Iterable[tuple[str, str, str, str]],
        purged: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """Complete target rows once: ``(target, outcome, reason, reply)`` each; ``purged``
        (queue → task ids a purge removed) is kept with them, in the same transaction."""
        updates = writing.target_updates(row_id, outcomes)
        with self._lock, self._store.writing() as db:
            writing.complete_targets(db, updates)
            for queue, task_ids in (purged or {}).items():
                record_purged(db, row_id, queue, time.time(), task_ids)

    def record_outcome(
        self,
        row_id: int,
        outcome: str,
        message: str,
        http_status: int | None = None,
        links: Mapping[str, str] | None = None,
    ) -> None:
        """Complete a row once; a second completion is ignored (the first answer stands)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        said = SCRUBBER(message)  # Flower's answer may echo a URL with a password: never keep it
        with self._lock, self._store.writing() as db:
            writing.complete_outcome(db, row_id, outcome, said, http_status, links)

    def targets(self, row_id: int) -> list[TargetOutcome]:
        """Each target of one action with its outcome, in the order they were recorded."""
        with self._store.reading() as db:
            return reading.target_outcomes(db, row_id)

    def targets_frame(self, op_id: str) -> pd.DataFrame:
        """One action's targets for the Audit log page: target, outcome, reason, reply, at."""
        with self._store.reading() as db:
            return reading.targets_frame(db, op_id)

    def purged_frame(self, op_id: str) -> pd.DataFrame:
        """The tasks a purge removed, by id (``lib.store.purged.purged_frame``); empty for any
        other action, and for a RabbitMQ purge (its broker names none)."""
        with self._store.reading() as db:
            return purged_frame(db, op_id)

    def earlier_retries(
        self, task_ids: Iterable[str], cluster: str | None = None
    ) -> dict[str, list[EarlierRetry]]:
        """Retries of these tasks that were sent or are under way, oldest first, by task
        (only those on ``cluster`` when one is named)."""
        with self._store.reading() as db:
            return writing.earlier_retries(db, list(task_ids), cluster)

    def retry_links(self, task_id: str) -> dict[str, list[str]]:
        """``{"retried_as": [new ids], "retry_of": [old ids]}`` for one task."""
        with self._store.reading() as db:
            return reading.retry_links(db, task_id)

    def row(self, row_id: int) -> AuditRow | None:
        """One action's row by its audit id; None when there is none."""
        with self._store.reading() as db:
            return reading.row(db, row_id)

    def rows(
        self,
        since: float | None = None,
        users: Iterable[str] = (),
        actions: Iterable[str] = (),
        limit: int | None = None,
        clusters: Iterable[str] = (),
    ) -> list[AuditRow]:
        """Every row at or after ``since`` by any of ``users`` doing any of ``actions`` on any
        of ``clusters`` (empty: no condition), newest first; only the newest ``limit`` when one
        is given."""
        query = reading.newest_first(since, users, actions, limit, clusters)
        return [row_from(r) for r in self._read(query)]

    def count(
        self,
        since: float | None = None,
        users: Iterable[str] = (),
        actions: Iterable[str] = (),
        clusters: Iterable[str] = (),
    ) -> int:
        """How many rows ``rows`` returns for the same filter (without reading them)."""
        return int(self._read(reading.count_query(since, users, actions, clusters))[0][0])

    def choices(
        self, since: float | None = None, clusters: Iterable[str] = ()
    ) -> dict[str, list[str]]:
        """``{"user": [...], "action": [...]}``: every value seen at or after ``since`` (on
        ``clusters``; empty: all), sorted by code point (here, not by the database:
        PostgreSQL's collation sorts otherwise)."""
        clusters = list(clusters)
        return {
            column: sorted(
                value for (value,) in self._read(reading.choices_query(column, since, clusters))
            )
            for column in ("user", "action")
        }

    def frame(
        self,
        since: float | None = None,
        users: Iterable[str] = (),
        actions: Iterable[str] = (),
        limit: int | None = None,
        clusters: Iterable[str] = (),
    ) -> pd.DataFrame:
        """``rows`` (same filter, same order) as a table for the Audit log page and its CSV.

        Columns: ``AUDIT_FRAME_COLUMNS``; ``time`` and ``finished`` are UTC datetimes.
        """
        query = reading.newest_first(since, users, actions, limit, clusters)
        return reading.audit_frame(self._read(query))

    def prune(self) -> int:
        """Delete rows older than the retention; how many went (0 when rows are kept forever)."""
        now = self._clock()
        with self._lock:
            self._next_prune = now + PRUNE_EVERY
            if self.retention_days is None:
                return 0
            old = AUDIT.c.at < now - self.retention_days * DAY
            with self._store.writing("pruned") as db:
                ids = select(AUDIT.c.id).where(old)
                targets = AUDIT_TARGET.c.audit_id.in_(ids)
                db.execute(delete(AUDIT_TARGET).where(targets))
                db.execute(delete(PURGED_TASKS).where(PURGED_TASKS.c.audit_id.in_(ids)))
                return db.execute(delete(AUDIT).where(old)).rowcount

    def _read(self, query: Select) -> list[tuple]:
        """A filtered read, pruning first when a prune is due."""
        if self._clock() >= self._next_prune:
            self.prune()
        with self._store.reading() as db:
            return db.execute(query).all()
