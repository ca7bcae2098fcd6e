"""The pipeline view: stages of each pipeline, pipelines with their health, stages across them.

Pure: a tasks frame (``frames.tasks_frame``) and the view in, frames out; no I/O.

Definitions and invariants:

* A pipeline is the tasks sharing a pipeline id: a strong id source (a ``pipeline_id``
  kwarg or result key by default) first, shared along a chain by root id, else a weak one
  (the root id). With ``detect``, a name carrying the id is a stage in every state.
* A stage is the first configured stage whose patterns match the task's name, else the
  name's last dotted part. Configured stages come first, in file order.
* A configured stage without a task says why: NOT RUN (an earlier stage failed or was
  revoked), WAITING (the pipeline still runs) or MISSING (Flower does not hold it).
* Success rate = SUCCESS ÷ (SUCCESS + FAILURE) of a pipeline's finished tasks (the
  complement of the error rate in ``lib.workflows.lifecycle``), judged exact and shown to
  one decimal; health is healthy ≥ ``healthy``, degraded ≥ ``degraded``, else unhealthy,
  unknown when nothing finished. Percentiles use pandas' linear interpolation.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from lib.workflows.config import View
from lib.workflows.lifecycle import FINAL, effective_states, error_rates, finished_at, rollup_by
from lib.workflows.literals import extract_ids, literal_dicts, numbers_of

__all__ = [
    "STAGE_COLUMNS",
    "health",
    "pipeline_kpis",
    "pipeline_stages_frame",
    "pipelines_frame",
    "stage_summary_frame",
]

#: Columns of ``pipeline_stages_frame``, in order.
STAGE_COLUMNS = ["pipeline", "stage", "stage_order", "uuid", "name", "state", "worker"]
STAGE_COLUMNS += ["started", "finished", "runtime", "records", "errors", "root_id"]
#: Id sources every task has: used only for tasks no other source names.
WEAK_IDS = ("root", "uuid")


def _pipeline_ids(frame: pd.DataFrame, view: View, strong: pd.Series) -> pd.Series:
    """Strong ids (kwarg, result...) first, shared along a chain by root id, then the rest."""
    by_root = strong.groupby(frame["root_id"]).first()
    ids = strong.fillna(frame["root_id"].map(by_root).astype("string"))
    return ids.fillna(extract_ids(frame, [s for s in view.ids if s.kind in WEAK_IDS]))


def _stage_of(names: pd.Series, view: View) -> pd.Series:
    """Each task name's stage: the first configured stage whose patterns match it, else the
    name's last dotted part ("?" without a name)."""

    def stage(name: object) -> str:
        if not isinstance(name, str):
            return "?"
        hit = next((s for s, pats in view.stages if any(p.matches(name) for p in pats)), None)
        return hit or name.rsplit(".", 1)[-1]

    return names.map({n: stage(n) for n in names.dropna().unique()}).fillna("?")


def pipeline_stages_frame(
    frame: pd.DataFrame, view: View, start: datetime | None = None, end: datetime | None = None
) -> pd.DataFrame:
    """One row per pipeline task, plus one per configured stage a pipeline has no task for.

    Pipelines with no activity in [start, end] (and nothing running) are left out. Columns:
    pipeline, stage, stage_order, uuid, name, state, worker, started, finished, runtime,
    records, errors (from the result's ``records_key`` / ``errors_key``), root_id. A stage
    without a task has state NOT RUN (an earlier stage failed), WAITING (the pipeline still
    runs) or MISSING (Flower does not hold it).
    """
    strong = extract_ids(frame, [s for s in view.ids if s.kind not in WEAK_IDS])
    tasks = frame[_members(frame, view, strong)]
    states = effective_states(tasks)
    results = literal_dicts(tasks["result"].where(states == "SUCCESS").astype("string"))
    rows = pd.DataFrame(
        {
            "pipeline": _pipeline_ids(tasks, view, strong[tasks.index]),
            "stage": _stage_of(tasks["name"], view),
            "uuid": tasks["uuid"],
            "name": tasks["name"],
            "state": states,
            "worker": tasks["worker"],
            "started": tasks["started"],
            "finished": finished_at(tasks),
            "runtime": tasks["duration"],
            "records": numbers_of(results, view.records_key).set_axis(tasks.index),
            "errors": numbers_of(results, view.errors_key).set_axis(tasks.index),
            "root_id": tasks["root_id"],
            "_last": tasks["timestamp"],
        }
    ).dropna(subset=["pipeline"])
    rows = _pipelines_in_range(rows, start, end)
    rows = pd.concat([rows, _absent_stages(rows, view)], ignore_index=True)
    rows["stage_order"] = _stage_order(rows, view)
    rows = rows.sort_values(["pipeline", "stage_order", "started"], na_position="last")
    return rows[STAGE_COLUMNS].reset_index(drop=True)


def _members(frame: pd.DataFrame, view: View, strong: pd.Series) -> pd.Series:
    """The view's pipeline tasks: its rules' and (detect) those carrying a pipeline id
    (``strong``), every task of such a name, and every task sharing a root with them."""
    members = view.mask(frame) | (strong.notna() if view.detect else False)
    if view.detect:
        # A name whose tasks carry the id is a stage in every state: a result key exists
        # only on success, so its failed, revoked and queued runs would otherwise vanish.
        members |= frame["name"].isin(frame.loc[strong.notna(), "name"].dropna()).fillna(False)
        members |= frame["root_id"].isin(frame.loc[members, "root_id"].dropna()).fillna(False)
    return members.astype(bool)


def _stage_order(rows: pd.DataFrame, view: View) -> pd.Series:
    """Each row's stage position: the configured stages in file order, then the stages no
    rule names, in the order they first started."""
    order = {s: i for i, (s, _) in enumerate(view.stages)}
    first = rows.groupby("stage")["started"].min().rank(method="first").to_dict()
    positions = [order.get(st, len(order) + first.get(st, np.nan)) for st in rows["stage"]]
    return pd.Series(positions, index=rows.index, dtype="float64")


def _pipelines_in_range(
    rows: pd.DataFrame, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    """The pipelines with a task active in [start, end] or unfinished (all without a range)."""
    if start is None or end is None:
        return rows.drop(columns="_last")
    recent = rows["_last"].between(pd.Timestamp(start), pd.Timestamp(end))
    live = recent | ~rows["state"].isin(FINAL)
    keep = live.fillna(False).groupby(rows["pipeline"]).transform("any")
    return rows[keep.astype(bool)].drop(columns="_last")


def _absent_stages(rows: pd.DataFrame, view: View) -> pd.DataFrame:
    """A row per (pipeline, configured stage) without a task, with why it has none."""
    order = {stage: i for i, (stage, _) in enumerate(view.stages)}
    pairs = pd.MultiIndex.from_product([rows["pipeline"].unique(), list(order)])
    seen = pd.MultiIndex.from_frame(rows[["pipeline", "stage"]])
    absent = pairs.difference(seen).to_frame(index=False, name=["pipeline", "stage"])
    stopped = rows[rows["state"].isin(["FAILURE", "REVOKED"])]
    stop_at = stopped["stage"].map(order).groupby(stopped["pipeline"]).min()
    waiting = (~rows["state"].isin(FINAL)).groupby(rows["pipeline"]).any()
    after_stop = absent["stage"].map(order) > absent["pipeline"].map(stop_at).fillna(len(order))
    still_running = absent["pipeline"].map(waiting).fillna(False).astype(bool)
    absent["state"] = np.select([after_stop, still_running], ["NOT RUN", "WAITING"], "MISSING")
    return absent


def health(success_rate: float | None, view: View) -> str:
    """healthy / degraded / unhealthy by the view's thresholds; unknown when nothing finished."""
    if success_rate is None or pd.isna(success_rate):
        return "unknown"
    if success_rate >= view.healthy:
        return "healthy"
    return "degraded" if success_rate >= view.degraded else "unhealthy"


def pipelines_frame(stages: pd.DataFrame, view: View) -> pd.DataFrame:
    """One row per pipeline id, newest first.

    Columns: pipeline, state (rolled up), health, success_rate (%), tasks, succeeded,
    failed, failing_stage, records (of its last stage that reported some), started,
    finished, duration (s, finished pipelines).
    """
    tasks = stages[stages["uuid"].notna()]
    rates = error_rates(tasks, "pipeline")
    grouped = tasks.groupby("pipeline")
    last = tasks.dropna(subset=["records"]).sort_values("stage_order").groupby("pipeline")
    failing = tasks[tasks["state"] == "FAILURE"].sort_values("stage_order").groupby("pipeline")
    out = pd.DataFrame(
        {
            "state": rollup_by(tasks["state"], tasks["pipeline"]),
            "success_rate": 100 - rates["error_rate"],
            "tasks": grouped.size(),
            "succeeded": rates["succeeded"],
            "failed": rates["failed"],
            "failing_stage": failing["stage"].first(),
            "records": last["records"].last(),
            "started": grouped["started"].min(),
            "finished": grouped["finished"].max(),
        }
    )
    out.insert(1, "health", out["success_rate"].map(lambda r: health(r, view)))
    out["success_rate"] = out["success_rate"].round(1)  # judged exact, shown to one decimal
    out["finished"] = out["finished"].where(~out["state"].isin(["RUNNING", "PENDING"]))
    out["duration"] = (out["finished"] - out["started"]).dt.total_seconds()
    out = out.rename_axis("pipeline").reset_index()
    return out.sort_values("started", ascending=False, na_position="first").reset_index(drop=True)


def pipeline_kpis(pipelines: pd.DataFrame) -> dict[str, int]:
    """pipelines, and how many are healthy, degraded and unhealthy (from ``pipelines_frame``)."""
    levels = {
        h: int((pipelines["health"] == h).sum()) for h in ("healthy", "degraded", "unhealthy")
    }
    return {"pipelines": len(pipelines), **levels}


def stage_summary_frame(stages: pd.DataFrame) -> pd.DataFrame:
    """One row per stage across pipelines, in pipeline order.

    Columns: stage, tasks, succeeded, failed, error_rate (%), not_run (pipelines without a
    task for it), avg_runtime, p95_runtime (s), records, errors (sums).
    """
    tasks = stages[stages["uuid"].notna()]
    grouped = tasks.groupby("stage")
    out = pd.DataFrame(
        {
            "order": stages.groupby("stage")["stage_order"].min(),
            "tasks": grouped.size(),
            **error_rates(tasks, "stage"),
            "not_run": stages["uuid"].isna().groupby(stages["stage"]).sum(),
            "avg_runtime": grouped["runtime"].mean(),
            "p95_runtime": grouped["runtime"].quantile(0.95),
            "records": grouped["records"].sum(min_count=1),
            "errors": grouped["errors"].sum(min_count=1),
        }
    )
    out["tasks"] = out["tasks"].fillna(0).astype(int)
    out["error_rate"] = out["error_rate"].round(1)
    out = out.sort_values("order").drop(columns="order")
    return out.rename_axis("stage").reset_index()
