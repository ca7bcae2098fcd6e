"""The cluster's recent past as chart frames: the Overview's pulse, sampled series over a range.

Pure: frames the store returns (per-minute rollup counts, samples downsampled per step) in,
the frames the charts draw out; ``now``/``end`` passed in.

Invariants:

- The pulse has one row per minute of the last ``PULSE_MINUTES`` (the current, partial minute
  last), zeros where nothing finished: processed = SUCCESS + FAILURE, failed = FAILURE, each
  task counted in the minute it finished (contract.md).
- A sampled range is read in steps of ``sample_step`` seconds, the smallest of ``STEPS`` that
  keeps the range within ``MAX_POINTS`` points per series; a step shorter than the poll
  interval holds at most one sample, so the series is the samples themselves.
- Pool utilization = busy slots ÷ slots = active ÷ pool size, summed over the online workers
  whose pool size is sampled (older samples have none: they are left out, not guessed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

__all__ = [
    "MAX_POINTS",
    "PULSE_MINUTES",
    "STEPS",
    "Sampled",
    "pulse_frame",
    "pulse_start",
    "sample_step",
    "step_label",
    "workers_over_time_frame",
]

#: Points per series a chart of a sampled range gets at most: a 14-day range stays fast.
MAX_POINTS = 500
#: Step widths in seconds, each a divisor of the next larger unit so edges stay round.
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
#: The Overview's pulse covers the last hour, minute by minute.
PULSE_MINUTES = 60


@dataclass(frozen=True)
class Sampled:
    """A range's sampled series: the frame, its step in seconds, the range it covers (UTC)."""

    frame: pd.DataFrame
    step: int
    start: datetime
    end: datetime


def sample_step(start: datetime, end: datetime, max_points: int = MAX_POINTS) -> int:
    """The smallest step (s) of ``STEPS`` with at most ``max_points`` steps in the range."""
    span = (end - start).total_seconds()
    return next((s for s in STEPS if span / s <= max_points), STEPS[-1])


def step_label(step: int) -> str:
    """``"10 s"``, ``"5 min"``, ``"1 h"``: a step as the page says it."""
    for unit, name in ((3600, "h"), (60, "min")):
        if step % unit == 0:
            return f"{step // unit} {name}"
    return f"{step} s"


def pulse_start(end: datetime) -> datetime:
    """The first minute of the pulse ending at ``end``: the current minute is its last."""
    last = pd.Timestamp(end).floor("1min").to_pydatetime()
    return last - timedelta(minutes=PULSE_MINUTES - 1)


def pulse_frame(counts: pd.DataFrame, end: datetime) -> pd.DataFrame:
    """Processed and failed tasks per minute over the last hour before ``end``.

    ``counts``: ``Store.rollup_counts(pulse_start(end), end, ("state",), 1)`` (at, state,
    tasks). Columns: at (minute start, UTC), processed, failed (int). Every minute is present.
    """
    minutes = pd.date_range(pulse_start(end), periods=PULSE_MINUTES, freq="1min", name="at")
    minutes = minutes.astype("datetime64[us, UTC]")
    by_state = counts.pivot_table(index="at", columns="state", values="tasks", aggfunc="sum")
    by_state = by_state.reindex(minutes, fill_value=0).fillna(0)
    succeeded = by_state.get("SUCCESS", pd.Series(0, index=minutes))
    failed = by_state.get("FAILURE", pd.Series(0, index=minutes))
    frame = pd.DataFrame({"processed": succeeded + failed, "failed": failed}, index=minutes)
    return frame.astype("int64").reset_index()


def workers_over_time_frame(figures: pd.DataFrame) -> pd.DataFrame:
    """The cluster's workers per step, from ``Store.worker_figures`` (one row per worker and
    step). Columns: at, online (workers online in the step), active (mean active tasks summed
    over online workers), slots (pool sizes summed over online workers with a sampled size),
    utilization (percent: their active ÷ slots; NaN without slots)."""
    online = figures[figures["online"].fillna(False).astype(bool)]
    sized = online[online["pool_size"].notna()]
    steps = pd.Index(figures["at"].drop_duplicates().sort_values(), name="at")
    busy = sized.groupby("at")["active"].sum().reindex(steps)
    slots = sized.groupby("at")["pool_size"].sum().astype("float64").reindex(steps)
    frame = pd.DataFrame(
        {
            "online": online.groupby("at").size().reindex(steps, fill_value=0).astype("int64"),
            "active": online.groupby("at")["active"].sum().reindex(steps, fill_value=0.0),
            "slots": slots.fillna(0).astype("int64"),
            "utilization": np.where(slots > 0, 100.0 * busy / slots.where(slots > 0), np.nan),
        },
        index=steps,
    )
    return frame.reset_index()
