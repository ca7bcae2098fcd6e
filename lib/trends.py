"""Trends over a time range: tasks per bucket, throughput, failure rate, latency, queue wait, workers.

Every function is pure: a tasks frame (``frames.tasks_frame``) or a window of it in, a frame
out, the range ``[start, end)`` passed in as UTC datetimes. Nothing reads the clock.

Which time places a task (``placed_at``): a task in a final state is placed at its finish,
``succeeded`` / ``failed`` / ``revoked`` / ``rejected`` for SUCCESS / FAILURE / REVOKED /
REJECTED (``timestamp``, Flower's time of the task's last event, when that column is
missing); any other task — pending, received, started, retried, custom or unknown states —
is placed at ``received``, else ``timestamp``, else ``sent``. A task with none of these times
cannot be placed and is in no range. So "failures in the last hour" means tasks that failed in
the last hour, whenever they were sent.

Invariants:

- A window holds exactly the tasks placed in ``[start, end)``; bucket counts of a window sum
  to its length, and every bucket of the range is present (empty ones count 0).
- Buckets are ``bucket_size(start, end)`` wide, their edges whole multiples of the size since
  the Unix epoch (UTC). The first and last bucket may be cut by the range: rates divide by the
  ``seconds`` of the bucket inside the range, never by the full bucket width.
- Error rate = FAILURE ÷ (SUCCESS + FAILURE), a percent, NaN where nothing finished.
- Runtime is the frame's ``duration`` (Flower's ``runtime`` for successes, ``failed − started``
  for failures), over SUCCESS and FAILURE tasks; wait is the frame's ``wait`` (``started −
  sent``, else ``started − received``; negative when the hosts' clocks disagree, kept as is).
- Percentiles use linear interpolation between the two nearest ranks (pandas' default,
  numpy's ``"linear"`` method), over the values that are not NaN.
- A missing name or queue is the label ``(unknown)``; a missing state is ``UNKNOWN``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

__all__ = [
    "ALL",
    "BUCKET_SIZES",
    "OTHER",
    "UNKNOWN",
    "WINDOW_COLUMNS",
    "bucket_counts",
    "bucket_label",
    "bucket_size",
    "bucket_starts",
    "held_since",
    "placed_at",
    "queue_wait_frame",
    "runtime_percentiles_frame",
    "runtime_trend_frame",
    "state_trend_frame",
    "top_names_frame",
    "trend_frame",
    "window_frame",
    "window_summary",
    "worker_usage_frame",
]

#: The bucket widths a range may get: the smallest one that keeps the range within MAX_BUCKETS.
BUCKET_SIZES = tuple(pd.Timedelta(s) for s in ("1min", "5min", "15min", "1h", "6h", "1D", "7D"))
#: About as many bars as a wide chart shows legibly (7 days at 1 h is 168).
MAX_BUCKETS = 200
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
#: The label of a missing name or queue, and of the rest beyond the top N.
UNKNOWN = "(unknown)"
OTHER = "(other)"
ALL = "(all)"
QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
#: The frames' one time unit (lib/frames.py): casting to it keeps masks and fills from mixing units.
UTC_TIME = "datetime64[us, UTC]"


def bucket_size(start: datetime, end: datetime) -> pd.Timedelta:
    """The bucket width for a range: 1 min for an hour, 5 min for 6 h, ... 1 h for 7 days."""
    span = pd.Timestamp(end) - pd.Timestamp(start)
    for size in BUCKET_SIZES:
        if span / size <= MAX_BUCKETS:
            return size
    return BUCKET_SIZES[-1]


def bucket_label(size: timedelta) -> str:
    """``"1 min"``, ``"15 min"``, ``"1 h"``, ``"1 d"`` — a bucket width as the page says it."""
    seconds = int(pd.Timedelta(size).total_seconds())
    for unit, name in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds % unit == 0:
            return f"{seconds // unit} {name}"
    return f"{seconds} s"


def placed_at(tasks: pd.DataFrame) -> pd.Series:
    """The time that places each task in a range (see the module docstring); NaT if none."""
    state = tasks["state"]
    last_event = _times(tasks["timestamp"])
    at = _first_known(_times(tasks["received"]), last_event, _times(tasks["sent"]))
    for final, column in FINISH_COLUMNS.items():
        is_state = (state == final).to_numpy(bool, na_value=False)
        at[is_state] = _first_known(_times(tasks[column])[is_state], last_event[is_state])
    return _utc_series(at, tasks.index)


def window_frame(tasks: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """The tasks placed in ``[start, end)``: the ``WINDOW_COLUMNS`` of a tasks frame + ``at``."""
    _check_range(start, end)
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


def window_summary(window: pd.DataFrame) -> dict:
    """Totals of a window: tasks, succeeded, failed, finished and failure_rate (percent or None)."""
    succeeded = int((window["state"] == "SUCCESS").sum())
    failed = int((window["state"] == "FAILURE").sum())
    finished = succeeded + failed
    return {
        "tasks": len(window),
        "succeeded": succeeded,
        "failed": failed,
        "finished": finished,
        "failure_rate": 100.0 * failed / finished if finished else None,
    }


def state_trend_frame(
    window: pd.DataFrame, start: datetime, end: datetime, size: timedelta
) -> pd.DataFrame:
    """Tasks per bucket and state. Columns: bucket (UTC start), state, tasks.

    One row per bucket of the range and per state seen in the window (zeros included), states
    in ``STATE_ORDER`` then alphabetically; no rows at all for an empty window.
    """
    states = window["state"].fillna("UNKNOWN").astype(str)
    seen = _ordered_states(states.unique())
    counts = bucket_counts(window["at"], states, seen, start, end, size)
    return counts.rename(columns={"label": "state", "count": "tasks"})


def bucket_counts(
    times: pd.Series,
    labels: pd.Series,
    order: list[str],
    start: datetime,
    end: datetime,
    size: timedelta,
) -> pd.DataFrame:
    """Rows per bucket of the range and label. Columns: bucket (UTC start), label, count.

    Every bucket × every label of ``order`` (in that order), zeros included; a row whose label
    is not in ``order``, or whose time is NaT or in no bucket, counts nowhere.
    """
    buckets = bucket_starts(start, end, size)
    positions = _bucket_positions(times, buckets, size)
    cells = _cells(positions, _codes(labels, order), len(order))
    return pd.DataFrame(
        {
            "bucket": buckets.repeat(len(order)),
            "label": _tiled(order, len(buckets)),
            "count": _cell_counts(cells, len(buckets) * len(order)),
        }
    )


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
        codes, order = _top_codes(window[by], top)
    state = window["state"]
    is_success = (state == "SUCCESS").to_numpy(bool, na_value=False)
    is_failure = (state == "FAILURE").to_numpy(bool, na_value=False)
    cells = _cells(_bucket_positions(window["at"], buckets, size), codes, len(order))
    total = len(buckets) * len(order)
    out = pd.DataFrame({"bucket": buckets.repeat(len(order))})
    if by is not None:
        out[by] = _tiled(order, len(buckets))
    seconds = _covered_seconds(buckets, start, end, size)
    out["seconds"] = seconds.repeat(len(order))
    out["tasks"] = _cell_counts(cells, total)
    out["succeeded"] = _cell_counts(cells[is_success], total)
    out["failed"] = _cell_counts(cells[is_failure], total)
    out["finished"] = out["succeeded"] + out["failed"]
    out["succeeded_per_s"] = out["succeeded"] / out["seconds"]
    out["failed_per_s"] = out["failed"] / out["seconds"]
    out["failure_rate"] = _percent(out["failed"], out["finished"])
    return out


def runtime_percentiles_frame(window: pd.DataFrame) -> pd.DataFrame:
    """Counts and runtime statistics per task name over the window, busiest first.

    Columns: name, tasks (placed in the window, any state), succeeded, failed, failure_rate
    (percent), runs (SUCCESS/FAILURE tasks with a runtime), mean, p50, p95, p99, max,
    busy_seconds (sum of runtimes). Runtime statistics are NaN for a name with no runs.
    """
    codes, names = _labelled(window["name"])
    state = window["state"]
    is_success = (state == "SUCCESS").to_numpy(bool, na_value=False)
    is_failure = (state == "FAILURE").to_numpy(bool, na_value=False)
    out = pd.DataFrame(
        {
            "name": names,
            "tasks": np.bincount(codes, minlength=len(names)),
            "succeeded": np.bincount(codes[is_success], minlength=len(names)),
            "failed": np.bincount(codes[is_failure], minlength=len(names)),
        }
    ).astype({"tasks": "int64", "succeeded": "int64", "failed": "int64"})
    out["failure_rate"] = _percent(out["failed"], out["succeeded"] + out["failed"])
    ran = _ran(window)
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
    positions = _bucket_positions(runs["at"], buckets, size)
    # Each run counts twice: in its name's cell (when among the top) and in "(all)"'s.
    named = _cells(positions, _codes(names, labels[:-1]), len(labels))
    overall = _cells(positions, np.full(len(runs), len(labels) - 1), len(labels))
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
            "name": _tiled(labels, len(buckets)),
            "runs": stats["runs"].fillna(0).astype("int64").to_numpy(),
            "p95": stats["p95"].to_numpy(),
        }
    )


def queue_wait_frame(window: pd.DataFrame) -> pd.DataFrame:
    """Queue wait statistics per queue over the window's tasks that have a wait.

    Columns: queue, tasks (with a wait), mean, p50, p95, p99, max (seconds); busiest first.
    """
    waits = window["wait"].to_numpy(dtype="float64", na_value=np.nan)
    codes, queues = _labelled(window["queue"])
    waited = ~np.isnan(waits)
    stats = _stats(waits[waited], codes[waited]).rename(columns={"runs": "tasks"})
    stats.insert(0, "queue", queues[stats.index])
    stats = stats.sort_values(["tasks", "queue"], ascending=[False, True], kind="stable")
    return stats.reset_index(drop=True)[["queue", "tasks", "mean", "p50", "p95", "p99", "max"]]


def worker_usage_frame(
    tasks: pd.DataFrame,
    start: datetime,
    end: datetime,
    workers: pd.DataFrame | None = None,
    window: pd.DataFrame | None = None,
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
    """
    _check_range(start, end)
    wall = (pd.Timestamp(end) - pd.Timestamp(start)).total_seconds()
    if window is None:
        window = window_frame(tasks, start, end)
    out = _processed(window).join(_busy_seconds(tasks, start, end), how="outer")
    out[["processed", "failed"]] = out[["processed", "failed"]].fillna(0).astype("int64")
    out["busy_seconds"] = out["busy_seconds"].fillna(0.0)
    out["utilization"] = 100.0 * out["busy_seconds"] / wall
    out["concurrency"] = _pool_sizes(workers).reindex(out.index).astype("Int64")
    out["pool_utilization"] = out["utilization"] / out["concurrency"].astype("float64")
    out = out.rename_axis("worker").reset_index()
    return out.sort_values("worker", kind="stable").reset_index(drop=True)


def _processed(window: pd.DataFrame) -> pd.DataFrame:
    codes, hosts = _labelled(window["worker"])
    ran = _ran(window)
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


def _busy_seconds(tasks: pd.DataFrame, start: datetime, end: datetime) -> pd.Series:
    finish = _first_known(*(_times(tasks[column]) for column in FINISH_COLUMNS.values()))
    waiting = tasks["state"].isin([*FINISH_COLUMNS, "RETRY"]).to_numpy(bool, na_value=False)
    finish[np.isnat(finish) & ~waiting] = _utc_micros(end)
    began = _times(tasks["started"])
    duration = tasks["duration"].to_numpy(dtype="float64", na_value=np.nan)
    guess = np.isnat(began) & ~np.isnan(duration)
    began[guess] = finish[guess] - np.round(duration[guess] * 1e6).astype("timedelta64[us]")
    lo = np.maximum(began, _utc_micros(start))  # NaT stays NaT
    hi = np.minimum(finish, _utc_micros(end))
    seconds = np.clip((hi - lo) / np.timedelta64(1, "s"), 0, None)
    known = ~np.isnan(seconds)
    codes, hosts = _labelled(tasks["worker"])
    busy = pd.Series(seconds[known]).groupby(codes[known]).sum()
    return busy.set_axis(hosts[busy.index]).rename("busy_seconds")


def _ran(window: pd.DataFrame) -> np.ndarray:
    """Which rows are runs: SUCCESS/FAILURE tasks with a runtime."""
    finished = window["state"].isin(["SUCCESS", "FAILURE"]).to_numpy(bool, na_value=False)
    return finished & window["duration"].notna().to_numpy(bool)


def _runs(window: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The runs (``_ran``): ``duration`` and the given columns only."""
    return window.loc[_ran(window), ["duration", *dict.fromkeys(columns)]]


def _labelled(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """A name/queue/worker column as codes into its distinct labels; missing is ``(unknown)``."""
    codes, labels = pd.factorize(column.fillna(UNKNOWN).astype(str))
    return codes, labels


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


def _times(column: pd.Series) -> np.ndarray:
    """A UTC time column as ``datetime64[us]`` values (NaT kept), to compute on in numpy."""
    return column.to_numpy(dtype="datetime64[us]")


def _utc_series(values: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(values).tz_localize("UTC"), index=index).astype(UTC_TIME)


def _first_known(*candidates: np.ndarray) -> np.ndarray:
    """Elementwise the first candidate time that is not NaT (a new array)."""
    out = candidates[0].copy()
    for more in candidates[1:]:
        gap = np.isnat(out)
        out[gap] = more[gap]
    return out


def _codes(labels: pd.Series, order: list[str]) -> np.ndarray:
    """Each label's position in ``order``; -1 for a label (or NA) not in it."""
    codes, uniques = pd.factorize(labels)  # the few distinct labels, then a lookup per row
    where = pd.Index(order, dtype=object).get_indexer(np.asarray(uniques, dtype=object))
    return np.append(where, -1)[codes]  # code -1 (NA) picks the appended -1


def _bucket_positions(times: pd.Series, buckets: pd.DatetimeIndex, size: timedelta) -> np.ndarray:
    """Each time's bucket as a position in ``buckets``; -1 for NaT or a time outside them.

    Buckets are consecutive and epoch-aligned, so the position is whole buckets since the
    first: the bucket a time floors to, without building a time per task.
    """
    values = _times(times)
    if not len(buckets):
        return np.full(len(values), -1, dtype="int64")
    first = buckets.to_numpy(dtype="datetime64[us]").astype("int64")[0]
    width = int(pd.Timedelta(size) / pd.Timedelta(1, "us"))
    positions = (values.astype("int64") - first) // width
    outside = np.isnat(values) | (positions < 0) | (positions >= len(buckets))
    positions[outside] = -1
    return positions


def _cells(positions: np.ndarray, codes: np.ndarray, width: int) -> np.ndarray:
    """Each row's (bucket, label) cell in bucket-major order; -1 where either is unknown."""
    return np.where((positions >= 0) & (codes >= 0), positions * width + codes, -1)


def _cell_counts(cells: np.ndarray, total: int) -> np.ndarray:
    """Rows per cell, every one of the ``total`` cells present (zeros included)."""
    return np.bincount(cells[cells >= 0], minlength=total).astype("int64")


def _tiled(labels: list[str], times: int) -> pd.api.extensions.ExtensionArray:
    """The labels repeated for every bucket, as the ``str`` column a grouped index gives."""
    return pd.array(np.tile(np.asarray(labels, dtype=object), times), dtype="str")


def _check_range(start: datetime, end: datetime) -> None:
    if pd.Timestamp(start).tzinfo is None or pd.Timestamp(end).tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC)")
    if not pd.Timestamp(start) < pd.Timestamp(end):
        raise ValueError(f"empty range: start {start} is not before end {end}")


def bucket_starts(start: datetime, end: datetime, size: timedelta) -> pd.DatetimeIndex:
    """The UTC start of every bucket that overlaps ``[start, end)``, oldest first."""
    first = pd.Timestamp(start).tz_convert("UTC").floor(size)
    last = (pd.Timestamp(end).tz_convert("UTC") - pd.Timedelta(1, "ns")).floor(size)
    return pd.date_range(first, last, freq=size, name="bucket").astype(UTC_TIME)


def _covered_seconds(
    buckets: pd.DatetimeIndex, start: datetime, end: datetime, size: timedelta
) -> np.ndarray:
    """Seconds of each bucket inside ``[start, end)``: the first and last may be cut."""
    starts = buckets.to_numpy(dtype="datetime64[us]")
    lo = np.maximum(starts, _utc_micros(start))
    hi = np.minimum(starts + pd.Timedelta(size).to_timedelta64(), _utc_micros(end))
    return ((hi - lo) / np.timedelta64(1, "s")).astype("float64")


def _utc_micros(moment: datetime) -> np.datetime64:
    return (
        pd.Timestamp(moment)
        .tz_convert("UTC")
        .tz_localize(None)
        .to_datetime64()
        .astype("datetime64[us]")
    )


def _top_codes(values: pd.Series, top: int) -> tuple[np.ndarray, list[str]]:
    """Each row's position in ``order``: the ``top`` labels with most rows, then ``(other)``.

    Ties go alphabetically; a missing value is ``(unknown)``; ``(other)`` holds every other
    row and is in ``order`` only when some row falls in it.
    """
    codes, uniques = pd.factorize(values)
    labels, merged = np.unique(
        np.array([*map(str, uniques), UNKNOWN], dtype=object), return_inverse=True
    )
    rows = merged[np.where(codes < 0, len(uniques), codes)]  # NA takes the appended UNKNOWN
    counts = np.bincount(rows, minlength=len(labels))
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


def _percent(part: pd.Series, whole: pd.Series) -> pd.Series:
    return (100.0 * part / whole.where(whole > 0)).astype("float64")
