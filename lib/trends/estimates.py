"""Runtime and wait statistics estimated from log-scale histograms, where raw rows are gone.

A histogram frame has columns at (bucket start, UTC), subject (task name or queue; missing is
``(unknown)``), bucket (``lib.store.histogram``), tasks. Every figure is estimated from the
buckets' representative values, so each lies within a factor ``1 ± RELATIVE_ERROR`` (≈ 4.4 %)
of the exact one computed from the same runs: percentiles (the linear-interpolation rule on
estimated order statistics), the mean, the maximum and the sum (busy seconds). Pure: frames in,
frames out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from lib.store.histogram import bucket_of, bucket_value, estimate_percentiles
from lib.trends.buckets import ALL, UNKNOWN, bucket_positions, bucket_starts, tiled
from lib.trends.latency import QUANTILES

__all__ = [
    "HISTOGRAM_COLUMNS",
    "estimated_stats",
    "estimated_trend",
    "estimated_trend_of",
    "histogram_of",
    "top_subjects",
]

HISTOGRAM_COLUMNS = ["at", "subject", "bucket", "tasks"]
_PERCENTS = [100 * q for q in QUANTILES.values()]


def histogram_of(at: pd.Series, subjects: pd.Series, values: pd.Series) -> pd.DataFrame:
    """Raw values as a histogram frame (one task each), NaN values left out."""
    seconds = values.to_numpy(dtype="float64", na_value=np.nan)
    keep = ~np.isnan(seconds)
    return pd.DataFrame(
        {
            "at": at[keep].to_numpy(),
            "subject": subjects[keep].fillna(UNKNOWN).astype(str).to_numpy(),
            "bucket": np.array([bucket_of(v) for v in seconds[keep]], dtype="int64"),
            "tasks": np.ones(int(keep.sum()), dtype="int64"),
        }
    )


def _figures(pairs: list[tuple[int, int]]) -> dict:
    """runs, mean, the QUANTILES, max and busy_seconds of one subject's (bucket, tasks) pairs."""
    runs = sum(n for _, n in pairs)
    total = sum(n * bucket_value(b) for b, n in pairs)
    percentiles = estimate_percentiles(pairs, _PERCENTS)
    return {
        "runs": runs,
        "mean": total / runs if runs else np.nan,
        **dict(zip(QUANTILES, percentiles, strict=True)),
        "max": bucket_value(max(b for b, _ in pairs)) if runs else np.nan,
        "busy_seconds": total,
    }


def estimated_stats(histograms: pd.DataFrame) -> pd.DataFrame:
    """Per subject (the index, sorted): runs, mean, p50, p95, p99, max, busy_seconds."""
    summed = histograms.groupby(["subject", "bucket"], sort=True)["tasks"].sum()
    rows = {
        subject: _figures(list(zip(group.index.get_level_values("bucket"), group, strict=True)))
        for subject, group in summed.groupby(level="subject", sort=True)
    }
    columns = ["runs", "mean", *QUANTILES, "max", "busy_seconds"]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    out.index = out.index.astype(str)  # no histogram at all: an empty index of text, not integers
    return out.astype({"runs": "int64"}).rename_axis("subject")


def top_subjects(histograms: pd.DataFrame, top: int = 5) -> list[str]:
    """The ``top`` subjects with most runs in a histogram frame (ties: the first by name)."""
    runs = histograms.groupby("subject")["tasks"].sum().sort_index()
    return list(runs.sort_values(ascending=False, kind="stable").index[:top])


def estimated_trend(
    histograms: pd.DataFrame, start: datetime, end: datetime, size: timedelta, top: int = 5
) -> pd.DataFrame:
    """Runtime p95 per bucket for the ``top`` subjects with most runs and over all of them
    (``trends.runtime_trend_frame``'s columns: bucket, name, runs, p95; NaN p95 where none)."""
    subjects = top_subjects(histograms, top)
    return estimated_trend_of(histograms, histograms, subjects, (start, end, size))


def estimated_trend_of(
    named: pd.DataFrame, overall: pd.DataFrame, subjects: list[str], grid: tuple
) -> pd.DataFrame:
    """``estimated_trend`` for ``subjects`` from ``named`` (per-bucket histograms holding at
    least theirs) and over all subjects from ``overall`` (per-bucket histograms of every
    subject, summed or not: their subject is not read); ``grid`` is (start, end, size)."""
    if overall.empty:
        return pd.DataFrame({"bucket": [], "name": [], "runs": [], "p95": []})
    start, end, size = grid
    labels = [*subjects, ALL]
    buckets = bucket_starts(start, end, size)
    top_rows = _placed(named, buckets, size)
    top_rows = top_rows[top_rows["subject"].isin(labels)]
    cells = _cells(top_rows.groupby(["position", "subject", "bucket"])["tasks"].sum())
    everything = _placed(overall, buckets, size).assign(subject=ALL)
    cells.update(_cells(everything.groupby(["position", "subject", "bucket"])["tasks"].sum()))
    keys = [(pos, label) for pos in range(len(buckets)) for label in labels]
    counts = [sum(n for _, n in cells.get(key, [])) for key in keys]
    p95 = [estimate_percentiles(cells.get(key, []), [95])[0] for key in keys]
    return pd.DataFrame(
        {
            "bucket": buckets.repeat(len(labels)),
            "name": tiled(labels, len(buckets)),
            "runs": np.array(counts, dtype="int64"),
            "p95": np.array(p95, dtype="float64"),
        }
    )


def _placed(histograms: pd.DataFrame, buckets: pd.DatetimeIndex, size: timedelta) -> pd.DataFrame:
    """The rows inside the buckets, with their bucket's position."""
    position = bucket_positions(histograms["at"], buckets, size)
    return histograms.assign(position=position)[position >= 0]


def _cells(summed: pd.Series) -> dict[tuple, list[tuple[int, int]]]:
    """(position, subject) → its (bucket, tasks) pairs, from tasks summed by those three
    (one pass over plain values: a pandas group per cell costs more than its sums)."""
    cells: dict[tuple, list[tuple[int, int]]] = {}
    for (pos, subject, bucket), tasks in zip(summed.index, summed.to_numpy(), strict=True):
        cells.setdefault((pos, subject), []).append((int(bucket), int(tasks)))
    return cells
