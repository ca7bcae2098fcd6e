"""``AuditLog``: the one object callers hold to record actions and read them back.

It owns the file (``AuditFile``), a lock that serialises this process's writes, and the
retention clock; the SQL lives in ``writing`` and ``reading``. Opening never fails: when the
store is down, each use raises an ``AuditError`` saying why. With ``retention_days`` set, rows
older than that are pruned when the log opens and then at most once an hour, by the first read
after the hour is up (never a prune per read); unset, every row is kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from lib.audit import reading, writing
from lib.audit.database import AuditFile
from lib.audit.records import (
    OUTCOMES,
    AuditError,
    AuditRow,
    Claim,
    EarlierRetry,
    TargetOutcome,
    row_from,
)
from lib.redact import SCRUBBER

__all__ = ["AuditLog"]

log = logging.getLogger(__name__)

#: Seconds between two retention prunes: pruning is a write, reads must not each pay for one.
PRUNE_EVERY = 3600.0
DAY = 86_400.0


class AuditLog:
    """An append-only SQLite audit table, pruned only by retention; safe to share between threads.

    ``retention_days`` None keeps every row; ``clock`` (seconds since the epoch) decides what is
    old and when the next prune is due; ``timeout`` is how long a write waits for another
    writer's lock.
    """

    def __init__(
        self,
        path: Path,
        retention_days: int | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ):
        self.path = Path(path)
        self.retention_days = retention_days
        self._clock = clock
        self.timeout = timeout
        self._file = AuditFile(self.path, timeout)
        self._lock = threading.Lock()
        self._next_prune = 0.0
        try:
            with self._file.connect("opened"):
                pass  # the schema, so the file is ready before the first action
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
    ) -> Claim:
        """Write the intent row and one pending row per target, in one transaction.

        ``skipped`` targets (target → why) are recorded as such. For a retry, a target with an
        earlier retry whose audit id is not in ``again`` is held back (recorded as skipped) and
        returned in ``Claim.held``. Raises ``DuplicateOperation`` for a seen ``op_id`` and
        ``AuditError`` when the file cannot be written.
        """
        targets = list(targets)
        with self._lock, self._file.writing() as db:
            return writing.claim(
                db, op_id, user, role, action, targets, params, preview_count, skipped, again
            )

    def record_targets(self, row_id: int, outcomes: Iterable[tuple[str, str, str, str]]) -> None:
        """Complete target rows once: ``(target, outcome, reason, reply)`` each."""
        updates = writing.target_updates(row_id, outcomes)
        with self._lock, self._file.writing() as db:
            writing.complete_targets(db, updates)

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
        with self._lock, self._file.writing() as db:
            writing.complete_outcome(db, row_id, outcome, said, http_status, links)

    def targets(self, row_id: int) -> list[TargetOutcome]:
        """Each target of one action with its outcome, in the order they were recorded."""
        with self._file.connect() as db:
            return reading.target_outcomes(db, row_id)

    def targets_frame(self, op_id: str) -> pd.DataFrame:
        """One action's targets for the Audit log page: target, outcome, reason, reply, at."""
        with self._file.connect() as db:
            return reading.targets_frame(db, op_id)

    def earlier_retries(self, task_ids: Iterable[str]) -> dict[str, list[EarlierRetry]]:
        """Retries of these tasks that were sent or are under way, oldest first, by task."""
        with self._file.connect() as db:
            return writing.earlier_retries(db, list(task_ids))

    def retry_links(self, task_id: str) -> dict[str, list[str]]:
        """``{"retried_as": [new ids], "retry_of": [old ids]}`` for one task."""
        with self._file.connect() as db:
            return reading.retry_links(db, task_id)

    def row(self, row_id: int) -> AuditRow | None:
        """One action's row by its audit id; None when there is none."""
        with self._file.connect() as db:
            return reading.row(db, row_id)

    def rows(
        self,
        since: float | None = None,
        users: Iterable[str] = (),
        actions: Iterable[str] = (),
        limit: int | None = None,
    ) -> list[AuditRow]:
        """Every row at or after ``since`` by any of ``users`` doing any of ``actions``
        (empty: no condition), newest first; only the newest ``limit`` when one is given."""
        return [
            row_from(r) for r in self._read(*reading.newest_first(since, users, actions, limit))
        ]

    def count(
        self, since: float | None = None, users: Iterable[str] = (), actions: Iterable[str] = ()
    ) -> int:
        """How many rows ``rows`` returns for the same filter (without reading them)."""
        where, args = reading.where(since, users, actions)
        return int(self._read(f"SELECT COUNT(*) FROM audit{where}", args)[0][0])

    def choices(self, since: float | None = None) -> dict[str, list[str]]:
        """``{"user": [...], "action": [...]}``: every value seen at or after ``since``, sorted."""
        where, args = reading.where(since, (), ())
        found = {}
        for column in ("user", "action"):
            query = f"SELECT DISTINCT {column} FROM audit{where} ORDER BY {column}"
            found[column] = [value for (value,) in self._read(query, args)]
        return found

    def frame(
        self,
        since: float | None = None,
        users: Iterable[str] = (),
        actions: Iterable[str] = (),
        limit: int | None = None,
    ) -> pd.DataFrame:
        """``rows`` (same filter, same order) as a table for the Audit log page and its CSV.

        Columns: ``AUDIT_FRAME_COLUMNS``; ``time`` and ``finished`` are UTC datetimes.
        """
        return reading.audit_frame(self._read(*reading.newest_first(since, users, actions, limit)))

    def prune(self) -> int:
        """Delete rows older than the retention; how many went (0 when rows are kept forever)."""
        now = self._clock()
        with self._lock:
            self._next_prune = now + PRUNE_EVERY
            if self.retention_days is None:
                return 0
            with self._file.connect("pruned") as db:
                cutoff = now - self.retention_days * DAY
                old = "SELECT id FROM audit WHERE at < ?"
                db.execute(f"DELETE FROM audit_target WHERE audit_id IN ({old})", (cutoff,))
                return db.execute("DELETE FROM audit WHERE at < ?", (cutoff,)).rowcount

    def _read(self, query: str, args: tuple) -> list[tuple]:
        """A filtered read, pruning first when a prune is due."""
        if self._clock() >= self._next_prune:
            self.prune()
        with self._file.connect() as db:
            return db.execute(query, args).fetchall()
