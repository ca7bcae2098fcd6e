"""The training view: one row per training job, its progress, ETA and the view's KPIs.

Pure: a tasks frame (``frames.tasks_frame``), the view, backend records by task id and
``now`` in; frames and dicts out. The backend records come from ``lib.workflows.backend``.

Definitions and invariants:

* A job is a job in every state: once any task of a name is detected as training (a
  ``detect_keys`` key in its progress meta or result; a bare progress key is not enough),
  every task of that name is one. The view's rules take their tasks too.
* Each job's numbers come from its result, else the last progress meta read (kept after a
  failure), else they are blank and marked "not observed". A success's progress is 100.
* Runtime is the tasks frame's ``duration`` (finished jobs); ``elapsed`` is
  ``now - started`` for running ones; running as in ``lib.workflows.lifecycle``.
* ETA of a running job = elapsed × (100 − progress) ÷ progress, for 0 < progress < 100.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from lib.workflows.config import View
from lib.workflows.lifecycle import effective_states, finished_at, is_running
from lib.workflows.literals import (
    MAX_META_READS,
    extract_ids,
    literal_dicts,
    numbers_of,
    progress_meta,
)

__all__ = [
    "NOT_OBSERVED",
    "eta_seconds",
    "training_candidates",
    "training_cards",
    "training_jobs_frame",
    "training_kpis",
    "training_names",
]

#: The training view's mark for a job whose progress, loss and accuracy were never seen.
NOT_OBSERVED = "not observed"


def eta_seconds(elapsed: pd.Series, progress: pd.Series) -> pd.Series:
    """Seconds left: elapsed × (100 − progress) ÷ progress; NaN unless 0 < progress < 100."""
    ok = (progress > 0) & (progress < 100)
    return (elapsed * (100 - progress) / progress).where(ok)


def training_candidates(
    frame: pd.DataFrame, view: View, names: Iterable[str] = (), limit: int = MAX_META_READS
) -> list[str]:
    """Running tasks whose progress meta to read: the view's (rules, or a name in ``names``)
    first, then (detect) the rest, newest first."""
    running = frame[is_running(frame, effective_states(frame))]
    mine = view.mask(running) | running["name"].isin(list(names)).fillna(False)
    order = running.assign(mine=mine.astype(bool)).sort_values(["mine", "started"], ascending=False)
    if not view.detect:
        order = order[order["mine"]]
    return order["uuid"].head(limit).tolist()


def _detected(frame: pd.DataFrame, view: View, metas: Mapping[str, Mapping]) -> pd.Series:
    """Tasks whose progress meta or result carries one of ``detect_keys`` (False: detect off)."""
    if not view.detect or not view.detect_keys:
        return pd.Series(False, index=frame.index)
    keys = "|".join(f"['\"]{re.escape(k)}['\"]" for k in view.detect_keys)
    hinted = frame["result"].str.contains(keys, regex=True).fillna(False).astype(bool)
    meta = {u: progress_meta(m) or {} for u, m in metas.items()}
    in_meta = [any(k in meta.get(u, {}) for k in view.detect_keys) for u in frame["uuid"]]
    return hinted | pd.Series(in_meta, index=frame.index, dtype=bool)


def training_names(frame: pd.DataFrame, view: View, metas: Mapping[str, Mapping]) -> set[str]:
    """Task names detected as training: some task of the name has a ``detect_keys`` key in its
    progress meta or its result (a bare progress key is not enough). Every task of such a
    name is a training job, in whatever state (see ``training_jobs_frame``)."""
    return set(frame.loc[_detected(frame, view, metas), "name"].dropna())


def training_jobs_frame(
    frame: pd.DataFrame,
    view: View,
    metas: Mapping[str, Mapping],
    now: datetime,
    names: Iterable[str] = (),
) -> pd.DataFrame:
    """One row per training job: a task the rules take, or any task of a name detected as
    training here (``training_names``) or before (``names``), whatever its state.

    ``metas`` are backend records by task id; give a finished task's last progress record
    (``MetaCache.progress``): its final record no longer holds the meta.

    Columns: model, name, state, progress (percent), loss, accuracy, runtime (s, finished),
    elapsed (s, running), eta (s), gpu, worker, queue, started, finished, source (where
    progress/loss/accuracy came from: result, backend (the last progress meta read), or
    "not observed" when the console never saw them), uuid.
    """
    jobs = _jobs(frame, view, metas, names)
    states = effective_states(jobs)
    chosen, source = _job_numbers(jobs, states, view, metas)
    progress = chosen["progress"].mask(states == "SUCCESS", 100.0)
    elapsed = (pd.Timestamp(now) - jobs["started"]).dt.total_seconds()
    running = is_running(jobs, states)
    out = pd.DataFrame(
        {
            "model": extract_ids(jobs, view.ids, metas),
            "name": jobs["name"],
            "state": states,
            "progress": progress,
            "loss": chosen["loss"],
            "accuracy": chosen["accuracy"],
            "runtime": jobs["duration"],
            "elapsed": elapsed.where(running),
            "eta": eta_seconds(elapsed, progress).where(running),
            "gpu": extract_ids(jobs, view.gpu, metas),
            "worker": jobs["worker"],
            "queue": jobs["queue"],
            "started": jobs["started"],
            "finished": finished_at(jobs),
            "source": source,
            "uuid": jobs["uuid"],
        }
    )
    return out.sort_values("started", ascending=False, na_position="first").reset_index(drop=True)


def _jobs(
    frame: pd.DataFrame, view: View, metas: Mapping[str, Mapping], names: Iterable[str]
) -> pd.DataFrame:
    """The view's jobs: tasks its rules take, and every task of a name detected as training
    in this frame or before (``names``)."""
    detected = _detected(frame, view, metas)
    known = set(frame.loc[detected, "name"].dropna()) | set(names)
    named = frame["name"].isin(list(known)).fillna(False).astype(bool)
    return frame[view.mask(frame) | detected | named].copy()


def _job_numbers(
    jobs: pd.DataFrame, states: pd.Series, view: View, metas: Mapping[str, Mapping]
) -> tuple[pd.DataFrame, pd.Series]:
    """Each job's progress, loss and accuracy, each from its result (successes), else from
    its last progress meta read; and where they came from: result, backend or not observed."""
    results = literal_dicts(jobs["result"].where(states == "SUCCESS").astype("string"))
    live = [progress_meta(metas.get(u)) or {} for u in jobs["uuid"]]
    keys = {"progress": view.progress_key, "loss": view.loss_key, "accuracy": view.accuracy_key}
    final = pd.DataFrame({c: numbers_of(results, k) for c, k in keys.items()})
    last = pd.DataFrame({c: numbers_of(live, k) for c, k in keys.items()})
    final, last = final.set_axis(jobs.index), last.set_axis(jobs.index)
    source = np.select(
        [final.notna().any(axis=1), last.notna().any(axis=1)], ["result", "backend"], NOT_OBSERVED
    )
    chosen = final.combine_first(last)  # each number from the result, else the last meta
    return chosen, pd.Series(source, index=jobs.index, dtype="string")


def training_kpis(jobs: pd.DataFrame, start: datetime, end: datetime) -> dict:
    """active (running now), completed and failed (finished in range), avg_training_time
    (mean runtime of those completed, s) and best_accuracy (of those completed); None if none."""
    in_range = jobs["finished"].between(pd.Timestamp(start), pd.Timestamp(end)).fillna(False)
    completed = jobs[in_range & (jobs["state"] == "SUCCESS")]
    runtime, accuracy = completed["runtime"].dropna(), completed["accuracy"].dropna()
    return {
        "active": int(jobs["elapsed"].notna().sum()),
        "completed": len(completed),
        "failed": int((in_range & (jobs["state"] == "FAILURE")).sum()),
        "avg_training_time": float(runtime.mean()) if len(runtime) else None,
        "best_accuracy": float(accuracy.max()) if len(accuracy) else None,
    }


def training_cards(
    kpi: dict, span: str, seconds: Callable[[float | None], str]
) -> dict[str, object]:
    """The training view's KPI cards in screen order, label → shown value (None when unknown);
    ``seconds`` formats the average training time as every duration on screen is."""
    best = kpi["best_accuracy"]
    return {
        "Active jobs": kpi["active"],
        f"Completed · {span}": kpi["completed"],
        f"Failed · {span}": kpi["failed"],
        "Avg training time": seconds(kpi["avg_training_time"]),
        "Best accuracy": None if best is None else f"{best:.4f}",
    }
