"""How the Tasks page's text search reads its matches: which rows, and how far it counts.

A plan, per needle, that keeps the search's meaning (``lib.store.task_query``) exactly:

- ``narrowing``: extra WHERE conditions that only drop rows the search would drop too: the
  candidates of SQLite's trigram index (``lib.store.text_index``), each row still re-checked
  by the search's predicate. PostgreSQL's trigram indexes serve the predicate itself.
- ``reading``: ``EXACT`` reads and counts every match: a few candidates (at most
  ``LOOKUP_MAX``), each read by rowid. ``WALK``: more candidates, but not most of the store:
  the newest-first index is walked, each row's rowid checked against the candidates (a
  lookup in memory) before its text, until one past the page. ``SCAN``: no index narrows the
  needle (too short, PostgreSQL, or in most of the store): one pass in storage order, until
  one past the page. Both stop counting one past the page's last row (the page then says
  "more than N"); a count below that is exact. When more match than the page holds, the page
  is first looked for in the newest ``WALK_ROWS`` tasks by the newest-first walk
  (``walking_newest_first``): PostgreSQL's trigram estimate of a needle of several words can
  be a thousand times too low, and its planner then reads every match through the trigram
  indexes and sorts them (seconds for one in half the store) instead of walking.
- A needle shorter than the index's trigrams, on a store of more than ``SHORT_WINDOW`` tasks,
  reads the newest ``SHORT_WINDOW`` only (``lib.store.task_query``; the page says since when).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, literal_column, text

from lib.store.text_index import candidate_count, candidates

__all__ = [
    "EXACT",
    "LOOKUP_MAX",
    "SCAN",
    "SHORT_WINDOW",
    "WALK",
    "WALK_MAX",
    "WALK_ROWS",
    "TextPlan",
    "text_plan",
    "walking_newest_first",
]

EXACT, WALK, SCAN = "exact", "walk", "scan"
#: The most candidates read by rowid and counted exactly (SQLite).
LOOKUP_MAX = 40_000
#: The most candidates checked in memory on a newest-first walk; more (a needle in most of
#: the store) cost more to gather than the walk saves: the scan meets the page's matches soon.
WALK_MAX = 200_000
#: How many of the newest tasks a page of "more than N" matches first walks alone.
WALK_ROWS = 30_000
#: How many of the newest tasks a needle too short for the trigram index reads (all, when
#: the store holds fewer): such a needle has no index to narrow it, and one in few tasks
#: would read every stored row (1.3 s on SQLite, 3.3 s on PostgreSQL at a million).
SHORT_WINDOW = 100_000


@dataclass(frozen=True)
class TextPlan:
    """How one needle's matches are read (see the module)."""

    narrowing: tuple[ColumnElement[bool], ...] = ()
    reading: str = EXACT


def text_plan(conn: Connection, needle: str) -> TextPlan:
    """The plan for ``needle`` (already lower-case; '' for no text search)."""
    if not needle:
        return TextPlan()
    found = candidates(needle, conn.dialect.name)
    if found is None:
        return TextPlan(reading=SCAN)
    many = candidate_count(conn, needle)
    if many > WALK_MAX:
        return TextPlan(reading=SCAN)
    # A unary + keeps SQLite from looking rows up by rowid: it walks, checking each one.
    rowid = literal_column("tasks.rowid" if many <= LOOKUP_MAX else "+tasks.rowid")
    return TextPlan((rowid.in_(found.scalar_subquery()),), EXACT if many <= LOOKUP_MAX else WALK)


#: PostgreSQL's planner settings that leave it the newest-first index walk only.
_WALK_ONLY = ("enable_bitmapscan", "enable_seqscan", "enable_sort")


@contextmanager
def walking_newest_first(conn: Connection) -> Iterator[None]:
    """Within: the page's query walks the newest-first index (the caller knows more match than
    the page holds, so the walk stops early). SQLite's planner does so already."""
    if conn.dialect.name != "postgresql":
        yield
        return
    for name in _WALK_ONLY:  # LOCAL: an error's rollback ends them with the transaction
        conn.execute(text(f"SET LOCAL {name} = off"))
    yield
    for name in _WALK_ONLY:
        conn.execute(text(f"RESET {name}"))
