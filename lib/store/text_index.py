"""The index behind the Tasks page's text search: which tasks MAY hold a needle, cheaply.

The search itself (``lib.store.task_query``) is unchanged: a case-insensitive substring of
``TEXT_SEARCHED`` (``lower(col) LIKE '%needle%'``, ``%`` and ``_`` literal), OR over the
columns. The index only narrows the rows that predicate is evaluated on; every row it offers is
re-checked by that predicate, so results are exactly the scan's. Made by migration step 18:

- SQLite: ``tasks_text``, a contentless FTS5 table (``content=''``) with the ``trigram``
  tokenizer, ``detail=none`` and ``columnsize=0``: per trigram only the ids (rowids) of the
  task rows holding it, no positions, no copy of the text. Its query is the AND of the needle's trigrams, a superset of the
  tasks holding the needle: a substring's trigrams are all in the text, while text holding
  every trigram need not hold the substring (the re-check drops those). The tokenizer folds
  case per character (every letter, wider than SQLite's ASCII ``lower``): folding maps a
  substring of ``lower(text)`` to a substring of the folded text, so the superset holds.
  Triggers keep it in step with ``tasks`` on insert, on an update of a searched column and on
  delete (retention's deletes too); a contentless table forgets a row only when told the very
  values it was given, which the triggers pass (``old.*``). Needles shorter than 3 characters
  (no trigram) and needles holding a NUL are not looked up: the scan answers them. The task
  row's rowid is the key, and a ``VACUUM`` may renumber rowids: the store never runs one;
  after a manual one, ``rebuild_sqlite``.
- PostgreSQL: ``pg_trgm`` GIN indexes on ``lower(col)``, which the very same ``LIKE`` uses (the
  planner picks them for a rare needle, the scan for a common one). When the extension cannot
  be created the search scans, as before, and one log line says why.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Select, column, func, select, table, text
from sqlalchemy.exc import SQLAlchemyError

__all__ = [
    "FTS_TABLE",
    "INDEXED_COLUMNS",
    "MAX_TRIGRAMS",
    "PG_INDEXES",
    "SHORTEST_INDEXED",
    "candidate_count",
    "candidates",
    "create_text_index",
    "fts_query",
    "rebuild_sqlite",
]

LOG = logging.getLogger(__name__)

#: SQLite's trigram index of the searched text (rowid = the task row's rowid).
FTS_TABLE = "tasks_text"
#: The columns step 18 indexed (``TEXT_SEARCHED`` then). A step is never edited: searching
#: other columns needs a new step, or the index would miss their tasks.
INDEXED_COLUMNS = ("uuid", "name", "args", "kwargs", "result", "exception")
#: The shortest needle a trigram index can answer.
SHORTEST_INDEXED = 3
#: At most this many of a needle's trigrams are asked for: any subset still finds a superset,
#: and a pasted traceback line would otherwise merge a hundred lists for no narrower result.
MAX_TRIGRAMS = 24
#: PostgreSQL's trigram index of each searched column: name → column.
PG_INDEXES = {f"ix_tasks_{c}_trgm": c for c in INDEXED_COLUMNS}

_FTS = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))
_COLUMNS = ", ".join(INDEXED_COLUMNS)


def fts_query(needle: str) -> str | None:
    """``needle`` (lower-case) as an FTS5 query: the AND of its distinct trigrams, each a
    quoted string; None when no trigram index answers it (too short, or a NUL in it)."""
    if len(needle) < SHORTEST_INDEXED or "\x00" in needle:
        return None
    grams = list(dict.fromkeys(needle[i : i + 3] for i in range(len(needle) - 2)))
    if len(grams) > MAX_TRIGRAMS:  # spread over the needle: its start, middle and end
        step = len(grams) / MAX_TRIGRAMS
        grams = [grams[int(i * step)] for i in range(MAX_TRIGRAMS - 1)] + [grams[-1]]
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


def candidates(needle: str, dialect: str) -> Select | None:
    """The rowids of the tasks that may hold ``needle`` (a superset), or None where no index
    narrows them (PostgreSQL's index is used by the predicate itself)."""
    query = fts_query(needle) if dialect == "sqlite" else None
    if query is None:
        return None
    return select(_FTS.c.rowid).where(_FTS.c[FTS_TABLE].op("MATCH")(query))


def candidate_count(conn: Connection, needle: str) -> int | None:
    """How many tasks may hold ``needle`` (``candidates`` counted), or None (no index)."""
    found = candidates(needle, conn.dialect.name)
    if found is None:
        return None
    counted = select(func.count()).select_from(found.subquery())
    return int(conn.execute(counted).scalar() or 0)


def create_text_index(conn: Connection) -> None:
    """Create the dialect's index of the searched text over the stored tasks (step 18)."""
    if conn.dialect.name == "sqlite":
        _create_sqlite(conn)
    elif conn.dialect.name == "postgresql":
        _create_postgresql(conn)


def _values(prefix: str) -> str:
    return ", ".join(f"{prefix}{c}" for c in INDEXED_COLUMNS)


def _create_sqlite(conn: Connection) -> None:
    # IF NOT EXISTS: a store rolled back to an earlier version by hand keeps what it had.
    conn.execute(
        text(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({_COLUMNS}, content='', "
            "detail=none, columnsize=0, tokenize='trigram')"
        )
    )
    forget = (
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLUMNS}) "
        f"VALUES ('delete', old.rowid, {_values('old.')});"
    )
    learn = f"INSERT INTO {FTS_TABLE}(rowid, {_COLUMNS}) VALUES (new.rowid, {_values('new.')});"
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in INDEXED_COLUMNS)
    triggers = {
        "tasks_text_insert": f"AFTER INSERT ON tasks BEGIN {learn} END",
        "tasks_text_delete": f"AFTER DELETE ON tasks BEGIN {forget} END",
        # Most updates change a state or a time only: those leave the index alone.
        "tasks_text_update": f"AFTER UPDATE ON tasks WHEN {changed} BEGIN {forget} {learn} END",
    }
    for name, body in triggers.items():
        conn.execute(text(f"CREATE TRIGGER IF NOT EXISTS {name} {body}"))
    rebuild_sqlite(conn)  # a store rolled back by hand keeps its index: made whole again


def rebuild_sqlite(conn: Connection) -> None:
    """Fill ``tasks_text`` afresh from ``tasks`` (step 18's backfill; after a manual VACUUM)."""
    conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')"))
    conn.execute(
        text(f"INSERT INTO {FTS_TABLE}(rowid, {_COLUMNS}) SELECT rowid, {_COLUMNS} FROM tasks")
    )


def _create_postgresql(conn: Connection) -> None:
    try:
        with conn.begin_nested():  # a refusal must not abort the migration's transaction
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except SQLAlchemyError as exc:  # any refusal means the same: the search scans
        LOG.warning(
            "The history store's text search scans every task: the pg_trgm extension could "
            "not be created (%s).",
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        return
    # The extension lives in one schema of the database (the first store to make it chose):
    # a cluster's store in a schema of its own names its operator class there.
    home = conn.execute(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar_one()
    ops = f"{conn.dialect.identifier_preparer.quote_schema(home)}.gin_trgm_ops"
    for name, col in PG_INDEXES.items():
        conn.execute(
            text(f"CREATE INDEX IF NOT EXISTS {name} ON tasks USING gin (lower({col}) {ops})")
        )
