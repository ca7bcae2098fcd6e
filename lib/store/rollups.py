"""Per-minute rollups: finished tasks counted at their finish, and runtime/wait histograms.

A finished task (effective state SUCCESS, FAILURE, REVOKED or REJECTED) contributes, in the
minute of its ``placed_at`` (its finish: the Trends rule), one to ``rollup_counts`` under its
name, queue, worker and state; a run (SUCCESS or FAILURE with a duration) one to the ``runtime``
histogram of its name; a task with a wait one to the ``wait`` histogram of its queue; and its
worker's runs, runtime and busy seconds to ``rollup_usage`` (``lib.store.usage``).

Invariant: the rollups equal the sum of the contributions of the task rows whose ``counted``
flag is set. A task is counted once, the first time it is seen finished; if a later record
changes what it contributes (a newer event moves its finish, say), the old contribution is
taken out and the new one put in, in the same transaction. Pruning raw rows leaves the rollups.
The same deltas keep the hourly rollups (``lib.store.hourly``, ``lib.store.usage``); a range's whole hours are read
from those when its buckets are whole hours, its edge minutes from the per-minute tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from lib.store import hourly, usage
from lib.store.histogram import bucket_of, estimate_percentiles
from lib.store.rows import duration, wait
from lib.store.schema import (
    ROLLUP_COUNTS,
    ROLLUP_HISTOGRAMS,
    ROLLUP_HOUR_COUNTS,
    ROLLUP_HOUR_HISTOGRAMS,
    ROLLUP_HOUR_USAGE,
    ROLLUP_USAGE,
    epoch,
    utc_times,
)
from lib.trends.window import FINISH_COLUMNS

__all__ = [
    "COUNT_KEYS",
    "RollupDeltas",
    "apply_deltas",
    "contributes",
    "counts_frame",
    "histograms_frame",
    "oldest_minute",
    "percentiles_frame",
]

#: What rollup counts are grouped by, besides the minute.
COUNT_KEYS = ("name", "queue", "worker", "state")
RUNS = ("SUCCESS", "FAILURE")


def contributes(row: Mapping) -> bool:
    """Whether a row belongs in the rollups: finished, with a time to place it."""
    return row["state"] in FINISH_COLUMNS and row["placed_at"] is not None


@dataclass
class RollupDeltas:
    """Changes to the rollups gathered over one write, applied at its end."""

    counts: Counter = field(default_factory=Counter)
    histograms: Counter = field(default_factory=Counter)
    usage: dict = field(default_factory=dict)  # (minute, worker) → (runs, runtime, busy)

    def add(self, row: Mapping, sign: int = 1) -> None:
        """Add (``sign`` 1) or take out (−1) one row's contribution."""
        minute = int(row["placed_at"] // 60 * 60)
        self.counts[(minute, *(row[k] or "" for k in COUNT_KEYS))] += sign
        ran = duration(row)
        if row["state"] in RUNS and ran is not None:
            self.histograms[(minute, "runtime", row["name"] or "", bucket_of(ran))] += sign
        waited = wait(row)
        if waited is not None:
            self.histograms[(minute, "wait", row["queue"] or "", bucket_of(waited))] += sign
        usage.add_usage(self.usage, row, sign)


def apply_deltas(conn: Connection, deltas: RollupDeltas) -> None:
    """Add ``deltas`` to the rollup tables, per minute and per hour (read, then update existing
    keys, insert the rest)."""
    histogram_keys = ("minute", "metric", "subject", "bucket")
    _apply(conn, ROLLUP_COUNTS, ("minute", *COUNT_KEYS), deltas.counts)
    _apply(conn, ROLLUP_HISTOGRAMS, histogram_keys, deltas.histograms)
    hour_counts, hour_histograms = hourly.hourly_deltas(deltas.counts, deltas.histograms)
    _apply(conn, ROLLUP_HOUR_COUNTS, ("minute", "dimension", "value", "state"), hour_counts)
    _apply(conn, ROLLUP_HOUR_HISTOGRAMS, histogram_keys, hour_histograms)
    usage_keys = ("minute", "worker")
    _apply(conn, ROLLUP_USAGE, usage_keys, deltas.usage, usage.FIGURES)
    _apply(conn, ROLLUP_HOUR_USAGE, usage_keys, usage.hourly_usage(deltas.usage), usage.FIGURES)


def _apply(
    conn: Connection,
    table,
    keys: Sequence[str],
    deltas: Mapping,
    figures: Sequence[str] = ("tasks",),
) -> None:
    """Add ``deltas`` (key → a number, or a tuple of one per ``figures``) to ``table``."""
    changes = {}
    for key, values in deltas.items():
        values = values if isinstance(values, tuple) else (values,)
        if any(values):
            changes[key] = values
    if not changes:
        return
    minutes = sorted({key[0] for key in changes})
    columns = [table.c[k] for k in keys]
    held = {tuple(r) for r in conn.execute(select(*columns).where(table.c.minute.in_(minutes)))}
    rows = {key: dict(zip(keys, key, strict=True)) for key in changes}
    old = [
        {f"k_{k}": v for k, v in (*rows[key].items(), *zip(figures, values, strict=True))}
        for key, values in changes.items()
        if key in held
    ]
    new = [
        {**rows[key], **dict(zip(figures, values, strict=True))}
        for key, values in changes.items()
        if key not in held
    ]
    if old:
        match = and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
        added = {f: table.c[f] + bindparam(f"k_{f}") for f in figures}
        conn.execute(update(table).where(match).values(**added), old)
    if new:
        conn.execute(insert(table), new)


def counts_frame(
    conn: Connection,
    start: datetime | float,
    end: datetime | float,
    by: Iterable[str] = ("state",),
    step_minutes: int = 1,
) -> pd.DataFrame:
    """Finished tasks per ``step_minutes`` bucket in ``[start, end)``, grouped ``by`` keys.

    Columns: at (the bucket's start, UTC), each of ``by``, tasks. Missing keys read as ``''``.
    """
    by = list(by)
    unknown = set(by) - set(COUNT_KEYS)
    if unknown or step_minutes < 1:
        raise ValueError(f"group by {COUNT_KEYS} in steps of ≥ 1 minute, not {by} / {step_minutes}")
    step = 60 * int(step_minutes)
    at = (ROLLUP_COUNTS.c.minute - ROLLUP_COUNTS.c.minute % step).label("at")
    keys = [ROLLUP_COUNTS.c[k] for k in by]
    minutes = select(at, *keys, func.sum(ROLLUP_COUNTS.c.tasks)).group_by(at, *keys)
    hours = hourly.whole_hours(epoch(start), epoch(end), step_minutes)
    query = None if hours is None else hourly.counts_query(by, *hours, step)
    frame = _summed(conn, ROLLUP_COUNTS, minutes, query, (start, end, hours), ["at", *by, "tasks"])
    # Sorted here, by code point: databases order text by their own collations.
    frame = frame[frame["tasks"] != 0].sort_values(["at", *by], ignore_index=True)
    frame["at"] = utc_times(frame["at"])
    frame["tasks"] = frame["tasks"].astype("int64")
    return frame


def histograms_frame(
    conn: Connection,
    metric: str,
    start: datetime | float,
    end: datetime | float,
    step_minutes: int = 1,
) -> pd.DataFrame:
    """The ``metric`` histograms (``runtime`` by name, ``wait`` by queue) per ``step_minutes``
    bucket in ``[start, end)``. Columns: at (bucket start, UTC), subject, bucket, tasks."""
    if step_minutes < 1:
        raise ValueError(f"steps of ≥ 1 minute, not {step_minutes}")
    table, step = ROLLUP_HISTOGRAMS, 60 * int(step_minutes)
    at = (table.c.minute - table.c.minute % step).label("at")
    keys = (table.c.subject, table.c.bucket)
    minutes = select(at, *keys, func.sum(table.c.tasks)).where(table.c.metric == metric)
    minutes = minutes.group_by(at, *keys)
    hours = hourly.whole_hours(epoch(start), epoch(end), step_minutes)
    query = None if hours is None else hourly.histograms_query(metric, *hours, step)
    columns = ["at", "subject", "bucket", "tasks"]
    frame = _summed(conn, table, minutes, query, (start, end, hours), columns)
    frame = frame[frame["tasks"] > 0].reset_index(drop=True)
    frame["at"] = utc_times(frame["at"])
    return frame.astype({"bucket": "int64", "tasks": "int64"})


def _summed(conn: Connection, table, minutes, hours_query, span: tuple, columns: list[str]):
    """The rows of ``minutes`` (a per-minute query, grouped) over ``[start, end)``; with an
    hourly query for the whole ``hours`` in it, those hours from it and the edges from minutes,
    summed per key. Built column-wise (frames from SQLAlchemy rows probe every row's attributes).
    """
    start, end, hours = span
    if hours_query is None or hours is None:
        return _frame(conn.execute(minutes.where(_in_range(table, start, end))).all(), columns)
    first, last = hours
    rows = conn.execute(hours_query).all()
    for lo, hi in ((epoch(start), first), (last, epoch(end))):
        if lo < hi:
            rows += conn.execute(minutes.where(_in_range(table, lo, hi))).all()
    frame = _frame(rows, columns)
    return frame.groupby(columns[:-1], sort=False, as_index=False)[columns[-1]].sum()


def _frame(rows: list, columns: list[str]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({c: [] for c in columns})
    return pd.DataFrame(dict(zip(columns, zip(*rows, strict=True), strict=True)))


def oldest_minute(conn: Connection) -> float | None:
    """The first minute the rollups hold (epoch s), or None."""
    found = conn.execute(select(func.min(ROLLUP_COUNTS.c.minute))).scalar()
    return None if found is None else float(found)


def percentiles_frame(
    conn: Connection,
    metric: str,
    start: datetime | float,
    end: datetime | float,
    quantiles: Sequence[float] = (50, 95, 99),
) -> pd.DataFrame:
    """Estimated percentiles of ``runtime`` (by task name) or ``wait`` (by queue) in a range.

    Columns: subject, tasks, then ``p50``… one per quantile (seconds; error bound in
    ``lib.store.histogram``). Busiest subject first.
    """
    table = ROLLUP_HISTOGRAMS
    query = (
        select(table.c.subject, table.c.bucket, func.sum(table.c.tasks))
        .where(table.c.metric == metric, _in_range(table, start, end))
        .group_by(table.c.subject, table.c.bucket)
    )
    by_subject: dict[str, list[tuple[int, int]]] = {}
    for subject, bucket, tasks in conn.execute(query):
        by_subject.setdefault(subject, []).append((int(bucket), int(tasks)))
    names = [f"p{q:g}" for q in quantiles]
    rows = [
        (subject, sum(n for _, n in counts), *estimate_percentiles(counts, quantiles))
        for subject, counts in by_subject.items()
    ]
    frame = pd.DataFrame(rows, columns=["subject", "tasks", *names])
    frame = frame[frame["tasks"] > 0]
    return frame.sort_values(["tasks", "subject"], ascending=[False, True], ignore_index=True)


def _in_range(table, start: datetime | float, end: datetime | float):
    """Minutes starting in ``[start, end)``: whole minutes, as rollups keep them."""
    return hourly.minutes_in(table, epoch(start), epoch(end))
