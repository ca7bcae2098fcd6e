"""Queues: waiting messages per queue (from Flower) and the queues frame the Queues page shows.

Pure: depths, a workers frame and a tasks frame in, one row per queue out, ``now`` passed in.
Running counts read effective states (``frames.state.running``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from lib.frames.odd_values import REPLACEMENT, OddValues
from lib.frames.state import running

__all__ = ["QUEUE_COLUMNS", "backlog", "flower_depths", "idle_queues", "queues_frame"]

#: The queues frame's columns, in display order.
QUEUE_COLUMNS = (
    "queue",
    "messages",
    "consumers",
    "workers",
    "running",
    "received_per_min",
    "avg_wait",
)


def flower_depths(
    lengths: Iterable[Mapping], names: Iterable[str] = (), odd: OddValues | None = None
) -> dict[str, int | None]:
    """Waiting messages per queue from Flower's ``/api/queues/length`` rows.

    ``names`` (the queues workers consume) start as unknown (None). A name of another type is
    read as text and a count that is not a whole number as unknown; ``odd`` names both.
    """
    odd = odd if odd is not None else OddValues("queue")
    depths: dict[str, int | None] = dict.fromkeys(names)
    for row in lengths:
        name, messages = row.get("name"), row.get("messages")
        text = name if type(name) is str else str(name)
        if type(name) is not str:
            odd.add("name", [text])
        if REPLACEMENT in text:
            odd.add("name", [text], undecoded=True)
        if messages is not None and type(messages) is not int:
            odd.add("messages", [text])
            messages = None
        depths[text] = messages
    return depths


def queues_frame(
    depths: Mapping[str, int | None],
    workers: pd.DataFrame,
    tasks: pd.DataFrame,
    now: datetime,
    rate_window: float = 600.0,
    known: Iterable[str] = (),
) -> pd.DataFrame:
    """One row per queue: waiting messages, consumers, running tasks, recent rate and wait.

    Columns: queue, messages (from the broker), consumers (online workers consuming it),
    workers, running (tasks routed to it in STARTED or a custom state such as PROGRESS, by
    effective state: not a job revoked in it), received_per_min (over ``rate_window``
    seconds before ``now``), avg_wait (seconds, over tasks started in that window).
    ``known`` adds queues tasks were routed to (the store's, beyond the ``tasks`` given).
    """
    consumers = _consumers(workers)
    since = pd.Timestamp(now) - pd.Timedelta(seconds=rate_window)
    routed_to = set(tasks["queue"].dropna().unique()) | set(known)
    names = sorted(set(depths) | set(consumers) | routed_to)
    rows = []
    for name in names:
        routed = tasks[(tasks["queue"] == name).fillna(False)]
        rows.append(
            {
                "queue": name,
                "messages": depths.get(name),
                "consumers": len(consumers.get(name, [])),
                "workers": ", ".join(sorted(consumers.get(name, []))),
                **_activity(routed, since, rate_window),
            }
        )
    frame = pd.DataFrame.from_records(rows, columns=list(QUEUE_COLUMNS))
    frame["messages"] = pd.to_numeric(frame["messages"], errors="coerce").astype("Int64")
    return frame


def idle_queues(queues: pd.DataFrame) -> list[str]:
    """Queues where messages wait and no worker consumes: nothing will ever run them."""
    idle = (queues["consumers"] == 0) & (queues["messages"].fillna(0) > 0)
    return queues.loc[idle, "queue"].tolist()


def _consumers(workers: pd.DataFrame) -> dict[str, list[str]]:
    """The online workers consuming each queue (a workers frame lists them comma-joined)."""
    consumers: dict[str, list[str]] = {}
    for row in workers.itertuples():
        if row.online and isinstance(row.queues, str):
            for queue in row.queues.split(", "):
                consumers.setdefault(queue, []).append(row.worker)
    return consumers


def _activity(routed: pd.DataFrame, since: pd.Timestamp, rate_window: float) -> dict:
    """One queue's running tasks, arrivals per minute and average wait since ``since``."""
    recent = routed[routed["received"] >= since]
    started = routed[routed["started"] >= since]
    return {
        "running": int(running(routed["state"]).sum()),
        "received_per_min": len(recent) / (rate_window / 60.0),
        "avg_wait": started["wait"].mean() if len(started) else np.nan,
    }


def backlog(queues: pd.DataFrame | None) -> int | None:
    """Waiting messages over every queue whose depth is known; None when none is (no frame,
    or every depth unknown: a sum of nothing is not zero)."""
    if queues is None:
        return None
    known = pd.to_numeric(queues["messages"], errors="coerce").dropna()
    return int(known.sum()) if len(known) else None
