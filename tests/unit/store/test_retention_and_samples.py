"""Samples each poll, and retention in batches: successes, failures, samples, rollups."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from lib import frames
from lib.store.engine import reading
from lib.store.schema import ROLLUP_COUNTS, ROLLUP_HISTOGRAMS, TASK_EVENTS
from tests.recorded import recorded
from tests.unit.store.histories import retried_history, success_history

NOW = 1_800_000_000.0
DAY = 86400.0


def _queues(messages: int | None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"queue": ["default", "fast"], "messages": [messages, 0], "consumers": [2, 0]}
    )
    frame["messages"] = frame["messages"].astype("Int64")
    return frame


def _workers() -> pd.DataFrame:
    return frames.workers_frame(
        recorded("workers_ui")["data"], recorded("workers"), recorded("workers_status")
    )


def test_samples_are_recorded_per_poll_and_read_by_range(store):
    workers = _workers()
    store.record_samples(_queues(7), workers, NOW - 20)
    store.record_samples(_queues(None), workers, NOW - 10)
    queues = store.queue_samples(NOW - 15, NOW)
    assert list(queues["queue"]) == ["default", "fast"]
    assert queues["messages"].isna().iloc[0] and queues["consumers"].tolist() == [2, 0]
    both = store.queue_samples(NOW - 30, NOW)
    assert both["messages"].tolist()[:2] == [7, 0]
    got = store.worker_samples(NOW - 30, NOW - 15).set_index("worker")
    for row in workers.itertuples():
        assert got.loc[row.worker, "online"] == row.online
        assert got.loc[row.worker, "active"] == row.active
        assert got.loc[row.worker, "processed"] == row.processed
    assert str(got["at"].dtype) == "datetime64[us, UTC]"


def _count(store, table) -> int:
    with reading(store.engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_retention_prunes_successes_failures_and_samples_by_their_own_ages(store):
    for i in range(30):
        store.upsert_tasks(success_history(f"old-ok-{i}", NOW - 3 * DAY, runtime=1.0), NOW)
        store.upsert_tasks(success_history(f"new-ok-{i}", NOW - 1 * DAY, runtime=1.0), NOW)
        store.upsert_tasks(retried_history(f"mid-fail-{i}", NOW - 5 * DAY), NOW)
        store.upsert_tasks(retried_history(f"old-fail-{i}", NOW - 20 * DAY), NOW)
    for days in (20, 5):
        store.record_samples(_queues(1), _workers(), NOW - days * DAY)
    rollup_rows = _count(store, ROLLUP_COUNTS)

    report = store.prune(NOW, retention_days=14, success_days=2, batch_size=7)

    kept = set(store.tasks_window(0, NOW)["uuid"])
    assert {u.rsplit("-", 1)[0] for u in kept} == {"new-ok", "mid-fail"}
    assert len(kept) == 60
    assert report.deleted["tasks"] == 60
    assert report.batches >= 60 // 7
    assert report.longest > 0
    with reading(store.engine) as conn:
        events = set(conn.execute(select(TASK_EVENTS.c.uuid)).scalars())
    assert events == kept  # a pruned task's timeline goes with it
    assert set(store.queue_samples(0, NOW)["at"]) == {
        pd.Timestamp(NOW - 5 * DAY, unit="s", tz="UTC")
    }
    assert len(store.worker_samples(0, NOW)) == len(_workers())
    # Rollups older than 14 days go (the 20-day-old failures'); the rest stay, old successes too.
    counts = store.rollup_counts(0, NOW, by=("state",)).groupby("state")["tasks"].sum()
    assert dict(counts) == {"SUCCESS": 60, "FAILURE": 30}
    assert _count(store, ROLLUP_COUNTS) < rollup_rows
    assert _count(store, ROLLUP_HISTOGRAMS) > 0


def test_pruning_again_deletes_nothing(store):
    store.upsert_tasks(success_history("x", NOW - 3 * DAY, runtime=1.0), NOW)
    store.prune(NOW, 14, 2)
    report = store.prune(NOW, 14, 2)
    assert sum(report.deleted.values()) == 0
