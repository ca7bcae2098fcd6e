"""The monitor's task reads never hold every stored task: a window, a page by query, counts.

A real SQLite store holds the recorded cluster's tasks; a stopped collector readout gives the
monitor one poll version at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lib import failures, frames
from lib import monitor as monitor_module
from lib.collector.health import CollectorHealth
from lib.collector.snapshot import CollectorSnapshot
from lib.frames import TaskFilter
from lib.frames.state import running
from lib.monitor import ClusterMonitor
from lib.settings import Settings
from lib.store import Store
from tests.recorded import recorded_tasks
from tests.unit.store.test_history import Fixed as Stopped

NOW = 1_800_000_000.0
HOUR = 3600.0


class Fixed(Stopped):
    """A collector as the monitor reads it, stopped at one poll, with queue depths."""

    @property
    def snapshot(self) -> CollectorSnapshot:
        workers = frames.workers_frame([], {}, {})
        return CollectorSnapshot(
            version=self.version, depths={"default": 2}, depths_at=NOW, workers=workers
        )


def long_running() -> dict:
    """A training job received three hours ago, still in PROGRESS, in a queue of its own."""
    return {
        "uuid": "long-job",
        "name": "ml.train",
        "state": "PROGRESS",
        "routing_key": "gpu",
        "worker": "celery@gpu",
        "received": NOW - 3 * HOUR,
        "started": NOW - 3 * HOUR + 1,
        "timestamp": NOW - 3 * HOUR + 2,
    }


def old_elsewhere() -> dict:
    """A task finished a day ago in a queue nothing else uses."""
    at = NOW - 24 * HOUR
    return {
        "uuid": "old-one",
        "name": "etl.load",
        "state": "SUCCESS",
        "routing_key": "nightly",
        "received": at,
        "started": at + 1,
        "succeeded": at + 2,
        "timestamp": at + 2,
        "runtime": 1.0,
    }


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    opened.upsert_tasks([*recorded_tasks(), long_running(), old_elsewhere()], NOW)
    yield opened
    opened.close()


@pytest.fixture
def monitor(store, tmp_path) -> ClusterMonitor:
    settings = Settings(flower_url="http://127.0.0.1:9", data_dir=tmp_path)
    readout = Fixed(health=CollectorHealth(data_until=NOW))
    return ClusterMonitor(settings, store, readout, clock=lambda: NOW)


def test_the_tasks_reading_holds_only_the_newest_and_counts_gone_ones_in_the_store(
    monitor, store, monkeypatch
):
    monkeypatch.setattr(monitor_module, "RECENT_TASKS", 5)
    every = store.newest_tasks(10**6)
    store.mark_gone(list(every["uuid"].iloc[-3:]))  # the oldest three: not in the reading
    reading = monitor.tasks()
    assert list(reading.value["uuid"]) == list(every["uuid"].iloc[:5])
    assert "3 of the stored tasks are no longer in Flower" in reading.note


def test_a_task_page_is_the_query_with_the_count_and_the_reading_around_it(monitor, store):
    wanted = TaskFilter(states=("SUCCESS",))
    every = store.newest_tasks(10**6)
    reading = monitor.task_page(wanted, 4)
    assert reading.at == NOW and reading.error is None
    assert reading.value.matching == len(wanted.apply(every)) > 4
    assert list(reading.value.rows["uuid"]) == store.matching_uuids(wanted)[:4]


def test_an_error_group_page_holds_exactly_the_groups_tasks(monitor, store):
    every = store.newest_tasks(10**6)
    rules = tuple(failures.load_rules())
    ids = failures.task_group_ids(every, rules)
    group = ids.value_counts().index[0]
    members = set(every.loc[(ids == group).fillna(False).astype(bool), "uuid"])
    page = monitor.task_page(TaskFilter(), 100, group, rules).value
    assert set(page.rows["uuid"]) == members and page.matching == len(members) >= 2
    assert page.complete
    by_name = monitor.task_page(TaskFilter(names=("no.such",)), 100, group, rules).value
    assert by_name.matching == 0


def test_the_queues_frame_reads_recent_and_running_tasks_and_every_stored_queue(monitor, store):
    queues = monitor.queues().value.set_index("queue")
    every = store.newest_tasks(10**6)
    assert {"gpu", "nightly", "default"} <= set(queues.index)
    assert set(queues.index) >= set(every["queue"].dropna())
    running_gpu = running(every["state"]) & (every["queue"] == "gpu")
    assert queues.loc["gpu", "running"] == int(running_gpu.sum()) == 1
    assert queues.loc["nightly", "running"] == 0


def test_task_types_without_a_snapshot_are_the_stored_names(monitor, store):
    names = monitor.task_types()
    assert names.value == sorted(store.newest_tasks(10**6)["name"].dropna().unique())
    assert "ml.train" in names.value


def test_tasks_in_a_range_are_the_stored_window_once_per_poll(monitor, store):
    start, end = datetime.fromtimestamp(NOW - 4 * HOUR, UTC), datetime.fromtimestamp(NOW, UTC)
    reading = monitor.tasks_in(start, end)
    assert set(reading.value["uuid"]) == set(store.tasks_window(start, end)["uuid"])
    assert "long-job" in set(reading.value["uuid"]) and "old-one" not in set(reading.value["uuid"])
    assert monitor.tasks_in(start, end).value is reading.value
    day = monitor.tasks_in(start, end, "Last 24 hours").value
    assert {"old-one", "long-job"} <= set(day["uuid"]), "the preset reaches a day back"
