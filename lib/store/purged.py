"""Purge marks in the store (``PURGED_TASKS``, read with their audit rows): written with the
purge's target outcome, in the audit's write transaction; read per page of tasks by id.

Invariants: a mark belongs to one audit row (``audit_id``), whose user it names; a task purged
twice (re-sent under its id) shows its latest mark; reads go by ``ix_purged_tasks_uuid`` in
batches (a page of thousands of ids stays under every database's parameter limit).
``last_purge_at`` is when the broker last answered a purge of the queue (any broker, with or
without ids), read by ``ix_audit_target_target``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, func, insert, select

from lib.purge_marks import PurgeMark
from lib.store.schema import AUDIT, AUDIT_TARGET, PURGED_TASKS

__all__ = ["PURGED_FRAME_COLUMNS", "last_purge_at", "purge_marks", "purged_frame", "record_purged"]

#: The tasks one purge removed, as the Audit log lists them.
PURGED_FRAME_COLUMNS = ("task", "queue", "at")

#: Ids per read or insert.
BATCH = 1000


def record_purged(
    conn: Connection, audit_id: int, queue: str, at: float, task_ids: Iterable[str]
) -> int:
    """Mark ``task_ids`` purged from ``queue`` by the action of ``audit_id``; how many."""
    rows = [
        {"audit_id": audit_id, "uuid": uuid, "queue": queue, "at": at}
        for uuid in dict.fromkeys(task_ids)
    ]
    for start in range(0, len(rows), BATCH):
        conn.execute(insert(PURGED_TASKS), rows[start : start + BATCH])
    return len(rows)


def purge_marks(conn: Connection, uuids: Iterable[str]) -> dict[str, PurgeMark]:
    """The latest purge mark of each of ``uuids`` that has one."""
    wanted = list(dict.fromkeys(u for u in uuids if u))
    p = PURGED_TASKS.c
    marks: dict[str, PurgeMark] = {}
    for start in range(0, len(wanted), BATCH):
        query = (
            select(p.uuid, p.queue, p.at, AUDIT.c.user)
            .join(AUDIT, AUDIT.c.id == p.audit_id)
            .where(p.uuid.in_(wanted[start : start + BATCH]))
            .order_by(p.at)
        )
        for uuid, queue, at, user in conn.execute(query):
            marks[uuid] = PurgeMark(queue, at, user)  # ordered by time: the latest stays
    return marks


def last_purge_at(conn: Connection, queue: str) -> float | None:
    """When the broker last answered a purge of ``queue`` (epoch s), or None."""
    t = AUDIT_TARGET.c
    query = (
        select(func.max(t.at))
        .join(AUDIT, AUDIT.c.id == t.audit_id)
        .where(t.target == queue, t.outcome == "sent", AUDIT.c.action == "purge")
    )
    return conn.execute(query).scalar()


def purged_frame(conn: Connection, op_id: str) -> pd.DataFrame:
    """The tasks the purge of operation ``op_id`` removed, by id. Columns:
    ``PURGED_FRAME_COLUMNS`` (``at``: UTC datetime, when the broker answered)."""
    p = PURGED_TASKS.c
    query = (
        select(p.uuid, p.queue, p.at)
        .join(AUDIT, AUDIT.c.id == p.audit_id)
        .where(AUDIT.c.op_id == op_id)
        .order_by(p.uuid)
    )
    frame = pd.DataFrame(conn.execute(query).all(), columns=list(PURGED_FRAME_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    return frame
