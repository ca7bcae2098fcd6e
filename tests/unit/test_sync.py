"""Task sync: paging, merging, watermark and restart detection against an in-memory Flower."""

from __future__ import annotations

import random

import pytest

from lib.errors import FlowerUnreachable
from lib.flower import TransferStats
from lib.sync import TaskSync, apply_task_payload


def task(uuid: str, ts: float, state: str = "SUCCESS", **kw) -> dict:
    return {"uuid": uuid, "name": "demo.add", "state": state, "timestamp": ts, **kw}


class MemoryFlower:
    """Answers ``list_tasks`` like Flower 2.2: newest ``timestamp`` first, ties by uuid."""

    def __init__(self, tasks: list[dict] = ()):
        self.tasks = {t["uuid"]: t for t in tasks}
        self.stats = TransferStats()
        self.down = False
        self.calls: list[tuple[int, int]] = []

    def put(self, *tasks: dict) -> None:
        self.tasks.update({t["uuid"]: t for t in tasks})

    def list_tasks(self, limit: int, offset: int = 0) -> list[dict]:
        if self.down:
            raise FlowerUnreachable("http://flower/api/tasks", detail="The connection was refused.")
        self.calls.append((limit, offset))
        ordered = sorted(self.tasks.values(), key=lambda t: (-t["timestamp"], t["uuid"]))
        page = [dict(t) for t in ordered[offset : offset + limit]]
        self.stats.requests += 1
        self.stats.bytes += 100 * len(page)
        return page

    def task_count(self) -> int:
        return len(self.tasks)


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(flower: MemoryFlower, clock: Clock | None = None, **kw) -> TaskSync:
    options = {"page_size": 10, "overlap": 5.0, "full_every": 10_000.0, "clock": clock or Clock()}
    options.update(kw)
    return TaskSync(flower, **options)


def uuids(sync: TaskSync) -> set[str]:
    return {t["uuid"] for t in sync.snapshot()[1]}


def test_first_load_pages_through_everything_with_progress():
    flower = MemoryFlower([task(f"t{i:02d}", 100.0 + i) for i in range(35)])
    seen = []
    report = make(flower).refresh(progress=lambda done, total: seen.append((done, total)))
    assert report.mode == "full" and report.fetched == 35
    assert flower.calls == [(10, 0), (10, 10), (10, 20), (10, 30)]
    assert seen == [(10, 35), (20, 35), (30, 35), (35, 35)]


def test_incremental_refresh_reads_only_the_top():
    flower = MemoryFlower([task(f"old{i:03d}", 100.0 + i) for i in range(200)])
    sync = make(flower, page_size=100)
    sync.refresh()
    flower.calls.clear()
    flower.put(*[task(f"new{i}", 400.0 + i) for i in range(5)])
    report = sync.refresh()
    assert report.mode == "incremental"
    assert flower.calls == [(100, 0)], "one small page covers 5 new tasks"
    assert len(uuids(sync)) == 205
    assert sync.watermark == 404.0


def test_incremental_first_page_follows_the_traffic():
    flower = MemoryFlower([task(f"old{i:04d}", 100.0 + i) for i in range(3000)])
    sync = make(flower, page_size=1000)
    sync.refresh()
    flower.calls.clear()
    flower.put(*[task(f"burst{i:03d}", 5000.0 + i) for i in range(1500)])
    sync.refresh()
    # right after a full load the walk starts with a whole page, then keeps going
    assert flower.calls == [(1000, 0), (1000, 1000)]
    flower.calls.clear()
    flower.put(*[task(f"quiet{i}", 9000.0 + i) for i in range(20)])
    sync.refresh()
    assert flower.calls == [(1000, 0)], "after a burst of 1500, the next walk starts at the cap"
    flower.calls.clear()
    flower.put(task("one", 9500.0))
    sync.refresh()
    assert flower.calls == [(100, 0)], "after 20 new tasks, 2 × 20 rounds up to the minimum"
    assert len(uuids(sync)) == 3000 + 1500 + 20 + 1


def test_a_task_that_changed_state_is_updated():
    flower = MemoryFlower([task("a", 100, "STARTED"), task("b", 101)])
    sync = make(flower)
    sync.refresh()
    version = sync.version
    flower.put(task("a", 120, "FAILURE", exception="KeyError('id')"))
    sync.refresh()
    assert sync.task("a")["state"] == "FAILURE"
    assert sync.version == version + 1


def test_nothing_new_leaves_the_version_alone():
    flower = MemoryFlower([task("a", 100), task("b", 101)])
    sync = make(flower)
    sync.refresh()
    version = sync.version
    report = sync.refresh()
    assert report.changed == 0 and sync.version == version


@pytest.mark.parametrize(
    ("held", "incoming", "kept"),
    [
        (task("a", 10, "SUCCESS"), task("a", 5, "STARTED"), "SUCCESS"),
        (task("a", 10, "SUCCESS"), task("a", 10, "STARTED"), "SUCCESS"),
        (task("a", 10, "STARTED"), task("a", 10, "SUCCESS"), "SUCCESS"),
        (task("a", 10, "STARTED"), task("a", 11, "RETRY"), "RETRY"),
        (
            task("a", 10, "RECEIVED"),
            {"uuid": "a", "state": "STARTED", "timestamp": None},
            "RECEIVED",
        ),
    ],
    ids=[
        "older-loses",
        "tie-lower-precedence-loses",
        "tie-higher-wins",
        "newer-wins",
        "no-time-loses",
    ],
)
def test_an_older_record_never_overwrites_a_newer_one(held, incoming, kept):
    store = {"a": held}
    apply_task_payload(store, incoming)
    assert store["a"]["state"] == kept


def test_flower_emptied_is_a_restart():
    flower = MemoryFlower([task("a", 100), task("b", 101)])
    sync = make(flower)
    sync.refresh()
    flower.tasks.clear()
    report = sync.refresh()
    assert report.mode == "full" and "restarted" in report.reason
    assert uuids(sync) == set()


def test_flower_restarted_with_new_tasks_drops_the_old_ones():
    flower = MemoryFlower([task(f"old{i}", 100.0 + i) for i in range(5)])
    sync = make(flower)
    sync.refresh()
    flower.tasks.clear()
    flower.put(task("fresh", 500.0))
    report = sync.refresh()
    assert report.mode == "full" and "restarted" in report.reason
    assert uuids(sync) == {"fresh"}


def test_watermark_in_the_future_reloads_fully():
    flower = MemoryFlower([task(f"t{i}", 100.0 + i) for i in range(30)])
    sync = make(flower)
    sync.refresh()
    flower.tasks = {u: t for u, t in flower.tasks.items() if t["timestamp"] < 110}
    report = sync.refresh()
    assert report.mode == "full" and "older than the last sync" in report.reason
    assert len(uuids(sync)) == 10


def test_a_dropped_window_reloads_fully():
    flower = MemoryFlower([task(f"old{i:02d}", 100.0 + i) for i in range(20)])
    sync = make(flower)
    sync.refresh()
    # Flower evicted everything we knew and now holds only other, older-looking tasks below
    # a burst of new ones: the known ground is gone.
    flower.tasks.clear()
    flower.put(*[task(f"new{i:02d}", 200.0 + i) for i in range(15)])
    flower.put(*[task(f"other{i:02d}", 50.0 + i) for i in range(15)])
    report = sync.refresh()
    assert report.mode == "full" and "gone" in report.reason
    assert len(uuids(sync)) == 30


def test_a_failed_refresh_keeps_the_data_and_the_error():
    flower = MemoryFlower([task("a", 100)])
    sync = make(flower)
    sync.refresh()
    flower.down = True
    with pytest.raises(FlowerUnreachable):
        sync.refresh()
    assert uuids(sync) == {"a"}
    assert sync.is_stale and "refused" in str(sync.last_error)
    flower.down = False
    sync.refresh()
    assert not sync.is_stale


def test_refresh_if_due_calls_flower_once_per_interval_and_replays_errors():
    clock = Clock()
    flower = MemoryFlower([task("a", 100)])
    sync = make(flower, clock)
    sync.refresh_if_due(10)
    sync.refresh_if_due(10)
    assert len(flower.calls) == 1
    clock.now += 11
    flower.down = True
    with pytest.raises(FlowerUnreachable):
        sync.refresh_if_due(10)
    flower.down = False
    with pytest.raises(FlowerUnreachable):
        sync.refresh_if_due(10)  # still within the interval: no new call, same error
    assert len(flower.calls) == 1
    clock.now += 11
    sync.refresh_if_due(10)
    assert len(flower.calls) == 2 and not sync.is_stale


def test_periodic_full_reload():
    clock = Clock()
    flower = MemoryFlower([task("a", 100)])
    sync = make(flower, clock, full_every=60)
    sync.refresh()
    clock.now += 30
    assert sync.refresh().mode == "incremental"
    clock.now += 31
    assert sync.refresh().mode == "full"


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_replays_end_in_the_same_state(seed):
    events = []
    for i in range(20):
        uuid = f"t{i}"
        events += [task(uuid, 100 + i, "RECEIVED"), task(uuid, 101 + i, "STARTED")]
        events.append(task(uuid, 102 + i, "FAILURE" if i % 4 == 0 else "SUCCESS"))
    ordered: dict[str, dict] = {}
    for e in events:
        apply_task_payload(ordered, e)
    shuffled: dict[str, dict] = {}
    random.Random(seed).shuffle(events)
    for e in events:
        apply_task_payload(shuffled, e)
    assert shuffled == ordered
    assert sum(t["state"] == "FAILURE" for t in shuffled.values()) == 5


class WatchedFlower(MemoryFlower):
    """Records how many tasks the sync's store held when each page was asked for."""

    def __init__(self, tasks: list[dict] = ()):
        super().__init__(tasks)
        self.sync: TaskSync | None = None
        self.held_at_call: list[int] = []

    def list_tasks(self, limit: int, offset: int = 0) -> list[dict]:
        self.held_at_call.append(len(self.sync.store))
        return super().list_tasks(limit, offset)


def test_a_full_load_writes_each_page_before_asking_for_the_next():
    flower = WatchedFlower([task(f"t{i:02d}", 100.0 + i) for i in range(25)])
    flower.sync = sync = make(flower)
    sync.refresh()
    assert flower.held_at_call == [0, 10, 20]


def test_a_restart_catch_up_writes_the_new_tasks_page_by_page():
    flower = WatchedFlower([task(f"old{i}", 100.0 + i) for i in range(5)])
    flower.sync = sync = make(flower)
    sync.refresh()
    flower.tasks.clear()
    flower.put(*[task(f"new{i:02d}", 500.0 + i) for i in range(25)])
    flower.held_at_call.clear()
    report = sync.refresh()
    assert report.mode == "full" and "restarted" in report.reason
    assert flower.held_at_call == [5, 15, 25], "each page written before the next is read"
    assert uuids(sync) == {f"new{i:02d}" for i in range(25)}, "the old ones go only at the end"


def test_a_walk_stopped_midway_keeps_the_cursor_and_the_tasks_flower_forgot():
    flower = MemoryFlower([task(f"old{i}", 100.0 + i) for i in range(5)])
    stop = []
    sync = make(flower, stopping=lambda: bool(stop))
    sync.refresh()
    cursor = sync.cursor()
    flower.tasks.clear()
    flower.put(*[task(f"new{i:02d}", 500.0 + i) for i in range(25)])
    stop.append(True)
    report = sync.refresh()
    assert (report.mode, report.fetched) == ("partial", 10)
    assert sync.cursor() == cursor
    assert {f"old{i}" for i in range(5)} <= uuids(sync), "nothing is let go before the end"
    stop.clear()
    assert sync.refresh().mode == "full"
    assert uuids(sync) == {f"new{i:02d}" for i in range(25)} and sync.watermark == 524.0


def test_a_full_reload_keeps_a_newer_record_than_flower_s():
    clock = Clock()
    flower = MemoryFlower([task("a", 300.0)])
    sync = make(flower, clock, full_every=60)
    sync.refresh()
    flower.tasks["a"] = task("a", 250.0, state="STARTED")  # an older record of the same task
    clock.now += 61
    assert sync.refresh().mode == "full"
    assert sync.task("a")["state"] == "SUCCESS"
