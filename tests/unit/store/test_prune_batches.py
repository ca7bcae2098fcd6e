"""Retention's batches: key ranges read in the index, rows sharing a bound deleted together,
each sized by the pace of the one before.

On SQLite every statement a prune runs is checked with ``EXPLAIN QUERY PLAN``: a search of an
index range, never a table scan nor a sort (a batch once read every success held through the
state index and sorted them; the hourly prune read every hourly row).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from sqlalchemy import event, func, insert, select

from lib.store import Store
from lib.store.engine import reading, writing
from lib.store.retention import MIN_BATCH, TARGET_SECONDS, next_size, prune
from lib.store.schema import ROLLUP_COUNTS, ROLLUP_HISTOGRAMS, TASK_EVENTS
from tests.unit.store.histories import retried_history, success_history

NOW = 1_800_000_000.0
DAY = 86400.0


def _fill(store: Store) -> None:
    """Old and new successes, failures inside and past retention, samples, rollups."""
    for i in range(12):
        store.upsert_tasks(success_history(f"old-ok-{i}", NOW - 3 * DAY + i, 1.0), NOW)
        store.upsert_tasks(retried_history(f"mid-fail-{i}", NOW - 3 * DAY + i), NOW)
        store.upsert_tasks(retried_history(f"old-fail-{i}", NOW - 20 * DAY + 60 * i), NOW)
        store.upsert_tasks(success_history(f"new-ok-{i}", NOW - DAY + i, 1.0), NOW)
    queues = pd.DataFrame({"queue": ["default"], "messages": [1], "consumers": [1]})
    for days in (20, 19, 5):
        store.record_samples(queues, pd.DataFrame(), NOW - days * DAY)


def _statements(store: Store) -> list[tuple[str, object]]:
    """Record the SELECT and DELETE statements the store's engine runs from now on."""
    seen: list[tuple[str, object]] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "DELETE")):
            seen.append((statement, parameters))

    return seen


def test_every_prune_statement_searches_an_index_range_on_sqlite(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        _fill(store)
        seen = _statements(store)
        report = store.prune(NOW, retention_days=14, success_days=2, batch_size=5)
        assert report.deleted["tasks"] == 24 and report.deleted["queue_samples"] == 2
        assert report.deleted["rollups"] > 0 and report.deleted["hourly_rollups"] > 0
        plans = []
        with store.engine.connect() as conn:
            for statement, parameters in seen:
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans += [(statement, row[-1]) for row in plan]
        assert plans
        for statement, step in plans:
            assert not step.startswith("SCAN"), (statement, step)
            assert "TEMP B-TREE" not in step and "MULTI-INDEX" not in step, (statement, step)
            if step.startswith("SEARCH tasks"):
                assert "ix_tasks_last_at" in step, (statement, step)
    finally:
        store.close()


def test_successes_sharing_the_bound_go_together_and_failures_there_stay(store):
    finish = NOW - 3 * DAY + 1.0  # success_history's last event, at + runtime
    for i in range(5):
        store.upsert_tasks(success_history(f"tie-ok-{i}", NOW - 3 * DAY, runtime=1.0), NOW)
        store.upsert_tasks(retried_history(f"tie-fail-{i}", finish - 9), NOW)
    report = store.prune(NOW, retention_days=14, success_days=2, batch_size=2)
    assert report.deleted["tasks"] == 5
    kept = set(store.tasks_window(0, NOW)["uuid"])
    assert kept == {f"tie-fail-{i}" for i in range(5)}
    with reading(store.engine) as conn:
        assert set(conn.execute(select(TASK_EVENTS.c.uuid)).scalars()) == kept
        assert set(conn.execute(select(func.max(TASK_EVENTS.c.at))).scalars()) == {finish}


def test_a_rollup_minute_larger_than_a_batch_goes_whole(store):
    minute = int(NOW - 20 * DAY) // 60 * 60
    counts = [
        {"minute": minute + 60 * m, "name": f"n{i}", "queue": "q", "worker": "w", "state": "SUCCESS", "tasks": 1}
        for m in range(3)
        for i in range(7)
    ]  # fmt: skip
    bucket = {"minute": minute + 120, "metric": "runtime", "subject": "n0", "tasks": 1}
    with writing(store.engine) as conn:
        conn.execute(insert(ROLLUP_COUNTS), counts)
        conn.execute(insert(ROLLUP_HISTOGRAMS), [{**bucket, "bucket": b} for b in range(4)])
        conn.execute(insert(ROLLUP_COUNTS), {**counts[0], "minute": int(NOW) // 60 * 60})
    report = store.prune(NOW, retention_days=14, success_days=2, batch_size=3)
    assert report.deleted["rollups"] == 3 * 7 + 4
    with reading(store.engine) as conn:
        left = conn.execute(select(ROLLUP_COUNTS.c.minute)).scalars().all()
        assert left == [int(NOW) // 60 * 60]
        assert conn.execute(select(func.count()).select_from(ROLLUP_HISTOGRAMS)).scalar() == 0


def test_a_batch_is_sized_by_the_last_ones_pace():
    assert next_size(1000, TARGET_SECONDS * 4, 1000) == 250  # 4× too slow: a quarter
    assert next_size(100, TARGET_SECONDS / 100, 1000) == 200  # quick: at most twice as many
    assert next_size(800, TARGET_SECONDS / 100, 1000) == 1000  # never past the most asked
    assert next_size(1000, 60.0, 1000) == MIN_BATCH  # however slow, a floor
    assert next_size(2, 60.0, 2) == 2  # a smaller most wins over the floor


@contextmanager
def _task_deletes(store: Store) -> Iterator[list[int]]:
    """The rows each DELETE of tasks removes within the block (the non-empty ones)."""
    sizes: list[int] = []

    def deleted(_conn, cursor, statement, _parameters, _context, _many) -> None:
        if statement.startswith("DELETE FROM tasks") and cursor.rowcount > 0:
            sizes.append(cursor.rowcount)

    event.listen(store.engine, "after_cursor_execute", deleted)
    try:
        yield sizes
    finally:
        event.remove(store.engine, "after_cursor_execute", deleted)


def test_slow_transactions_shrink_the_next_batches_and_every_row_still_goes(store):
    rows = 2 * 100 + MIN_BATCH
    for label, clock, want in (
        ("slow", itertools.count(0.0, 1.0).__next__, [100, MIN_BATCH, MIN_BATCH, MIN_BATCH]),
        ("quick", lambda: 0.0, [100, 100, MIN_BATCH]),
    ):
        histories = [success_history(f"{label}-{i}", NOW - 3 * DAY + i, 1.0) for i in range(rows)]
        store.upsert_tasks([p for history in histories for p in history], NOW)
        with _task_deletes(store) as sizes:
            report = prune(store.engine, NOW, 14, 2, batch_size=100, clock=clock)
        assert sizes == want, label
        assert report.deleted["tasks"] == rows and store.task_count() == 0
        assert report.longest == (1.0 if label == "slow" else 0.0)
