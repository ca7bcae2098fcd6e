"""Schema migrations: fresh → latest, re-run a no-op, a newer store refused untouched."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, inspect, select

from lib.errors import ConsoleError, StoreError
from lib.store import LATEST, Store
from lib.store.engine import open_engine, reading, writing
from lib.store.migrations import STEPS, Step, current_version, migrate
from lib.store.schema import SCHEMA_VERSION


def test_a_fresh_store_is_migrated_to_the_latest_version(store):
    with reading(store.engine) as conn:
        assert current_version(conn) == LATEST
        tables = set(inspect(conn).get_table_names())
        versions = conn.execute(select(SCHEMA_VERSION.c.version)).scalars().all()
    assert {"tasks", "task_events", "queue_samples", "worker_samples"} <= tables
    assert {"rollup_counts", "rollup_histograms", "schema_version"} <= tables
    assert versions == [step.version for step in STEPS]


def test_migrating_again_applies_nothing(store):
    assert migrate(store.engine) == 0
    Store(store.url)  # reopening the same store is fine too
    with reading(store.engine) as conn:
        assert len(conn.execute(select(SCHEMA_VERSION)).all()) == len(STEPS)


def test_steps_apply_in_order_each_once(store_url):
    engine = open_engine(store_url)
    ran = []
    steps = (
        Step(1, "first", lambda conn: ran.append(1)),
        Step(2, "second", lambda conn: ran.append(2)),
    )
    assert migrate(engine, steps[:1]) == 1
    assert migrate(engine, steps) == 1
    assert migrate(engine, steps) == 0
    assert ran == [1, 2]


def test_a_failing_step_leaves_no_version_row(store_url):
    engine = open_engine(store_url)

    def broken(conn):
        conn.exec_driver_sql("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        migrate(engine, (Step(1, "broken", broken),))
    with reading(engine) as conn:
        assert current_version(conn) == 0
        assert not inspect(conn).has_table("half")  # rolled back with its version row


def test_a_newer_store_is_refused_with_a_clear_error(store):
    with writing(store.engine) as conn:
        conn.execute(
            insert(SCHEMA_VERSION).values(version=LATEST + 1, description="future", applied_at=0)
        )
    with pytest.raises(StoreError, match="newer than this console knows") as caught:
        Store(store.url)
    assert isinstance(caught.value, ConsoleError)
    assert f"version {LATEST + 1}" in str(caught.value)


def test_an_unusable_url_is_a_store_error_without_its_password():
    with pytest.raises(StoreError) as caught:
        Store("postgresql://ops:Hunter22@127.0.0.1:1/ops")  # no driver, or nothing listening
    assert "history store" in str(caught.value)
    assert "Hunter22" not in str(caught.value)
