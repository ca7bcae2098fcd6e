"""Worker usage from the usage rollups (``lib.store.usage``) equals worker usage from raw rows.

On SQLite and PostgreSQL: eight days of tasks in a real store; the expected usage is
``worker_usage_frame`` over the raw rows placed in the range before pruning; the monitor's "Last 7 days" (rollups up
to its last minute) must give it, before and after retention deletes the raw successes. The
tables follow changes of a task's row; migration step 10 builds them from a step-9 store, and says
from when they are whole when its raw successes were already pruned.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import delete

from lib import frames, trends
from lib.store import Store
from lib.store.engine import writing
from lib.store.kept import get_kept
from lib.store.migrations import STEPS, migrate
from lib.store.schema import ROLLUP_HOUR_USAGE, ROLLUP_USAGE, SCHEMA_VERSION
from lib.store.usage import USAGE_FROM
from lib.trends.usage import busy_seconds, run_sums, worker_usage_frame
from tests.unit.store.test_history import NOW, monitor_over, week
from tests.unit.store.test_hourly_rollups import table_frame
from tests.unit.store.test_rollups import NOW as CLUSTER_NOW
from tests.unit.store.test_rollups import _cluster, _replay

FIGURES = ["processed", "failed", "avg_runtime", "busy_seconds", "utilization"]


def held_tasks(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    """The tasks placed in the range and those running (STARTED or a custom state) placed
    before it: busy time counts a task still running that was received before a range, though
    it is not in the range's window."""
    earlier = store.tasks_window(0, start)
    running = earlier[frames.state.running(earlier["state"])]
    return pd.concat([store.tasks_window(start, end), running], ignore_index=True)


def raw_usage(store: Store, start: datetime, end: datetime) -> pd.DataFrame:
    """``worker_usage_frame`` over the raw rows: work done by those placed in the range, busy
    time of every task in it (a task running since before it is busy there too)."""
    window = trends.window_frame(store.tasks_window(start, end), start, end)
    usage = worker_usage_frame(held_tasks(store, start, end), start, end, window=window)
    return usage.set_index("worker")[FIGURES]


def same_usage(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.set_index("worker")[FIGURES]
    assert want["busy_seconds"].sum() > 1000 and len(want) == 3
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, atol=1e-4)


def drop_to_step_9(store: Store) -> None:
    """The store as step 9 left it: no usage tables, no later step (task rows and rollups kept)."""
    with writing(store.engine) as conn:
        for table in (ROLLUP_USAGE, ROLLUP_HOUR_USAGE):
            table.drop(conn)
        conn.execute(delete(SCHEMA_VERSION).where(SCHEMA_VERSION.c.version >= 10))


def test_week_usage_from_rollups_equals_raw_usage_before_and_after_pruning(filled, tmp_path):
    got = week(monitor_over(filled, tmp_path))
    p = got.plan
    assert p.rolled and got.busy_from == p.start  # the whole range: no caption
    want = raw_usage(filled, p.start, p.end)
    same_usage(got.usage, want)
    report = filled.prune(NOW, retention_days=14, success_days=2)
    assert report.deleted["tasks"] > 1000
    same_usage(week(monitor_over(filled, tmp_path)).usage, want)


def finished_usage(store: Store) -> pd.DataFrame:
    """By worker, from the raw rows by the pure trend functions: the finished tasks' runs,
    runtime and busy seconds."""
    tasks = store.tasks_window(0, 2**40)
    tasks = tasks[tasks["state"].isin(list(trends.window.FINISH_COLUMNS))]
    start, end = datetime(1970, 1, 2, tzinfo=UTC), datetime.fromtimestamp(CLUSTER_NOW + 60, UTC)
    out = run_sums(tasks).join(busy_seconds(tasks, start, end), how="outer")
    return out.fillna(0).sort_index()


def test_usage_rollups_follow_each_change_of_a_task_per_minute_and_per_hour(store):
    histories = _cluster(seed=21, n=500)
    for seed in range(2):  # repeated payloads, shuffled: recounts move contributions
        _replay(store, histories, seed=seed)
    want = finished_usage(store)
    assert want["runs"].sum() > 200 and (want["busy_seconds"] > 0).all()
    got = store.worker_usage(0, CLUSTER_NOW + 60).set_index("worker")  # per minute only
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False, check_names=False)
    hours = store.worker_usage(
        CLUSTER_NOW - 4 * 3600 - 1234.5, CLUSTER_NOW + 60
    )  # whole hours read hourly
    minutes = table_frame(store, ROLLUP_USAGE)
    inside = minutes[minutes["minute"] >= CLUSTER_NOW - 4 * 3600 - 1234.5]
    summed = inside.groupby("worker")[["runs", "runtime", "busy"]].sum()
    assert hours.set_index("worker")["busy_seconds"].to_dict() == pytest.approx(
        summed["busy"].to_dict()
    )
    assert hours.set_index("worker")["runs"].to_dict() == summed["runs"].to_dict()


def test_step_10_builds_the_usage_rollups_of_a_step_9_store(filled):
    written = {t.name: table_frame(filled, t) for t in (ROLLUP_USAGE, ROLLUP_HOUR_USAGE)}
    drop_to_step_9(filled)
    assert migrate(filled.engine, STEPS[:10]) == 1
    for table in (ROLLUP_USAGE, ROLLUP_HOUR_USAGE):
        keys = ["minute", "worker"]
        got = table_frame(filled, table).sort_values(keys, ignore_index=True)
        want = written[table.name].sort_values(keys, ignore_index=True)
        assert len(got) > 100
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, check_dtype=False)
    assert filled.usage_from() is None


def test_step_10_on_pruned_successes_says_from_when_busy_time_is_whole(filled, tmp_path):
    p = week(monitor_over(filled, tmp_path)).plan
    placed = held_tasks(filled, p.start, p.end)  # before pruning
    filled.prune(NOW, retention_days=14, success_days=2)
    drop_to_step_9(filled)
    migrate(filled.engine)
    with writing(filled.engine) as conn:
        assert get_kept(conn, USAGE_FROM) is not None
    since = filled.usage_from()
    assert NOW - 2 * 86400 - 3600 < since <= NOW - 2 * 86400 + 60 and since % 60 == 0
    got = week(monitor_over(filled, tmp_path))
    assert got.busy_from == datetime.fromtimestamp(since, UTC) > p.start  # the caption says so
    usage = got.usage.set_index("worker")
    # Busy time and utilization over [busy_from, end) only; processed over the whole week.
    want = worker_usage_frame(placed, got.busy_from, p.end).set_index("worker")
    assert usage["busy_seconds"].to_dict() == pytest.approx(want["busy_seconds"].to_dict())
    assert usage["utilization"].to_dict() == pytest.approx(want["utilization"].to_dict())
    assert usage["processed"].sum() > want["processed"].sum() * 2


def test_retention_deletes_usage_minutes_and_the_hours_ended_by_the_horizon(store):
    _replay(store, _cluster(seed=22, n=300), seed=6)
    keep_from = CLUSTER_NOW - 2 * 3600 + 600  # inside an hour: that hour stays whole
    before = table_frame(store, ROLLUP_USAGE)["minute"]
    store.prune(CLUSTER_NOW, retention_days=(CLUSTER_NOW - keep_from) / 86400, success_days=1)
    minutes = table_frame(store, ROLLUP_USAGE)["minute"]
    hours = table_frame(store, ROLLUP_HOUR_USAGE)["minute"]
    assert before.min() < keep_from and len(minutes) > 10
    assert minutes.min() >= keep_from and (hours + 3600 > keep_from).all()
    assert hours.min() < keep_from  # the hour the horizon falls in is kept whole
