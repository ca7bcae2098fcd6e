"""Trends and Errors over a store whose raw successes were pruned: the totals stay exact.

Six and a half days of tasks (the newest ten minutes old) go into the console's store file
before it starts; retention then deletes the raw successes older than two days, Flower serves
no task, and "Last 7 days" must still count every task, success and failure: finished tasks
before the success horizon come from the rollups, the rest from the raw rows. Worker busy time
covers the whole week (usage rollups), unless the store had pruned its raw successes before it
had usage rollups (migration step 10): then the Workers tab says from when.
"""

from __future__ import annotations

import time

import pytest

from lib.store import Store
from tests.apptest.conftest import console_on, open_page, open_tab, texts
from tests.history_tasks import spread_tasks
from tests.recorded import RecordedFlower
from tests.unit.store.test_usage_rollups import drop_to_step_9

DAY = 86400.0


BUSY_CAPTION = "Busy time, utilization and avg runtime cover"


@pytest.fixture(params=["usage rollups", "pruned before usage rollups"])
def pruned(request, monkeypatch, tmp_path):
    """The console's store with the tasks in it, raw successes pruned; what it held before.
    Pruned before usage rollups: as a step-9 store pruned, then migrated to step 10."""
    now = time.time()
    tasks = spread_tasks(now - 600, days=6.5)
    store = Store(f"sqlite:///{tmp_path / 'ops-data' / 'store.sqlite3'}")
    store.upsert_tasks(tasks, now=now)
    report = store.prune(now, retention_days=14, success_days=2)
    if request.param == "pruned before usage rollups":
        drop_to_step_9(store)  # the console migrates it again when it starts
    store.close()
    assert report.deleted["tasks"] > 1000
    monkeypatch.setenv("OPS_RETENTION_DAYS", "14")
    monkeypatch.setenv("OPS_RETENTION_SUCCESS_DAYS", "2")
    with console_on(RecordedFlower({}), monkeypatch, tmp_path):
        yield tasks


def count(tasks: list[dict], state: str) -> str:
    return f"{sum(t['state'] == state for t in tasks):,}"


def week(page: str):
    at = open_page(page, timeout=60)
    at.selectbox(key="time_range_pick").select("Last 7 days").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_trends_counts_every_task_of_the_week_after_pruning(pruned):
    at = week("Trends")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tasks"] == f"{len(pruned):,}"
    assert metrics["Succeeded"] == count(pruned, "SUCCESS")
    assert metrics["Failed"] == count(pruned, "FAILURE")
    assert "are estimated from its histograms (within ±4.4%)" in texts(at)


def test_trends_busy_time_covers_the_week_unless_the_usage_rollups_began_later(request, pruned):
    at = open_tab(week("Trends"), "trends_tab", "Workers")
    usage = at.dataframe[-1].value  # the Workers tab's table, the only one it builds
    assert usage["busy_seconds"].sum() > 100  # a week of runs, not the last minute's
    later = request.node.callspec.params["pruned"] == "pruned before usage rollups"
    assert (BUSY_CAPTION in texts(at)) is later


def test_errors_counts_every_failure_of_the_week_after_pruning(pruned):
    at = week("Errors")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Failures"] == count(pruned, "FAILURE")
    assert metrics["Signatures"] == "2"
