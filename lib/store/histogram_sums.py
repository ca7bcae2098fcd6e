"""Histograms summed in the database over a range: by subject, by bucket of time, or both.

What it models: the ``runtime`` (by task name) or ``wait`` (by queue) histograms of the minutes
starting in ``[start, end)``, summed by the keys a reader needs — per subject over the whole
range, per time bucket over every subject, or per time bucket for a few subjects — so a week
comes back as a few thousand rows, not one per hour, subject and bucket.

Invariants: the whole hours inside the range are read from the hourly rollups and the edge
minutes from the per-minute ones (``lib.store.hourly``: the same sums either way), in one
statement whose parts are summed together by the database; a time bucket starts at
``minute − minute % step`` as ``lib.store.rollups.histograms_frame`` places it; rows are sorted
here by code point (databases order text by their own collations); no row has zero tasks.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, and_, func, select, union_all

from lib.store import hourly
from lib.store.schema import ROLLUP_HISTOGRAMS, ROLLUP_HOUR_HISTOGRAMS, epoch, utc_times

__all__ = ["summed_histograms"]


def summed_histograms(
    conn: Connection,
    metric: str,
    start: datetime | float,
    end: datetime | float,
    step_minutes: int | None = None,
    by_subject: bool = True,
    subjects: Collection[str] | None = None,
) -> pd.DataFrame:
    """The ``metric`` histograms of ``[start, end)`` summed per ``step_minutes`` bucket (None:
    over the whole range) and per subject (``by_subject``; only ``subjects`` when given).

    Columns: at (the bucket's start, UTC; with a step), subject (with ``by_subject``), bucket,
    tasks; sorted by them."""
    if step_minutes is not None and step_minutes < 1:
        raise ValueError(f"steps of ≥ 1 minute, not {step_minutes}")
    low, high = epoch(start), epoch(end)
    keys = [*(["at"] if step_minutes else []), *(["subject"] if by_subject else []), "bucket"]
    parts = [
        _part(table, metric, lo, hi, step_minutes, subjects)
        for table, lo, hi in _spans(low, high, step_minutes)
        if lo < hi
    ]
    if not parts:
        return _frame([], keys)
    rows = union_all(*parts).subquery()
    columns = [rows.c[k] for k in keys]
    summed = select(*columns, func.sum(rows.c.tasks)).group_by(*columns)
    return _frame(conn.execute(summed).all(), keys)


def _spans(low: float, high: float, step_minutes: int | None) -> list[tuple]:
    """(table, from, to): the whole hours worth reading hourly, the edges per minute."""
    hours = hourly.whole_hours(low, high, step_minutes or 60)
    if hours is None:
        return [(ROLLUP_HISTOGRAMS, low, high)]
    first, last = hours
    return [
        (ROLLUP_HOUR_HISTOGRAMS, first, last),
        (ROLLUP_HISTOGRAMS, low, first),
        (ROLLUP_HISTOGRAMS, last, high),
    ]


def _part(table, metric: str, low: float, high: float, step_minutes, subjects):
    """One table's rows of the span, with the bucket of time they fall in when asked."""
    within = and_(table.c.metric == metric, hourly.minutes_in(table, low, high))
    if subjects is not None:
        within = and_(within, table.c.subject.in_(sorted(subjects)))
    step = 60 * int(step_minutes or 1)
    at = (table.c.minute - table.c.minute % step).label("at")
    return select(at, table.c.subject, table.c.bucket, table.c.tasks).where(within)


def _frame(rows: list, keys: list[str]) -> pd.DataFrame:
    """Rows → a frame column by column (frames from SQLAlchemy rows probe every row)."""
    columns = [*keys, "tasks"]
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    frame = pd.DataFrame(dict(zip(columns, values, strict=True)))
    frame = frame.astype({"bucket": "int64", "tasks": "int64"})
    if "subject" in frame:
        frame["subject"] = frame["subject"].astype(str)
    frame = frame[frame["tasks"] > 0].sort_values(keys, ignore_index=True)
    if "at" in frame:
        frame["at"] = utc_times(frame["at"])
    return frame
