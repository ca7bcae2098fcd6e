"""The Tasks page's reads as SQL: one page of the tasks matching a ``TaskFilter``, and its count.

A million stored tasks never come into memory at once: the filters, the order and the limit run
in the database (SQLAlchemy Core, the same statements on SQLite and PostgreSQL).

Invariants:

- A filter means what ``lib.frames.filters.filter_tasks`` means on the tasks frame: the stored
  ``state`` is the effective state (``lib.store.rows``), a missing value never matches a wanted
  one, a task without ``received`` passes the time filter only when it is unset, and the text
  search is a case-insensitive substring of ``TEXT_SEARCHED`` (``%`` and ``_`` are literal).
  Case folds letters as the database's ``lower`` does: every letter on PostgreSQL, ASCII letters
  on SQLite (pandas folds every letter, so a search with other capitals differs there).
  ``lib.store.text_search`` narrows the rows a text search reads without changing its meaning;
  its count is exact unless more match than the page reads: then ``TaskPage.more`` says so.
- A page is newest first: ``timestamp`` descending, tasks without one last, ties by ``uuid``;
  migration step 7 indexes that order, alone and within a state, name, worker or queue; step 9
  indexes ``received`` (alone and within a state) followed by it, for the time filter.
- Frames are built as ``tasks_window_frame`` builds them (``lib.store.task_frames``):
  ``TASK_COLUMNS`` + ``in_flower``; ``trend_rows`` reads only what analytics read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
)

from lib.frames.filters import TEXT_SEARCHED, TaskFilter
from lib.frames.state import BUILT_IN_STATES, running
from lib.redact import MASKED_COLUMNS
from lib.store import text_search
from lib.store.schema import TASKS, epoch
from lib.store.task_frames import tasks_frame_of
from lib.store.text_index import SHORTEST_INDEXED
from lib.store.text_search import EXACT, SCAN, TextPlan, text_plan, walking_newest_first
from lib.trends.window import FINISH_COLUMNS, WINDOW_COLUMNS

__all__ = [
    "FILTERED_COLUMNS",
    "TREND_SOURCES",
    "TaskPage",
    "conditions",
    "gone_count",
    "held_states",
    "matching_uuids",
    "newest_tasks",
    "queue_traffic",
    "running_before",
    "task_values",
    "tasks_page",
    "trend_rows",
]

#: The columns the page's choosers offer values of (each indexed with the newest-first order).
FILTERED_COLUMNS = ("state", "name", "worker", "queue")
#: What a range's analytics reads of a stored task: a window's columns (``WINDOW_COLUMNS``)
#: but the masked text, and what ``duration``, ``wait`` and the effective ``state`` derive from.
TREND_SOURCES = (
    *(c for c in WINDOW_COLUMNS if c in TASKS.c and c not in (*MASKED_COLUMNS, "state")),
    "flower_state",
    "runtime",
    "in_flower",
)
#: Newest first, as every page reads.
NEWEST_FIRST = (TASKS.c.timestamp.desc().nulls_last(), TASKS.c.uuid)


@dataclass(frozen=True)
class TaskPage:
    """One page of matching tasks (newest first) and how many match in all."""

    rows: pd.DataFrame
    matching: int
    #: True when more than ``matching`` tasks match: a text search counts only as far as
    #: its page reads when the matches are many (``lib.store.text_search``).
    more: bool = False
    #: A text search too short for the trigram index, on a store of more than
    #: ``text_search.SHORT_WINDOW`` tasks, reads only the newest that many: the ``timestamp``
    #: of the oldest it read (the page says so); None when it read every task.
    since: float | None = None

    @property
    def complete(self) -> bool:
        """True when the page holds every matching task."""
        return not self.more and len(self.rows) >= self.matching

    @property
    def matching_text(self) -> str:
        """How many match, as a page says it: ``1,234`` or ``more than 10,000``."""
        return f"more than {self.matching:,}" if self.more else f"{self.matching:,}"


def conditions(wanted: TaskFilter) -> list[ColumnElement[bool]]:
    """``wanted`` as WHERE conditions (all must hold; none: every task)."""
    found: list[ColumnElement[bool]] = []
    for column, values in zip(
        FILTERED_COLUMNS, (wanted.states, wanted.names, wanted.workers, wanted.queues), strict=True
    ):
        if values:
            found.append(TASKS.c[column].in_(list(values)))
    if wanted.received_from is not None:
        found.append(TASKS.c.received >= epoch(wanted.received_from))
    if wanted.received_to is not None:
        found.append(TASKS.c.received <= epoch(wanted.received_to))
    if wanted.uuids is not None:
        found.append(TASKS.c.uuid.in_(list(wanted.uuids)))
    if needle := wanted.needle:
        found.append(
            or_(*(func.lower(TASKS.c[c]).like(_pattern(needle), "/") for c in TEXT_SEARCHED))
        )
    return found


def _pattern(needle: str) -> BindParameter:
    """``LIKE``'s pattern for "holds ``needle``" (``%``, ``_`` and the escape ``/`` literal),
    inline in the statement rather than bound: PostgreSQL then plans each needle with its value
    (a statement run often gets prepared, and its generic plan cannot tell a rare needle, read
    through the trigram indexes, from a common one, met soon by a scan)."""
    escaped = needle.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return bindparam(None, f"%{escaped}%", Text, literal_execute=True)


def tasks_page(conn: Connection, wanted: TaskFilter, limit: int, offset: int = 0) -> TaskPage:
    """The ``limit`` newest tasks matching ``wanted`` from ``offset``, and the matching count
    (for a text search of many matches: "more than ``offset + limit``", ``TaskPage.more``)."""
    plan, since = _planned(conn, wanted.needle)
    where = and_(true(), *conditions(wanted), *plan.narrowing)
    if plan.reading != EXACT:
        query, count, more = _capped_page(conn, where, limit, offset, plan.reading)
        return TaskPage(tasks_frame_of(conn, query), count, more, since)
    count = conn.execute(select(func.count()).select_from(TASKS).where(where)).scalar()
    query = select(TASKS).where(where).order_by(*NEWEST_FIRST).limit(limit).offset(offset)
    if wanted.received_from is not None or wanted.received_to is not None:
        # A time range is read by step 9's indexes: the page's ids ordered within the index
        # (databases would rather sort whole rows there), then only those rows read.
        ids = query.with_only_columns(TASKS.c.uuid)
        query = select(TASKS).where(TASKS.c.uuid.in_(ids)).order_by(*NEWEST_FIRST)
    return TaskPage(tasks_frame_of(conn, query), int(count or 0), since=since)


def _planned(conn: Connection, needle: str) -> tuple[TextPlan, float | None]:
    """``needle``'s plan (``lib.store.text_search``), and for a needle too short for the
    trigram index on a big store, the newest ``SHORT_WINDOW`` tasks as its bound (a rare short
    needle would otherwise read every stored task: seconds at a million) and its oldest time."""
    plan = text_plan(conn, needle)
    if not needle or len(needle) >= SHORTEST_INDEXED:
        return plan, None
    last = select(TASKS.c.timestamp, TASKS.c.uuid).order_by(*NEWEST_FIRST)
    edges = conn.execute(last.offset(text_search.SHORT_WINDOW - 1).limit(2)).all()
    if len(edges) < 2 or edges[0].timestamp is None:  # no more tasks (with a time): all read
        return plan, None
    edge = edges[0]
    # Exactly the first SHORT_WINDOW in the page's order: ties on the time go by the id.
    window = (
        TASKS.c.timestamp >= edge.timestamp,
        or_(TASKS.c.timestamp > edge.timestamp, TASKS.c.uuid <= edge.uuid),
    )
    return replace(plan, narrowing=plan.narrowing + window), float(edge.timestamp)


def _capped_page(
    conn: Connection, where: ColumnElement[bool], limit: int, offset: int, reading: str
) -> tuple[Select, int, bool]:
    """A text search's page query, its count and whether more match, counting one past the
    page at most (``lib.store.text_search``). ``WALK``: the newest first, one past the page,
    is the page and the count at once. ``SCAN``: one pass in storage order stops one past the
    page (a common needle soon; a rare one reads every row once, not twice); when it found
    them all, the page is read by their ids, else by the newest-first walk (many match)."""
    cap, newest = offset + limit, select(TASKS.c.uuid).where(where)
    if reading == SCAN:
        found = list(conn.execute(newest.limit(cap + 1)).scalars())
        if len(found) > cap:
            return _by_ids(_newest_matches(conn, newest, limit, offset)), cap, True
        return _by_ids(found).limit(limit).offset(offset), len(found), False
    found = list(conn.execute(newest.order_by(*NEWEST_FIRST).limit(cap + 1)).scalars())
    more = len(found) > cap
    return _by_ids(found[offset:cap]), cap if more else len(found), more


def _newest_matches(conn: Connection, newest: Select, limit: int, offset: int) -> list[str]:
    """The page's ids when more match than it holds: first by a walk of the newest
    ``WALK_ROWS`` tasks alone (a needle in many tasks fills the page there), else by the
    database's own plan (one in a few percent: PostgreSQL reads them by its trigram indexes)."""
    page = newest.order_by(*NEWEST_FIRST).limit(limit).offset(offset)
    walked = text_search.WALK_ROWS  # read when called: tests set it
    recent = select(TASKS.c.timestamp).order_by(NEWEST_FIRST[0]).offset(walked).limit(1)
    bound = conn.execute(recent).scalar()
    if bound is not None:  # every task at or after ``bound``: the newest first, whole
        with walking_newest_first(conn):
            found = list(conn.execute(page.where(TASKS.c.timestamp >= bound)).scalars())
        if len(found) == limit:
            return found
    return list(conn.execute(page).scalars())


def _by_ids(uuids: list[str]) -> Select:
    """The tasks of ``uuids``, newest first; the ids inline, as many as a page holds (bound
    parameters have a per-statement limit on older SQLite)."""
    ids = bindparam("page_ids", uuids, expanding=True, literal_execute=True)
    return select(TASKS).where(TASKS.c.uuid.in_(ids)).order_by(*NEWEST_FIRST)


def matching_uuids(conn: Connection, wanted: TaskFilter) -> list[str]:
    """Every matching task's id, newest first (what "act on all matching" sends)."""
    where = and_(true(), *conditions(wanted), *_planned(conn, wanted.needle)[0].narrowing)
    query = select(TASKS.c.uuid).where(where).order_by(*NEWEST_FIRST)
    return list(conn.execute(query).scalars())


def task_values(conn: Connection, columns: Sequence[str] = FILTERED_COLUMNS) -> dict[str, list]:
    """The distinct non-empty values of each column, sorted: what the page's choosers offer."""
    found = {}
    for column in columns:
        col = TASKS.c[column]
        query = select(col).where(col.is_not(None), col != "").distinct()
        found[column] = sorted(conn.execute(query).scalars())
    return found


def newest_tasks(conn: Connection, limit: int) -> pd.DataFrame:
    """The ``limit`` tasks with the latest last event (``last_at``), newest first."""
    query = select(TASKS).order_by(TASKS.c.last_at.desc(), TASKS.c.uuid).limit(limit)
    return tasks_frame_of(conn, query)


def queue_traffic(conn: Connection, since: float) -> pd.DataFrame:
    """What the queues frame reads of the tasks: those received (placed) since ``since`` and
    every running one (STARTED or a custom state, effective: ``lib.frames.state.running``),
    however long ago it was received. Two reads, each by an index (an OR would scan all); no
    task is in both, since they split on ``placed_at``."""
    held = task_values(conn, ("state",))["state"]
    running = [s for s in held if s == "STARTED" or s not in BUILT_IN_STATES]  # a few, indexed
    recent = select(TASKS).where(TASKS.c.placed_at >= since)
    older = select(TASKS).where(TASKS.c.state.in_(running), TASKS.c.placed_at < since)
    return tasks_frame_of(conn, recent, older)


def trend_rows(
    conn: Connection, start: float, split: float, end: float, held: Sequence[str] | None = None
) -> pd.DataFrame:
    """The raw rows a range's analytics reads (``lib.trends.history.combined_windows``): tasks
    placed in ``[split, end)``, and unfinished ones placed in ``[start, split)`` (finished ones
    there come from the rollups), newest placement first. Only the ``TREND_SOURCES`` are read:
    the frame's other columns are missing (a window keeps only ``WINDOW_COLUMNS``; no masked
    text). Two reads, each by an index: the unfinished by their states (the few held that are
    not a finish), not by every row of the range (an OR, or a NOT IN, would scan them all).
    ``held``: the states the store holds, when the caller read them (``held_states``)."""
    held = held_states(conn) if held is None else held
    unfinished = [s for s in held if s not in FINISH_COLUMNS]
    lean = [TASKS.c[name] for name in TREND_SOURCES]
    late = select(*lean).where(TASKS.c.placed_at >= split, TASKS.c.placed_at < end)
    early = select(*lean).where(
        TASKS.c.state.in_(unfinished), TASKS.c.placed_at >= start, TASKS.c.placed_at < split
    )
    newest = TASKS.c.placed_at.desc()
    return tasks_frame_of(conn, late.order_by(newest), early.order_by(newest))


def held_states(conn: Connection) -> list[str]:
    """The states the stored tasks are in (one DISTINCT over the state index)."""
    return task_values(conn, ("state",))["state"]


def running_before(
    conn: Connection, start: float, held: Sequence[str] | None = None
) -> pd.DataFrame:
    """The tasks running now (STARTED or a custom state, effective) placed before ``start``,
    with ``trend_rows``' columns: not in a range's window, yet busy inside it (a training job
    received yesterday and running still is busy all of the last hour). Read by their states,
    the few running ones the store holds (index on state), as ``trend_rows`` reads the
    unfinished; ``held`` as ``trend_rows`` takes it."""
    held = pd.Series(held_states(conn) if held is None else held, dtype="object")
    states = held[running(held)].tolist()
    lean = [TASKS.c[name] for name in TREND_SOURCES]
    query = select(*lean).where(TASKS.c.state.in_(states), TASKS.c.placed_at < start)
    return tasks_frame_of(conn, query.order_by(TASKS.c.placed_at.desc()))


def gone_count(conn: Connection) -> int:
    """How many stored tasks Flower no longer holds."""
    query = select(func.count()).select_from(TASKS).where(TASKS.c.in_flower.is_(False))
    return int(conn.execute(query).scalar() or 0)
