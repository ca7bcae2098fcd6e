"""One worker's detail (``Workers?worker=<name>``): its row of the workers frame, its inspect
facts, the tasks it is busy with, and how busy it was over a range.

Pure: frames and facts in, a ``WorkerDetail`` out, ``now`` passed in.

Invariants: a worker is known when the workers frame or the inspect facts name it; its status
is the workers frame's (Flower's liveness), and "since" is when its current process started
(its uptime as of the inspect) while online, its last heartbeat once offline, else unknown.
Active tasks are the stored tasks running on it (STARTED or a custom state, effective), each
busy since it started (its received time when Flower missed the start, said in the column).
Utilization is busy time ÷ wall time over the range (``lib.trends.usage``), per slot when the
pool's size is known: the range's worker usage (``RangeUsage``, from the store's analytics, as
Trends shows it; it counts the tasks running since before the range too: a training job
started yesterday and running still is busy all of the last hour, ``lib.trends.history``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from lib.frames.filters import TaskFilter
from lib.frames.state import running
from lib.frames.worker_facts import WorkerFacts

__all__ = [
    "ACTIVE_COLUMNS",
    "RangeUsage",
    "WorkerDetail",
    "active_tasks_frame",
    "running_filter",
    "worker_detail",
]

#: The active tasks table's columns; ``task`` is the Tasks page's deep link to the task.
ACTIVE_COLUMNS = ("uuid", "name", "state", "busy_since", "busy_for", "since_what", "task")
USAGE_FIGURES = ("busy_seconds", "utilization", "concurrency", "pool_utilization")


@dataclass(frozen=True)
class RangeUsage:
    """A range's worker usage (``worker_usage_frame`` columns) and the range it covers: its
    window starts at ``start``, busy time is counted from ``busy_from`` (``RangeAnalytics``)."""

    usage: pd.DataFrame
    start: datetime
    busy_from: datetime
    end: datetime


@dataclass(frozen=True)
class WorkerDetail:
    """What the detail shows; None where unknown. Times are aware UTC datetimes."""

    worker: str
    known: bool
    online: bool | None = None
    since: datetime | None = None  # online: its process started; offline: its last heartbeat
    last_heartbeat: datetime | None = None
    heartbeat_age: float | None = None  # seconds, as of the workers reading
    facts: WorkerFacts | None = None
    active: pd.DataFrame | None = None  # ``ACTIVE_COLUMNS``
    usage: dict | None = None  # ``USAGE_FIGURES`` over the range; None: no busy time in it
    processed: int | None = None
    main_peak_rss_mib: float | None = None
    load_1m: float | None = None


def worker_detail(
    worker: str,
    workers: pd.DataFrame | None,
    facts: Mapping[str, WorkerFacts] | None,
    running: pd.DataFrame,
    usage: RangeUsage | None,
    now: float,
) -> WorkerDetail:
    """The detail of ``worker`` from the workers frame (``frames.workers_frame``), the inspect
    facts by worker, the running tasks (a tasks frame) and the range's worker usage; ``known``
    False (and nothing else) when neither the workers frame nor the facts name it."""
    row = _row(workers, worker)
    mine = (facts or {}).get(worker)
    if row is None and mine is None:
        return WorkerDetail(worker, known=False)
    online = None if row is None else bool(row["online"])
    beat = None if row is None else _time(row["last_heartbeat"])
    return WorkerDetail(
        worker=worker,
        known=True,
        online=online,
        since=_since(online, beat, mine),
        last_heartbeat=beat,
        heartbeat_age=None if row is None else _float(row["heartbeat_age"]),
        facts=mine,
        active=active_tasks_frame(running, worker, now),
        usage=None if usage is None else _usage(usage, worker, mine),
        processed=None if row is None else _int(row["processed"]),
        main_peak_rss_mib=None if row is None else _float(row["main_peak_rss_mib"]),
        load_1m=None if row is None else _float(row["load_1m"]),
    )


def active_tasks_frame(running: pd.DataFrame, worker: str, now: float) -> pd.DataFrame:
    """The tasks of ``running`` on ``worker``, the longest busy first, with ``ACTIVE_COLUMNS``:
    busy_since (started, else received), busy_for (s, to ``now``), since_what ("started" or
    "received": which time it is), task (``tasks?task=<uuid>``, relative to the app's base)."""
    mine = running[running["worker"] == worker] if len(running) else running
    started = pd.to_datetime(mine.get("started"), utc=True)
    received = pd.to_datetime(mine.get("received"), utc=True)
    since = started.fillna(received) if len(mine) else started
    out = pd.DataFrame(
        {
            "uuid": mine.get("uuid"),
            "name": mine.get("name"),
            "state": mine.get("state"),
            "busy_since": since,
            "busy_for": (pd.Timestamp(now, unit="s", tz=UTC) - since).dt.total_seconds(),
            "since_what": started.notna().map({True: "started", False: "received"}),
            "task": "tasks?task=" + mine.get("uuid", pd.Series(dtype="string")).astype("string"),
        },
        columns=list(ACTIVE_COLUMNS),
    )
    return out.sort_values("busy_since", kind="stable").reset_index(drop=True)


def running_filter(worker: str, held_states: Iterable[str]) -> TaskFilter | None:
    """The store's filter for the tasks running on ``worker`` (STARTED or a custom state,
    effective: ``frames.state.running``) among the states the store holds; None when none of
    them is running (an empty filter on states would match every state)."""
    held = pd.Series(list(held_states), dtype="object")
    states = tuple(held[running(held)])
    return TaskFilter(states=states, workers=(worker,)) if states else None


def _row(workers: pd.DataFrame | None, worker: str) -> Mapping | None:
    if workers is None or workers.empty:
        return None
    rows = workers[workers["worker"] == worker]
    return None if rows.empty else rows.iloc[0].to_dict()


def _since(
    online: bool | None, beat: datetime | None, facts: WorkerFacts | None
) -> datetime | None:
    if online is False:
        return beat
    started = facts.started_at if facts is not None else None
    return None if started is None or online is None else datetime.fromtimestamp(started, UTC)


def _usage(usage: RangeUsage, worker: str, facts: WorkerFacts | None) -> dict | None:
    """The worker's ``USAGE_FIGURES`` over the range; per slot from the inspect facts' pool
    size when the usage has none (an external console's workers frame has the sampled size
    only)."""
    row = _row(usage.usage, worker)
    if not row:
        return None
    held = row.get("busy_seconds")
    busy = 0.0 if held is None or pd.isna(held) else float(held)
    size = row.get("concurrency")
    size = facts.concurrency if (size is None or pd.isna(size)) and facts is not None else size
    size = None if size is None or pd.isna(size) or not size else int(size)
    wall = (usage.end - usage.busy_from).total_seconds()
    percent = 100.0 * busy / wall if wall > 0 else None
    per_slot = None if percent is None or size is None else percent / size
    return dict(zip(USAGE_FIGURES, (busy, percent, size, per_slot), strict=True))


def _time(value: object) -> datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).floor("us").to_pydatetime()


def _float(value: object) -> float | None:
    return None if pd.isna(value) else float(value)


def _int(value: object) -> int | None:
    return None if pd.isna(value) else int(value)
