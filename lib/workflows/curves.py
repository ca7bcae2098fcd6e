"""Training curves: each job's loss and accuracy as the collector sampled its progress meta.

Pure: the store's progress samples (``Store.progress_of``: at, uuid, name, progress, loss,
accuracy) and the training view's jobs frame (``training_jobs_frame``) in, frames out.

Definitions and invariants:

* A point is one progress report: the collector samples a running job's last meta every poll,
  so a report seen by several polls is one point, at the first poll that saw it (an epoch
  between two polls is never invented, one seen twice never doubled).
* x is the job's progress (percent of its training, comparable across jobs of different
  epoch counts: the demo reports ``100 × epoch ÷ epochs``) or the sample's time; y is the
  sampled figure itself, never smoothed.
* A job is named by its model (the view's id) and the first 8 characters of its uuid, so two
  runs of one model stay two curves.
"""

from __future__ import annotations

import pandas as pd

from lib.store.samples import PROGRESS_FIGURES

__all__ = [
    "CURVE_AXES",
    "CURVE_METRICS",
    "MAX_COMPARED",
    "curve_labels",
    "default_curves",
    "training_curves_frame",
]

#: The x axes a person can pick: column → what the axis says.
CURVE_AXES = {"progress": "training progress (%)", "at": "time"}
#: The figures drawn, one chart each.
CURVE_METRICS = ("loss", "accuracy")
#: Jobs compared by default: the running ones, then the most recent, this many at most.
MAX_COMPARED = 5


def curve_labels(jobs: pd.DataFrame) -> dict[str, str]:
    """uuid → the job's name on a chart: ``<model> · <uuid[:8]>`` (the task name without a
    model), in the jobs frame's order."""
    model = jobs["model"].astype("string").fillna(jobs["name"].astype("string")).fillna("?")
    return {str(u): f"{m} · {str(u)[:8]}" for u, m in zip(jobs["uuid"], model, strict=True)}


def default_curves(jobs: pd.DataFrame, limit: int = MAX_COMPARED) -> list[str]:
    """The uuids compared before a person picks: running jobs first, then the most recently
    started (the jobs frame is newest first)."""
    running = jobs["elapsed"].notna()
    order = pd.concat([jobs[running], jobs[~running]])
    return [str(u) for u in order["uuid"].head(limit)]


def training_curves_frame(samples: pd.DataFrame, jobs: pd.DataFrame) -> pd.DataFrame:
    """One row per progress report of the jobs in ``jobs`` (see the invariants).

    Columns: job (``curve_labels``), uuid, at (UTC), progress, loss, accuracy; ordered by job
    (the jobs frame's order), then time.
    """
    labels = curve_labels(jobs)
    mine = samples[samples["uuid"].isin(list(labels))]
    reports = mine.drop_duplicates(["uuid", *PROGRESS_FIGURES], keep="first")
    rank = {u: i for i, u in enumerate(labels)}
    ordered = reports.assign(_rank=reports["uuid"].map(rank)).sort_values(
        ["_rank", "at"], kind="stable"
    )
    out = ordered.assign(job=ordered["uuid"].map(labels))
    return out[["job", "uuid", "at", *PROGRESS_FIGURES]].reset_index(drop=True)
