"""Throughput: tasks per bucket and state, and successes, failures and failure rate per bucket.

Counts sum to the window's length; every bucket × state (or group) of the range is present,
zeros included. Rates divide by the seconds of the bucket inside the range. Failure rate =
FAILURE ÷ (SUCCESS + FAILURE), a percent, NaN where nothing finished. A breakdown keeps the
top N groups and adds up the rest as ``(other)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from lib.trends.buckets import (
    ALL,
    OTHER,
    UNKNOWN,
    bucket_counts,
    bucket_positions,
    bucket_starts,
    cell_counts,
    cell_indices,
    covered_seconds,
    tiled,
)
from lib.trends.window import percent, weights

__all__ = [
    "STATE_ORDER",
    "state_trend_frame",
    "trend_frame",
]

#: Stacking order of states in charts and tables: outcomes first, then work still under way.
STATE_ORDER = (
    "SUCCESS",
    "FAILURE",
    "REVOKED",
    "REJECTED",
    "RETRY",
    "STARTED",
    "RECEIVED",
    "PENDING",
)


def state_trend_frame(
    window: pd.DataFrame, start: datetime, end: datetime, size: timedelta
) -> pd.DataFrame:
    """Tasks per bucket and state. Columns: bucket (UTC start), state, tasks.

    One row per bucket of the range and per state seen in the window (zeros included), states
    in ``STATE_ORDER`` then alphabetically; no rows at all for an empty window.
    """
    states = window["state"].fillna("UNKNOWN").astype(str)
    seen = _ordered_states(states.unique())
    counts = bucket_counts(window["at"], states, seen, start, end, size, weights(window))
    return counts.rename(columns={"label": "state", "count": "tasks"})


def trend_frame(
    window: pd.DataFrame,
    start: datetime,
    end: datetime,
    size: timedelta,
    by: str | None = None,
    top: int = 5,
) -> pd.DataFrame:
    """Throughput and failure rate per bucket, overall or per ``by`` ("name" or "queue").

    Columns: bucket, [by,] seconds (of the bucket inside the range), tasks (placed there, any
    state), succeeded, failed, finished (succeeded + failed), succeeded_per_s, failed_per_s,
    failure_rate (percent; NaN where nothing finished). With ``by``, the ``top`` groups with
    most tasks in the window keep their label and the rest add up to ``(other)``; every bucket
    × group is present.
    """
    buckets = bucket_starts(start, end, size)
    if by is None:
        order: list[str] = [ALL]
        codes = np.zeros(len(window), dtype="int64")
    else:
        codes, order = _top_codes(window[by], top, weights(window))
    state = window["state"]
    is_success = (state == "SUCCESS").to_numpy(bool, na_value=False)
    is_failure = (state == "FAILURE").to_numpy(bool, na_value=False)
    cells = cell_indices(bucket_positions(window["at"], buckets, size), codes, len(order))
    total = len(buckets) * len(order)
    out = pd.DataFrame({"bucket": buckets.repeat(len(order))})
    if by is not None:
        out[by] = tiled(order, len(buckets))
    seconds = covered_seconds(buckets, start, end, size)
    out["seconds"] = seconds.repeat(len(order))
    weight = weights(window)
    out["tasks"] = cell_counts(cells, total, weight)
    out["succeeded"] = cell_counts(cells[is_success], total, weight[is_success])
    out["failed"] = cell_counts(cells[is_failure], total, weight[is_failure])
    out["finished"] = out["succeeded"] + out["failed"]
    out["succeeded_per_s"] = out["succeeded"] / out["seconds"]
    out["failed_per_s"] = out["failed"] / out["seconds"]
    out["failure_rate"] = percent(out["failed"], out["finished"])
    return out


def _top_codes(values: pd.Series, top: int, weight: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each row's position in ``order``: the ``top`` labels with most tasks (rows counting their
    ``weight``), then ``(other)``.

    Ties go alphabetically; a missing value is ``(unknown)``; ``(other)`` holds every other
    row and is in ``order`` only when some row falls in it.
    """
    codes, uniques = pd.factorize(values)
    labels, merged = np.unique(
        np.array([*map(str, uniques), UNKNOWN], dtype=object), return_inverse=True
    )
    rows = merged[np.where(codes < 0, len(uniques), codes)]  # NA takes the appended UNKNOWN
    counts = np.bincount(rows, weights=weight, minlength=len(labels))
    ranked = sorted((i for i in range(len(labels)) if counts[i]), key=lambda i: -counts[i])
    chosen = [i for i in ranked[:top] if labels[i] != OTHER]
    order = [str(labels[i]) for i in chosen]
    slot = np.full(len(labels), len(order))  # (other)
    slot[chosen] = np.arange(len(order))
    positions = slot[rows]
    if (positions == len(order)).any():
        order.append(OTHER)
    return positions, order


def _ordered_states(states: np.ndarray) -> list[str]:
    seen = set(states)
    known = [s for s in STATE_ORDER if s in seen]
    rest = sorted(seen - set(STATE_ORDER) - {"UNKNOWN"})
    return known + rest + (["UNKNOWN"] if "UNKNOWN" in seen else [])
