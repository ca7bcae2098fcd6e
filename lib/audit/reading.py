"""Reading the audit log: a filter as an indexed SQL condition, and what the pages show of it.

A filter (a time span, users, actions, clusters; empty: no condition) is a condition of the
SQL query,
answered from an index, never a pandas filter over a capped read: every row in the filter is
returned unless a ``limit`` is asked for, newest first. A NULL outcome reads "outcome unknown";
times in frames are UTC datetimes to the microsecond.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Select, func, select

from lib.audit.records import COLUMNS, UNKNOWN, AuditRow, TargetOutcome, row_from
from lib.store.schema import AUDIT, AUDIT_TARGET

__all__ = [
    "AUDIT_FRAME_COLUMNS",
    "TARGET_FRAME_COLUMNS",
    "audit_frame",
    "choices_query",
    "count_query",
    "newest_first",
    "retry_links",
    "row",
    "row_where",
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
    "cluster",
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


def where(
    since: float | None,
    users: Iterable[str],
    actions: Iterable[str],
    clusters: Iterable[str] = (),
) -> list[ColumnElement[bool]]:
    """The SQL conditions of one filter (none: every row)."""
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(AUDIT.c.at >= since)
    picked = (("user", users), ("action", actions), ("cluster", clusters))
    for column, values in ((c, list(v)) for c, v in picked):
        if values:
            conditions.append(AUDIT.c[column].in_(values))
    return conditions


def newest_first(
    since: float | None,
    users: Iterable[str],
    actions: Iterable[str],
    limit: int | None,
    clusters: Iterable[str] = (),
) -> Select:
    """Every row in a filter (``COLUMNS`` in order), newest first, the newest ``limit``."""
    query = (
        select(*(AUDIT.c[name] for name in COLUMNS))
        .where(*where(since, users, actions, clusters))
        .order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc())
    )
    return query if limit is None else query.limit(limit)


def count_query(
    since: float | None,
    users: Iterable[str],
    actions: Iterable[str],
    clusters: Iterable[str] = (),
) -> Select:
    """How many rows one filter holds."""
    return select(func.count()).select_from(AUDIT).where(*where(since, users, actions, clusters))


def choices_query(column: str, since: float | None, clusters: Iterable[str] = ()) -> Select:
    """Every value of ``column`` (``user``, ``action`` or ``cluster``) seen at or after
    ``since`` on ``clusters`` (unsorted: databases sort text by different collations,
    ``AuditLog.choices`` sorts them)."""
    return select(AUDIT.c[column]).distinct().where(*where(since, (), (), clusters))


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
        "cluster": column["cluster"],
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


def row(db: Connection, row_id: int) -> AuditRow | None:
    """One action's row by its audit id, if there is one."""
    return row_where(db, AUDIT.c.id == row_id)


def row_where(db: Connection, condition: ColumnElement[bool]) -> AuditRow | None:
    """The one row a unique condition (an id, an op_id) finds, if there is one."""
    record = db.execute(select(*(AUDIT.c[name] for name in COLUMNS)).where(condition)).first()
    return row_from(tuple(record)) if record else None


def target_outcomes(db: Connection, row_id: int) -> list[TargetOutcome]:
    """Each target of one action with its outcome, in the order they were recorded."""
    t = AUDIT_TARGET.c
    found = db.execute(
        select(t.target, t.outcome, t.reason, t.reply).where(t.audit_id == row_id).order_by(t.id)
    ).all()
    return [TargetOutcome(target, o, r or "", p or "") for target, o, r, p in found]


def targets_frame(db: Connection, op_id: str) -> pd.DataFrame:
    """One action's targets: ``TARGET_FRAME_COLUMNS``, ``at`` a UTC datetime."""
    t = AUDIT_TARGET.c
    found = db.execute(
        select(t.target, t.outcome, t.reason, t.reply, t.at)
        .join_from(AUDIT_TARGET, AUDIT, AUDIT.c.id == t.audit_id)
        .where(AUDIT.c.op_id == op_id)
        .order_by(t.id)
    ).all()
    frame = pd.DataFrame([tuple(r) for r in found], columns=list(TARGET_FRAME_COLUMNS))
    frame["outcome"] = frame["outcome"].fillna(UNKNOWN)
    frame[["reason", "reply"]] = frame[["reason", "reply"]].fillna("")
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    return frame


def retry_links(db: Connection, task_id: str) -> dict[str, list[str]]:
    """``{"retried_as": [new ids], "retry_of": [old ids]}`` for one task."""
    # LIKE narrows the rows to read; the JSON below decides (a '%' or '_' in an id only widens).
    found = db.execute(
        select(AUDIT.c.links).where(AUDIT.c.action == "retry", AUDIT.c.links.like(f'%"{task_id}"%'))
    ).all()
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
