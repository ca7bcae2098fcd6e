"""Filters on a tasks frame: the Tasks page's filters, its deep-link parameters, a task's lineage.

Pure: a tasks frame (``frames.tasks_frame``) in, the matching rows or ids out. Filters read the
effective ``state``, so a filtered table agrees with every count. ``TaskFilter`` holds one set of
the page's filters: the store runs it as SQL (``lib.store.task_query``) with the same meaning as
``filter_tasks`` here, so a page of a million stored tasks never needs them all in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

__all__ = ["TEXT_SEARCHED", "TaskFilter", "filter_params", "filter_tasks", "task_lineage"]

#: The columns a text search looks in (case-insensitive substring).
TEXT_SEARCHED = ("uuid", "name", "args", "kwargs", "result", "exception")


@dataclass(frozen=True)
class TaskFilter:
    """The Tasks page's filters, hashable (a page keeps the rows it read for one of these).

    Empty tuples match all; ``text`` is kept as typed, stripped and lower-cased when applied.
    ``uuids``: only these tasks (a flag's, ``?flag=``); None matches all, ``()`` none.
    """

    states: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    workers: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    received_from: datetime | None = None
    received_to: datetime | None = None
    text: str = ""
    uuids: tuple[str, ...] | None = None

    @property
    def needle(self) -> str:
        """What a text search looks for: the text stripped and lower-cased ('' for none)."""
        return self.text.strip().lower()

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` matching these filters (``filter_tasks``)."""
        return filter_tasks(
            frame,
            self.states,
            self.names,
            self.workers,
            self.queues,
            self.received_from,
            self.received_to,
            self.text,
            self.uuids,
        )


def filter_tasks(
    frame: pd.DataFrame,
    states: Iterable[str] = (),
    names: Iterable[str] = (),
    workers: Iterable[str] = (),
    queues: Iterable[str] = (),
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    text: str = "",
    uuids: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The rows matching every given filter; empty filters match all (``uuids``: None does).

    ``text`` is a case-insensitive substring of the uuid, name, args, kwargs, result or
    exception. Tasks without a ``received`` time pass the time filter only when it is unset.
    """
    keep = pd.Series(True, index=frame.index)
    for col, wanted in (("state", states), ("name", names), ("worker", workers), ("queue", queues)):
        wanted = list(wanted)
        if wanted:
            keep &= frame[col].isin(wanted).fillna(False)
    if received_from is not None:
        keep &= (frame["received"] >= pd.Timestamp(received_from)).fillna(False)
    if received_to is not None:
        keep &= (frame["received"] <= pd.Timestamp(received_to)).fillna(False)
    if uuids is not None:
        keep &= frame["uuid"].isin(list(uuids)).fillna(False)
    needle = text.strip().lower()
    if needle:
        hit = pd.Series(False, index=frame.index)
        for col in TEXT_SEARCHED:
            hit |= frame[col].str.lower().str.contains(needle, regex=False).fillna(False)
        keep &= hit
    return frame[keep.astype(bool)]


def filter_params(params: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Deep-link filters (``?state=FAILURE&name=...&worker=...&queue=...``) as lists.

    A parameter may repeat or hold comma-separated values; states are upper-cased.
    """
    out: dict[str, list[str]] = {}
    for key in ("state", "name", "worker", "queue"):
        values = [v.strip() for raw in params.get(key, []) for v in raw.split(",") if v.strip()]
        out[key] = [v.upper() for v in values] if key == "state" else values
    return out


def task_lineage(frame: pd.DataFrame, uuid: str) -> dict[str, list[str]]:
    """Parent, root and children ids of one task, without self-links (a retry is its own parent)."""
    rows = frame[frame["uuid"] == uuid]
    if rows.empty:
        return {"parent": [], "root": [], "children": []}
    row = rows.iloc[0]

    def ids(value: object) -> list[str]:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return []
        return [i for i in str(value).split(",") if i and i != uuid]

    return {
        "parent": ids(row["parent_id"]),
        "root": ids(row["root_id"]),
        "children": ids(row["children"]),
    }
