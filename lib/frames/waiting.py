"""What waits on the workers: scheduled (ETA/countdown), reserved (prefetched), active and
revoked tasks, from the collector's per-worker inspect (``lib.collector.waiting``).

Pure: the kept ``waiting`` mapping in, frames out, ``now`` passed in where a time is judged.
The mapping is ``{"read_at": s, "workers": {worker: record}}``, each record holding only what
pages show (``lib.collector.waiting.worker_record``): lists of ``{id, name, queue, ...}``
dicts, never a task's arguments.

Invariants: a frame has its columns even when empty; ETAs and start times are UTC datetimes (an
ETA without a zone is read as UTC, Celery's default ``enable_utc``); a value that is not what
Celery sends (an ETA that is not a time, a priority that is not a number) is missing, never made
up; scheduled rows are ordered by ETA, soonest first.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = [
    "ACTIVE_COLUMNS",
    "RESERVED_COLUMNS",
    "REVOKED_COLUMNS",
    "SCHEDULED_COLUMNS",
    "active_frame",
    "eta_time",
    "for_queue",
    "for_worker",
    "reserved_frame",
    "revoked_frame",
    "scheduled_frame",
    "unanswered",
    "until_words",
]

#: Tasks waiting on a worker for their ETA or countdown.
SCHEDULED_COLUMNS = ("uuid", "name", "eta", "queue", "worker", "priority")
#: Tasks a worker prefetched and has not started.
RESERVED_COLUMNS = ("uuid", "name", "queue", "worker")
#: Tasks a worker runs now, with when it started them.
ACTIVE_COLUMNS = ("uuid", "name", "queue", "worker", "started")
#: Revoked ids each worker holds (Celery keeps them in memory to drop the tasks on arrival).
REVOKED_COLUMNS = ("worker", "uuid")


def scheduled_frame(waiting: Mapping | None) -> pd.DataFrame:
    """One row per scheduled task (``SCHEDULED_COLUMNS``), soonest ETA first."""
    rows = _rows(waiting, "scheduled")
    frame = _frame(rows, SCHEDULED_COLUMNS)
    frame["eta"] = pd.to_datetime(
        frame["eta"].map(eta_time, na_action="ignore"), utc=True, errors="coerce"
    )
    frame["priority"] = pd.to_numeric(frame["priority"], errors="coerce").astype("Int64")
    return frame.sort_values("eta", kind="stable", na_position="last").reset_index(drop=True)


def reserved_frame(waiting: Mapping | None) -> pd.DataFrame:
    """One row per reserved (prefetched, not started) task (``RESERVED_COLUMNS``)."""
    return _frame(_rows(waiting, "reserved"), RESERVED_COLUMNS)


def active_frame(waiting: Mapping | None) -> pd.DataFrame:
    """One row per running task (``ACTIVE_COLUMNS``) as the inspect saw it."""
    frame = _frame(_rows(waiting, "active"), (*ACTIVE_COLUMNS[:-1], "time_start"))
    seconds = pd.to_numeric(frame.pop("time_start"), errors="coerce")
    frame["started"] = pd.to_datetime(seconds, unit="s", utc=True)
    return frame


def revoked_frame(waiting: Mapping | None) -> pd.DataFrame:
    """One row per revoked id a worker holds (``REVOKED_COLUMNS``)."""
    rows = [
        {"worker": worker, "id": str(uuid)}
        for worker, record in _records(waiting).items()
        for uuid in record.get("revoked") or ()
    ]
    return _frame(rows, REVOKED_COLUMNS)


def for_queue(frame: pd.DataFrame, queue: str) -> pd.DataFrame:
    """The rows of ``frame`` routed to ``queue``."""
    return frame[frame["queue"] == queue].reset_index(drop=True)


def for_worker(frame: pd.DataFrame, worker: str) -> pd.DataFrame:
    """The rows of ``frame`` held by ``worker``."""
    return frame[frame["worker"] == worker].reset_index(drop=True)


def unanswered(waiting: Mapping | None) -> dict[str, str]:
    """Each worker whose latest inspect failed, with why (its lists are the last good ones)."""
    return {w: str(r["error"]) for w, r in _records(waiting).items() if r.get("error")}


def eta_time(eta: object) -> pd.Timestamp | None:
    """An ETA as Celery and Flower write it (ISO text) as a UTC time; None when there is none
    or it is not a time (Flower sends ``None`` for a task without one)."""
    if not isinstance(eta, str) or not eta.strip():
        return None
    when = pd.to_datetime(eta, utc=True, errors="coerce", format="ISO8601")
    return None if pd.isna(when) else when


def until_words(eta: pd.Timestamp | None, now: pd.Timestamp) -> str:
    """``"in 4 min"``, ``"in 45 s"``, ``"in 2 h 05 min"``; ``"due 3 min ago"`` once passed
    (the task waits for a free slot); ``"—"`` when unknown."""
    if eta is None or pd.isna(eta):
        return "—"
    seconds = (eta - now).total_seconds()
    words = _span(abs(seconds))
    return f"in {words}" if seconds >= 0 else f"due {words} ago"


def _span(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours < 48 else f"{hours // 24} d"


def _records(waiting: Mapping | None) -> dict[str, Mapping]:
    workers = (waiting or {}).get("workers")
    if not isinstance(workers, Mapping):
        return {}
    return {str(w): r for w, r in workers.items() if isinstance(r, Mapping)}


def _rows(waiting: Mapping | None, kind: str) -> list[dict]:
    return [
        {**entry, "worker": worker}
        for worker, record in _records(waiting).items()
        for entry in record.get(kind) or ()
        if isinstance(entry, Mapping)
    ]


def _frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    """``rows`` as a frame of exactly ``columns``; ids renamed from Celery's ``id``."""
    frame = pd.DataFrame(rows, columns=[("id" if c == "uuid" else c) for c in columns])
    frame = frame.rename(columns={"id": "uuid"})
    for col in ("uuid", "name", "queue", "worker"):
        if col in frame:
            frame[col] = frame[col].map(_text, na_action="ignore").astype("string")
    return frame


def _text(value: object) -> str | None:
    return None if value is None else str(value)
