"""Stored rows → the tasks frame by columns gives exactly what ``tasks_frame`` of their payloads
gives, on SQLite and PostgreSQL: every state, missing times, children, odd text, no rows."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import insert, select

from lib import frames
from lib.store import Store
from lib.store.engine import reading, writing
from lib.store.rows import payload_of
from lib.store.schema import TASKS
from lib.store.task_frames import stored_frame, tasks_frame_of
from tests.recorded import recorded_tasks, special

NOW = 1_800_000_000.0


def varied_tasks() -> list[dict]:
    """Payloads the recorded cluster lacks: missing times, children, odd text, odd states."""
    base = {"worker": "w@odd", "routing_key": "odd", "received": NOW - 50, "timestamp": NOW - 9}
    return [
        {**base, "uuid": "no-times", "state": "PENDING", "received": None, "timestamp": None},
        {**base, "uuid": "parent", "state": "SUCCESS", "children": ["c-1", {"id": "c-2"}]},
        {**base, "uuid": "custom-revoked", "state": "PROGRESS", "revoked": NOW - 20},
        {**base, "uuid": "success-revoked", "state": "SUCCESS", "revoked": NOW - 20},
        {**base, "uuid": "fail", "state": "FAILURE", "started": NOW - 30, "failed": NOW - 29.5},
        {**base, "uuid": "no-queue", "state": "STARTED", "routing_key": None, "started": NOW},
        {**base, "uuid": "odd-text", "state": "RETRY", "args": "('ünï\x00\n', '')", "kwargs": ""},
        {**base, "uuid": "no-state", "state": None, "sent": NOW - 60, "runtime": 0.25},
        {**base, "uuid": "retried", "state": "SUCCESS", "retries": 3, "runtime": 1e-7},
    ]


#: Stored rows no upsert writes (``row_of`` keeps neither an empty queue nor empty children),
#: as another writer or an older console might have left them.
RAW_ROWS = [
    {"uuid": "blank-queue", "queue": "", "children": "", "flower_state": "SUCCESS"},
    {"uuid": "only-last", "flower_state": "PROGRESS", "state": "PROGRESS", "revoked": NOW},
    {"uuid": "empty-text", "name": "", "worker": "", "args": "", "children": "a,b"},
]


@pytest.fixture
def varied(store: Store) -> Store:
    store.upsert_tasks([*recorded_tasks(), *varied_tasks()], NOW)
    store.mark_gone(["parent", special("revoked_in_progress")])
    with writing(store.engine) as conn:
        for row in RAW_ROWS:  # one by one: the rows name different columns
            conn.execute(insert(TASKS).values(last_at=NOW, counted=False, in_flower=True, **row))
    return store


def by_payloads(conn, query) -> pd.DataFrame:
    """The frame as the store built it before: a payload per row through ``tasks_frame``."""
    rows = conn.execute(query).mappings().all()
    frame = frames.tasks_frame([payload_of(row) for row in rows])
    frame["in_flower"] = pd.array([bool(r["in_flower"]) for r in rows], dtype="bool")
    return frame


@pytest.mark.parametrize("order", ["uuid", "placed_at"])
def test_stored_rows_by_columns_are_the_frame_of_their_payloads(varied, order):
    query = select(TASKS).order_by(TASKS.c[order], TASKS.c.uuid)
    with reading(varied.engine) as conn:
        want, got = by_payloads(conn, query), tasks_frame_of(conn, query)
    assert len(got) == varied.task_count() > 60
    assert set(got["state"]) >= {"SUCCESS", "FAILURE", "REVOKED", "PROGRESS", "RETRY"}
    assert not got["in_flower"].all() and got["children"].notna().any()
    pd.testing.assert_frame_equal(got, want)


def test_no_stored_rows_are_an_empty_frame_of_the_same_dtypes(varied):
    query = select(TASKS).where(TASKS.c.uuid == "nobody")
    with reading(varied.engine) as conn:
        want, got = by_payloads(conn, query), tasks_frame_of(conn, query)
    assert got.empty
    pd.testing.assert_frame_equal(got, want)


def test_columns_left_out_are_missing_and_the_rest_as_read_in_full(varied):
    lean = select(TASKS.c.uuid, TASKS.c.flower_state, TASKS.c.revoked, TASKS.c.in_flower)
    with reading(varied.engine) as conn:
        got = tasks_frame_of(conn, lean.order_by(TASKS.c.uuid))
        full = tasks_frame_of(conn, select(TASKS).order_by(TASKS.c.uuid))
    read = ["uuid", "state", "flower_state", "revoked", "in_flower"]
    pd.testing.assert_frame_equal(got[read], full[read])
    assert got.drop(columns=read).isna().all().all()
    pd.testing.assert_series_equal(got.dtypes, full.dtypes)


def test_a_frame_without_in_flower_is_refused_in_words():
    with pytest.raises(ValueError, match="in_flower"):
        stored_frame(["uuid"], [("a",)])
