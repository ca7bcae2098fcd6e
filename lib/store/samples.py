"""Time series sampled each poll: queue depth and consumers; worker online/active/processed/load,
pool size and the main process's peak RSS; running training jobs' progress, loss and accuracy.

One row per queue and per worker per ``record_samples`` call, and per running training job per
``record_progress`` call, all at the poll's ``now``. Missing figures stay missing (a broker
that did not answer gives ``messages`` NULL, not 0). Progress rows hold numbers and the task
name only (no meta text, so nothing secret); the collector reads them from the result backend
(``lib.collector.progress``).

Charts over long ranges read the samples downsampled in SQL (``queue_depth_frame``,
``worker_figures_frame``): one row per ``step`` seconds (edges whole multiples of the step since
the epoch) and subject, so a 14-day range returns a few hundred points per series, not 100,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Integer, cast, func, insert, select

from lib.store.schema import PROGRESS_SAMPLES, QUEUE_SAMPLES, WORKER_SAMPLES, epoch, utc_times

__all__ = [
    "PROGRESS_FIGURES",
    "latest_progress_frame",
    "progress_of_frame",
    "progress_samples_frame",
    "queue_depth_frame",
    "queue_samples_frame",
    "record_progress",
    "record_samples",
    "worker_figures_frame",
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
            "load": _number(row.get("load_1m")),
            "pool_size": _whole(row.get("concurrency")),
            "main_peak_rss_mib": _number(row.get("main_peak_rss_mib")),
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
    active, processed, pool_size (Int64), load, main_peak_rss_mib (float)."""
    frame = _read(conn, WORKER_SAMPLES, start, end)
    return frame.astype(
        {"online": "boolean", "active": "Int64", "processed": "Int64", "load": "float64"}
        | {"pool_size": "Int64", "main_peak_rss_mib": "float64"}
    )


def queue_depth_frame(
    conn: Connection, start: datetime | float, end: datetime | float, step: int
) -> pd.DataFrame:
    """Waiting messages per queue and ``step`` s in ``[start, end)``: the step's highest depth
    (a backlog's peak must not vanish in a mean). Columns: at (step start, UTC), queue,
    messages (Int64; NA when the broker never said in that step), samples (int)."""
    table = QUEUE_SAMPLES
    at = _step_start(conn, table.c.at, step)
    query = (
        select(at, table.c.queue, func.max(table.c.messages), func.count())
        .where(table.c.at >= epoch(start), table.c.at < epoch(end))
        .group_by(at, table.c.queue)
    )
    frame = pd.DataFrame(conn.execute(query).all(), columns=["at", "queue", "messages", "samples"])
    return _stepped(frame, "queue").astype({"messages": "Int64", "samples": "int64"})


def worker_figures_frame(
    conn: Connection, start: datetime | float, end: datetime | float, step: int
) -> pd.DataFrame:
    """Worker figures per worker and ``step`` s in ``[start, end)``. Columns: at (step start,
    UTC), worker, online (boolean: online in any sample of the step), active (mean), pool_size
    (highest), load (mean 1-minute load), main_peak_rss_mib (highest), samples (int)."""
    t = WORKER_SAMPLES
    at = _step_start(conn, t.c.at, step)
    figures = (
        func.max(cast(t.c.online, Integer)),
        func.avg(t.c.active),
        func.max(t.c.pool_size),
        func.avg(t.c.load),
        func.max(t.c.main_peak_rss_mib),
        func.count(),
    )
    query = (
        select(at, t.c.worker, *figures)
        .where(t.c.at >= epoch(start), t.c.at < epoch(end))
        .group_by(at, t.c.worker)
    )
    names = ["online", "active", "pool_size", "load", "main_peak_rss_mib", "samples"]
    frame = pd.DataFrame(conn.execute(query).all(), columns=["at", "worker", *names])
    frame["online"] = frame["online"].map({1: True, 0: False}, na_action="ignore")
    return _stepped(frame, "worker").astype(
        {"online": "boolean", "active": "float64", "pool_size": "Int64", "load": "float64"}
        | {"main_peak_rss_mib": "float64", "samples": "int64"}
    )


def _step_start(conn: Connection, at, step: int):
    """The start of the ``step``-second step holding ``at`` (epoch seconds, a float column):
    SQLite's ``%`` works on integers and PostgreSQL's cast rounds, so each floors its own way."""
    if step < 1:
        raise ValueError(f"steps of ≥ 1 second, not {step}")
    if conn.dialect.name == "postgresql":
        return (func.floor(at / step) * step).label("step_at")
    return (cast(at / step, Integer) * step).label("step_at")


def _stepped(frame: pd.DataFrame, subject: str) -> pd.DataFrame:
    # Sorted here, by code point: databases order text by their own collations.
    frame = frame.sort_values(["at", subject], ignore_index=True)
    frame["at"] = utc_times(frame["at"])
    frame[subject] = frame[subject].astype(str)
    return frame


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
