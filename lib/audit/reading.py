"""Reading the audit log: a filter as an indexed SQL condition, and what the pages show of it.

A filter (a time span, users, actions; empty: no condition) is a condition of the SQL query,
answered from an index, never a pandas filter over a capped read: every row in the filter is
returned unless a ``limit`` is asked for, newest first. A NULL outcome reads "outcome unknown";
times in frames are UTC datetimes to the microsecond.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

import pandas as pd

from lib.audit.records import COLUMNS, UNKNOWN, AuditRow, TargetOutcome, row_from

__all__ = [
    "AUDIT_FRAME_COLUMNS",
    "TARGET_FRAME_COLUMNS",
    "audit_frame",
    "newest_first",
    "retry_links",
    "row",
    "target_outcomes",
    "targets_frame",
    "where",
]

#: The Audit log page's table and its CSV, in order.
AUDIT_FRAME_COLUMNS = (
    "time",
    "user",
    "role",
    "action",
    "targets",
    "count",
    "preview_count",
    "params",
    "outcome",
    "http_status",
    "message",
    "links",
    "finished",
    "op_id",
)
#: One action's targets, as the Audit log page shows them.
TARGET_FRAME_COLUMNS = ("target", "outcome", "reason", "reply", "at")


def where(since: float | None, users: Iterable[str], actions: Iterable[str]) -> tuple[str, tuple]:
    """The SQL condition (with its leading `` WHERE``) and arguments of one filter."""
    conditions: list[str] = []
    args: list[Any] = []
    if since is not None:
        conditions.append("at >= ?")
        args.append(since)
    for column, values in (("user", list(users)), ("action", list(actions))):
        if values:
            conditions.append(f"{column} IN ({', '.join('?' * len(values))})")
            args += values
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), tuple(args)


def newest_first(
    since: float | None, users: Iterable[str], actions: Iterable[str], limit: int | None
) -> tuple[str, tuple]:
    """The query (and arguments) of every row in a filter, newest first, the newest ``limit``."""
    condition, args = where(since, users, actions)
    query = f"SELECT {', '.join(COLUMNS)} FROM audit{condition} ORDER BY at DESC, id DESC"
    if limit is not None:
        query, args = query + " LIMIT ?", (*args, limit)
    return query, args


def audit_frame(records: list[tuple]) -> pd.DataFrame:
    """``audit`` rows (``COLUMNS`` in order) as the page's table: ``AUDIT_FRAME_COLUMNS``."""
    # Column by column from the raw tuples, not through AuditRow: a CSV of every row in a
    # long period is hundreds of thousands of rows, and per-row objects cost most of it.
    raw = dict(zip(COLUMNS, zip(*records, strict=True), strict=True)) if records else {}
    column = {name: list(raw.get(name, ())) for name in COLUMNS}
    targets = [json.loads(text) for text in column["targets"]]
    table = {
        "time": column["at"],
        "user": column["user"],
        "role": column["role"],
        "action": column["action"],
        "targets": [", ".join(t) for t in targets],
        "count": [len(t) for t in targets],
        "preview_count": column["preview_count"],
        "params": [_params_text(text) for text in column["params"]],
        "outcome": [outcome or UNKNOWN for outcome in column["outcome"]],
        "http_status": column["http_status"],
        "message": [message or "" for message in column["message"]],
        "links": [_links_text(text) for text in column["links"]],
        "finished": column["finished_at"],
        "op_id": column["op_id"],
    }
    frame = pd.DataFrame(table, columns=AUDIT_FRAME_COLUMNS)
    for col in ("time", "finished"):
        # A float of seconds holds about a microsecond; finer digits would be noise.
        frame[col] = pd.to_datetime(frame[col], unit="s", utc=True).dt.round("us")
    frame["http_status"] = frame["http_status"].astype("Int64")
    frame["preview_count"] = frame["preview_count"].astype("Int64")
    return frame


def row(db: sqlite3.Connection, row_id: int) -> AuditRow | None:
    """One action's row by its audit id, if there is one."""
    found = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit WHERE id = ?", (row_id,))
    record = found.fetchone()
    return row_from(record) if record else None


def target_outcomes(db: sqlite3.Connection, row_id: int) -> list[TargetOutcome]:
    """Each target of one action with its outcome, in the order they were recorded."""
    found = db.execute(
        "SELECT target, outcome, reason, reply FROM audit_target WHERE audit_id = ? ORDER BY rowid",
        (row_id,),
    ).fetchall()
    return [TargetOutcome(t, o, r or "", p or "") for t, o, r, p in found]


def targets_frame(db: sqlite3.Connection, op_id: str) -> pd.DataFrame:
    """One action's targets: ``TARGET_FRAME_COLUMNS``, ``at`` a UTC datetime."""
    found = db.execute(
        "SELECT t.target, t.outcome, t.reason, t.reply, t.at FROM audit_target t"
        " JOIN audit a ON a.id = t.audit_id WHERE a.op_id = ? ORDER BY t.rowid",
        (op_id,),
    ).fetchall()
    frame = pd.DataFrame(found, columns=list(TARGET_FRAME_COLUMNS))
    frame["outcome"] = frame["outcome"].fillna(UNKNOWN)
    frame[["reason", "reply"]] = frame[["reason", "reply"]].fillna("")
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    return frame


def retry_links(db: sqlite3.Connection, task_id: str) -> dict[str, list[str]]:
    """``{"retried_as": [new ids], "retry_of": [old ids]}`` for one task."""
    found = db.execute(
        "SELECT links FROM audit WHERE action = 'retry' AND links LIKE ?", (f'%"{task_id}"%',)
    ).fetchall()
    links: dict[str, list[str]] = {"retried_as": [], "retry_of": []}
    for (text,) in found:
        for old, new in json.loads(text or "{}").items():
            if old == task_id:
                links["retried_as"].append(new)
            if new == task_id:
                links["retry_of"].append(old)
    return links


def _params_text(text: str) -> str:
    params = json.loads(text) if text != "{}" else None
    return json.dumps(params, sort_keys=True) if params else ""


def _links_text(text: str | None) -> str:
    links = json.loads(text) if text and text != "{}" else {}
    return ", ".join(f"{old} → {new}" for old, new in links.items())
