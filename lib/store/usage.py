"""Worker usage rollups: per worker, runs, their runtime and busy seconds, per minute and hour.

What worker usage (``lib.trends.usage``) reads of a finished task, so a long range reads it from
here instead of raw rows. A task that contributes to the rollups (``rollups.contributes``:
finished, placed) adds, in the minute of its ``placed_at`` (its finish) under its worker (''
when missing), ``usage_of`` it: one run and its runtime when it is a run (SUCCESS or FAILURE
with a duration, ``lib.trends.window.run_mask``), and its busy seconds, ``finish − started``
as ``lib.trends.usage`` defines them (finish: the first of succeeded, failed, revoked, rejected;
started: ``finish − runtime`` when Flower missed it; none when either is unknown, 0 if negative).
The whole busy time sits in the minute of the finish, as a finished task is placed: a rolled
range counts a task's busy time whole when it finished in the range, even what ran before it.

Invariant: as for the other rollups (``lib.store.rollups``): the tables equal the sum of the
contributions of the counted rows, moved in the same transaction when a row changes; the hourly
table equals its minutes summed; both are pruned with the other rollups.

Migration step 10 (``backfill``) builds both tables from the counted raw rows the store holds.
A store whose raw successes were already pruned cannot regain their runs or busy time: the
minutes whose rollup counts exceed the raw rows held are partial, and the first minute after
the last of them is kept (``USAGE_FROM``) so the Trends page says from when busy time covers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, func, insert, select

from lib.store.hourly import HOUR, minutes_in, whole_hours
from lib.store.kept import get_kept, put_kept
from lib.store.rows import duration
from lib.store.schema import ROLLUP_COUNTS, ROLLUP_HOUR_USAGE, ROLLUP_USAGE, TASKS, epoch
from lib.trends.window import FINISH_COLUMNS

__all__ = [
    "FIGURES",
    "USAGE_FROM",
    "add_usage",
    "backfill",
    "hourly_usage",
    "usage_frame",
    "usage_from",
    "usage_of",
]

#: The value columns of the usage tables, in the order deltas hold them.
FIGURES = ("runs", "runtime", "busy")
#: The kept-state key of the first minute from which the usage rollups are whole (step 10).
USAGE_FROM = "usage_rollups_from"
RUNS = ("SUCCESS", "FAILURE")
#: The task columns ``usage_of`` and the minute read.
ROW_COLUMNS = ("state", "worker", "placed_at", "started", "runtime", *FINISH_COLUMNS.values())


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def usage_of(row: Mapping) -> tuple[int, float, float]:
    """One finished row's (runs, runtime, busy seconds): see the module docstring."""
    ran = duration(row)
    run = row["state"] in RUNS and ran is not None
    finish = _first(*(row.get(column) for column in FINISH_COLUMNS.values()))
    began = row["started"]
    if began is None and ran is not None and finish is not None:
        began = finish - ran
    busy = max(finish - began, 0.0) if finish is not None and began is not None else 0.0
    return (1, float(ran), busy) if run else (0, 0.0, busy)


def add_usage(deltas: dict, row: Mapping, sign: int) -> None:
    """Add (``sign`` 1) or take out (−1) a row's usage in ``deltas`` ((minute, worker) → sums)."""
    key = (int(row["placed_at"] // 60 * 60), row["worker"] or "")
    held = deltas.get(key, (0, 0.0, 0.0))
    deltas[key] = tuple(h + sign * v for h, v in zip(held, usage_of(row), strict=True))


def hourly_usage(deltas: Mapping) -> dict:
    """Per-minute usage deltas summed per hour."""
    out: dict = {}
    for (minute, worker), figures in deltas.items():
        key = (minute - minute % HOUR, worker)
        held = out.get(key, (0, 0.0, 0.0))
        out[key] = tuple(h + v for h, v in zip(held, figures, strict=True))
    return out


def backfill(conn: Connection) -> None:
    """Fill the (empty) usage tables from the counted raw rows, for the minutes the rollups
    hold; keep ``USAGE_FROM`` when some minutes lost raw rows to retention."""
    deltas: dict = {}
    held: Counter = Counter()
    query = select(*(TASKS.c[c] for c in ROW_COLUMNS)).where(TASKS.c.counted)
    for row in conn.execute(query.execution_options(yield_per=5000)).mappings():
        if row["placed_at"] is not None:
            held[int(row["placed_at"] // 60 * 60)] += 1
            add_usage(deltas, row, 1)
    minutes = select(ROLLUP_COUNTS.c.minute, func.sum(ROLLUP_COUNTS.c.tasks))
    rolled = {int(m): int(n) for m, n in conn.execute(minutes.group_by(ROLLUP_COUNTS.c.minute))}
    deltas = {key: figures for key, figures in deltas.items() if key[0] in rolled}
    for table, changes in ((ROLLUP_USAGE, deltas), (ROLLUP_HOUR_USAGE, hourly_usage(deltas))):
        if changes:
            conn.execute(insert(table), [_row(key, figures) for key, figures in changes.items()])
    partial = [minute for minute, tasks in rolled.items() if tasks > held[minute]]
    if partial:
        put_kept(conn, USAGE_FROM, {"minute": max(partial) + 60}, time.time())


def _row(key: tuple, figures: tuple) -> dict:
    return {"minute": key[0], "worker": key[1], **dict(zip(FIGURES, figures, strict=True))}


def usage_from(conn: Connection) -> float | None:
    """From when the usage rollups hold every finished task (epoch s); None: always."""
    kept = get_kept(conn, USAGE_FROM)
    return None if kept is None else float(kept["minute"])


def usage_frame(conn: Connection, start: datetime | float, end: datetime | float) -> pd.DataFrame:
    """Per worker over the minutes starting in ``[start, end)``: worker ('' when missing), runs,
    runtime (their sum, s) and busy_seconds; whole hours read from the hourly table."""
    lo, hi = epoch(start), epoch(end)
    hours = whole_hours(lo, hi, 60)
    spans = [(ROLLUP_USAGE, lo, hi)]
    if hours is not None:
        spans = [
            (ROLLUP_HOUR_USAGE, *hours),
            (ROLLUP_USAGE, lo, hours[0]),
            (ROLLUP_USAGE, hours[1], hi),
        ]
    rows: list = []
    for table, first, last in spans:
        if first < last:
            sums = [func.sum(table.c[figure]) for figure in FIGURES]
            within = minutes_in(table, first, last)
            rows += conn.execute(
                select(table.c.worker, *sums).where(within).group_by(table.c.worker)
            ).all()
    columns = ["worker", "runs", "runtime", "busy_seconds"]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame = frame.astype(
        {"worker": str, "runs": "int64", "runtime": "float64", "busy_seconds": "float64"}
    )
    frame = frame.groupby("worker", as_index=False, sort=True).sum()
    return frame[(frame["runs"] != 0) | (frame["busy_seconds"] != 0)].reset_index(drop=True)
