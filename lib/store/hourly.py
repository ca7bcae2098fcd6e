"""Hourly rollups: the per-minute rollups summed per hour, counts by one key at a time.

Why: on a busy cluster a minute rarely holds two finished tasks of the same name, queue, worker
and state, so the per-minute counts hold about one row per task and a week read from them reads
as many rows as a week of tasks. Per hour and per single key (``DIMENSIONS``) they shrink to
hours × (names + queues + workers) × states rows, whatever the traffic.

``rollup_hour_counts``: per hour (``minute`` = the hour's first minute, epoch s), ``dimension``
(name, queue or worker), its ``value`` ('' when missing) and state, the finished tasks. Every
task has each dimension (maybe ''), so summing one dimension's values gives the hour's tasks by
state. ``rollup_hour_histograms``: the per-minute histograms summed per hour.

Invariant: each hour's rows equal its minutes' per-minute rows summed so. Kept by writing both
from the same deltas in the same transaction (``lib.store.rollups.apply_deltas``), built from
the per-minute rows by migration step 8 (``backfill``), pruned by whole hours. A reader
(``whole_hours``) takes whole hours from here and the minutes at a range's edges from the
per-minute tables: the same sums either way.
"""

from __future__ import annotations

import math
from collections import Counter

from sqlalchemy import Connection, and_, delete, func, insert, literal, select, union_all

from lib.store.schema import (
    ROLLUP_COUNTS,
    ROLLUP_HISTOGRAMS,
    ROLLUP_HOUR_COUNTS,
    ROLLUP_HOUR_HISTOGRAMS,
    ROLLUP_HOUR_USAGE,
)

__all__ = [
    "DIMENSIONS",
    "HOUR",
    "backfill",
    "counts_query",
    "histograms_query",
    "hourly_deltas",
    "minutes_in",
    "prune_hours",
    "whole_hours",
]

HOUR = 3600
#: The keys hourly counts are kept by, one at a time (with the state).
DIMENSIONS = ("name", "queue", "worker")


def hourly_deltas(counts: Counter, histograms: Counter) -> tuple[Counter, Counter]:
    """The hourly changes of per-minute count and histogram changes (keys as
    ``RollupDeltas`` holds them: (minute, name, queue, worker, state) and (minute, metric,
    subject, bucket))."""
    hour_counts: Counter = Counter()
    for (minute, *values, state), n in counts.items():
        hour = minute - minute % HOUR
        for dimension, value in zip(DIMENSIONS, values, strict=True):
            hour_counts[(hour, dimension, value, state)] += n
    hour_histograms: Counter = Counter()
    for (minute, metric, subject, bucket), n in histograms.items():
        hour_histograms[(minute - minute % HOUR, metric, subject, bucket)] += n
    return hour_counts, hour_histograms


def backfill(conn: Connection) -> None:
    """Fill the (empty) hourly tables from the per-minute ones, in SQL."""
    minute = ROLLUP_COUNTS.c.minute
    hour = (minute - minute % HOUR).label("minute")
    parts = [
        select(
            hour,
            literal(dimension).label("dimension"),
            ROLLUP_COUNTS.c[dimension].label("value"),
            ROLLUP_COUNTS.c.state,
            func.sum(ROLLUP_COUNTS.c.tasks).label("tasks"),
        ).group_by(hour, ROLLUP_COUNTS.c[dimension], ROLLUP_COUNTS.c.state)
        for dimension in DIMENSIONS
    ]
    columns = ["minute", "dimension", "value", "state", "tasks"]
    conn.execute(insert(ROLLUP_HOUR_COUNTS).from_select(columns, union_all(*parts)))
    table = ROLLUP_HISTOGRAMS
    hour = (table.c.minute - table.c.minute % HOUR).label("minute")
    keys = (table.c.metric, table.c.subject, table.c.bucket)
    summed = select(hour, *keys, func.sum(table.c.tasks)).group_by(hour, *keys)
    columns = ["minute", "metric", "subject", "bucket", "tasks"]
    conn.execute(insert(ROLLUP_HOUR_HISTOGRAMS).from_select(columns, summed))


def minutes_in(table, start: float, end: float):
    """The rows of ``table`` whose ``minute`` starts in ``[start, end)``, as integer bounds:
    ``minute`` is an integer, so rounding the bounds up selects the same rows, and PostgreSQL
    compares a bigint column with a float bound as doubles, row by row, without its key's index."""
    return and_(table.c.minute >= math.ceil(start), table.c.minute < math.ceil(end))


def whole_hours(start: float, end: float, step_minutes: int) -> tuple[float, float] | None:
    """The whole hours ``[first, last)`` inside ``[start, end)`` worth reading hourly: None
    unless buckets are whole hours (``step_minutes`` a multiple of 60) and one hour fits."""
    if step_minutes % 60:
        return None
    first, last = -(-start // HOUR) * HOUR, end // HOUR * HOUR
    return (first, last) if first < last else None


def counts_query(by: list[str], first: float, last: float, step: int):
    """Finished tasks per ``step``-second bucket of the hours in ``[first, last)`` grouped by
    ``by`` (at most one of ``DIMENSIONS``, and/or state); None when ``by`` needs more keys."""
    dimensions = [k for k in by if k in DIMENSIONS]
    if len(dimensions) > 1 or set(by) - {*DIMENSIONS, "state"}:
        return None
    table = ROLLUP_HOUR_COUNTS
    at = (table.c.minute - table.c.minute % step).label("at")
    keys = [table.c.value if k in DIMENSIONS else table.c.state for k in by]
    dimension = dimensions[0] if dimensions else DIMENSIONS[0]
    within = and_(table.c.dimension == dimension, minutes_in(table, first, last))
    return select(at, *keys, func.sum(table.c.tasks)).where(within).group_by(at, *keys)


def histograms_query(metric: str, first: float, last: float, step: int):
    """The ``metric`` histograms per ``step``-second bucket of the hours in ``[first, last)``."""
    table = ROLLUP_HOUR_HISTOGRAMS
    at = (table.c.minute - table.c.minute % step).label("at")
    within = and_(table.c.metric == metric, minutes_in(table, first, last))
    keys = (table.c.subject, table.c.bucket)
    return select(at, *keys, func.sum(table.c.tasks)).where(within).group_by(at, *keys)


def prune_hours(conn: Connection, keep_from: float) -> int:
    """Delete the hours that end by ``keep_from``; how many rows went."""
    deleted = 0
    for table in (ROLLUP_HOUR_COUNTS, ROLLUP_HOUR_HISTOGRAMS, ROLLUP_HOUR_USAGE):
        # The bare column against a bound: its key's index serves it (``minute + HOUR`` read
        # every hourly row held).
        gone = delete(table).where(table.c.minute <= keep_from - HOUR)
        deleted += conn.execute(gone).rowcount
    return deleted
