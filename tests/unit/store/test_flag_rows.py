"""The tasks flags judge, read from a real store (SQLite and PostgreSQL): every unfinished
one however old, by its effective state, and the uuid filter a flag's page reads by."""

from __future__ import annotations

from lib.frames import TaskFilter, flags
from lib.store.histogram import RELATIVE_ERROR
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


def test_a_names_p99_over_a_week_sums_hours_and_edge_minutes_alike(store):
    # Runs spread over six days (whole hours from the hourly rollups, the edges from minutes).
    runs = [
        task_payload(f"r{i}", at=NOW - i * 20_000 - 7, runtime=2.0 if i % 10 else 40.0)
        for i in range(26)
    ]
    store.upsert_tasks(runs, now=NOW)
    start = NOW - flags.P99_DAYS * 86400
    weekly = flags.runtime_p99_frame(
        store.histograms("runtime", start, NOW, flags.P99_STEP_MINUTES)
    )
    minutes = flags.runtime_p99_frame(store.histograms("runtime", start, NOW, 1))
    assert weekly.to_dict("records") == minutes.to_dict("records")
    row = weekly.set_index("name").loc["demo.add"]
    assert row["samples"] == 26 and 2.0 < row["p99"] <= 40.0 * (1 + RELATIVE_ERROR)
