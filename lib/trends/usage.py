"""Worker usage: per worker over a range, work done and how busy it was.

A task is busy for the part of its execution ``[started, finish]`` inside the range, even if
it started before; a started task with no finish that is not waiting for a retry is busy until
the range's end. Utilization is busy seconds ÷ the range's wall time (a pool of 4 fully busy
reads 400 %); pool utilization divides that by the pool's size.

The parts (``run_sums``, ``busy_seconds``, ``usage_frame``) are public so a range read partly
from rollups (``lib.trends.history``) adds the rollups' sums to the raw rows' before finishing.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from lib.trends.buckets import first_known, labelled, time_value, time_values
from lib.trends.window import FINISH_COLUMNS, check_range, run_mask, window_frame

__all__ = [
    "busy_seconds",
    "run_sums",
    "usage_frame",
    "worker_usage_frame",
]


def worker_usage_frame(
    tasks: pd.DataFrame,
    start: datetime,
    end: datetime,
    workers: pd.DataFrame | None = None,
    window: pd.DataFrame | None = None,
    carried: pd.Series | None = None,
) -> pd.DataFrame:
    """Per worker over the range: work done and how busy it was.

    Columns: worker, processed (SUCCESS + FAILURE placed in the range), failed, avg_runtime
    (mean runtime of those), busy_seconds, utilization (percent: busy_seconds ÷ the range's
    wall time; a pool of 4 fully busy reads 400 %), concurrency (pool size, from ``workers``,
    a ``frames.workers_frame``, when given), pool_utilization (busy_seconds ÷ (wall time ×
    concurrency), percent). Workers that did nothing in the range are not listed.

    ``tasks`` is the whole tasks frame, not a window: a task counts for the part of its
    execution ``[started, finish]`` inside the range, even if it started before. ``started`` is
    ``finish − runtime`` when Flower missed it; a started task with no finish time and not
    waiting for a retry is busy until ``end`` (still running, as far as Flower knows).
    ``window``: ``window_frame(tasks, start, end)`` when the caller has it already.
    ``carried``: busy seconds by worker to add, of tasks not in ``tasks`` (running since
    before the range: ``lib.trends.history``).
    """
    check_range(start, end)
    if window is None:
        window = window_frame(tasks, start, end)
    busy = busy_seconds(tasks, start, end)
    if carried is not None and len(carried):
        busy = busy.add(carried, fill_value=0).rename("busy_seconds")
    return usage_frame(_processed(window), busy, start, end, workers)


def usage_frame(
    done: pd.DataFrame,
    busy: pd.Series,
    start: datetime,
    end: datetime,
    workers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``worker_usage_frame``'s columns from its parts: ``done`` (by worker: processed, failed,
    avg_runtime) and ``busy`` (busy seconds by worker) over ``[start, end)``."""
    wall = (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds()
    out = done.join(busy.rename("busy_seconds"), how="outer")
    out[["processed", "failed"]] = out[["processed", "failed"]].fillna(0).astype("int64")
    out["busy_seconds"] = out["busy_seconds"].fillna(0.0)
    out["utilization"] = 100.0 * out["busy_seconds"] / wall
    out["concurrency"] = _pool_sizes(workers).reindex(out.index).astype("Int64")
    out["pool_utilization"] = out["utilization"] / out["concurrency"].astype("float64")
    out = out.rename_axis("worker").reset_index()
    return out.sort_values("worker", kind="stable").reset_index(drop=True)


def run_sums(window: pd.DataFrame) -> pd.DataFrame:
    """By worker, the window's runs and their runtime summed (s)."""
    codes, hosts = labelled(window["worker"])
    ran = run_mask(window)
    grouped = pd.Series(window["duration"].to_numpy(dtype="float64")[ran]).groupby(codes[ran])
    out = pd.DataFrame({"runs": grouped.size().astype("int64"), "runtime": grouped.sum()})
    return out.set_axis(hosts[out.index])


def _processed(window: pd.DataFrame) -> pd.DataFrame:
    codes, hosts = labelled(window["worker"])
    ran = run_mask(window)
    failed = (window["state"] == "FAILURE").to_numpy(bool, na_value=False)[ran]
    runs = pd.DataFrame({"duration": window["duration"].to_numpy()[ran], "failed": failed})
    grouped = runs.groupby(codes[ran])  # one grouping for the three figures
    out = pd.DataFrame(
        {
            "processed": grouped.size().astype("int64"),
            "failed": grouped["failed"].sum().astype("int64"),
            "avg_runtime": grouped["duration"].mean(),
        }
    )
    return out.set_axis(hosts[out.index])


def _pool_sizes(workers: pd.DataFrame | None) -> pd.Series:
    if workers is None or workers.empty:
        return pd.Series(dtype="Int64")
    pool = workers.set_index(workers["worker"].astype(str))["concurrency"].astype("Int64")
    return pool[~pool.index.duplicated()]


def busy_seconds(tasks: pd.DataFrame, start: datetime, end: datetime) -> pd.Series:
    """By worker, the busy seconds of ``tasks`` inside ``[start, end)`` (module docstring)."""
    finish = first_known(*(time_values(tasks[column]) for column in FINISH_COLUMNS.values()))
    waiting = tasks["state"].isin([*FINISH_COLUMNS, "RETRY"]).to_numpy(bool, na_value=False)
    finish[np.isnat(finish) & ~waiting] = time_value(end)
    began = time_values(tasks["started"])
    duration = tasks["duration"].to_numpy(dtype="float64", na_value=np.nan)
    guess = np.isnat(began) & ~np.isnan(duration)
    began[guess] = finish[guess] - np.round(duration[guess] * 1e6).astype("timedelta64[us]")
    lo = np.maximum(began, time_value(start))  # NaT stays NaT
    hi = np.minimum(finish, time_value(end))
    seconds = np.clip((hi - lo) / np.timedelta64(1, "s"), 0, None)
    known = ~np.isnan(seconds)
    codes, hosts = labelled(tasks["worker"])
    busy = pd.Series(seconds[known]).groupby(codes[known]).sum()
    return busy.set_axis(hosts[busy.index]).rename("busy_seconds")
