"""Tasks a purge removed, as the console marks them: Flower keeps showing a purged task as
PENDING (its message is gone, so no worker will ever send another event for it), so the console
says "purged from <queue> at <time> by <actor>" beside it.

Where the ids come from: kombu's Redis transport stores each message as JSON whose ``headers``
carry the task's ``id`` (Celery's message protocol 2; protocol 1 kept it in the body, and the
``properties.correlation_id`` repeats it in both): ``lib.broker`` reads the messages with
``LRANGE`` in the same MULTI/EXEC that deletes them, so every removed message is read and none
read is left. RabbitMQ's ``queue.purge`` answers a count only: a RabbitMQ purge marks nothing.

Invariants: a mark shows only on a task whose state is PENDING (a task seen again later, e.g.
re-sent under its id by a retry, is what its new state says); a message that is not a Celery
task's (no id found) is counted as removed and marks nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

import pandas as pd

__all__ = [
    "PURGED_COLUMN",
    "PurgeMark",
    "PurgedReply",
    "pending_ids",
    "purged_column",
    "task_id_of",
    "with_purged",
]


#: The Tasks table's column saying which task a purge removed (after the states).
PURGED_COLUMN = "purged"


class PurgedReply(str):
    """The broker's reply to a purge (what the audit quotes), carrying the removed tasks' ids
    (``task_ids``; empty when the broker gives none)."""

    task_ids: tuple[str, ...]

    def __new__(cls, text: str, task_ids: Iterable[str] = ()) -> PurgedReply:
        reply = super().__new__(cls, text)
        reply.task_ids = tuple(dict.fromkeys(task_ids))
        return reply


@dataclass(frozen=True)
class PurgeMark:
    """One task removed by a purge: from which queue, when (epoch s) and by whom."""

    queue: str
    at: float
    user: str

    def sentence(self, tz: tzinfo = UTC) -> str:
        when = datetime.fromtimestamp(self.at, tz)
        return f"purged from {self.queue} at {when:%Y-%m-%d %H:%M:%S} ({tz}) by {self.user}"


def task_id_of(message: bytes | str) -> str | None:
    """The Celery task id a kombu Redis message carries, or None (not JSON, not a task)."""
    try:
        payload = json.loads(message)
    except (ValueError, TypeError):  # not a kombu message: counted, never marked
        return None
    if not isinstance(payload, dict):
        return None
    for part, key in (("headers", "id"), ("properties", "correlation_id")):
        found = payload.get(part)
        if isinstance(found, dict) and isinstance(found.get(key), str) and found[key]:
            return found[key]
    return None


def purged_column(
    tasks: pd.DataFrame, marks: Mapping[str, PurgeMark], tz: tzinfo = UTC
) -> pd.Series:
    """Per row of a tasks frame: the purge sentence for a PENDING task a purge removed, else ""."""
    said = [
        marks[uuid].sentence(tz) if state == "PENDING" and uuid in marks else ""
        for uuid, state in zip(tasks["uuid"], tasks["state"], strict=True)
    ]
    return pd.Series(said, index=tasks.index, dtype=object)


def pending_ids(tasks: pd.DataFrame) -> list[str]:
    """The ids of the PENDING tasks of a tasks frame: the only ones a mark shows on."""
    return tasks.loc[tasks["state"] == "PENDING", "uuid"].tolist()


def with_purged(
    tasks: pd.DataFrame, marks: Mapping[str, PurgeMark], tz: tzinfo = UTC
) -> pd.DataFrame:
    """A copy of ``tasks`` with ``PURGED_COLUMN`` (``purged_column``) after the states (``state``
    then Flower's own, ``flower_state``, when the frame has it)."""
    marked = tasks.copy()
    states = [c for c in ("state", "flower_state") if c in marked.columns]
    at = max((list(marked.columns).index(c) for c in states), default=len(marked.columns) - 1) + 1
    marked.insert(at, PURGED_COLUMN, purged_column(tasks, marks, tz))
    return marked
