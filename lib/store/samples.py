"""Time series sampled each poll: queue depth and consumers; worker online/active/processed/load;
running training jobs' progress, loss and accuracy.

One row per queue and per worker per ``record_samples`` call, and per running training job per
``record_progress`` call, all at the poll's ``now``. Missing figures stay missing (a broker
that did not answer gives ``messages`` NULL, not 0). Progress rows hold numbers and the task
name only (no meta text, so nothing secret); the collector reads them from the result backend
(``lib.collector.progress``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, func, insert, select

from lib.store.schema import PROGRESS_SAMPLES, QUEUE_SAMPLES, WORKER_SAMPLES, epoch, utc_times

__all__ = [
    "PROGRESS_FIGURES",
    "latest_progress_frame",
    "progress_of_frame",
    "progress_samples_frame",
    "queue_samples_frame",
    "record_progress",
    "record_samples",
    "worker_samples_frame",
]

#: A training job's figures in a progress sample (progress in percent, 0-100).
PROGRESS_FIGURES = ("progress", "loss", "accuracy")


def record_samples(
    conn: Connection, queues: pd.DataFrame, workers: pd.DataFrame, now: float
) -> int:
    """Store one poll's queues frame and workers frame (``lib.frames``); return rows written."""
    queue_rows = [
        {
            "at": now,
            "queue": str(row["queue"]),
            "messages": _whole(row.get("messages")),
            "consumers": _whole(row.get("consumers")),
        }
        for row in queues.to_dict("records")
    ]
    worker_rows = [
        {
            "at": now,
            "worker": str(row["worker"]),
            "online": None if pd.isna(row.get("online")) else bool(row["online"]),
            "active": _whole(row.get("active")),
            "processed": _whole(row.get("processed")),
            "load": None if pd.isna(row.get("load_1m")) else float(row["load_1m"]),
        }
        for row in workers.to_dict("records")
    ]
    if queue_rows:
        conn.execute(insert(QUEUE_SAMPLES), queue_rows)
    if worker_rows:
        conn.execute(insert(WORKER_SAMPLES), worker_rows)
    return len(queue_rows) + len(worker_rows)


def queue_samples_frame(
    conn: Connection, start: datetime | float, end: datetime | float
) -> pd.DataFrame:
    """Queue samples in ``[start, end)``. Columns: at (UTC), queue, messages, consumers (Int64)."""
    frame = _read(conn, QUEUE_SAMPLES, start, end)
    return frame.astype({"messages": "Int64", "consumers": "Int64"})


def worker_samples_frame(
    conn: Connection, start: datetime | float, end: datetime | float
) -> pd.DataFrame:
    """Worker samples in ``[start, end)``. Columns: at (UTC), worker, online (boolean),
    active, processed (Int64), load (float)."""
    frame = _read(conn, WORKER_SAMPLES, start, end)
    return frame.astype(
        {"online": "boolean", "active": "Int64", "processed": "Int64", "load": "float64"}
    )


def record_progress(conn: Connection, jobs: Iterable[Mapping], now: float) -> int:
    """Store one poll's training figures (``uuid``, ``name`` and ``PROGRESS_FIGURES`` each);
    return rows written."""
    rows = [
        {"at": now, "uuid": str(job["uuid"]), "name": job.get("name")}
        | {k: _number(job.get(k)) for k in PROGRESS_FIGURES}
        for job in jobs
        if job.get("uuid")
    ]
    if rows:
        conn.execute(insert(PROGRESS_SAMPLES), rows)
    return len(rows)


def progress_samples_frame(
    conn: Connection, start: datetime | float, end: datetime | float
) -> pd.DataFrame:
    """Progress samples in ``[start, end)``. Columns: at (UTC), uuid, name, progress, loss,
    accuracy (float, NaN when not reported)."""
    frame = _read(conn, PROGRESS_SAMPLES, start, end)
    return frame.astype(dict.fromkeys(PROGRESS_FIGURES, "float64"))


def latest_progress_frame(conn: Connection, since: datetime | float) -> pd.DataFrame:
    """Each training job's latest progress sample at or after ``since`` (one row per uuid).
    Columns as ``progress_samples_frame``."""
    table = PROGRESS_SAMPLES
    last = (
        select(func.max(table.c.id).label("id"))
        .where(table.c.at >= epoch(since))
        .group_by(table.c.uuid)
        .subquery()
    )
    columns = [c for c in table.columns if c.name != "id"]
    query = select(*columns).join(last, table.c.id == last.c.id).order_by(table.c.id)
    return _frame(conn.execute(query).all(), columns)


def progress_of_frame(
    conn: Connection, uuids: Iterable[str], start: datetime | float, end: datetime | float
) -> pd.DataFrame:
    """The progress samples of the jobs ``uuids`` in ``[start, end)``, oldest first. Columns as
    ``progress_samples_frame``."""
    table = PROGRESS_SAMPLES
    wanted = sorted({str(u) for u in uuids})
    columns = [c for c in table.columns if c.name != "id"]
    query = (
        select(*columns)
        .where(table.c.at >= epoch(start), table.c.at < epoch(end), table.c.uuid.in_(wanted))
        .order_by(table.c.at, table.c.id)
    )
    return _frame(conn.execute(query).all() if wanted else [], columns)


def _frame(rows: list, columns: list) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[c.name for c in columns])
    frame["at"] = utc_times(frame["at"])
    return frame.astype(dict.fromkeys(PROGRESS_FIGURES, "float64"))


def _read(conn: Connection, table, start: datetime | float, end: datetime | float) -> pd.DataFrame:
    columns = [c for c in table.columns if c.name != "id"]
    query = (
        select(*columns)
        .where(table.c.at >= epoch(start), table.c.at < epoch(end))
        .order_by(table.c.at, table.c.id)
    )
    frame = pd.DataFrame(conn.execute(query).all(), columns=[c.name for c in columns])
    frame["at"] = utc_times(frame["at"])
    return frame


def _whole(value: object) -> int | None:
    if value is None or pd.isna(value):
        return None
    return int(value)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or pd.isna(value):
        return None
    return float(value)
