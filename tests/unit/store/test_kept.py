"""Kept state (migration step 2) and the ids of tasks Flower held, on a real SQLite file."""

from __future__ import annotations

from sqlalchemy import inspect

from lib.store import Store
from lib.store.engine import reading, writing
from lib.store.schema import KEPT_STATE
from tests.factories import task_payload


def test_a_kept_value_survives_reopening_the_store(store):
    store.keep("default/sync", {"watermark": 1000.5, "last_full": None}, now=1001.0)
    store.close()
    again = Store(store.url)
    assert again.kept("default/sync") == {"watermark": 1000.5, "last_full": None}
    assert again.kept("other") is None


def test_keeping_a_key_again_replaces_its_value(store):
    store.keep("k", {"a": 1}, now=1.0)
    store.keep("k", {"b": 2}, now=2.0)
    assert store.kept("k") == {"b": 2}


def test_text_that_is_not_an_object_reads_as_nothing(store):
    with writing(store.engine) as conn:
        conn.execute(KEPT_STATE.insert().values(key="bad", value="[1, 2", updated_at=1.0))
        conn.execute(KEPT_STATE.insert().values(key="list", value="[1, 2]", updated_at=1.0))
    assert store.kept("bad") is None and store.kept("list") is None


def test_step_2_adds_the_kept_state_table(store):
    with reading(store.engine) as conn:
        assert inspect(conn).has_table("kept_state")


def test_flower_uuids_are_the_stored_tasks_flower_still_holds(store):
    store.upsert_tasks([task_payload(f"t{i}", at=100.0 + i) for i in range(3)], now=200.0)
    store.mark_gone(["t1"])
    assert store.flower_uuids() == {"t0", "t2"}
