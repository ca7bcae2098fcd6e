"""The hourly rollup tables on SQLite, stored in the order of their key (``WITHOUT ROWID``).

Why: a rowid table keeps its primary key in a separate index, so a read of a range of hours
(the key starts with the minute) walks that index and then looks each row's figures up in the
table, one seek per row: at a million tasks about four fifths of reading a week's hourly
histograms. A ``WITHOUT ROWID`` table is its key's b-tree with the figures beside the key: a
range is one walk, and the key is stored once, so the store also gets smaller.

Invariants: the same columns, key and rows before and after (copied in the migration's one
transaction); a table already clustered is left as it is; PostgreSQL is left untouched (it has
no such layout: its readers scan the heap).
"""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, PrimaryKeyConstraint, Table, insert, select, text

from lib.store.schema import ROLLUP_HOUR_COUNTS, ROLLUP_HOUR_HISTOGRAMS, ROLLUP_HOUR_USAGE

__all__ = ["CLUSTERED", "cluster_hourly_rollups", "is_clustered"]

#: The tables a long range reads by a range of hours.
CLUSTERED = (ROLLUP_HOUR_COUNTS, ROLLUP_HOUR_HISTOGRAMS, ROLLUP_HOUR_USAGE)


def cluster_hourly_rollups(conn: Connection) -> None:
    """Rebuild each of ``CLUSTERED`` as a ``WITHOUT ROWID`` table, rows kept (SQLite only)."""
    if conn.dialect.name != "sqlite":
        return
    for table in CLUSTERED:
        if not is_clustered(conn, table.name):
            _rebuild(conn, table)


def is_clustered(conn: Connection, name: str) -> bool:
    """Whether the SQLite table ``name`` is stored in its key's order."""
    found = conn.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": name},
    ).scalar()
    return "WITHOUT ROWID" in (found or "").upper()


def _rebuild(conn: Connection, table: Table) -> None:
    new = Table(
        f"{table.name}_clustered",
        MetaData(),
        *(column._copy() for column in table.columns),
        PrimaryKeyConstraint(*(column.name for column in table.primary_key.columns)),
        sqlite_with_rowid=False,
    )
    new.create(conn)
    names = [column.name for column in table.columns]
    conn.execute(insert(new).from_select(names, select(*table.columns)))
    conn.execute(text(f"DROP TABLE {table.name}"))
    conn.execute(text(f"ALTER TABLE {new.name} RENAME TO {table.name}"))
