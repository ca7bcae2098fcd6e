"""How the Tasks page's text search reads its matches: which rows, and how far it counts.

A plan, per needle, that keeps the search's meaning (``lib.store.task_query``) exactly:

- ``narrowing``: extra WHERE conditions that only drop rows the search would drop too. On
  SQLite, when the trigram index (``lib.store.text_index``) offers at most ``LOOKUP_MAX``
  candidates, the search reads those rows by rowid (each re-checked by the search's predicate)
  instead of every row; more candidates than that cost more by rowid than the newest-first walk
  that meets the page's matches soon, so they are not used. PostgreSQL's trigram indexes serve
  the predicate itself: no narrowing.
- ``capped``: the count stops one past the page's last row (the page then says "more than
  N"), so a needle in half the store is not counted over every row; a count below the cap is
  exact. Capped unless the narrowing already reads only a few rows, whose count is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, literal_column

from lib.store.text_index import candidate_count, candidates

__all__ = ["LOOKUP_MAX", "TextPlan", "text_plan"]

#: The most candidates read by rowid (SQLite); beyond, a page walks newest first.
LOOKUP_MAX = 50_000


@dataclass(frozen=True)
class TextPlan:
    """How one needle's matches are read (see the module)."""

    narrowing: tuple[ColumnElement[bool], ...] = ()
    capped: bool = False


def text_plan(conn: Connection, needle: str) -> TextPlan:
    """The plan for ``needle`` (already lower-case; '' for no text search)."""
    if not needle:
        return TextPlan()
    found = candidates(needle, conn.dialect.name)
    if found is not None and candidate_count(conn, needle) <= LOOKUP_MAX:
        rowid = literal_column("tasks.rowid")
        return TextPlan((rowid.in_(found.scalar_subquery()),), capped=False)
    return TextPlan(capped=True)
