"""The audit log's own SQLite file as consoles before issue 12 wrote it (``audit.sqlite3``).

``LEGACY_SCHEMA`` is that file's schema, verbatim; ``write_legacy_file`` writes one through plain
sqlite3, as the old console did, for the import into the store to take in.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

__all__ = ["LEGACY_SCHEMA", "PER_TARGET_TABLE", "write_legacy_file"]

LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id         TEXT NOT NULL UNIQUE,
    at            REAL NOT NULL,
    user          TEXT NOT NULL,
    role          TEXT NOT NULL,
    action        TEXT NOT NULL,
    targets       TEXT NOT NULL,
    params        TEXT NOT NULL,
    preview_count INTEGER,
    finished_at   REAL,
    outcome       TEXT CHECK (outcome IN ('sent', 'failed', 'refused', 'partial')),
    http_status   INTEGER,
    message       TEXT,
    links         TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_user_at ON audit (user, at);
CREATE INDEX IF NOT EXISTS audit_action_at ON audit (action, at);
CREATE TABLE IF NOT EXISTS audit_target (
    audit_id INTEGER NOT NULL REFERENCES audit (id),
    target   TEXT NOT NULL,
    outcome  TEXT CHECK (outcome IN ('sent', 'failed', 'not tried', 'skipped')),
    reason   TEXT,
    reply    TEXT,
    at       REAL,
    PRIMARY KEY (audit_id, target)
);
CREATE INDEX IF NOT EXISTS audit_target_target ON audit_target (target);
"""
#: Where the per-target table starts: files written before issue 10 end before it.
PER_TARGET_TABLE = "CREATE TABLE IF NOT EXISTS audit_target"

AUDIT_INSERT = (
    "INSERT INTO audit (id, op_id, at, user, role, action, targets, params, preview_count,"
    " finished_at, outcome, http_status, message, links) VALUES"
    " (?, ?, ?, ?, 'operator', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def write_legacy_file(
    path: Path, rows: list[dict], targets: list[tuple] = (), per_target: bool = True
) -> None:
    """An old audit file at ``path``: ``rows`` (dicts with ``id, op_id, at, user, action`` and
    optionally the rest) and ``targets`` ``(audit_id, target, outcome, reason, reply, at)``."""
    schema = LEGACY_SCHEMA if per_target else LEGACY_SCHEMA.split(PER_TARGET_TABLE)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")  # as the old console kept it
        db.executescript(schema)
        db.executemany(AUDIT_INSERT, [_values(row) for row in rows])
        if targets:
            db.executemany("INSERT INTO audit_target VALUES (?, ?, ?, ?, ?, ?)", targets)
    db.close()


def _values(row: dict) -> tuple:
    return (
        row["id"],
        row["op_id"],
        row["at"],
        row["user"],
        row["action"],
        json.dumps(row.get("targets", [])),
        json.dumps(row.get("params", {})),
        row.get("preview_count"),
        row.get("finished_at"),
        row.get("outcome"),
        row.get("http_status"),
        row.get("message"),
        json.dumps(row["links"]) if "links" in row else None,
    )
