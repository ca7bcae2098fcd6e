"""The store's reads behind the alert rules that look at history (``lib.alerts``): the newest
task event a worker sent, each task name's latest arrivals, and failures grouped by what their
error group depends on.

Each read is bounded by an index so a poll stays cheap at a million tasks:

- ``worker_event_since``: the tasks whose last event is recent (``ix_tasks_last_at``) — a task's
  every event time is at most its last event's, so no task with a worker event in the range is
  outside it.
- ``task_names`` walks the distinct names one index seek at a time (``ix_tasks_name_newest``:
  name, then newest first), never the whole index; ``latest_arrivals`` reads a name's newest
  rows from the same index, a bounded number.
- ``runtime_histograms`` sums each name's runtime histogram over a range in the database:
  whole hours from the hourly rollups, the edge minutes from the per-minute ones (the same
  sums, ``lib.store.hourly``), by the tables' keys (minute first).
- ``failure_kinds`` groups FAILURE rows (every one by the state index; a recent placement
  range by ``ix_tasks_placed_at``) by their text and name in the database: one row per distinct
  (exception, needed traceback, name), not one per failure.

Invariants: reads only; masked text only (as stored); times are epoch seconds.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, and_, case, func, or_, select, true

from lib.failures import WRAPPERS
from lib.store.histogram_sums import summed_histograms
from lib.store.schema import TASKS

__all__ = [
    "WORKER_EVENT_COLUMNS",
    "failure_kinds",
    "latest_arrivals",
    "newest_received",
    "runtime_histograms",
    "task_names",
    "worker_event_since",
]

#: The times of the task events a worker sends (``-E``); ``sent`` is the producer's, so it
#: arrives even when the workers send none.
WORKER_EVENT_COLUMNS = ("received", "started", "succeeded", "failed", "retried", "revoked")


def worker_event_since(conn: Connection, since: float) -> float | None:
    """The newest worker task event time at or after ``since``, or None: none reached Flower."""
    times = [func.max(TASKS.c[column]) for column in WORKER_EVENT_COLUMNS]
    row = conn.execute(select(*times).where(TASKS.c.last_at >= since)).one()
    found = [t for t in row if t is not None and t >= since]
    return max(found, default=None)


def newest_received(conn: Connection) -> float | None:
    """When the newest stored task was received by a worker (``ix_tasks_received``), or None."""
    return conn.execute(select(func.max(TASKS.c.received))).scalar()


def task_names(conn: Connection) -> list[str]:
    """Every non-empty task name stored, sorted: one index seek per name."""
    names: list[str] = []
    column, last = TASKS.c.name, ""
    while True:
        found = conn.execute(select(func.min(column)).where(column > last)).scalar()
        if found is None:
            return names
        names.append(found)
        last = found


def latest_arrivals(conn: Connection, name: str, rows: int) -> list[float]:
    """The arrival times (sent, else received) of ``name``'s ``rows`` newest tasks (by last
    event), oldest first; tasks with neither are left out."""
    query = (
        select(func.coalesce(TASKS.c.sent, TASKS.c.received))
        .where(TASKS.c.name == name)
        .order_by(TASKS.c.timestamp.desc().nulls_last())
        .limit(rows)
    )
    return sorted(float(t) for t in conn.execute(query).scalars() if t is not None)


def runtime_histograms(conn: Connection, start: float, end: float) -> dict[str, list]:
    """Each task name's runtime histogram over the minutes starting in ``[start, end)``:
    ``{name: [(bucket, runs), ...]}`` (summed in the database: ``histogram_sums``)."""
    summed = summed_histograms(conn, "runtime", start, end)
    found: dict[str, list] = {}
    for name, bucket, runs in zip(
        summed["subject"], summed["bucket"], summed["tasks"], strict=True
    ):
        found.setdefault(name, []).append((int(bucket), int(runs)))
    return found


def failure_kinds(
    conn: Connection, start: float | None = None, end: float | None = None
) -> pd.DataFrame:
    """FAILURE tasks placed (failed) in ``[start, end)`` (None: unbounded), one row per
    distinct exception text, traceback where it is needed to parse it (``lib.failures``: an
    empty or wrapped exception), and name. Columns: exception, traceback, name, at (the
    earliest failure time of the row's tasks, epoch s), failures (how many)."""
    exception = TASKS.c.exception
    wrapped = or_(
        exception.is_(None), exception == "", *(exception.startswith(w) for w in WRAPPERS)
    )
    traceback = case((wrapped, TASKS.c.traceback), else_=None).label("traceback")
    state = TASKS.c.state
    if start is not None:
        # A recent range is read by its placement (ix_tasks_placed_at): an expression on the
        # state keeps the planner off the state index, which would walk every failure held.
        state = func.coalesce(state, "")
    within = and_(
        true(),
        state == "FAILURE",
        TASKS.c.placed_at.is_not(None),
        *([] if start is None else [TASKS.c.placed_at >= start]),
        *([] if end is None else [TASKS.c.placed_at < end]),
    )
    keys = (exception, traceback, TASKS.c.name)
    query = select(*keys, func.min(TASKS.c.placed_at), func.count()).where(within).group_by(*keys)
    columns = ["exception", "traceback", "name", "at", "failures"]
    rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)
