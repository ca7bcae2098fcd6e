"""The audit log's SQLite file: its schema, a connection per use, one write transaction.

A connection is new for each use (sqlite3 objects must not cross threads, and calls are rare)
and closed after it; the schema is created on the first connection that works, so a file
written before a table existed gains it on open. Any SQLite or file error, opening or inside a
``with`` body, is an ``AuditError`` saying in words what could not be done.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lib.audit.records import AuditError

__all__ = ["SCHEMA", "AuditFile"]

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


class AuditFile:
    """The SQLite file at ``path``; ``timeout`` is how long a write waits for another's lock."""

    def __init__(self, path: Path, timeout: float):
        self.path = path
        self.timeout = timeout
        self._schema_ready = False

    def connect(self, doing: str = "read") -> _Closing:
        """A new connection (sqlite3 objects must not cross threads, and calls are rare); the
        schema on first success. Any SQLite or file error, here or in the ``with`` body, is an
        ``AuditError`` saying the log could not be ``doing``."""
        db = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            if not self._schema_ready:  # once it worked; until then, each use tries again
                db.executescript(SCHEMA)
                self._schema_ready = True
        except (sqlite3.Error, OSError) as exc:
            if db is not None:
                db.close()
            raise AuditError(_unusable(self.path, "opened", exc)) from exc
        return _Closing(db, self.path, doing)

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``): check-then-write is atomic
        across threads, sessions and processes sharing the file."""
        with self.connect("written") as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


class _Closing:
    """``with`` closes the connection (sqlite3's own context manager only commits) and turns
    an SQLite error in its body into an ``AuditError``."""

    def __init__(self, db: sqlite3.Connection, path: Path, doing: str):
        self.db, self.path, self.doing = db, path, doing

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, kind, exc, traceback) -> None:
        self.db.close()
        if isinstance(exc, sqlite3.Error):
            raise AuditError(_unusable(self.path, self.doing, exc)) from exc


def _unusable(path: Path, doing: str, exc: BaseException) -> str:
    return f"The audit log ({path.name}) could not be {doing}: {exc}."
