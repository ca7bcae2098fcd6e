"""Retention: old rows deleted in small batches, one short write transaction each.

Raw successful tasks go after ``success_days`` (by their last event); every other task, the
timeline rows of each deleted task, samples and rollups after ``retention_days``. Each batch
selects at most ``batch_size`` keys and deletes them in its own transaction, so a writer or
reader waits at most one batch (SQLite: WAL readers never wait; a writer waits one batch).
Rollups are deleted whole minutes at a time (a minute's rows are never half gone); hourly rollups
whole hours, once the hour has ended by the horizon (one statement: they are few).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, delete, or_, select

from lib.store.engine import writing
from lib.store.hourly import prune_hours
from lib.store.schema import (
    PROGRESS_SAMPLES,
    QUEUE_SAMPLES,
    ROLLUP_COUNTS,
    ROLLUP_HISTOGRAMS,
    ROLLUP_USAGE,
    TASK_EVENTS,
    TASKS,
    WORKER_SAMPLES,
)

__all__ = ["PruneReport", "prune"]

DAY = 86400.0
#: Tasks per delete transaction (with their timeline rows): ~40 ms on SQLite (bench.store).
DEFAULT_BATCH = 1000


@dataclass
class PruneReport:
    """Rows deleted per table, transactions run, and the longest one (seconds)."""

    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    longest: float = 0.0


def prune(
    engine: Engine,
    now: float,
    retention_days: int,
    success_days: int,
    batch_size: int = DEFAULT_BATCH,
    clock: Callable[[], float] | None = None,
) -> PruneReport:
    """Delete what retention no longer keeps, in batches; return what was done.

    ``clock`` times each transaction (``time.perf_counter`` unless given).
    """
    clock = clock or time.perf_counter
    report = PruneReport()
    keep_from, successes_from = now - retention_days * DAY, now - success_days * DAY
    old_task = or_(
        TASKS.c.last_at < keep_from,
        (TASKS.c.state == "SUCCESS") & (TASKS.c.last_at < successes_from),
    )
    jobs = [
        ("tasks", lambda conn: _tasks_batch(conn, old_task, batch_size)),
        ("queue_samples", lambda conn: _ids_batch(conn, QUEUE_SAMPLES, keep_from, batch_size)),
        ("worker_samples", lambda conn: _ids_batch(conn, WORKER_SAMPLES, keep_from, batch_size)),
        ("progress_samples", lambda c: _ids_batch(c, PROGRESS_SAMPLES, keep_from, batch_size)),
        ("rollups", lambda conn: _minutes_batch(conn, keep_from, batch_size)),
        ("hourly_rollups", lambda conn: prune_hours(conn, keep_from)),
    ]
    for name, batch in jobs:
        while True:
            started = clock()
            with writing(engine) as conn:
                deleted = batch(conn)
            report.batches += 1
            report.longest = max(report.longest, clock() - started)
            report.deleted[name] = report.deleted.get(name, 0) + deleted
            if not deleted:
                break
    return report


def _tasks_batch(conn: Connection, condition, batch_size: int) -> int:
    uuids = list(conn.execute(select(TASKS.c.uuid).where(condition).limit(batch_size)).scalars())
    if uuids:
        conn.execute(delete(TASK_EVENTS).where(TASK_EVENTS.c.uuid.in_(uuids)))
        conn.execute(delete(TASKS).where(TASKS.c.uuid.in_(uuids)))
    return len(uuids)


def _ids_batch(conn: Connection, table, keep_from: float, batch_size: int) -> int:
    ids = list(
        conn.execute(select(table.c.id).where(table.c.at < keep_from).limit(batch_size)).scalars()
    )
    if ids:
        conn.execute(delete(table).where(table.c.id.in_(ids)))
    return len(ids)


def _minutes_batch(conn: Connection, keep_from: float, batch_size: int) -> int:
    """Whole minutes of rollups, about ``batch_size`` count rows (at least one minute)."""
    query = (
        select(ROLLUP_COUNTS.c.minute)
        .where(ROLLUP_COUNTS.c.minute < keep_from)
        .order_by(ROLLUP_COUNTS.c.minute)
        .limit(batch_size)
    )
    found = list(conn.execute(query).scalars())
    minutes = sorted(set(found))
    if len(found) == batch_size and len(minutes) > 1:
        minutes = minutes[:-1]  # the last minute may go on past the batch: the next one takes it
    if not minutes:
        return _orphan_histograms(conn, keep_from)
    deleted = 0
    for table in (ROLLUP_COUNTS, ROLLUP_HISTOGRAMS, ROLLUP_USAGE):
        deleted += conn.execute(delete(table).where(table.c.minute.in_(minutes))).rowcount
    return deleted


def _orphan_histograms(conn: Connection, keep_from: float) -> int:
    """Histogram and usage minutes with no count row left (none in practice); one statement
    each."""
    return sum(
        conn.execute(delete(table).where(table.c.minute < keep_from)).rowcount
        for table in (ROLLUP_HISTOGRAMS, ROLLUP_USAGE)
    )
