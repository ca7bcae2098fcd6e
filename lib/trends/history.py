"""A range's analytics from the store: raw task rows for a short range, rollups for a long one.

The rule (``plan``). A range of at most ``EXACT_SPAN`` (24 h: the Overview's, Trends' "Last 24
hours") reads raw rows wherever they are all held — exact percentiles — and rollups before.
A longer range reads its finished tasks from the rollups up to the last whole minute before its
end (``split``), and raw rows only for that tail and for unfinished tasks: a week of rollups is
read per hour (``lib.store.hourly``), a week of raw rows would be a week of tasks.

The honest rule. Retention deletes a raw SUCCESS row once its last event (``last_at``) is older
than ``OPS_RETENTION_SUCCESS_DAYS``; every other row, and the per-minute rollups of every
finished task, stay ``OPS_RETENTION_DAYS``. A success's finish is never after its last event
(the succeeded event is one of its events), so every success placed at or after
``now − success_days`` is still held raw. ``raw_from`` is that moment rounded up to a whole
minute (the rollups' grain): the ``split`` of a range is ``raw_from`` clamped into it.

A long range's ``split`` is the later of its end's whole minute and ``raw_from`` (clamped into
the range), so its raw tail is always held.

- Finished tasks placed before ``split`` are counted from the rollups (exact: every finished
  task is in them), those placed from ``split`` on from the raw rows; unfinished tasks always
  from the raw rows (they are kept). So counts — tasks, states, failure rate, per bucket, name,
  queue and worker — are exact over the whole range.
- A range with a rollup part is shown from the whole minute its start falls in (``Plan.start``;
  rollups have no finer grain); a range held raw entirely is shown exactly as asked.
- Percentiles, means and maxima are exact (numpy's linear rule on the raw runs) when the range
  has no rollup part; otherwise they are estimated from log-scale histograms (the rollups'
  before ``split``, the raw runs' from it) within ``lib.store.histogram.RELATIVE_ERROR``.
- Worker usage over a rollup part adds the usage rollups' runs, runtime and busy seconds
  (``lib.store.usage``) to the raw rows': a task finished before ``split`` counts its whole busy
  time at its finish (the rollups keep no start), raw rows the part inside the range. A store
  whose raw successes were pruned before it had usage rollups (migration step 10) has them whole
  only from ``usage_from``: busy time, utilization and avg runtime then cover ``busy_from`` on
  (``RangeAnalytics.busy_from``); processed and failed always cover the whole range.
- Worker usage also counts the busy time inside the range of the tasks running now that were
  placed before it (``Sources.running``: received before the range, not in its window), so a
  job started yesterday and running still is busy all of the last hour; they add nothing else.

A rollup row enters a window as one row with ``weight`` tasks and ``rolled`` True; the trend
functions count rows by their weight (``lib.trends.window.weights``). The rollups are read by
one key at a time (``GROUPINGS``: state; name, queue or worker with the state), one window each,
so a window holds about buckets × values rows, not one per task. Pure: frames in, frames out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from lib.trends.buckets import UNKNOWN, bucket_size
from lib.trends.estimates import (
    HISTOGRAM_COLUMNS,
    estimated_stats,
    estimated_trend_of,
    histogram_of,
    top_subjects,
)
from lib.trends.latency import (
    queue_wait_frame,
    runtime_percentiles_frame,
    runtime_trend_frame,
)
from lib.trends.throughput import state_trend_frame, trend_frame
from lib.trends.usage import busy_seconds, run_sums, usage_frame, worker_usage_frame
from lib.trends.window import FINISH_COLUMNS, check_range, run_mask, window_frame, window_summary

__all__ = [
    "COUNT_KEYS",
    "EXACT_SPAN",
    "GROUPINGS",
    "TOP",
    "Plan",
    "RangeAnalytics",
    "RuntimeHistograms",
    "Sources",
    "analyze",
    "busy_from",
    "combined_windows",
    "plan",
    "raw_from",
    "raw_window",
    "runtime_subjects",
]

DAY = 86400.0
MINUTE = 60
#: Named groups in the breakdowns and the runtime trend; the rest add up to "(other)".
TOP = 5
#: What the rollup counts a window reads are grouped by (``lib.store.rollups.COUNT_KEYS``).
COUNT_KEYS = ("name", "queue", "worker", "state")
#: The rollup groupings a rolled range reads, by what they serve: totals and the state trend;
#: the per-name trend and table; the per-queue trend; worker usage.
GROUPINGS = {
    "state": ("state",),
    "name": ("name", "state"),
    "queue": ("queue", "state"),
    "worker": ("worker", "state"),
}
#: The longest range read raw where raw rows are held (exact percentiles).
EXACT_SPAN = timedelta(hours=24)


def raw_from(now: float, success_days: float) -> float:
    """From when every raw success is held (epoch s): ``now − success_days``, up to a minute."""
    return math.ceil((now - success_days * DAY) / MINUTE) * MINUTE


@dataclass(frozen=True)
class Plan:
    """How a range is read: shown ``[start, end)``; finished tasks before ``split`` from rollups."""

    start: datetime
    end: datetime
    split: datetime
    asked: datetime  # the range's start as asked (``start`` may be its whole minute)

    @property
    def rolled(self) -> bool:
        """Whether part of the range comes from the rollups (percentiles then estimated)."""
        return self.split > self.start

    @property
    def step_minutes(self) -> int:
        """The bucket width in minutes: rollups are read already summed per bucket."""
        return int(bucket_size(self.start, self.end).total_seconds() // MINUTE)


def plan(start: datetime, end: datetime, held_raw_from: float) -> Plan:
    """The plan for ``[start, end)`` when raw successes are all held from ``held_raw_from``."""
    check_range(start, end)
    held = datetime.fromtimestamp(held_raw_from, UTC)
    if end - start > EXACT_SPAN:  # the tail from the end's whole minute, when held raw
        held = max(held, pd.Timestamp(end).floor("1min").to_pydatetime())
    split = min(max(held, start), end)
    if split <= start:
        return Plan(start, end, start, start)
    shown = pd.Timestamp(start).floor("1min").to_pydatetime()
    return Plan(shown, end, split, start)


def busy_from(p: Plan, usage_from: float | None) -> datetime:
    """From when a plan's busy time is covered: its start, unless the usage rollups are whole
    only from ``usage_from`` (epoch s, ``Store.usage_from``), later: then that, up to ``split``."""
    if not p.rolled or usage_from is None:
        return p.start
    return min(max(datetime.fromtimestamp(usage_from, UTC), p.start), p.split)


@dataclass(frozen=True)
class RuntimeHistograms:
    """A rolled range's runtime histograms over ``[start, split)`` as the store sums them
    (``Store.histogram_sums`` frames): by name over the whole part (``sums``), per bucket over
    every name (``overall``), per bucket for the names its trend shows (``top``: at least
    ``runtime_subjects``)."""

    sums: pd.DataFrame
    overall: pd.DataFrame
    top: pd.DataFrame


@dataclass(frozen=True)
class Sources:
    """What the store gave for a plan: raw rows placed in ``[start, end)`` (a tasks frame), and
    for ``[start, split)`` the rollup counts by each of ``GROUPINGS`` (by its name, per bucket:
    ``Store.rollup_counts`` frames), the runtime histograms (``RuntimeHistograms``) and the wait
    histograms by queue (``Store.histogram_sums``); for ``[busy_from, split)`` the usage
    rollups by worker (``Store.worker_usage``)."""

    raw: pd.DataFrame
    counts: dict[str, pd.DataFrame]
    runtime: RuntimeHistograms
    waits: pd.DataFrame
    usage: pd.DataFrame | None = None
    busy_from: datetime | None = None  # None: the plan's start
    running: pd.DataFrame | None = (
        None  # running now, placed before the start (``Store.running_before``)
    )


@dataclass(frozen=True)
class RangeAnalytics:
    """Everything the analytics pages show for one range (see the module docstring)."""

    plan: Plan
    window: pd.DataFrame  # by state (rollup rows carry no name, queue or worker when rolled)
    totals: dict
    state_trend: pd.DataFrame
    trend: pd.DataFrame
    by_name: pd.DataFrame
    by_queue: pd.DataFrame
    names: pd.DataFrame
    runtime_trend: pd.DataFrame
    waits: pd.DataFrame
    usage: pd.DataFrame
    runtime: dict  # over every run: runs, mean, p95 (None when no run)
    busy_from: datetime  # busy time, utilization and avg runtime cover from here (``busy_from``)

    @property
    def estimated(self) -> bool:
        return self.plan.rolled


def analyze(
    sources: Sources, p: Plan, workers: pd.DataFrame | None = None, top: int = TOP
) -> RangeAnalytics:
    """The range's analytics (trend frames as ``lib.trends`` builds them)."""
    windows = combined_windows(sources, p)
    window = windows["state"]
    size = bucket_size(p.start, p.end)
    start, end = p.start, p.end
    if p.rolled:
        runtime, wait_hist = _histograms(window, sources)
        names = _estimated_names(runtime_percentiles_frame(windows["name"]), runtime.sums)
        subjects = top_subjects(runtime.sums, top)
        runtime_trend = estimated_trend_of(
            runtime.top, runtime.overall, subjects, (start, end, size)
        )
        waits = _estimated_waits(wait_hist)
        overall = _overall(estimated_stats(runtime.sums.assign(subject="")))
    else:
        names = runtime_percentiles_frame(window)
        runtime_trend = runtime_trend_frame(window, start, end, size, top=top)
        waits = queue_wait_frame(window)
        overall = _exact_overall(window)
    return RangeAnalytics(
        plan=p,
        window=window,
        totals=window_summary(window),
        state_trend=state_trend_frame(window, start, end, size),
        trend=trend_frame(window, start, end, size),
        by_name=trend_frame(windows["name"], start, end, size, by="name", top=top),
        by_queue=trend_frame(windows["queue"], start, end, size, by="queue", top=top),
        names=names,
        runtime_trend=runtime_trend,
        waits=waits,
        usage=_usage(windows["worker"], p, workers, sources),
        runtime=overall,
        busy_from=sources.busy_from or p.start,
    )


def combined_windows(sources: Sources, p: Plan) -> dict[str, pd.DataFrame]:
    """One window per grouping: the raw rows' (minus finished ones before ``split``) + that
    grouping's rollup rows; a range held raw has a single window."""
    raw = raw_window(sources.raw, p)
    if not p.rolled:
        return dict.fromkeys(GROUPINGS, raw)
    return {key: _with_rollups(raw, sources.counts[key]) for key in GROUPINGS}


def raw_window(raw: pd.DataFrame, p: Plan) -> pd.DataFrame:
    """The raw rows' window, weighted one each, without the finished tasks placed before
    ``split`` (the rollups count those)."""
    raw = window_frame(raw, p.start, p.end)
    raw["weight"] = np.ones(len(raw), dtype="int64")
    raw["rolled"] = np.zeros(len(raw), dtype=bool)
    if not p.rolled:
        return raw
    finished = raw["state"].isin(list(FINISH_COLUMNS)).to_numpy(bool, na_value=False)
    early = (raw["at"] < pd.Timestamp(p.split)).to_numpy(bool, na_value=False)
    return raw[~(finished & early)]


def runtime_subjects(raw: pd.DataFrame, sums: pd.DataFrame, p: Plan, top: int = TOP) -> list[str]:
    """The names a rolled range's runtime trend shows (the ``top`` with most runs: the stored
    ``sums`` by name plus the raw rows' runs), as the store keys them (``(unknown)`` is also
    ``''``): the names ``RuntimeHistograms.top`` must hold."""
    window = raw_window(raw, p)
    labels = top_subjects(_joined(_labelled(sums), _raw_runs(window)), top)
    return sorted({*labels, *([""] if UNKNOWN in labels else [])})


def _with_rollups(window: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    rolled = window.iloc[:0].reindex(range(len(counts)))
    for key in COUNT_KEYS:
        if key in counts:
            rolled[key] = counts[key].replace("", pd.NA).to_numpy()
    rolled["at"] = counts["at"].to_numpy()
    rolled["weight"] = counts["tasks"].to_numpy(dtype="int64")
    rolled["rolled"] = True
    return pd.concat([window, rolled.astype(window.dtypes.to_dict())], ignore_index=True)


def _raw_rows(window: pd.DataFrame) -> pd.DataFrame:
    return window[~window["rolled"].to_numpy(bool)]


def _raw_runs(raw: pd.DataFrame) -> pd.DataFrame:
    """The raw rows' runs as a runtime histogram frame (by name)."""
    runs = raw[run_mask(raw)]
    return histogram_of(runs["at"], runs["name"], runs["duration"])


def _histograms(window: pd.DataFrame, sources: Sources) -> tuple[RuntimeHistograms, pd.DataFrame]:
    """Runtime (by name) and wait (by queue) histograms of the whole range: the rollups' before
    ``split``, the raw rows' (the runs, and every task with a wait) from it."""
    raw = _raw_rows(window)
    runs = _raw_runs(raw)
    waits = histogram_of(raw["at"], raw["queue"], raw["wait"])
    stored = sources.runtime
    runtime = RuntimeHistograms(
        sums=_joined(_labelled(stored.sums), runs),
        overall=_joined(stored.overall, runs),
        top=_joined(_labelled(stored.top), runs),
    )
    return runtime, _joined(_labelled(sources.waits), waits)


def _joined(stored: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """The stored rows and the raw ones (their columns only: a sum has no time or name)."""
    raw = raw[list(stored.columns)]
    # An empty part (a raw tail with no run) would turn the joined times' dtype to object.
    parts = [part for part in (stored, raw) if len(part)]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts or [stored])[0]


def _labelled(histograms: pd.DataFrame) -> pd.DataFrame:
    """A store histogram frame with its missing subject (``''``) as ``(unknown)``."""
    out = histograms[[c for c in HISTOGRAM_COLUMNS if c in histograms]].copy()
    out["subject"] = out["subject"].replace("", UNKNOWN).astype(str)
    return out


def _estimated_names(names: pd.DataFrame, runtime_hist: pd.DataFrame) -> pd.DataFrame:
    """``runtime_percentiles_frame`` with its runtime statistics estimated from histograms."""
    stats = estimated_stats(runtime_hist)
    columns = list(stats.columns)
    out = names.drop(columns=columns).join(stats, on="name")
    out["runs"] = out["runs"].fillna(0).astype("int64")
    out["busy_seconds"] = out["busy_seconds"].fillna(0.0)
    return out[list(names.columns)]


def _estimated_waits(wait_hist: pd.DataFrame) -> pd.DataFrame:
    """``queue_wait_frame``'s columns, estimated from the wait histograms."""
    stats = estimated_stats(wait_hist).rename(columns={"runs": "tasks"})
    stats = stats.rename_axis("queue").reset_index()
    stats = stats.sort_values(["tasks", "queue"], ascending=[False, True], kind="stable")
    return stats.reset_index(drop=True)[["queue", "tasks", "mean", "p50", "p95", "p99", "max"]]


def _overall(stats: pd.DataFrame) -> dict:
    if stats.empty or not stats["runs"].iloc[0]:
        return {"runs": 0, "mean": None, "p95": None}
    row = stats.iloc[0]
    return {"runs": int(row["runs"]), "mean": float(row["mean"]), "p95": float(row["p95"])}


def _exact_overall(window: pd.DataFrame) -> dict:
    durations = window.loc[run_mask(window), "duration"].astype("float64")
    if durations.empty:
        return {"runs": 0, "mean": None, "p95": None}
    return {
        "runs": len(durations),
        "mean": float(durations.mean()),
        "p95": float(durations.quantile(0.95)),
    }


def _usage(
    window: pd.DataFrame, p: Plan, workers: pd.DataFrame | None, sources: Sources
) -> pd.DataFrame:
    """``worker_usage_frame``; with a rollup part, the raw rows' figures plus the usage
    rollups' from ``busy_from``, processed / failed counted over the whole range."""
    raw = _raw_rows(window)
    start = sources.busy_from or p.start
    carried = _carried_busy(sources.running, start, p.end)
    if not p.rolled:
        return worker_usage_frame(raw, p.start, p.end, workers, raw, carried)
    rolled = _rolled_usage(sources.usage)
    runs = run_sums(raw).add(rolled[["runs", "runtime"]], fill_value=0)
    busy = busy_seconds(raw, start, p.end).add(rolled["busy_seconds"], fill_value=0)
    busy = busy.add(carried, fill_value=0)
    done = _weighted_counts(window)
    done["avg_runtime"] = runs["runtime"] / runs["runs"].where(runs["runs"] > 0)
    return usage_frame(done, busy, start, p.end, workers)


def _carried_busy(running: pd.DataFrame | None, start: datetime, end: datetime) -> pd.Series:
    """By worker, the busy seconds in ``[start, end)`` of the tasks running since before it."""
    if running is None or running.empty:
        return pd.Series(dtype="float64")
    return busy_seconds(running, start, end)


def _rolled_usage(usage: pd.DataFrame | None) -> pd.DataFrame:
    """A ``Store.worker_usage`` frame indexed by worker, its missing worker as ``(unknown)``."""
    columns = ["runs", "runtime", "busy_seconds"]
    if usage is None or usage.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    hosts = usage["worker"].replace("", UNKNOWN).astype(str)
    return usage[columns].groupby(hosts.to_numpy()).sum()


def _weighted_counts(window: pd.DataFrame) -> pd.DataFrame:
    """By worker, processed and failed: raw rows and rollup rows counted by their weight."""
    finished = window[window["state"].isin(["SUCCESS", "FAILURE"]).to_numpy(bool, na_value=False)]
    hosts = finished["worker"].fillna(UNKNOWN).astype(str).to_numpy()
    failed = (finished["state"] == "FAILURE").to_numpy(bool)
    return pd.DataFrame(
        {
            "processed": finished["weight"].groupby(hosts).sum(),
            "failed": finished["weight"].where(failed, 0).groupby(hosts).sum(),
        }
    ).astype("int64")
