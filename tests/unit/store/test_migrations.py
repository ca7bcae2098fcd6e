"""Schema migrations: fresh → latest, re-run a no-op, a newer store refused untouched."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert, inspect, select

from lib.errors import ConsoleError, StoreError
from lib.store import LATEST, Store
from lib.store import engine as store_engine
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


def test_minutes_after_2038_and_counters_past_two_billion_fit(store):
    """Epoch seconds pass 2**31 in 2038 and a long-lived worker's processed count can too:
    PostgreSQL's INTEGER is 32-bit, so step 5 widens those columns (SQLite's are 64-bit)."""
    import pandas as pd

    from lib.store.rollups import RollupDeltas, apply_deltas

    later = 2**31 + 3600.0  # 2038-01-19 04:14 UTC
    deltas = RollupDeltas()
    deltas.add(
        {"placed_at": later, "name": "n", "queue": "q", "worker": "w", "state": "SUCCESS",
         "started": later - 2, "succeeded": later, "failed": None, "runtime": 2.0,
         "sent": None, "received": later - 3}
    )  # fmt: skip
    with writing(store.engine) as conn:
        apply_deltas(conn, deltas)
    counts = store.rollup_counts(later - 60, later + 60, ("state",), 1)
    assert counts["tasks"].tolist() == [1]
    assert counts["at"].iloc[0] == pd.Timestamp(later // 60 * 60, unit="s", tz="UTC")
    workers = pd.DataFrame(
        [{"worker": "w", "online": True, "active": 0, "processed": 3_000_000_000, "load": 0.5}]
    )
    store.record_samples(pd.DataFrame(columns=["queue", "messages", "consumers"]), workers, later)
    assert store.worker_samples(later - 1, later + 1)["processed"].tolist() == [3_000_000_000]


def test_step_5_widens_a_postgresql_store_made_with_32_bit_columns(postgres_url):
    from sqlalchemy import text

    from lib.store.migrations import WIDE_COLUMNS

    engine = open_engine(postgres_url)
    migrate(engine, STEPS[:4])
    with writing(engine) as conn:  # the columns as steps 1-4 made them before step 5 existed
        for table, column in WIDE_COLUMNS:
            conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE INTEGER"))
    assert migrate(engine) == len(STEPS) - 4
    with reading(engine) as conn:
        kinds = {
            (table, c["name"]): str(c["type"])
            for table, _ in WIDE_COLUMNS
            for c in inspect(conn).get_columns(table)
        }
    assert all(kinds[key] == "BIGINT" for key in WIDE_COLUMNS), kinds


def test_a_migration_waits_for_another_writer_longer_than_a_poll_would(any_store_url, monkeypatch):
    """Another process's long step (step 18 at a million tasks) holds the write lock for
    longer than a poll's write waits: this process's migration waits it out."""
    engine = open_engine(any_store_url)
    migrate(engine, STEPS[:-1])
    monkeypatch.setattr(store_engine, "BUSY_TIMEOUT_MS", 100)  # a poll's write gives up
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with writing(engine, timeout=5):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    with pytest.raises(StoreError):  # what a poll's write meets meanwhile
        with writing(engine):
            pass
    threading.Timer(0.5, release.set).start()
    try:
        assert migrate(engine) == 1
    finally:
        release.set()
        holder.join(10)
    with reading(engine) as conn:
        assert current_version(conn) == LATEST
