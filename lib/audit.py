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

Each target of an action also has a row in ``audit_target`` (issue 10): written with the intent
(outcome NULL, or ``skipped`` with the reason), then completed one by one as each request is
answered (``sent`` with Flower's reply, ``failed`` with the reason) or as a bulk action stops
(``not tried``). So the log says exactly which targets were sent, even after a crash mid-way.
Audit files written before this table existed keep working: it is created on open. Retention
prunes a row's targets with it (and with them its retry links: a retry older than the
retention no longer warns).

A retry is claimed atomically (``claim`` in one ``BEGIN IMMEDIATE`` transaction): a task already
retried (sent, or still under way) is held back unless the caller names that earlier retry's
audit id, so two sessions retrying one task at once send one task.

Writing errors (a locked or full disk) are raised as ``AuditError``, a ``ConsoleError``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import pandas as pd

from lib.errors import ConsoleError
from lib.redact import SCRUBBER

__all__ = [
    "OUTCOMES",
    "TARGET_OUTCOMES",
    "AuditError",
    "AuditLog",
    "AuditRow",
    "Claim",
    "DuplicateOperation",
    "EarlierRetry",
    "TargetOutcome",
]

log = logging.getLogger(__name__)

#: What can happen to an action. NULL in the table means "outcome unknown".
OUTCOMES = ("sent", "failed", "refused", "partial")
UNKNOWN = "outcome unknown"
#: Seconds between two retention prunes: pruning is a write, reads must not each pay for one.
PRUNE_EVERY = 3600.0
DAY = 86_400.0
#: What can happen to one target of an action. NULL means "outcome unknown" here too.
TARGET_OUTCOMES = ("sent", "failed", "not tried", "skipped")

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
TARGET_FRAME_COLUMNS = ("target", "outcome", "reason", "reply", "at")
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


class AuditError(ConsoleError):
    """The audit log could not be opened, read or written (locked, disk full, unreadable...)."""


class DuplicateOperation(ConsoleError):
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


@dataclass(frozen=True)
class TargetOutcome:
    """What happened to one target of one action."""

    target: str
    outcome: str | None  # None: outcome unknown
    reason: str
    reply: str


@dataclass(frozen=True)
class EarlierRetry:
    """A retry of a task that was sent, or is still under way (outcome unknown)."""

    audit_id: int
    at: float
    user: str
    new_id: str | None  # the new task's id; None while the outcome is unknown

    def describe(self, tz: tzinfo = UTC) -> str:
        """``"already retried as <id> at 2026-11-30 11:20:01 UTC by ann (audit #3)"``."""
        when = datetime.fromtimestamp(self.at, tz).strftime("%Y-%m-%d %H:%M:%S %Z")
        what = f"as {self.new_id}" if self.new_id else "(still under way, or outcome unknown)"
        return f"already retried {what} at {when} by {self.user} (audit #{self.audit_id})"


@dataclass(frozen=True)
class Claim:
    """An intent row written: its id, and the targets held back as already retried."""

    row_id: int
    held: dict[str, list[EarlierRetry]] = field(default_factory=dict)


class AuditLog:
    """An append-only SQLite audit table, pruned only by retention; safe to share between threads.

    ``retention_days`` None keeps every row; ``clock`` (seconds since the epoch) decides what is
    old and when the next prune is due; ``timeout`` is how long a write waits for another
    writer's lock.
    """

    def __init__(
        self,
        path: Path,
        retention_days: int | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ):
        self.path = Path(path)
        self.retention_days = retention_days
        self._clock = clock
        self.timeout = timeout
        self._lock = threading.Lock()
        self._next_prune = 0.0
        self._schema_ready = False
        try:
            with self._connect("opened"):
                pass  # the schema, so the file is ready before the first action
            self.prune()
        except AuditError as exc:
            # The store is down: pages still show the cluster; each use of the log says why.
            log.warning("%s", exc)

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
        return self.claim(op_id, user, role, action, targets, params, preview_count).row_id

    def claim(
        self,
        op_id: str,
        user: str,
        role: str,
        action: str,
        targets: Iterable[str],
        params: Mapping[str, Any] | None = None,
        preview_count: int | None = None,
        skipped: Mapping[str, str] | None = None,
        again: Collection[int] = (),
    ) -> Claim:
        """Write the intent row and one pending row per target, in one transaction.

        ``skipped`` targets (target → why) are recorded as such. For a retry, a target with an
        earlier retry whose audit id is not in ``again`` is held back (recorded as skipped) and
        returned in ``Claim.held``. Raises ``DuplicateOperation`` for a seen ``op_id`` and
        ``AuditError`` when the file cannot be written.
        """
        targets = list(targets)
        with self._lock, self._writing() as db:
            existing = self._by_op(db, op_id)
            if existing is not None:
                raise DuplicateOperation(existing)
            held: dict[str, list[EarlierRetry]] = {}
            if action == "retry":
                earlier = self._earlier_retries(db, targets)
                held = {t: found for t, found in earlier.items() if _unacknowledged(found, again)}
            row_id = self._insert(db, op_id, user, role, action, targets, params, preview_count)
            why = {
                t: f"{found[-1].describe()}; tick 'Retry again anyway'" for t, found in held.items()
            }
            why.update(skipped or {})
            db.executemany(
                "INSERT OR IGNORE INTO audit_target (audit_id, target, outcome, reason, at)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (row_id, t, "skipped" if t in why else None, why.get(t), None)
                    for t in [*targets, *why]
                ],
            )
        return Claim(row_id, held)

    def _insert(self, db, op_id, user, role, action, targets, params, preview_count) -> int:
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

    def record_targets(self, row_id: int, outcomes: Iterable[tuple[str, str, str, str]]) -> None:
        """Complete target rows once: ``(target, outcome, reason, reply)`` each."""
        now = time.time()
        rows = []
        for target, outcome, reason, reply in outcomes:
            if outcome not in TARGET_OUTCOMES:
                raise ValueError(f"unknown target outcome {outcome!r}")
            rows.append((outcome, reason, reply, now, row_id, target))
        with self._lock, self._writing() as db:
            db.executemany(
                "UPDATE audit_target SET outcome = ?, reason = ?, reply = ?, at = ?"
                " WHERE audit_id = ? AND target = ? AND outcome IS NULL",
                rows,
            )

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
        with self._lock, self._writing() as db:
            db.execute(
                "UPDATE audit SET finished_at = ?, outcome = ?, http_status = ?, message = ?,"
                " links = ? WHERE id = ? AND outcome IS NULL",
                (time.time(), outcome, http_status, said, json.dumps(dict(links or {})), row_id),
            )

    def targets(self, row_id: int) -> list[TargetOutcome]:
        """Each target of one action with its outcome, in the order they were recorded."""
        with self._connect() as db:
            found = db.execute(
                "SELECT target, outcome, reason, reply FROM audit_target WHERE audit_id = ?"
                " ORDER BY rowid",
                (row_id,),
            ).fetchall()
        return [TargetOutcome(t, o, r or "", p or "") for t, o, r, p in found]

    def targets_frame(self, op_id: str) -> pd.DataFrame:
        """One action's targets for the Audit log page: target, outcome, reason, reply, at."""
        with self._connect() as db:
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

    def earlier_retries(self, task_ids: Iterable[str]) -> dict[str, list[EarlierRetry]]:
        """Retries of these tasks that were sent or are under way, oldest first, by task."""
        with self._connect() as db:
            return self._earlier_retries(db, list(task_ids))

    def _earlier_retries(
        self, db: sqlite3.Connection, task_ids: list[str]
    ) -> dict[str, list[EarlierRetry]]:
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
            with self._connect("pruned") as db:
                cutoff = now - self.retention_days * DAY
                old = "SELECT id FROM audit WHERE at < ?"
                db.execute(f"DELETE FROM audit_target WHERE audit_id IN ({old})", (cutoff,))
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

    def _by_op(self, db: sqlite3.Connection, op_id: str) -> AuditRow | None:
        found = db.execute(f"SELECT {', '.join(COLUMNS)} FROM audit WHERE op_id = ?", (op_id,))
        record = found.fetchone()
        return _row(record) if record else None

    def _read(self, query: str, args: tuple) -> list[tuple]:
        if self._clock() >= self._next_prune:
            self.prune()
        with self._connect() as db:
            return db.execute(query, args).fetchall()

    def _connect(self, doing: str = "read") -> _Closing:
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
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``): check-then-write is atomic
        across threads, sessions and processes sharing the file."""
        with self._connect("written") as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


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


def _unacknowledged(found: list[EarlierRetry], again: Collection[int]) -> bool:
    return any(e.audit_id not in again for e in found)


def _row(record: tuple) -> AuditRow:
    data = dict(zip(COLUMNS, record, strict=True))
    data["targets"] = json.loads(data["targets"])
    data["params"] = json.loads(data["params"])
    data["links"] = json.loads(data["links"] or "{}")
    return AuditRow(**data)
