"""The audit log: who did what to the cluster, when, and what Flower answered.

Stored in SQLite under ``OPS_DATA_DIR``. Every action is one row, written in two steps:

1. ``record_intent`` inserts the row *before* anything is sent (outcome NULL);
2. ``record_outcome`` completes it once, after Flower answered.

If the process dies between the two, the row stays with no outcome and reads as
"outcome unknown": nothing is lost. ``op_id`` is unique, so one click (one operation id) can
never produce a second row or a second request, however often the page reruns. An outcome,
once written, is never changed.

Rows are deleted only by retention: with ``OPS_AUDIT_RETENTION_DAYS`` set, rows whose ``at`` is
older than that many days are pruned when the log opens and then at most once an hour, by the
first read after the hour is up (never a prune per read). Unset, the default, keeps every row.

Reads (``rows``, ``frame``, ``count``, ``choices``) return *every* row in their filter unless a
``limit`` is asked for: the time span, users and actions are conditions of the SQL query (indexed),
never a pandas filter over a capped read.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lib.redact import SCRUBBER

__all__ = ["OUTCOMES", "AuditLog", "AuditRow", "DuplicateOperation"]

#: What can happen to an action. NULL in the table means "outcome unknown".
OUTCOMES = ("sent", "failed", "refused", "partial")
UNKNOWN = "outcome unknown"
#: Seconds between two retention prunes: pruning is a write, reads must not each pay for one.
PRUNE_EVERY = 3600.0
DAY = 86_400.0

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
CREATE INDEX IF NOT EXISTS audit_user_at ON audit (user, at);
CREATE INDEX IF NOT EXISTS audit_action_at ON audit (action, at);
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
    """An append-only SQLite audit table, pruned only by retention; safe to share between threads.

    ``retention_days`` None keeps every row; ``clock`` (seconds since the epoch) decides what is
    old and when the next prune is due.
    """

    def __init__(
        self,
        path: Path,
        retention_days: int | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_days = retention_days
        self._clock = clock
        self._lock = threading.Lock()
        self._next_prune = 0.0
        with self._connect() as db:
            db.executescript(SCHEMA)
        self.prune()

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

    def rows(
        self,
        since: float | None = None,
        users: Iterable[str] = (),
        actions: Iterable[str] = (),
        limit: int | None = None,
    ) -> list[AuditRow]:
        """Every row at or after ``since`` by any of ``users`` doing any of ``actions``
        (empty: no condition), newest first; only the newest ``limit`` when one is given."""
        where, args = _where(since, users, actions)
        query = f"SELECT {', '.join(COLUMNS)} FROM audit{where} ORDER BY at DESC, id DESC"
        if limit is not None:
            query += " LIMIT ?"
            args = (*args, limit)
        return [_row(r) for r in self._read(query, args)]

    def count(
        self, since: float | None = None, users: Iterable[str] = (), actions: Iterable[str] = ()
    ) -> int:
        """How many rows ``rows`` returns for the same filter (without reading them)."""
        where, args = _where(since, users, actions)
        return int(self._read(f"SELECT COUNT(*) FROM audit{where}", args)[0][0])

    def choices(self, since: float | None = None) -> dict[str, list[str]]:
        """``{"user": [...], "action": [...]}``: every value seen at or after ``since``, sorted."""
        where, args = _where(since, (), ())
        found = {}
        for column in ("user", "action"):
            query = f"SELECT DISTINCT {column} FROM audit{where} ORDER BY {column}"
            found[column] = [value for (value,) in self._read(query, args)]
        return found

    def prune(self) -> int:
        """Delete rows older than the retention; how many went (0 when rows are kept forever)."""
        now = self._clock()
        with self._lock:
            self._next_prune = now + PRUNE_EVERY
            if self.retention_days is None:
                return 0
            with self._connect() as db:
                cutoff = now - self.retention_days * DAY
                return db.execute("DELETE FROM audit WHERE at < ?", (cutoff,)).rowcount

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

    def frame(
        self,
        since: float | None = None,
        users: Iterable[str] = (),
        actions: Iterable[str] = (),
        limit: int | None = None,
    ) -> pd.DataFrame:
        """``rows`` (same filter, same order) as a table for the Audit log page and its CSV.

        Columns: ``AUDIT_FRAME_COLUMNS``; ``time`` and ``finished`` are UTC datetimes.
        """
        # Column by column from the raw tuples, not through AuditRow: a CSV of every row in a
        # long period is hundreds of thousands of rows, and per-row objects cost most of it.
        where, args = _where(since, users, actions)
        query = f"SELECT {', '.join(COLUMNS)} FROM audit{where} ORDER BY at DESC, id DESC"
        if limit is not None:
            query, args = query + " LIMIT ?", (*args, limit)
        records = self._read(query, args)
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

    def _by_op(self, db: sqlite3.Connection, op_id: str) -> AuditRow:
        found = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit WHERE op_id = ?", (op_id,))
        return _row(found.fetchone())

    def _read(self, query: str, args: tuple) -> list[tuple]:
        if self._clock() >= self._next_prune:
            self.prune()
        with self._connect() as db:
            return db.execute(query, args).fetchall()

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


def _where(since: float | None, users: Iterable[str], actions: Iterable[str]) -> tuple[str, tuple]:
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


def _params_text(text: str) -> str:
    params = json.loads(text) if text != "{}" else None
    return json.dumps(params, sort_keys=True) if params else ""


def _links_text(text: str | None) -> str:
    links = json.loads(text) if text and text != "{}" else {}
    return ", ".join(f"{old} → {new}" for old, new in links.items())


def _row(record: tuple) -> AuditRow:
    data = dict(zip(COLUMNS, record, strict=True))
    data["targets"] = json.loads(data["targets"])
    data["params"] = json.loads(data["params"])
    data["links"] = json.loads(data["links"] or "{}")
    return AuditRow(**data)
