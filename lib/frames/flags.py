"""Orphaned and stuck tasks: which running or waiting tasks need a person, and why.

Pure: frames in, a flags frame out, ``now`` (epoch s) passed in. The definitions are the
contract's (contract.md, Definitions):

- *orphaned*: running (STARTED or a custom state such as PROGRESS, ``frames.state.running``)
  on a worker that is offline, or whose current process came online after the task started
  (a restart under the same name). The process's start is the workers frame's ``up_since``:
  the time of Flower's inspect reply − the ``stats.uptime`` in it. Celery reports it
  directly, while heartbeats cannot tell a restart (Flower keeps only the last few per worker
  and no "online since"). ``now − uptime`` would be wrong: the inspect is refreshed about once
  a minute (``lib.readers.INSPECT_EVERY_SECONDS``), and a minute-old uptime read as now would
  make every task of that minute look older than its process. A stale inspect reply is of an
  older process or the same one, so a restart is seen up to a minute late, never invented;
  ``RESTART_GRACE`` covers the reply's own lag. A worker Flower does not list is not known to
  be offline: not flagged; nor is one whose liveness is unknown. Without ``up_since``
  (``./ops collect``'s samples keep none) only the offline rule applies.
- *stuck*: RECEIVED or STARTED for more than ``STUCK_TIMES`` × its name's p99 runtime over
  ``P99_DAYS`` days, when that p99 rests on at least ``STUCK_SAMPLES`` runs and the task has
  been in that state at least ``STUCK_MINIMUM`` s; a task whose ETA is in the future is not
  stuck. The clock starts at ``started`` for a STARTED task, else at the later of
  ``received`` and a past ETA (an ETA task waits on its worker by design until then).

A task has at most one flag: orphaned wins (its cause is known, and Retry accepts it).
Flags frame columns: uuid, flag, worker, since (UTC: when the worker went offline or came
back, or when the stuck clock started), cause (``offline`` | ``restarted`` | ``stuck``),
running_for, p99, threshold (seconds; NaN for an orphaned task).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import tzinfo

import numpy as np
import pandas as pd
from celery import states

from lib.frames.state import running
from lib.store.histogram import estimate_percentiles

__all__ = [
    "FLAGS",
    "FLAG_COLUMNS",
    "ORPHANED",
    "P99_DAYS",
    "P99_STEP_MINUTES",
    "STUCK",
    "STUCK_MINIMUM",
    "STUCK_SAMPLES",
    "STUCK_TIMES",
    "flag_column",
    "flag_counts",
    "flag_of",
    "flag_sentence",
    "flags_frame",
    "orphaned_frame",
    "runtime_p99_frame",
    "stuck_frame",
]

ORPHANED, STUCK = "orphaned", "stuck"
#: The flags, in the order the page offers them (``?flag=orphaned``, ``?flag=stuck``).
FLAGS = (ORPHANED, STUCK)
#: Stuck: more than this many times its name's p99 runtime (contract.md)...
STUCK_TIMES = 3.0
#: ... when that p99 rests on at least this many runs (fewer say little about a tail) ...
STUCK_SAMPLES = 20
#: ... and never before this long (s): a 2-second task 7 s in is slow, not stuck.
STUCK_MINIMUM = 300.0
#: Flower stamps an inspect reply when it lands, up to a broadcast's length after the worker
#: measured its uptime: a task started this soon after the computed start is not flagged.
RESTART_GRACE = pd.Timedelta(seconds=2)
#: The p99 is read over this many days of rollups ...
P99_DAYS = 7
#: ... summed by the database into buckets this long (a multiple of 60: whole hours come from
#: the hourly rollups), so it returns a row or two per name and histogram bucket, not one
#: per hour (at 100k tasks: 0.23 s a read, against 1.0 s from hour rows; bench/flags.py).
P99_STEP_MINUTES = P99_DAYS * 24 * 60
#: The states a stuck task is in (contract: RECEIVED/STARTED; a custom state is the task's
#: own progress report, so it is not judged by its name's runtime).
STUCK_STATES = (states.RECEIVED, states.STARTED)
FLAG_COLUMNS = (
    "uuid",
    "flag",
    "worker",
    "since",
    "cause",
    "running_for",
    "p99",
    "threshold",
)


def runtime_p99_frame(histograms: pd.DataFrame) -> pd.DataFrame:
    """Each task name's p99 runtime from runtime histograms (``Store.histograms("runtime")``:
    subject, bucket, tasks; any ``at``s summed). Columns: name, samples, p99 (s)."""
    if histograms.empty:
        return pd.DataFrame({"name": [], "samples": [], "p99": []}).astype(
            {"samples": "int64", "p99": "float64"}
        )
    summed = histograms.groupby(["subject", "bucket"], as_index=False)["tasks"].sum()
    rows = [
        (name, int(group["tasks"].sum()), _p99(zip(group["bucket"], group["tasks"], strict=True)))
        for name, group in summed.groupby("subject", sort=True)
    ]
    return pd.DataFrame(rows, columns=["name", "samples", "p99"])


def _p99(counts: Iterable[tuple[int, int]]) -> float:
    return estimate_percentiles(((int(b), int(n)) for b, n in counts), [99])[0]


def orphaned_frame(tasks: pd.DataFrame, workers: pd.DataFrame | None) -> pd.DataFrame:
    """The running ``tasks`` (a tasks frame) whose worker is offline or restarted since the task
    started, from a workers frame (``frames.workers_frame``; None: not read yet, none flagged)."""
    if workers is None or workers.empty or tasks.empty:
        return _empty()
    run = tasks[running(tasks["state"]).to_numpy(bool) & tasks["worker"].notna().to_numpy(bool)]
    known = workers.drop_duplicates("worker").set_index("worker")
    run = run[run["worker"].isin(known.index)]
    if run.empty:
        return _empty()
    worker = known.reindex(run["worker"]).set_axis(run.index)
    # Unknown liveness (an external collector's sample without it) is not "offline".
    online = worker["online"].astype("boolean").fillna(True).astype(bool)
    came_up = pd.to_datetime(worker["up_since"], utc=True)
    began = run["started"].fillna(run["received"])
    restarted = online & (came_up > began + RESTART_GRACE).fillna(False)  # NaT: False
    flagged = ~online | restarted
    since = worker["last_heartbeat"].where(~online, came_up)
    cause = pd.Series(np.where(online, "restarted", "offline"), index=run.index)
    return _frame(run[flagged], ORPHANED, since=since[flagged], cause=cause[flagged])


def stuck_frame(tasks: pd.DataFrame, p99: pd.DataFrame, now: float) -> pd.DataFrame:
    """The RECEIVED or STARTED ``tasks`` in that state for more than ``STUCK_TIMES`` × their
    name's p99 (``runtime_p99_frame``; at least ``STUCK_SAMPLES`` runs) and ``STUCK_MINIMUM``
    s, future ETAs excluded (the module docstring says when the clock starts)."""
    waiting = tasks[tasks["state"].isin(STUCK_STATES).fillna(False).to_numpy(bool)]
    known = p99[p99["samples"] >= STUCK_SAMPLES].drop_duplicates("name").set_index("name")
    waiting = waiting[waiting["name"].isin(known.index).fillna(False).to_numpy(bool)]
    if waiting.empty:
        return _empty()
    at = pd.Timestamp(now, unit="s", tz="UTC")
    eta = pd.to_datetime(waiting["eta"], utc=True, errors="coerce", format="ISO8601")
    queued = waiting["received"].where(~(eta > waiting["received"]).fillna(False), eta)
    since = waiting["started"].where(waiting["state"] == states.STARTED, queued)
    since = since.fillna(waiting["received"])
    running_for = (at - since).dt.total_seconds()
    name_p99 = known.loc[waiting["name"], "p99"].to_numpy(float)
    threshold = np.maximum(STUCK_TIMES * name_p99, STUCK_MINIMUM)
    stuck = (running_for.to_numpy(float) > threshold) & ~(eta > at).fillna(False).to_numpy(bool)
    return _frame(
        waiting[stuck],
        STUCK,
        since=since[stuck],
        cause=STUCK,
        running_for=running_for[stuck].to_numpy(),
        p99=name_p99[stuck],
        threshold=threshold[stuck],
    )


def flags_frame(
    tasks: pd.DataFrame, workers: pd.DataFrame | None, p99: pd.DataFrame, now: float
) -> pd.DataFrame:
    """Every flagged task among ``tasks`` (``FLAG_COLUMNS``), one flag each: orphaned first."""
    orphaned = orphaned_frame(tasks, workers)
    stuck = stuck_frame(tasks, p99, now)
    stuck = stuck[~stuck["uuid"].isin(orphaned["uuid"])]
    parts = [f for f in (orphaned, stuck) if not f.empty]
    return pd.concat(parts, ignore_index=True) if parts else _empty()


def flag_counts(flags: pd.DataFrame) -> dict[str, int]:
    """How many tasks carry each flag, every flag named (0 when none)."""
    counted = flags["flag"].value_counts()
    return {flag: int(counted.get(flag, 0)) for flag in FLAGS}


def flag_column(uuids: pd.Series, flags: pd.DataFrame) -> pd.Series:
    """Each task's flag ("" when none), for a table's ``flag`` column."""
    by_uuid = dict(zip(flags["uuid"], flags["flag"], strict=True))  # a few flagged tasks
    return pd.Series([by_uuid.get(u, "") for u in uuids], index=uuids.index, dtype="string")


def flag_of(flags: pd.DataFrame | None, uuid: str) -> dict | None:
    """One task's flags-frame row as a dict, or None when it is not flagged (or no flags were
    read yet: ``flags`` None)."""
    if flags is None:
        return None
    rows = flags[flags["uuid"] == uuid]
    return None if rows.empty else rows.iloc[0].to_dict()


def flag_sentence(flag: dict, tz: tzinfo) -> str:
    """What a task's detail says of its flag, times in ``tz`` (named by the caller)."""
    at = pd.Timestamp(flag["since"])
    when = None if pd.isna(at) else at.tz_convert(tz).strftime("%Y-%m-%d %H:%M:%S")
    if flag["cause"] == "offline" and when is None:  # ``./ops collect`` samples no heartbeat
        return f"orphaned: worker {flag['worker']} is offline (when it went is not sampled)"
    if flag["cause"] == "offline":
        return f"orphaned: worker {flag['worker']} went offline at {when}"
    if flag["cause"] == "restarted":
        return f"orphaned: worker {flag['worker']} restarted at {when}, after the task started"
    return (
        f"stuck: running {_minutes(flag['running_for'])}, "
        f"{STUCK_TIMES:g}× p99 is {_minutes(STUCK_TIMES * flag['p99'])}"
        + ("" if flag["threshold"] <= STUCK_TIMES * flag["p99"] else " (at least 5 min counts)")
    )


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{math.floor(seconds / 60):,} min"


def _frame(rows: pd.DataFrame, flag: str, **values: object) -> pd.DataFrame:
    nothing = np.full(len(rows), np.nan)
    columns = {
        "uuid": rows["uuid"].to_numpy(),
        "flag": flag,
        "worker": rows["worker"].to_numpy(),
        "running_for": nothing,
        "p99": nothing,
        "threshold": nothing,
    }
    for name, value in values.items():
        columns[name] = value.reset_index(drop=True) if isinstance(value, pd.Series) else value
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))
    frame["since"] = pd.to_datetime(frame["since"], utc=True)
    return frame[list(FLAG_COLUMNS)].astype(_DTYPES)


_DTYPES = {
    "uuid": "string",
    "flag": "string",
    "worker": "string",
    "cause": "string",
    "running_for": "float64",
    "p99": "float64",
    "threshold": "float64",
}


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame({c: [] for c in FLAG_COLUMNS})
    frame["since"] = pd.to_datetime(frame["since"], utc=True)
    return frame.astype(_DTYPES)
