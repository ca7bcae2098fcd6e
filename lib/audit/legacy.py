"""Taking in the audit log's own file (``OPS_DATA_DIR/audit.sqlite3``) from before the store.

Until issue 12 the audit log was an SQLite file of its own; now it lives in the store. The
console takes that file in once, when it starts (``lib.ui.wiring``):

- only into a store whose audit tables are empty, and in one write transaction: every row of
  ``audit`` and ``audit_target`` or none, ids, op ids, times, outcomes and replies exactly as
  they were (a target's order too: its old rowid becomes its id);
- then the file is renamed ``audit.sqlite3.migrated``, never deleted, so a restart finds nothing
  to do. A crash between the commit and the rename is healed by the next start: a store that
  already holds the file's newest row gets the file renamed, not copied twice;
- a file that cannot be read (corrupt, not an audit log) leaves the store as it was and the file
  where it is, and says so in an ``AuditError``; so does a store that already holds other rows
  (the file is left for a person to look at: merging two logs would renumber one of them).

Files from before per-target records (no ``audit_target`` table) are taken in as they are: the
log reads such rows' retries from their links. Every old row was an action on the one cluster
the console then watched: it is taken in as cluster ``default``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, insert, select

from lib.audit.database import AuditStore
from lib.audit.records import COLUMNS, AuditError
from lib.store.engine import resume_ids
from lib.store.schema import AUDIT, AUDIT_TARGET

__all__ = ["LEGACY_FILE", "MIGRATED_SUFFIX", "TakenIn", "import_legacy_audit"]

#: The old file's name in OPS_DATA_DIR.
LEGACY_FILE = "audit.sqlite3"
#: Appended to the old file's name once its rows are in the store.
MIGRATED_SUFFIX = ".migrated"
#: Rows copied per statement: a long log is streamed, never held in memory whole.
BATCH = 1000
#: What a column the old file lacks becomes (NULL for any other): the old console watched one
#: cluster, the one a console without a clusters file calls ``default``.
MISSING = {"cluster": "'default'"}
#: The target columns copied (``id`` is the old rowid: the order they were recorded in).
TARGET_COLUMNS = ("id", "audit_id", "target", "outcome", "reason", "reply", "at")


@dataclass(frozen=True)
class TakenIn:
    """What one import did: rows and targets copied (0 when only the rename was left)."""

    rows: int
    targets: int
    renamed_to: Path


def import_legacy_audit(url: str, path: Path, timeout: float = 10.0) -> TakenIn | None:
    """Take the old audit file at ``path`` into the store at ``url``; None when there is none.

    Raises ``AuditError`` when the file cannot be read, the store cannot be written, or the
    store already holds other audit rows; the store is then as it was and the file in place.
    """
    if not path.is_file():
        return None
    store = AuditStore(url, timeout)
    try:
        with closing(sqlite3.connect(path)) as old, store.writing() as db:
            copied = _copy(old, db, path)
    except sqlite3.Error as exc:
        raise AuditError(_unreadable(path, exc)) from exc
    renamed = path.with_name(path.name + MIGRATED_SUFFIX)
    try:
        path.rename(renamed)
    except OSError as exc:
        raise AuditError(
            f"The old audit log {path} is in the store but could not be renamed: {exc}. "
            "The next start renames it without copying its rows again."
        ) from exc
    return TakenIn(*copied, renamed)


def _copy(old: sqlite3.Connection, db: Connection, path: Path) -> tuple[int, int]:
    """Copy every row unless the store already has them; (rows, targets) copied."""
    newest = old.execute("SELECT id, op_id FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    if newest is not None and _holds(db, *newest):
        return 0, 0  # taken in already, the rename was all that was left
    held = db.execute(select(func.count()).select_from(AUDIT)).scalar()
    if held:
        raise AuditError(
            f"The old audit log {path} was not taken in: the store already holds {held:,} "
            "other audit rows. The file is left as it was, for a person to look at."
        )
    rows = _insert_all(db, AUDIT, COLUMNS, _batches(old, "audit", _present(old, "audit")))
    resume_ids(db, AUDIT)  # the ids were copied: new actions get ids after the newest
    if not _has_table(old, "audit_target"):
        return rows, 0  # written before per-target records existed
    targets = ", ".join(("rowid AS id", *TARGET_COLUMNS[1:]))
    found = old.execute(f"SELECT {targets} FROM audit_target ORDER BY rowid")
    copied = _insert_all(db, AUDIT_TARGET, TARGET_COLUMNS, _chunks(found))
    resume_ids(db, AUDIT_TARGET)
    return rows, copied


def _holds(db: Connection, row_id: int, op_id: str) -> bool:
    found = db.execute(select(AUDIT.c.op_id).where(AUDIT.c.id == row_id)).scalar()
    return found == op_id


def _present(old: sqlite3.Connection, table: str) -> list[str]:
    """The ``COLUMNS`` the old table has (an older file may lack later ones: NULL then)."""
    have = {row[1] for row in old.execute(f"PRAGMA table_info({table})")}
    return [name if name in have else f"{MISSING.get(name, 'NULL')} AS {name}" for name in COLUMNS]


def _batches(old: sqlite3.Connection, table: str, columns: list[str]) -> Iterator[list[tuple]]:
    # "user" is quoted: a keyword in some SQL, a plain name in SQLite's.
    listed = ", ".join(f'"{c}"' if c == "user" else c for c in columns)
    return _chunks(old.execute(f"SELECT {listed} FROM {table} ORDER BY id"))


def _chunks(cursor: sqlite3.Cursor) -> Iterator[list[tuple]]:
    while chunk := cursor.fetchmany(BATCH):
        yield chunk


def _insert_all(db: Connection, table, columns, batches: Iterator[list[tuple]]) -> int:
    copied = 0
    for chunk in batches:
        db.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in chunk])
        copied += len(chunk)
    return copied


def _has_table(old: sqlite3.Connection, name: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return old.execute(query, (name,)).fetchone() is not None


def _unreadable(path: Path, exc: sqlite3.Error) -> str:
    return (
        f"The old audit log {path} could not be taken into the store: {exc}. The file is left "
        "where it is and the store holds none of its rows; new actions are recorded in the store."
    )
