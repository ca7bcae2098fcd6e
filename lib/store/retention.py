"""Retention: old rows deleted in small batches, one short write transaction each.

Raw successful tasks go after ``success_days`` (by their last event); every other task, the
timeline rows of each deleted task, samples and rollups after ``retention_days``. Each batch
takes one range of an indexed key (a task's ``last_at``, a sample's ``at``, a rollup's
``minute``) and deletes it in its own transaction, so a writer waits at most one batch (SQLite:
WAL readers never wait for it). A batch holds at most ``batch_size`` rows, fewer when the last
one was slow: each is sized to take about ``TARGET_SECONDS`` at the pace of the one before.

A batch is a few statements whatever its size: the range's upper bound (the key its size in
rows on, read in the index), then one ``DELETE`` per table of the rows in the range. No key
travels through Python: on SQLite every fetched row and every statement hands the
interpreter's lock to the other threads of the process (the pages' readers), and fetching a
thousand keys made a batch wait on them a thousand times (bench.store: 0.1-0.5 s a batch, and as
long a stall for the readers waiting on it in turn).

A range ends at a key, so rows sharing the bound's key go in the same batch (a batch may exceed
its size by them): a rollup minute or a poll's samples are never half gone, and a task's
timeline goes in the transaction that deletes the task. Successes are walked from where the
previous batch ended (``_Walk.start``), so the failures they are interleaved with, kept longer,
are read once per prune, not once per batch. Hourly rollups go whole hours at a time once the
hour has ended by the horizon (one statement: they are few).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import ColumnElement, Connection, Engine, Table, delete, func, select

from lib.store.alerts import prune_alerts
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

__all__ = ["DEFAULT_BATCH", "MIN_BATCH", "TARGET_SECONDS", "PruneReport", "next_size", "prune"]

DAY = 86400.0
#: The time series pruned by their poll time.
SAMPLES = (QUEUE_SAMPLES, WORKER_SAMPLES, PROGRESS_SAMPLES)
#: A raw success. Said of an expression, not the bare column, so that no index by state can
#: serve it: without statistics SQLite took ``ix_tasks_state_received`` for ``state = ?``, read
#: every success held and sorted them to find a batch's bound (0.2 s a batch at 90k tasks);
#: the walk must read ``ix_tasks_last_at`` in order.
SUCCEEDED = func.coalesce(TASKS.c.state, "") == "SUCCESS"
#: Most rows per delete transaction (tasks with their timeline rows): ~10-15 ms on a quiet
#: machine on SQLite (bench.store), 0.1 s and more on a loaded one or with random uuids.
DEFAULT_BATCH = 1000
#: What one transaction aims to take: a walk's next batch is sized by the last one's pace, so a
#: loaded machine or a slow disk shortens the batches (the write lock's hold) instead of
#: lengthening them.
TARGET_SECONDS = 0.025
#: The fewest rows a batch takes however slow the last was (each has its own overhead).
MIN_BATCH = 50


@dataclass
class PruneReport:
    """Rows deleted per table, transactions run, and the longest one (seconds)."""

    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    longest: float = 0.0


@dataclass
class _Walk:
    """The rows of ``tables`` whose ``key`` column is below ``end`` (and, in the first table, that
    meet ``where``), deleted one key range at a time from ``start``; ``gone`` first deletes what
    belongs to the first table's rows of a range elsewhere (a task's timeline), uncounted."""

    tables: Sequence[Table]
    key: str
    end: float
    where: Sequence[ColumnElement] = ()
    gone: Callable[[Connection, list], object] | None = None
    start: float | None = None

    def batch(self, conn: Connection, size: int) -> tuple[int, bool]:
        """Delete the next range; how many rows went and whether the walk is over."""
        first = self.tables[0]
        within = [*self.span(first), *self.where]
        bound = select(first.c[self.key]).where(*within).order_by(first.c[self.key])
        upto = conn.execute(bound.offset(size - 1).limit(1)).scalar()
        if self.gone is not None:
            self.gone(conn, [*self.span(first, upto), *self.where])
        deleted = conn.execute(delete(first).where(*self.span(first, upto), *self.where)).rowcount
        for table in self.tables[1:]:
            deleted += conn.execute(delete(table).where(*self.span(table, upto))).rowcount
        self.start = upto  # the rows at the bound that stay (kept states) are read again
        return deleted, upto is None

    def span(self, table: Table, upto: float | None = None) -> list[ColumnElement]:
        """The range from ``start`` to ``upto`` (inclusive; None: to ``end``) of ``table``'s key."""
        key = table.c[self.key]
        # One upper bound only (``upto`` < ``end``): given two, SQLite bounds its index walk by
        # one and filters by the other, reading on to ``end`` every batch.
        span = [key < self.end if upto is None else key <= upto]
        if self.start is not None:
            span.append(key >= self.start)
        return span


def _timelines(conn: Connection, within: list) -> None:
    """Delete the timeline rows of the tasks ``within`` selects (before the tasks go)."""
    uuids = select(TASKS.c.uuid).where(*within)
    conn.execute(delete(TASK_EVENTS).where(TASK_EVENTS.c.uuid.in_(uuids)))


def prune(
    engine: Engine,
    now: float,
    retention_days: float,
    success_days: float,
    batch_size: int = DEFAULT_BATCH,
    clock: Callable[[], float] | None = None,
) -> PruneReport:
    """Delete what retention no longer keeps, in batches; return what was done.

    ``clock`` times each transaction (``time.perf_counter`` unless given).
    """
    clock = clock or time.perf_counter
    report = PruneReport()
    keep_from, successes_from = now - retention_days * DAY, now - success_days * DAY
    walks = [
        ("tasks", _Walk([TASKS], "last_at", keep_from, gone=_timelines)),
        ("tasks", _Walk([TASKS], "last_at", successes_from, [SUCCEEDED], _timelines, keep_from)),
        *((t.name, _Walk([t], "at", keep_from)) for t in SAMPLES),
        ("rollups", _Walk([ROLLUP_COUNTS, ROLLUP_HISTOGRAMS, ROLLUP_USAGE], "minute", keep_from)),
    ]  # fmt: skip
    for name, walk in walks:
        size, over = batch_size, False
        while not over:
            took, (deleted, over) = _timed(engine, report, clock, partial(walk.batch, size=size))
            report.deleted[name] = report.deleted.get(name, 0) + deleted
            size = next_size(size, took, batch_size)
    _, hours = _timed(engine, report, clock, partial(prune_hours, keep_from=keep_from))
    report.deleted["hourly_rollups"] = hours
    _, alerts = _timed(engine, report, clock, partial(prune_alerts, keep_from=keep_from))
    report.deleted["alerts"] = alerts
    return report


def next_size(size: int, took: float, most: int) -> int:
    """Rows for a walk's next batch after ``size`` took ``took`` seconds: what ``TARGET_SECONDS``
    takes at that pace, at most twice ``size`` (one quick batch is no promise), within
    ``MIN_BATCH`` and ``most``."""
    pace = int(size * TARGET_SECONDS / max(took, 1e-6))
    return max(min(MIN_BATCH, most), min(most, 2 * size, pace))


def _timed(
    engine: Engine, report: PruneReport, clock: Callable[[], float], batch: Callable
) -> tuple[float, object]:
    """Run ``batch`` in one write transaction, counted and timed in ``report``; its time and
    result."""
    started = clock()
    with writing(engine) as conn:
        done = batch(conn)
    took = clock() - started
    report.batches += 1
    report.longest = max(report.longest, took)
    return took, done
