"""Tasks in the store: upserts merged by Celery precedence, each task's timeline, window reads.

Invariants:

- An older record of a task never overwrites a newer one: the rule is ``lib.sync.is_newer``
  (a later ``timestamp`` wins; on a tie, the state Celery ranks higher), so replaying a task's
  payloads in any order leaves the same row.
- A timeline row is appended when a task's Flower state or exception differs from the stored
  row's (a first sight included), so a task Celery retried keeps its earlier exceptions.
- Rollups change in the same transaction as the rows they summarise (``lib.store.rollups``).
- ``in_flower`` is set on every upsert and cleared by ``mark_gone``.
- A row is handed to ``finished`` only when its ``counted`` flag turns on, so a task is reported
  finished once per store (the flag persists), whatever order its records come in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, bindparam, func, insert, select, update

from lib.store.rollups import RollupDeltas, apply_deltas, contributes
from lib.store.rows import Masking, payload_of, row_of
from lib.store.schema import TASK_EVENTS, TASKS, epoch, utc_times
from lib.store.task_frames import tasks_frame_of
from lib.sync import apply_task_payload, is_newer

__all__ = [
    "mark_gone",
    "oldest_last_event",
    "task_count",
    "task_row",
    "tasks_window_frame",
    "timeline_frame",
    "upsert_tasks",
]

#: Ids per ``IN (...)``: well under every database's limit on bound parameters.
CHUNK = 500
#: The row's fields that a payload sets (``counted`` and ``in_flower`` are the store's own).
PAYLOAD_FIELDS = tuple(c.name for c in TASKS.columns if c.name not in ("counted", "in_flower"))


def upsert_tasks(
    conn: Connection,
    payloads: Iterable[Mapping],
    now: float,
    masking: Masking,
    finished: list[dict] | None = None,
) -> int:
    """Merge Flower task payloads into the store; return how many rows changed. ``finished``
    gets each row counted for the first time (first seen finished: the metrics' counters)."""
    latest: dict[str, dict] = {}
    for payload in payloads:
        apply_task_payload(latest, dict(payload))
    held = _held_rows(conn, list(latest))
    inserts, updates, events, deltas = [], [], [], RollupDeltas()
    for uuid, payload in latest.items():
        old = held.get(uuid)
        if old is not None and not is_newer(payload, payload_of(old)):
            if not old["in_flower"]:
                updates.append({**old, "in_flower": True})
            continue
        row = row_of(payload, masking, now)
        if old is not None and _same(row, old) and old["in_flower"]:
            continue
        row["counted"] = _recount(old, row, deltas)
        if finished is not None and row["counted"] and not (old is not None and old["counted"]):
            finished.append(row)
        row["in_flower"] = True
        (inserts if old is None else updates).append(row)
        if old is None or (old["flower_state"], old["exception"]) != (
            row["flower_state"],
            row["exception"],
        ):
            events.append(_event(row, now))
    _write(conn, inserts, updates, events)
    apply_deltas(conn, deltas)
    return len(inserts) + len(updates)


def _recount(old: Mapping | None, row: Mapping, deltas: RollupDeltas) -> bool:
    """Move a task's rollup contribution from its old row to its new one; True if counted."""
    if old is not None and old["counted"]:
        deltas.add(old, -1)
    if contributes(row):
        deltas.add(row, +1)
        return True
    return False


def _same(row: Mapping, old: Mapping) -> bool:
    return all(row[f] == old[f] for f in PAYLOAD_FIELDS)


def _event(row: Mapping, now: float) -> dict:
    return {
        "uuid": row["uuid"],
        "at": row["timestamp"],
        "seen_at": now,
        "state": row["flower_state"],
        "exception": row["exception"],
    }


def _write(conn: Connection, inserts: list, updates: list, events: list) -> None:
    if inserts:
        conn.execute(insert(TASKS), inserts)
    if updates:
        fields = [c.name for c in TASKS.columns if c.name != "uuid"]
        statement = (
            update(TASKS)
            .where(TASKS.c.uuid == bindparam("u_uuid"))
            .values({f: bindparam(f"u_{f}") for f in fields})
        )
        conn.execute(statement, [{f"u_{k}": v for k, v in row.items()} for row in updates])
    if events:
        conn.execute(insert(TASK_EVENTS), events)


def _held_rows(conn: Connection, uuids: Sequence[str]) -> dict[str, dict]:
    held = {}
    for chunk in _chunks(uuids):
        for row in conn.execute(select(TASKS).where(TASKS.c.uuid.in_(chunk))).mappings():
            held[row["uuid"]] = dict(row)
    return held


def mark_gone(conn: Connection, uuids: Iterable[str]) -> int:
    """Mark tasks Flower no longer holds (evicted, or lost in a restart); return how many."""
    gone = 0
    for chunk in _chunks(list(uuids)):
        statement = (
            update(TASKS).where(TASKS.c.uuid.in_(chunk), TASKS.c.in_flower).values(in_flower=False)
        )
        gone += conn.execute(statement).rowcount
    return gone


def task_row(conn: Connection, uuid: str) -> dict | None:
    """One task's stored row (masked text), or None."""
    found = conn.execute(select(TASKS).where(TASKS.c.uuid == uuid)).mappings().first()
    return dict(found) if found is not None else None


def tasks_window_frame(
    conn: Connection,
    start: datetime | float,
    end: datetime | float,
    states: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The tasks placed in ``[start, end)`` as ``lib.frames.tasks_frame`` builds them, + ``in_flower``.

    Columns: ``TASK_COLUMNS`` (same dtypes as ``tasks_frame``; stored text is masked and
    capped), then ``in_flower`` (bool). Newest placement first. ``states``: only tasks in
    these effective states (all when None).
    """
    query = (
        select(TASKS)
        .where(TASKS.c.placed_at >= epoch(start), TASKS.c.placed_at < epoch(end))
        .order_by(TASKS.c.placed_at.desc())
    )
    if states is not None:
        query = query.where(TASKS.c.state.in_(list(states)))
    return tasks_frame_of(conn, query)


def task_count(conn: Connection) -> int:
    """How many tasks the store holds."""
    return int(conn.execute(select(func.count()).select_from(TASKS)).scalar() or 0)


def oldest_last_event(conn: Connection) -> float | None:
    """The oldest stored task's last event (``last_at``, what retention reads), or None."""
    found = conn.execute(select(func.min(TASKS.c.last_at))).scalar()
    return None if found is None else float(found)


def timeline_frame(conn: Connection, uuid: str) -> pd.DataFrame:
    """One task's observed timeline, oldest first. Columns: at, seen_at (UTC), state, exception."""
    query = (
        select(
            TASK_EVENTS.c.at, TASK_EVENTS.c.seen_at, TASK_EVENTS.c.state, TASK_EVENTS.c.exception
        )
        .where(TASK_EVENTS.c.uuid == uuid)
        .order_by(TASK_EVENTS.c.id)
    )
    frame = pd.DataFrame(conn.execute(query).all(), columns=["at", "seen_at", "state", "exception"])
    for column in ("at", "seen_at"):
        frame[column] = utc_times(frame[column])
    return frame


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
