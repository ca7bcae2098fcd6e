"""Training jobs' progress sampled each poll: progress (percent), loss and accuracy by task.

One row per running training job per ``record_progress`` call, all at the poll's ``now``, from
the progress meta the collector read from the result backend (``lib.collector.progress``).
Only numbers and the task name are kept (no meta text, so nothing secret). A figure the job
did not report stays missing (NULL, not 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, insert, select

from lib.store.schema import PROGRESS_SAMPLES, epoch, utc_times

__all__ = ["FIGURES", "progress_samples_frame", "record_progress"]

FIGURES = ("progress", "loss", "accuracy")


def record_progress(conn: Connection, jobs: Iterable[Mapping], now: float) -> int:
    """Store one poll's figures (``uuid``, ``name`` and ``FIGURES`` each); return rows written."""
    rows = [
        {"at": now, "uuid": str(job["uuid"]), "name": job.get("name")}
        | {k: _number(job.get(k)) for k in FIGURES}
        for job in jobs
        if job.get("uuid")
    ]
    if rows:
        conn.execute(insert(PROGRESS_SAMPLES), rows)
    return len(rows)


def progress_samples_frame(
    conn: Connection, start: datetime | float, end: datetime | float
) -> pd.DataFrame:
    """Progress samples in ``[start, end)``, oldest first. Columns: at (UTC), uuid, name,
    progress, loss, accuracy (float, NaN when not reported)."""
    columns = [c for c in PROGRESS_SAMPLES.columns if c.name != "id"]
    table = PROGRESS_SAMPLES
    query = (
        select(*columns)
        .where(table.c.at >= epoch(start), table.c.at < epoch(end))
        .order_by(table.c.at, table.c.id)
    )
    frame = pd.DataFrame(conn.execute(query).all(), columns=[c.name for c in columns])
    frame["at"] = utc_times(frame["at"])
    return frame.astype(dict.fromkeys(FIGURES, "float64"))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or pd.isna(value):
        return None
    return float(value)
