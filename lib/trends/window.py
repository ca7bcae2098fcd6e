"""Windows: which time places a task in a range, and the tasks a range holds.

A final task is placed at its finish, any other at ``received`` (see the package docstring,
``placed_at``); a window holds exactly the tasks placed in ``[start, end)``, with the columns
analytics read (``WINDOW_COLUMNS``) and ``at``. A run is a SUCCESS or FAILURE task with a
runtime. Rates are percents, NaN where the whole is 0.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from lib.trends.buckets import UTC_TIME, first_known, time_values

__all__ = [
    "FINISH_COLUMNS",
    "WINDOW_COLUMNS",
    "check_range",
    "held_since",
    "percent",
    "placed_at",
    "run_mask",
    "weights",
    "window_frame",
    "window_summary",
]

#: Where each final state's finish time lives.
FINISH_COLUMNS = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "REVOKED": "revoked",
    "REJECTED": "rejected",
}
#: The columns of a window: what trends and failures read, and nothing else.
WINDOW_COLUMNS = (
    "uuid",
    "name",
    "state",
    "worker",
    "queue",
    "duration",
    "wait",
    "exception",
    "traceback",
    *FINISH_COLUMNS.values(),
    "started",
    "received",
    "sent",
    "timestamp",
)


def placed_at(tasks: pd.DataFrame) -> pd.Series:
    """The time that places each task in a range (see the package docstring); NaT if none."""
    state = tasks["state"]
    last_event = time_values(tasks["timestamp"])
    at = first_known(time_values(tasks["received"]), last_event, time_values(tasks["sent"]))
    for final, column in FINISH_COLUMNS.items():
        is_state = (state == final).to_numpy(bool, na_value=False)
        at[is_state] = first_known(time_values(tasks[column])[is_state], last_event[is_state])
    return _utc_series(at, tasks.index)


def window_frame(tasks: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """The tasks placed in ``[start, end)``: the ``WINDOW_COLUMNS`` of a tasks frame + ``at``."""
    check_range(start, end)
    at = placed_at(tasks)
    keep = ((at >= pd.Timestamp(start)) & (at < pd.Timestamp(end))).to_numpy(bool)
    # Only the columns analytics read: args, results and the like would be copied for nothing.
    window = tasks.loc[keep, list(WINDOW_COLUMNS)]
    window["at"] = at[keep]
    return window


def held_since(tasks: pd.DataFrame, start: datetime) -> datetime | None:
    """How far back Flower's tasks reach, when that is after ``start``; else None.

    The time is the oldest task's last event (``timestamp``), as the Overview counts it:
    Flower drops the tasks it touched least recently first, so before that time the tasks of
    a range may be missing. None when Flower holds no task with a time, or holds tasks from
    ``start`` or earlier (the range is covered).
    """
    oldest = tasks["timestamp"].min()
    if pd.isna(oldest) or oldest <= pd.Timestamp(start):
        return None
    return oldest.to_pydatetime(warn=False)


def weights(window: pd.DataFrame) -> np.ndarray:
    """How many tasks each row stands for: its ``weight`` (a rollup row, ``lib.trends.history``),
    else 1 (a task row)."""
    if "weight" not in window:
        return np.ones(len(window), dtype="int64")
    return window["weight"].to_numpy(dtype="int64")


def window_summary(window: pd.DataFrame) -> dict:
    """Totals of a window: tasks, succeeded, failed, finished and failure_rate (percent or None).

    A row counts as its ``weights`` (1 for a task row)."""
    weight = weights(window)
    succeeded = int(weight[(window["state"] == "SUCCESS").to_numpy(bool, na_value=False)].sum())
    failed = int(weight[(window["state"] == "FAILURE").to_numpy(bool, na_value=False)].sum())
    finished = succeeded + failed
    return {
        "tasks": int(weight.sum()),
        "succeeded": succeeded,
        "failed": failed,
        "finished": finished,
        "failure_rate": 100.0 * failed / finished if finished else None,
    }


def run_mask(window: pd.DataFrame) -> np.ndarray:
    """Which rows are runs: SUCCESS/FAILURE tasks with a runtime."""
    finished = window["state"].isin(["SUCCESS", "FAILURE"]).to_numpy(bool, na_value=False)
    return finished & window["duration"].notna().to_numpy(bool)


def percent(part: pd.Series, whole: pd.Series) -> pd.Series:
    """``part`` as a percent of ``whole``, NaN where ``whole`` is 0 (a rate of nothing)."""
    return (100.0 * part / whole.where(whole > 0)).astype("float64")


def check_range(start: datetime, end: datetime) -> None:
    """Raise ``ValueError`` unless ``[start, end)`` is a non-empty range of aware times."""
    if pd.Timestamp(start).tzinfo is None or pd.Timestamp(end).tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC)")
    if not pd.Timestamp(start) < pd.Timestamp(end):
        raise ValueError(f"empty range: start {start} is not before end {end}")


def _utc_series(values: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC"), index=index).astype(UTC_TIME)
