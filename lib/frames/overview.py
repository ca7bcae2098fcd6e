"""The Overview's numbers: workers online, tasks finished, error rate and runtimes over a window.

Pure: a tasks frame and a workers frame in, a dict out, ``now`` passed in. Definitions
(contract.md): error rate = FAILURE ÷ (SUCCESS + FAILURE) over tasks finished in the window,
a finished task counted at its finish time; percentiles by linear interpolation.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from lib.frames.state import FINISHED
from lib.trends import held_since

__all__ = ["overview_kpis", "range_kpis"]


def overview_kpis(
    tasks: pd.DataFrame,
    workers: pd.DataFrame,
    queue_backlog: int | None,
    now: datetime,
    window: float = 86400.0,
) -> dict:
    """The Overview's numbers over the last ``window`` seconds (or all Flower holds, if less).

    ``processed`` counts tasks that finished (SUCCESS or FAILURE) in the window, by their
    finish time; ``error_rate`` is a percent (None when nothing finished); runtimes are the
    ``duration`` of those tasks. When Flower's tasks reach back less far than the window,
    ``holds_less_than_window`` is True and ``oldest_task`` says since when (the oldest task's
    last event, ``trends.held_since``, as the analytics pages say it); else None.
    """
    start = pd.Timestamp(now) - pd.Timedelta(seconds=window)
    finished_at = tasks["succeeded"].fillna(tasks["failed"])
    done = tasks[tasks["state"].isin(FINISHED).fillna(False) & (finished_at >= start).fillna(False)]
    failed = int((done["state"] == "FAILURE").sum())
    since = held_since(tasks, start)
    durations = done["duration"].dropna()
    return {
        "workers_online": int(workers["online"].sum()) if len(workers) else 0,
        "workers_total": len(workers),
        "processed": len(done),
        "failed": failed,
        "error_rate": 100.0 * failed / len(done) if len(done) else None,
        "avg_runtime": float(durations.mean()) if len(durations) else None,
        "p95_runtime": float(durations.quantile(0.95)) if len(durations) else None,
        "backlog": queue_backlog,
        "window_start": start.to_pydatetime(),
        "holds_less_than_window": since is not None,
        "oldest_task": since,
    }


def range_kpis(
    totals: dict,
    runtime: dict,
    workers: pd.DataFrame,
    queue_backlog: int | None,
    window_start: datetime,
    held_since: datetime | None,
) -> dict:
    """``overview_kpis``' numbers from a range's analytics (``lib.trends.history``): ``totals``
    (``window_summary``), ``runtime`` (runs, mean, p95 over the range's runs), and since when
    the store holds data when that is after ``window_start`` (else None)."""
    finished, failed = totals["finished"], totals["failed"]
    return {
        "workers_online": int(workers["online"].sum()) if len(workers) else 0,
        "workers_total": len(workers),
        "processed": finished,
        "failed": failed,
        "error_rate": 100.0 * failed / finished if finished else None,
        "avg_runtime": runtime["mean"],
        "p95_runtime": runtime["p95"],
        "backlog": queue_backlog,
        "window_start": window_start,
        "holds_less_than_window": held_since is not None,
        "oldest_task": held_since,
    }
