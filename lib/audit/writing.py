"""Writing the audit log: a claim before anything is sent, then each outcome once.

A claim is one ``BEGIN IMMEDIATE`` transaction (the caller's ``AuditFile.writing``): the intent
row (outcome NULL) and one row per target (outcome NULL, or ``skipped`` with the reason). A seen
``op_id`` raises ``DuplicateOperation`` and writes nothing; for a retry, a target with an
earlier retry (sent, or still under way) is held back unless the caller names that retry's
audit id, so two sessions retrying one task at once send one task. Completions only fill rows
whose outcome is still NULL: the first answer stands.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from lib.audit.records import (
    COLUMNS,
    TARGET_OUTCOMES,
    AuditRow,
    Claim,
    DuplicateOperation,
    EarlierRetry,
    row_from,
)

__all__ = [
    "by_op",
    "claim",
    "complete_outcome",
    "complete_targets",
    "earlier_retries",
    "target_updates",
]


def claim(
    db: sqlite3.Connection,
    op_id: str,
    user: str,
    role: str,
    action: str,
    targets: list[str],
    params: Mapping[str, Any] | None,
    preview_count: int | None,
    skipped: Mapping[str, str] | None,
    again: Collection[int],
) -> Claim:
    """Write the intent row and one row per target, inside the caller's write transaction."""
    existing = by_op(db, op_id)
    if existing is not None:
        raise DuplicateOperation(existing)
    held: dict[str, list[EarlierRetry]] = {}
    if action == "retry":
        earlier = earlier_retries(db, targets)
        held = {t: found for t, found in earlier.items() if _unacknowledged(found, again)}
    row_id = _insert(db, op_id, user, role, action, targets, params, preview_count)
    why = {t: f"{found[-1].describe()}; tick 'Retry again anyway'" for t, found in held.items()}
    why.update(skipped or {})
    db.executemany(
        "INSERT OR IGNORE INTO audit_target (audit_id, target, outcome, reason, at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(row_id, t, "skipped" if t in why else None, why.get(t), None) for t in [*targets, *why]],
    )
    return Claim(row_id, held)


def target_updates(
    row_id: int, outcomes: Iterable[tuple[str, str, str, str]]
) -> list[tuple[str, str, str, float, int, str]]:
    """The ``complete_targets`` rows for ``(target, outcome, reason, reply)`` each.

    Raises ``ValueError`` for an outcome not in ``TARGET_OUTCOMES``, before anything is written.
    """
    now = time.time()
    rows = []
    for target, outcome, reason, reply in outcomes:
        if outcome not in TARGET_OUTCOMES:
            raise ValueError(f"unknown target outcome {outcome!r}")
        rows.append((outcome, reason, reply, now, row_id, target))
    return rows


def complete_targets(
    db: sqlite3.Connection, updates: list[tuple[str, str, str, float, int, str]]
) -> None:
    """Complete the target rows still pending, from ``target_updates``."""
    db.executemany(
        "UPDATE audit_target SET outcome = ?, reason = ?, reply = ?, at = ?"
        " WHERE audit_id = ? AND target = ? AND outcome IS NULL",
        updates,
    )


def complete_outcome(
    db: sqlite3.Connection,
    row_id: int,
    outcome: str,
    message: str,
    http_status: int | None,
    links: Mapping[str, str] | None,
) -> None:
    """Complete an action's row if it is still pending (``message`` already scrubbed)."""
    db.execute(
        "UPDATE audit SET finished_at = ?, outcome = ?, http_status = ?, message = ?,"
        " links = ? WHERE id = ? AND outcome IS NULL",
        (time.time(), outcome, http_status, message, json.dumps(dict(links or {})), row_id),
    )


def earlier_retries(db: sqlite3.Connection, task_ids: list[str]) -> dict[str, list[EarlierRetry]]:
    """Retries of these tasks that were sent or are under way, oldest first, by task."""
    wanted = set(task_ids)
    found: dict[str, dict[int, EarlierRetry]] = {}
    per_target = db.execute(
        "SELECT t.target, a.id, a.at, a.user, t.reply FROM audit_target t"
        " JOIN audit a ON a.id = t.audit_id WHERE a.action = 'retry'"
        " AND (t.outcome = 'sent' OR t.outcome IS NULL)"
        " AND (a.outcome IS NULL OR a.outcome IN ('sent', 'partial'))"
        f" AND t.target IN ({', '.join('?' * len(wanted))})",
        tuple(wanted),
    )
    for target, audit_id, at, user, reply in per_target:
        found.setdefault(target, {})[audit_id] = EarlierRetry(audit_id, at, user, reply or None)
    # Rows written before per-target records existed say what was sent in their links.
    legacy = db.execute(
        "SELECT id, at, user, links FROM audit WHERE action = 'retry' AND links IS NOT NULL"
        " AND id NOT IN (SELECT audit_id FROM audit_target)"
    )
    for audit_id, at, user, links in legacy:
        for old, new in json.loads(links or "{}").items():
            if old in wanted:
                found.setdefault(old, {})[audit_id] = EarlierRetry(audit_id, at, user, new)
    return {t: sorted(by_id.values(), key=lambda e: e.audit_id) for t, by_id in found.items()}


def by_op(db: sqlite3.Connection, op_id: str) -> AuditRow | None:
    """The row of one operation id, if it was recorded."""
    found = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit WHERE op_id = ?", (op_id,))
    record = found.fetchone()
    return row_from(record) if record else None


def _insert(db, op_id, user, role, action, targets, params, preview_count) -> int:
    values = (
        op_id,
        time.time(),
        user,
        role,
        action,
        json.dumps(list(targets)),
        json.dumps(dict(params or {}), default=str),
        preview_count,
    )
    cursor = db.execute(
        "INSERT INTO audit (op_id, at, user, role, action, targets, params,"
        " preview_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )
    return int(cursor.lastrowid)


def _unacknowledged(found: list[EarlierRetry], again: Collection[int]) -> bool:
    return any(e.audit_id not in again for e in found)
