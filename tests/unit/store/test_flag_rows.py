"""The tasks flags judge, read from a real store (SQLite and PostgreSQL): every unfinished
one however old, by its effective state, and the uuid filter a flag's page reads by."""

from __future__ import annotations

from lib.frames import TaskFilter
from tests.factories import task_payload

NOW = 1_800_000_000.0


def test_candidates_are_every_received_started_or_custom_state_task(store):
    old, recent = NOW - 30 * 86400, NOW - 60
    store.upsert_tasks(
        [
            task_payload("received", "RECEIVED", at=old),
            task_payload("started", "STARTED", at=old),
            task_payload("progress", "PROGRESS", at=recent),
            task_payload("stopped", "PROGRESS", at=recent, revoked=recent),  # effective REVOKED
            task_payload("pending", "PENDING", at=recent),
            task_payload("done", "SUCCESS", at=recent),
            task_payload("failed", "FAILURE", at=old),
        ],
        now=NOW,
    )
    found = store.flag_candidates()
    assert sorted(found["uuid"]) == ["progress", "received", "started"]
    assert found["received"].notna().all() and "eta" in found


def test_a_uuid_filter_matches_those_tasks_and_an_empty_one_none(store):
    store.upsert_tasks([task_payload(f"t{i}", at=NOW - i) for i in range(5)], now=NOW)
    page = store.tasks_page(TaskFilter(uuids=("t1", "t3", "gone")), 10)
    assert page.rows["uuid"].tolist() == ["t1", "t3"] and page.matching == 2
    assert store.tasks_page(TaskFilter(uuids=()), 10).matching == 0
    assert store.tasks_page(TaskFilter(), 10).matching == 5
