"""The audit log: who did what to the cluster, when, and what Flower answered.

Stored in the history store (``OPS_STORE_URL``; by default ``store.sqlite3`` in ``OPS_DATA_DIR``),
in its ``audit`` and ``audit_target`` tables, through SQLAlchemy Core like the rest of the store,
so the console processes sharing a store share one log and its retry links (issue 12). The audit
log's own file of earlier versions (``OPS_DATA_DIR/audit.sqlite3``) is taken in once, when the
console starts (``legacy``), and renamed ``audit.sqlite3.migrated``.

Every action is one row, written in two steps:

1. ``claim`` inserts the row (and one per target) *before* anything is sent (outcome NULL);
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
Rows taken in from files written before this table existed keep working: their retries are
read from their links. Retention prunes a row's targets with it (and with them its retry links:
a retry older than the retention no longer warns).

A retry is claimed atomically (``claim`` in one write transaction, ``BEGIN IMMEDIATE`` on
SQLite): a task already retried (sent, or still under way) is held back unless the caller names
that earlier retry's audit id, so two sessions retrying one task at once send one task.

Opening never raises: an unusable store (down, locked, a full disk) makes each use raise an
``AuditError``, a ``ConsoleError`` saying why in words, and is used again once it is back.

By concern, each module with one job; callers import the names below from ``lib.audit``:

- ``records``: what the log holds and hands back (rows, target outcomes, claims, errors);
- ``database``: the log's place in the store, its read and write transactions, errors in words;
- ``writing``: claims and completions (the SQL that writes);
- ``reading``: filters as SQL conditions, rows, the Audit log page's frames, retry links;
- ``log``: ``AuditLog``, the one object callers hold, with the lock and retention;
- ``legacy``: taking in the audit log's old file, once.
"""

from lib.audit.log import AuditLog
from lib.audit.records import (
    OUTCOMES,
    TARGET_OUTCOMES,
    UNKNOWN,
    AuditError,
    AuditRow,
    Claim,
    DuplicateOperation,
    EarlierRetry,
    TargetOutcome,
)

__all__ = [
    "OUTCOMES",
    "TARGET_OUTCOMES",
    "UNKNOWN",
    "AuditError",
    "AuditLog",
    "AuditRow",
    "Claim",
    "DuplicateOperation",
    "EarlierRetry",
    "TargetOutcome",
]
