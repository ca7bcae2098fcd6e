"""Migration step 9: the Tasks page's time filter ("received in the last day", alone or + a
state) is read by an index on both databases, in a store migrated from step 7 too. Step 11:
the Tasks page's indexes hold no uuid (a third of a task's bytes), and pages keep their order
and their indexes."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import and_, func, insert, inspect, select, text, true

from lib.frames import TaskFilter
from lib.store import Store
from lib.store.engine import open_engine, reading, writing
from lib.store.migrations import (
    LATEST,
    RECEIVED_INDEXES,
    STEPS,
    TASK_PAGE_INDEXES,
    current_version,
    migrate,
)
from lib.store.schema import TASKS
from lib.store.task_query import NEWEST_FIRST, conditions

NOW = 1_800_000_000.0
DAY = 86400.0
STATES = ("SUCCESS", "FAILURE", "STARTED", "PROGRESS")


def stored_rows(count: int = 400) -> list[dict]:
    """Tasks received over two days (a few never received), in varied states."""
    rows = []
    for i in range(count):
        received = None if i % 50 == 0 else NOW - i * (2 * DAY / count)
        state = STATES[i % len(STATES)]
        row = {"uuid": f"t-{i:04d}", "state": state, "flower_state": state, "received": received}
        rows.append({**row, "timestamp": NOW - i, "last_at": NOW - i, "name": f"n{i % 3}"})
    return rows


def index_names(conn) -> set[str]:
    return {i["name"] for i in inspect(conn).get_indexes("tasks")}


def plan_of(conn, statement) -> str:
    """The database's plan for ``statement``, as text (sequential scans discouraged on
    PostgreSQL: a few hundred rows would be read whole however they were indexed)."""
    sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
    return "\n".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


def test_a_store_of_step_8_gets_the_received_indexes_and_its_filters_read_by_them(store_url):
    engine = open_engine(store_url)
    migrate(engine, STEPS[:8])
    with writing(engine) as conn:
        assert not set(RECEIVED_INDEXES) & index_names(conn)
        conn.execute(insert(TASKS), stored_rows())  # rows written before step 9
    store = Store(store_url)  # opening it applies step 9
    with reading(store.engine) as conn:
        assert current_version(conn) == LATEST and set(RECEIVED_INDEXES) <= index_names(conn)
    since = datetime.fromtimestamp(NOW - DAY, UTC)
    every = store.newest_tasks(10**6)
    for wanted in (
        TaskFilter(received_from=since),
        TaskFilter(received_from=since, states=STATES[:1]),
    ):
        page = store.tasks_page(wanted, 10**6)
        expected = wanted.apply(every)
        assert 0 < page.matching == len(expected) < len(every)
        assert sorted(page.rows["uuid"]) == sorted(expected["uuid"])
        count = select(func.count()).select_from(TASKS).where(and_(true(), *conditions(wanted)))
        with reading(store.engine) as conn:
            plan = plan_of(conn, count)
        used = "ix_tasks_state_received" if wanted.states else "ix_tasks_received"
        assert used in plan, plan
    store.close()


def test_a_new_store_has_the_received_indexes(store):
    with reading(store.engine) as conn:
        assert set(RECEIVED_INDEXES) <= index_names(conn)
    assert isinstance(store.newest_tasks(1), pd.DataFrame)


def test_step_11_leaves_the_uuid_out_of_the_page_indexes_and_pages_keep_their_order(store_url):
    engine = open_engine(store_url)
    migrate(engine, STEPS[:10])
    rows = stored_rows()
    for row in rows[:40]:  # ties on the newest-first time: the uuid still orders them
        row["timestamp"] = NOW
    with writing(engine) as conn:
        conn.execute(insert(TASKS), rows)
    store = Store(store_url)  # opening it applies step 11
    with reading(store.engine) as conn:
        indexes = {i["name"]: i for i in inspect(conn).get_indexes("tasks")}
    for name in (*TASK_PAGE_INDEXES, *RECEIVED_INDEXES):
        assert "uuid" not in indexes[name]["column_names"], indexes[name]
    newest = store.newest_tasks(10**6)
    assert list(newest["uuid"][:40]) == sorted(f"t-{i:04d}" for i in range(40))
    page = store.tasks_page(TaskFilter(states=("SUCCESS",)), 5)
    assert list(page.rows["uuid"]) == [u for u in newest["uuid"] if u in set(page.rows["uuid"])]
    assert list(page.rows["uuid"]) == list(newest.loc[newest["state"] == "SUCCESS", "uuid"][:5])
    query = select(TASKS.c.uuid).where(TASKS.c.state == "SUCCESS").order_by(*NEWEST_FIRST)
    with reading(store.engine) as conn:
        plan = plan_of(conn, query.limit(5))
    if store.engine.dialect.name == "sqlite":  # PostgreSQL picks by statistics of 400 rows
        assert "ix_tasks_state_newest" in plan and "RIGHT PART OF ORDER BY" in plan, plan
    store.close()
