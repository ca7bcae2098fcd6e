"""Latency: runtime and queue-wait statistics per task name and queue, and runtime p95 over time.

Runtime is a window's ``duration`` over its runs (SUCCESS and FAILURE tasks with a runtime);
wait is its ``wait`` (negative when the hosts' clocks disagree, kept as is). Percentiles use
linear interpolation (pandas' default) over the values that are not NaN; a name with no runs
has NaN statistics, and a bucket with none has a NaN p95, so a line shows a gap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from lib.trends.buckets import (
    ALL,
    UNKNOWN,
    bucket_positions,
    bucket_starts,
    cell_indices,
    label_codes,
    labelled,
    tiled,
)
from lib.trends.window import percent, run_mask, weights

__all__ = [
    "QUANTILES",
    "queue_wait_frame",
    "runtime_percentiles_frame",
    "runtime_trend_frame",
    "top_names_frame",
]

#: The percentiles the latency tables show, as pandas quantiles.
QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def runtime_percentiles_frame(window: pd.DataFrame) -> pd.DataFrame:
    """Counts and runtime statistics per task name over the window, busiest first.

    Columns: name, tasks (placed in the window, any state), succeeded, failed, failure_rate
    (percent), runs (SUCCESS/FAILURE tasks with a runtime), mean, p50, p95, p99, max,
    busy_seconds (sum of runtimes). Runtime statistics are NaN for a name with no runs. The
    counts count each row as its ``weight`` (``window.weights``); statistics read task rows.
    """
    codes, names = labelled(window["name"])
    state = window["state"]
    is_success = (state == "SUCCESS").to_numpy(bool, na_value=False)
    is_failure = (state == "FAILURE").to_numpy(bool, na_value=False)
    weight = weights(window)
    out = pd.DataFrame(
        {
            "name": names,
            "tasks": np.bincount(codes, weight, minlength=len(names)),
            "succeeded": np.bincount(codes[is_success], weight[is_success], minlength=len(names)),
            "failed": np.bincount(codes[is_failure], weight[is_failure], minlength=len(names)),
        }
    ).astype({"tasks": "int64", "succeeded": "int64", "failed": "int64"})
    out["failure_rate"] = percent(out["failed"], out["succeeded"] + out["failed"])
    ran = run_mask(window)
    stats = _stats(window["duration"].to_numpy()[ran], codes[ran]).reindex(range(len(names)))
    out = out.join(stats)
    out["runs"] = out["runs"].fillna(0).astype("int64")
    out["busy_seconds"] = out["busy_seconds"].fillna(0.0)
    out = out.sort_values(["tasks", "name"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)[_NAME_COLUMNS]


_NAME_COLUMNS = [
    "name",
    "tasks",
    "succeeded",
    "failed",
    "failure_rate",
    "runs",
    "mean",
    "p50",
    "p95",
    "p99",
    "max",
    "busy_seconds",
]


def top_names_frame(names: pd.DataFrame, by: str, n: int = 10) -> pd.DataFrame:
    """The ``n`` rows of a ``runtime_percentiles_frame`` with the largest ``by`` (ties by name).

    ``by="tasks"`` gives the busiest names, ``by="p95"`` the slowest; NaN sorts last.
    """
    ranked = names.sort_values([by, "name"], ascending=[False, True], na_position="last")
    return ranked.dropna(subset=[by]).head(n).reset_index(drop=True)


def runtime_trend_frame(
    window: pd.DataFrame, start: datetime, end: datetime, size: timedelta, top: int = 5
) -> pd.DataFrame:
    """Runtime p95 per bucket for the ``top`` names with most runs, and over all names.

    Columns: bucket, name (``top`` names, then ``(all)``), runs, p95 (NaN in a bucket with no
    runs of that name, so a line shows a gap rather than a made-up value).
    """
    runs = _runs(window, "name", "at")
    if runs.empty:
        return pd.DataFrame({"bucket": [], "name": [], "runs": [], "p95": []})
    names = runs["name"].fillna(UNKNOWN).astype(str)
    busiest = names.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    labels = [*busiest.index[:top], ALL]
    buckets = bucket_starts(start, end, size)
    positions = bucket_positions(runs["at"], buckets, size)
    # Each run counts twice: in its name's cell (when among the top) and in "(all)"'s.
    named = cell_indices(positions, label_codes(names, labels[:-1]), len(labels))
    overall = cell_indices(positions, np.full(len(runs), len(labels) - 1), len(labels))
    durations = runs["duration"].to_numpy()
    keep = named >= 0
    grouped = pd.Series(np.concatenate([durations[keep], durations])).groupby(
        np.concatenate([named[keep], overall])
    )
    stats = pd.DataFrame({"runs": grouped.size(), "p95": grouped.quantile(0.95)})
    stats = stats.reindex(range(len(buckets) * len(labels)))
    return pd.DataFrame(
        {
            "bucket": buckets.repeat(len(labels)),
            "name": tiled(labels, len(buckets)),
            "runs": stats["runs"].fillna(0).astype("int64").to_numpy(),
            "p95": stats["p95"].to_numpy(),
        }
    )


def queue_wait_frame(window: pd.DataFrame) -> pd.DataFrame:
    """Queue wait statistics per queue over the window's tasks that have a wait.

    Columns: queue, tasks (with a wait), mean, p50, p95, p99, max (seconds); busiest first.
    """
    waits = window["wait"].to_numpy(dtype="float64", na_value=np.nan)
    codes, queues = labelled(window["queue"])
    waited = ~np.isnan(waits)
    stats = _stats(waits[waited], codes[waited]).rename(columns={"runs": "tasks"})
    stats.insert(0, "queue", queues[stats.index])
    stats = stats.sort_values(["tasks", "queue"], ascending=[False, True], kind="stable")
    return stats.reset_index(drop=True)[["queue", "tasks", "mean", "p50", "p95", "p99", "max"]]


def _stats(values: np.ndarray | pd.Series, keys: np.ndarray | pd.Series) -> pd.DataFrame:
    """Runtime statistics per key (the keys sorted); ``runs`` counts the values."""
    grouped = pd.Series(np.asarray(values, dtype="float64")).groupby(np.asarray(keys))
    # One pass for all quantiles: each group is sorted once, not once per quantile.
    quantiles = grouped.quantile(list(QUANTILES.values())).unstack()
    quantiles = quantiles.reindex(columns=list(QUANTILES.values())).set_axis(
        list(QUANTILES), axis=1
    )
    return pd.DataFrame(
        {
            "runs": grouped.size(),
            "mean": grouped.mean(),
            **{label: quantiles[label] for label in QUANTILES},
            "max": grouped.max(),
            "busy_seconds": grouped.sum(),
        }
    )


def _runs(window: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The runs (``run_mask``): ``duration`` and the given columns only."""
    return window.loc[run_mask(window), ["duration", *dict.fromkeys(columns)]]
