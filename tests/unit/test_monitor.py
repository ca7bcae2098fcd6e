"""ClusterMonitor's read methods: the sync status, its version and the polled task types."""

from __future__ import annotations

import pytest

from lib.errors import FlowerUnreachable
from lib.flower import TransferStats
from lib.monitor import ClusterMonitor
from lib.settings import Settings
from tests.factories import task_payload


class FakeFlower:
    """Answers the few client calls the monitor makes for tasks and task types."""

    display_url = "http://flower.example:5555"

    def __init__(self, tasks: list[dict] = ()):
        self.tasks = list(tasks)
        self.stats = TransferStats()
        self.down = False
        self.type_calls = 0

    def _check(self) -> None:
        if self.down:
            raise FlowerUnreachable("http://flower/api", detail="The connection was refused.")

    def list_tasks(self, limit: int, offset: int = 0) -> list[dict]:
        self._check()
        ordered = sorted(self.tasks, key=lambda t: (-t["timestamp"], t["uuid"]))
        return [dict(t) for t in ordered[offset : offset + limit]]

    def task_count(self) -> int:
        return len(self.tasks)

    def task_types(self) -> list[str]:
        self._check()
        self.type_calls += 1
        return sorted({t["name"] for t in self.tasks})


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def flower() -> FakeFlower:
    return FakeFlower(
        [task_payload(f"t{i}", at=900.0 + i, name=f"demo.job{i % 2}") for i in range(3)]
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def monitor(flower, clock, tmp_path) -> ClusterMonitor:
    settings = Settings(flower_url="http://flower.example:5555", data_dir=tmp_path, poll_seconds=10)
    return ClusterMonitor(settings, client=flower, clock=clock)


def test_status_before_the_first_refresh_says_nothing_was_read(monitor):
    status = monitor.status()
    assert status.flower_url == "http://flower.example:5555"
    assert (status.last_success, status.last_error, status.tasks_held) == (None, None, 0)
    assert not monitor.synced


def test_status_after_a_refresh_holds_its_time_and_count(monitor, clock):
    monitor.tasks()
    status = monitor.status()
    assert (status.last_success, status.last_error, status.tasks_held) == (clock.now, None, 3)
    assert monitor.synced


def test_status_keeps_the_last_success_and_says_why_the_latest_failed(monitor, flower, clock):
    monitor.tasks()
    flower.down, clock.now = True, clock.now + 60
    monitor.tasks()
    status = monitor.status()
    assert status.last_success == 1000.0 and status.tasks_held == 3
    assert isinstance(status.last_error, FlowerUnreachable)


def test_version_changes_when_a_refresh_changed_a_task(monitor, flower, clock):
    monitor.tasks()
    first = monitor.version
    flower.tasks.append(task_payload("new", at=1050.0, name="demo.job9"))
    clock.now += 60
    monitor.tasks(force=True)
    assert monitor.version != first


def test_task_types_are_polled_once_per_poll_interval(monitor, flower, clock):
    assert monitor.task_types().value == ["demo.job0", "demo.job1"]
    monitor.task_types()
    assert flower.type_calls == 1
    clock.now += 10
    monitor.task_types()
    assert flower.type_calls == 2


def test_task_types_keep_the_last_good_list_with_the_error(monitor, flower, clock):
    monitor.task_types()
    flower.down, clock.now = True, clock.now + 10
    reading = monitor.task_types()
    assert reading.value == ["demo.job0", "demo.job1"]
    assert isinstance(reading.error, FlowerUnreachable)
