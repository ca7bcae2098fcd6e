"""The audit log: who did what to the cluster, when, and what Flower answered.

Stored in SQLite under ``OPS_DATA_DIR``. Every action is one row, written in two steps:

1. ``record_intent`` inserts the row *before* anything is sent (outcome NULL);
2. ``record_outcome`` completes it once, after Flower answered.

If the process dies between the two, the row stays with no outcome and reads as
"outcome unknown": nothing is lost. ``op_id`` is unique, so one click (one operation id) can
never produce a second row or a second request, however often the page reruns. Rows are
never deleted and an outcome, once written, is never changed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lib.redact import SCRUBBER

__all__ = ["OUTCOMES", "AuditLog", "AuditRow", "DuplicateOperation"]

#: What can happen to an action. NULL in the table means "outcome unknown".
OUTCOMES = ("sent", "failed", "refused", "partial")
UNKNOWN = "outcome unknown"

SCHEMA = """
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
"""
COLUMNS = (
    "id",
    "op_id",
    "at",
    "user",
    "role",
    "action",
    "targets",
    "params",
    "preview_count",
    "finished_at",
    "outcome",
    "http_status",
    "message",
    "links",
)


class DuplicateOperation(Exception):
    """This operation id was already recorded: the action must not be sent again."""

    def __init__(self, row: AuditRow):
        self.row = row
        super().__init__(f"operation {row.op_id} was already recorded")


@dataclass(frozen=True)
class AuditRow:
    id: int
    op_id: str
    at: float
    user: str
    role: str
    action: str
    targets: list[str]
    params: dict[str, Any]
    preview_count: int | None
    finished_at: float | None
    outcome: str | None
    http_status: int | None
    message: str | None
    links: dict[str, str]

    @property
    def outcome_text(self) -> str:
        return self.outcome or UNKNOWN


class AuditLog:
    """An append-only SQLite audit table; safe to share between threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(SCHEMA)

    def record_intent(
        self,
        op_id: str,
        user: str,
        role: str,
        action: str,
        targets: Iterable[str],
        params: Mapping[str, Any] | None = None,
        preview_count: int | None = None,
    ) -> int:
        """Write the intent row; raise ``DuplicateOperation`` if ``op_id`` was seen before."""
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
        with self._lock, self._connect() as db:
            try:
                cursor = db.execute(
                    "INSERT INTO audit (op_id, at, user, role, action, targets, params,"
                    " preview_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
            except sqlite3.IntegrityError:
                existing = self._by_op(db, op_id)
                raise DuplicateOperation(existing) from None
            return int(cursor.lastrowid)

    def record_outcome(
        self,
        row_id: int,
        outcome: str,
        message: str,
        http_status: int | None = None,
        links: Mapping[str, str] | None = None,
    ) -> None:
        """Complete a row once; a second completion is ignored (the first answer stands)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        said = SCRUBBER(message)  # Flower's answer may echo a URL with a password: never keep it
        with self._lock, self._connect() as db:
            db.execute(
                "UPDATE audit SET finished_at = ?, outcome = ?, http_status = ?, message = ?,"
                " links = ? WHERE id = ? AND outcome IS NULL",
                (time.time(), outcome, http_status, said, json.dumps(dict(links or {})), row_id),
            )

    def row(self, row_id: int) -> AuditRow | None:
        with self._connect() as db:
            found = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit WHERE id = ?", (row_id,))
            record = found.fetchone()
        return _row(record) if record else None

    def rows(self, since: float | None = None, limit: int = 10_000) -> list[AuditRow]:
        """Newest first."""
        query = f"SELECT {', '.join(COLUMNS)} FROM audit"
        args: tuple = ()
        if since is not None:
            query += " WHERE at >= ?"
            args = (since,)
        query += " ORDER BY id DESC LIMIT ?"
        with self._connect() as db:
            return [_row(r) for r in db.execute(query, (*args, limit))]

    def retry_links(self, task_id: str) -> dict[str, list[str]]:
        """``{"retried_as": [new ids], "retry_of": [old ids]}`` for one task."""
        pattern = f'%"{task_id}"%'
        with self._connect() as db:
            found = db.execute(
                "SELECT links FROM audit WHERE action = 'retry' AND links LIKE ?", (pattern,)
            ).fetchall()
        links: dict[str, list[str]] = {"retried_as": [], "retry_of": []}
        for (text,) in found:
            for old, new in json.loads(text or "{}").items():
                if old == task_id:
                    links["retried_as"].append(new)
                if new == task_id:
                    links["retry_of"].append(old)
        return links

    def frame(self, since: float | None = None) -> pd.DataFrame:
        """The log as a table for the Audit log page (times as UTC datetimes)."""
        records = [
            {
                "time": r.at,
                "user": r.user,
                "role": r.role,
                "action": r.action,
                "targets": ", ".join(r.targets),
                "count": len(r.targets),
                "preview_count": r.preview_count,
                "params": json.dumps(r.params, sort_keys=True) if r.params else "",
                "outcome": r.outcome_text,
                "http_status": r.http_status,
                "message": r.message or "",
                "links": ", ".join(f"{o} → {n}" for o, n in r.links.items()),
                "finished": r.finished_at,
                "op_id": r.op_id,
            }
            for r in self.rows(since)
        ]
        frame = pd.DataFrame.from_records(records, columns=AUDIT_FRAME_COLUMNS)
        for col in ("time", "finished"):
            frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
        frame["http_status"] = frame["http_status"].astype("Int64")
        frame["preview_count"] = frame["preview_count"].astype("Int64")
        return frame

    def _by_op(self, db: sqlite3.Connection, op_id: str) -> AuditRow:
        found = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit WHERE op_id = ?", (op_id,))
        return _row(found.fetchone())

    def _connect(self) -> _Closing:
        # A connection per call: sqlite3 objects must not cross threads, and calls are rare.
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return _Closing(db)


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


class _Closing:
    """``with`` closes the connection (sqlite3's own context manager only commits)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc) -> None:
        self.db.close()


def _row(record: tuple) -> AuditRow:
    data = dict(zip(COLUMNS, record, strict=True))
    data["targets"] = json.loads(data["targets"])
    data["params"] = json.loads(data["params"])
    data["links"] = json.loads(data["links"] or "{}")
    return AuditRow(**data)
