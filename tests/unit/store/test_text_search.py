"""The text search through its index (step 18) finds exactly what the scan finds, on both
databases, whichever way it reads; the index stays right through inserts, updates and pruning."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from lib.frames import TaskFilter
from lib.redact import DEFAULT_SENSITIVE_KEYS
from lib.store import Store, text_search
from lib.store.engine import open_engine, reading, writing
from lib.store.migrations import STEPS, migrate
from lib.store.rows import Masking
from lib.store.tasks import upsert_tasks
from lib.store.text_index import (
    FTS_TABLE,
    INDEXED_COLUMNS,
    PG_INDEXES,
    candidate_count,
    fts_query,
    rebuild_sqlite,
)
from tests.factories import task_payload

NOW = 1_800_000_000.0
DAY = 86400.0
#: Words the tasks' text is made of: some in many tasks, some in one, some only across words.
WORDS = ("order", "sku-19", "user", "EUR", "Ünïcode", 'say "hi"', "50%_off", "x" * 12, "C:\\tmp's")
NEEDLES = (
    "sku-19 user",  # common
    "user sku-19",  # every trigram common, the phrase rarer
    "Sku-19",  # capitals
    "ünï",  # non-ASCII: SQLite's lower leaves its capitals alone, the index folds them
    'say "h',  # a quote, FTS5's own syntax
    "50%_",  # LIKE's wildcards, literal
    "%_o",
    "\\tmp's",  # a backslash and a quote: the pattern is inline in the statement
    "xxxx",
    "eur",
    "ur",  # too short for a trigram: the scan
    "t17",  # a uuid
    "valueerror",
    "no such text anywhere",
)


def worded(i: int) -> str:
    """Two to five of ``WORDS``, chosen by ``i``."""
    rng = random.Random(i)
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5)))


def tasks(count: int) -> list[dict]:
    """``count`` tasks an hour apart (the newest first in id order is the oldest), every third
    one failed; text from ``WORDS`` in its args, kwargs, result or exception."""
    out = []
    for i in range(count):
        state = "FAILURE" if i % 3 == 0 else "SUCCESS"
        extra = {"args": f"({worded(i)!r},)", "kwargs": f"{{'n': {i}}}"}
        if state == "SUCCESS":
            extra["result"] = repr(worded(i + 1))
        else:
            extra["exception"] = f"ValueError({worded(i + 2)!r})"
        out.append(task_payload(f"t{i}", state, at=NOW - DAY + i * 60, **extra))
    return out


@pytest.fixture
def filled(any_store_url) -> Store:
    store = Store(any_store_url)
    store.upsert_tasks(tasks(120), NOW)
    yield store
    store.close()


def newest_first(frame: pd.DataFrame) -> list[str]:
    ordered = frame.sort_values("uuid").sort_values(
        "timestamp", ascending=False, na_position="last", kind="stable"
    )
    return list(ordered["uuid"])


#: (LOOKUP_MAX, WALK_MAX) making each reading of ``lib.store.text_search`` the one taken.
READINGS = {"exact": (10**6, 10**6), "walk": (0, 10**6), "scan": (0, 0)}


def read_by(monkeypatch, reading: str) -> None:
    lookup_max, walk_max = READINGS[reading]
    monkeypatch.setattr(text_search, "LOOKUP_MAX", lookup_max)
    monkeypatch.setattr(text_search, "WALK_MAX", walk_max)


@pytest.mark.parametrize("reading", list(READINGS))
def test_every_needle_finds_what_the_scan_finds(filled, monkeypatch, reading):
    read_by(monkeypatch, reading)
    sizes = []
    for needle in NEEDLES:
        for wanted in (TaskFilter(text=needle), TaskFilter(text=needle, states=("FAILURE",))):
            expected = newest_first(wanted.apply(filled.newest_tasks(10**6)))
            if filled.engine.dialect.name == "sqlite" and not wanted.needle.isascii():
                expected = sql_scan(filled, wanted.needle, wanted.states)
            page = filled.tasks_page(wanted, limit=10**6)
            assert list(page.rows["uuid"]) == expected, wanted
            assert (page.matching, page.more) == (len(expected), False), wanted
            assert filled.matching_uuids(wanted) == expected, wanted
            sizes.append(len(expected))
    assert 0 in sizes and max(sizes) > 40 and len(set(sizes)) > 8, sizes


def sql_scan(store: Store, needle: str, states: tuple[str, ...]) -> list[str]:
    """The scan as SQL (SQLite's own ``lower``, which pandas does not share for non-ASCII)."""
    searched = " OR ".join(f"instr(lower({c}), :needle) > 0" for c in INDEXED_COLUMNS)
    where = f"({searched})" + (" AND state IN ('FAILURE')" if states else "")
    order = '"timestamp" DESC NULLS LAST, uuid'
    with reading(store.engine) as conn:
        found = conn.execute(
            text(f"SELECT uuid FROM tasks WHERE {where} ORDER BY {order}"), {"needle": needle}
        )
        return list(found.scalars())


@pytest.mark.parametrize(
    ("reading", "walk_rows"),
    [("walk", 60), ("scan", 60), ("scan", 5)],
    ids=["walk", "scan-newest-60-first", "scan-newest-5-too-few"],
)
def test_a_common_needle_is_counted_only_past_the_page(filled, monkeypatch, reading, walk_rows):
    read_by(monkeypatch, reading)  # as a needle in many tasks of a big store
    monkeypatch.setattr(text_search, "WALK_ROWS", walk_rows)  # the newest tasks walked first
    wanted = TaskFilter(text="SKU-19")
    expected = newest_first(wanted.apply(filled.newest_tasks(10**6)))
    assert len(expected) > 20
    first, second = filled.tasks_page(wanted, 10), filled.tasks_page(wanted, 10, offset=10)
    assert list(first.rows["uuid"]) + list(second.rows["uuid"]) == expected[:20]
    assert (first.matching, first.more, first.complete) == (10, True, False)
    assert (second.matching, second.more) == (20, True)
    assert first.matching_text == "more than 10"
    whole = filled.tasks_page(wanted, len(expected))  # every match fits: the count is exact
    assert (whole.matching, whole.more, whole.complete) == (len(expected), False, True)
    assert whole.matching_text == f"{len(expected):,}"
    assert filled.matching_uuids(wanted) == expected  # "act on all matching": every one


def test_a_few_candidates_are_counted_exactly_past_the_page_on_sqlite(filled):
    wanted = TaskFilter(text="ValueError")  # every failure: 40, well under LOOKUP_MAX
    page = filled.tasks_page(wanted, 5)
    # PostgreSQL's index serves the predicate itself: no candidates to count, a capped count.
    exact = filled.engine.dialect.name == "sqlite"
    assert (page.matching, page.more) == ((40, False) if exact else (5, True))
    assert list(page.rows["uuid"]) == filled.matching_uuids(wanted)[:5]


def candidates_of(store: Store, needle: str) -> set[int]:
    with reading(store.engine) as conn:
        query = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q"
        return set(conn.execute(text(query), {"q": fts_query(needle)}).scalars())


def rowids_holding(store: Store, needle: str) -> set[int]:
    with reading(store.engine) as conn:
        searched = " OR ".join(f"instr(lower({c}), :n) > 0" for c in INDEXED_COLUMNS)
        query = f"SELECT rowid FROM tasks WHERE {searched}"
        return set(conn.execute(text(query), {"n": needle}).scalars())


@pytest.fixture
def sqlite_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield store
    store.close()


def test_inserts_updates_and_pruning_keep_the_index_right(sqlite_store):
    store = sqlite_store
    old = [task_payload(f"old{i}", at=NOW - 5 * DAY, args=f"('gone-{i}',)") for i in range(4)]
    store.upsert_tasks(
        [*old, task_payload("live", "STARTED", at=NOW - 60, args="('before',)")], NOW
    )
    assert len(candidates_of(store, "gone-")) == 4
    # An update of the text replaces it; one of a state or a time alone leaves it.
    store.upsert_tasks([task_payload("live", "SUCCESS", at=NOW - 30, args="('after',)")], NOW)
    assert candidates_of(store, "before") == set() and len(candidates_of(store, "after")) == 1
    assert candidates_of(store, "demo") == rowids_holding(store, "demo") != set()  # the name
    report = store.prune(NOW, retention_days=14, success_days=2)
    assert report.deleted["tasks"] == 4 and candidates_of(store, "gone-") == set()
    # The last row's rowid, freed by the pruning, may go to a new row: not its old text.
    store.upsert_tasks([task_payload("new", at=NOW - 10, args="('fresh',)")], NOW)
    assert candidates_of(store, "gone-") == set() and len(candidates_of(store, "fresh")) == 1
    assert store.tasks_page(TaskFilter(text="gone-"), 10).matching == 0
    before = {n: candidates_of(store, n) for n in ("after", "fresh", "demo", "live", "new")}
    with writing(store.engine) as conn:
        rebuild_sqlite(conn)  # from the rows: what the triggers kept must equal it
        conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('integrity-check')"))
    assert before == {n: candidates_of(store, n) for n in before}


def test_a_store_of_step_17_gets_its_tasks_indexed(any_store_url):
    engine = open_engine(any_store_url)
    migrate(engine, STEPS[:17])  # a store written before step 18, with tasks in it
    with writing(engine) as conn:
        upsert_tasks(conn, tasks(30), NOW, Masking(DEFAULT_SENSITIVE_KEYS))
    store = Store(any_store_url)  # opening it applies step 18
    try:
        with reading(engine) as conn:
            indexes = {i["name"] for i in inspect(conn).get_indexes("tasks")}
            indexed = candidate_count(conn, "valueerror")
        if engine.dialect.name == "sqlite":
            assert indexed == 10  # every failure, found by the index
        else:
            assert set(PG_INDEXES) <= indexes and indexed is None
        page = store.tasks_page(TaskFilter(text="ValueError"), 100)
        assert sorted(page.rows["uuid"]) == sorted(f"t{i}" for i in range(0, 30, 3))
    finally:
        store.close()


def test_a_needle_too_short_or_with_a_nul_has_no_index_query():
    assert fts_query("ab") is None and fts_query("a\x00bc") is None
    assert fts_query('a"bc') == '"a""b" AND """bc"'
    assert fts_query("abcabc") == '"abc" AND "bca" AND "cab"'
    assert fts_query("x" * 200) == '"xxx"'
    assert fts_query("".join(chr(65 + i % 26) for i in range(100))).count(" AND ") == 23


@pytest.fixture
def tied(any_store_url) -> Store:
    """30 tasks, three at each of ten times: the window's edge falls inside a tie."""
    store = Store(any_store_url)
    rows = [
        task_payload(f"t{i:02d}", "SUCCESS", at=NOW - 600 + (i // 3) * 60, args=f"({worded(i)!r},)")
        for i in range(30)
    ]
    store.upsert_tasks(rows, NOW)
    yield store
    store.close()


def edge_time(store: Store, window: int) -> float:
    order = '"timestamp" DESC NULLS LAST, uuid'
    with reading(store.engine) as conn:
        query = f"SELECT timestamp FROM tasks ORDER BY {order} LIMIT 1 OFFSET {window - 1}"
        return conn.execute(text(query)).scalar()


@pytest.mark.parametrize("window", [1, 2, 3, 4, 14, 29, 30, 31])
def test_a_short_needle_on_a_big_store_reads_the_newest_window_exactly(tied, monkeypatch, window):
    monkeypatch.setattr(text_search, "SHORT_WINDOW", window)
    everything = tied.newest_tasks(10**6)
    newest = set(newest_first(everything)[:window])
    for needle, windowed in (("ur", True), ("u", True), ("user", False), ("sku", False)):
        wanted = TaskFilter(text=needle)
        matching = newest_first(wanted.apply(everything))
        expected = [u for u in matching if u in newest] if windowed else matching
        page = tied.tasks_page(wanted, 10**6)
        assert list(page.rows["uuid"]) == expected, needle
        assert (page.matching, page.more) == (len(expected), False), needle
        assert tied.matching_uuids(wanted) == expected, needle  # "act on all" acts on those
        read_all = not windowed or window >= 30  # a store no bigger than the window: all read
        assert page.since == (None if read_all else edge_time(tied, window)), needle
    assert tied.tasks_page(TaskFilter(), 10**6).since is None  # no text search: no window


def test_a_short_common_needle_past_the_window_is_counted_past_the_page(tied, monkeypatch):
    monkeypatch.setattr(text_search, "SHORT_WINDOW", 20)
    wanted = TaskFilter(text="r")  # in most tasks
    everything = tied.newest_tasks(10**6)
    newest = set(newest_first(everything)[:20])
    expected = [u for u in newest_first(wanted.apply(everything)) if u in newest]
    page = tied.tasks_page(wanted, 5)
    assert list(page.rows["uuid"]) == expected[:5]
    assert (page.matching, page.more) == (5, True) and page.since == edge_time(tied, 20)
