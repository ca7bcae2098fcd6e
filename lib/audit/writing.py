"""Writing the audit log: a claim before anything is sent, then each outcome once.

A claim is one write transaction (the caller's ``AuditStore.writing``, ``BEGIN IMMEDIATE`` on
SQLite): the intent row (outcome NULL) and one row per target (outcome NULL, or ``skipped`` with
the reason). A seen ``op_id`` raises ``DuplicateOperation`` and writes nothing; for a retry, a
target with an earlier retry (sent, or still under way) is held back unless the caller names that
retry's audit id, so two sessions retrying one task at once send one task (on the same cluster:
the row names the cluster acted on). Completions only fill rows whose outcome is still NULL: the
first answer stands.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update

from lib.audit.reading import row_where
from lib.audit.records import (
    TARGET_OUTCOMES,
    AuditRow,
    Claim,
    DuplicateOperation,
    EarlierRetry,
)
from lib.clusters import DEFAULT_CLUSTER
from lib.store.schema import AUDIT, AUDIT_TARGET

__all__ = [
    "by_op",
    "claim",
    "complete_outcome",
    "complete_targets",
    "earlier_retries",
    "target_updates",
]


def claim(
    db: Connection,
    op_id: str,
    user: str,
    role: str,
    action: str,
    targets: list[str],
    params: Mapping[str, Any] | None,
    preview_count: int | None,
    skipped: Mapping[str, str] | None,
    again: Collection[int],
    cluster: str = DEFAULT_CLUSTER,
) -> Claim:
    """Write the intent row and one row per target, inside the caller's write transaction."""
    existing = by_op(db, op_id)
    if existing is not None:
        raise DuplicateOperation(existing)
    held: dict[str, list[EarlierRetry]] = {}
    if action == "retry":
        earlier = earlier_retries(db, targets, cluster)
        held = {t: found for t, found in earlier.items() if _unacknowledged(found, again)}
    intent = (op_id, user, role, action, targets, params, preview_count)
    row_id = _insert(db, *intent, cluster)
    why = {t: f"{found[-1].describe()}; tick 'Retry again anyway'" for t, found in held.items()}
    why.update(skipped or {})
    # One row per target, the first mention kept (a skipped target may also be a target).
    rows = [
        {
            "audit_id": row_id,
            "target": t,
            "outcome": "skipped" if t in why else None,
            "reason": why.get(t),
            "at": None,
        }
        for t in dict.fromkeys([*targets, *why])
    ]
    if rows:
        db.execute(insert(AUDIT_TARGET), rows)
    return Claim(row_id, held)


def target_updates(row_id: int, outcomes: Iterable[tuple[str, str, str, str]]) -> list[dict]:
    """The ``complete_targets`` rows for ``(target, outcome, reason, reply)`` each.

    Raises ``ValueError`` for an outcome not in ``TARGET_OUTCOMES``, before anything is written.
    """
    now = time.time()
    rows = []
    for target, outcome, reason, reply in outcomes:
        if outcome not in TARGET_OUTCOMES:
            raise ValueError(f"unknown target outcome {outcome!r}")
        rows.append(
            {"o": outcome, "r": reason, "p": reply, "a": now, "row_id": row_id, "t": target}
        )
    return rows


#: Completes one pending target row; its parameters are ``target_updates``' keys.
_COMPLETE_TARGET = (
    update(AUDIT_TARGET)
    .where(
        AUDIT_TARGET.c.audit_id == bindparam("row_id"),
        AUDIT_TARGET.c.target == bindparam("t"),
        AUDIT_TARGET.c.outcome.is_(None),
    )
    .values(outcome=bindparam("o"), reason=bindparam("r"), reply=bindparam("p"), at=bindparam("a"))
)


def complete_targets(db: Connection, updates: list[dict]) -> None:
    """Complete the target rows still pending, from ``target_updates``."""
    if updates:
        db.execute(_COMPLETE_TARGET, updates)


def complete_outcome(
    db: Connection,
    row_id: int,
    outcome: str,
    message: str,
    http_status: int | None,
    links: Mapping[str, str] | None,
) -> None:
    """Complete an action's row if it is still pending (``message`` already scrubbed)."""
    db.execute(
        update(AUDIT)
        .where(AUDIT.c.id == row_id, AUDIT.c.outcome.is_(None))
        .values(
            finished_at=time.time(),
            outcome=outcome,
            http_status=http_status,
            message=message,
            links=json.dumps(dict(links or {})),
        )
    )


def earlier_retries(
    db: Connection, task_ids: list[str], cluster: str | None = None
) -> dict[str, list[EarlierRetry]]:
    """Retries of these tasks that were sent or are under way, oldest first, by task; only
    those on ``cluster`` when one is named."""
    wanted = set(task_ids)
    found: dict[str, dict[int, EarlierRetry]] = {}
    t, a = AUDIT_TARGET.c, AUDIT.c
    on = [a.cluster == cluster] if cluster is not None else []
    per_target = db.execute(
        select(t.target, a.id, a.at, a.user, t.reply)
        .join_from(AUDIT_TARGET, AUDIT, a.id == t.audit_id)
        .where(
            *on,
            a.action == "retry",
            or_(t.outcome == "sent", t.outcome.is_(None)),
            or_(a.outcome.is_(None), a.outcome.in_(("sent", "partial"))),
            t.target.in_(wanted),
        )
    )
    for target, audit_id, at, user, reply in per_target:
        found.setdefault(target, {})[audit_id] = EarlierRetry(audit_id, at, user, reply or None)
    # Rows written before per-target records existed say what was sent in their links.
    legacy = db.execute(
        select(a.id, a.at, a.user, a.links).where(
            *on,
            and_(a.action == "retry", a.links.is_not(None)),
            a.id.not_in(select(t.audit_id)),
        )
    )
    for audit_id, at, user, links in legacy:
        for old, new in json.loads(links or "{}").items():
            if old in wanted:
                found.setdefault(old, {})[audit_id] = EarlierRetry(audit_id, at, user, new)
    return {t: sorted(by_id.values(), key=lambda e: e.audit_id) for t, by_id in found.items()}


def by_op(db: Connection, op_id: str) -> AuditRow | None:
    """The row of one operation id, if it was recorded."""
    return row_where(db, AUDIT.c.op_id == op_id)


def _insert(db, op_id, user, role, action, targets, params, preview_count, cluster) -> int:
    values = {
        "cluster": cluster,
        "op_id": op_id,
        "at": time.time(),
        "user": user,
        "role": role,
        "action": action,
        "targets": json.dumps(list(targets)),
        "params": json.dumps(dict(params or {}), default=str),
        "preview_count": preview_count,
    }
    return int(db.execute(insert(AUDIT).values(values)).inserted_primary_key[0])


def _unacknowledged(found: list[EarlierRetry], again: Collection[int]) -> bool:
    return any(e.audit_id not in again for e in found)
