"""ClusterMonitor over a real collector and store: pages never wait on Flower.

A ``Collector`` polls a recorded Flower served over real HTTP (in the foreground: each test
calls ``poll()``), writes a real SQLite store, and the monitor reads its snapshot (embedded) or
what it left in the store (``StoredReadout``, OPS_COLLECTOR=external).
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from lib.collector import Collector
from lib.collector.stored import StoredReadout
from lib.monitor import FIRST_READ, ClusterMonitor
from lib.settings import Settings
from lib.store import Store
from lib.store.pauses import PauseBook, QueuePause
from tests.recorded import RecordedFlower, recorded_tasks
from tests.scripted_server import ScriptedServer

TASKS = len(RecordedFlower().tasks)  # the recorded tasks and the special cases it adds


@pytest.fixture
def flower():
    script = RecordedFlower()
    with ScriptedServer(script) as server:
        script.url, script.server = server.url, server
        yield script


@pytest.fixture
def settings(flower, tmp_path) -> Settings:
    # The recorded tasks are days old: a long retention keeps them in the store.
    return Settings(
        flower_url=flower.url,
        data_dir=tmp_path,
        poll_seconds=1,
        flower_timeout=1,
        retention_days=3650,
        retention_success_days=3650,
    )


@pytest.fixture
def collector(settings) -> Collector:
    store = Store.from_settings(settings)
    yield Collector(settings, store)
    store.close()


@pytest.fixture
def monitor(settings, collector) -> ClusterMonitor:
    return ClusterMonitor(settings, collector.store, collector)


def test_before_the_first_poll_nothing_is_read_and_the_page_is_told_why(monitor):
    status = monitor.status()
    assert (status.last_success, status.last_error, status.tasks_held) == (None, None, 0)
    assert not monitor.synced
    reading = monitor.tasks()
    assert reading.value is None and FIRST_READ in str(reading.error)
    assert monitor.workers().value is None


def test_after_a_poll_every_reading_comes_from_the_collector(monitor, collector, flower):
    collector.poll()
    asked = len(flower.server.requests)
    tasks, workers, queues = monitor.tasks(), monitor.workers(), monitor.queues()
    assert monitor.synced
    assert len(tasks.value) == TASKS and tasks.error is None
    assert len(workers.value) == 2 and queues.value is not None
    assert monitor.task_types().value
    status = monitor.status()
    assert status.last_success == collector.health.data_until and status.tasks_held == TASKS
    assert len(flower.server.requests) == asked, "the readings asked Flower nothing"


def test_the_tasks_frame_is_built_once_per_change_of_the_stored_tasks(monitor, collector, flower):
    collector.poll()
    builds = monitor.builds
    frames = {id(monitor.tasks().value) for _ in range(5)}
    monitor.queues(), monitor.queues()
    assert len(frames) == 1
    # the tasks frame, its note, the queues frame and the stored values it names queues from
    assert monitor.builds == builds + 4
    for _ in range(3):  # a poll that changes nothing, within the minute of the last data
        minute = collector.health.data_until // 60
        collector.poll()
        if collector.health.data_until // 60 == minute:
            break
    builds = monitor.builds
    assert id(monitor.tasks().value) in frames, "nothing changed: the same frame"
    monitor.queues()
    assert monitor.builds == builds + 1, "the queues frame: samples change every poll"
    flower.extra_tasks["late-task"] = {
        **next(iter(flower.tasks.values())),
        "uuid": "late-task",
        "timestamp": time.time(),
    }
    collector.poll()
    assert id(monitor.tasks().value) not in frames
    assert "late-task" in set(monitor.tasks().value["uuid"])


def test_a_failing_flower_keeps_the_last_good_data_with_the_health_sentence(
    monitor, collector, flower
):
    collector.poll()
    flower.fault = (500, "<html>boom</html>", {})
    collector.poll()
    tasks, workers = monitor.tasks(), monitor.workers()
    assert len(tasks.value) == TASKS and tasks.stale
    assert "Flower has failed for" in str(tasks.error) and "HTTP 500" in str(tasks.error)
    assert len(workers.value) == 2 and workers.stale
    assert str(monitor.status().last_error) == str(tasks.error)
    flower.fault = None
    collector.poll()
    assert monitor.tasks().error is None and monitor.status().last_error is None


def test_a_hung_flower_is_said_with_how_long_it_has_not_answered(monitor, collector, flower):
    collector.poll()
    flower.fault = "hang"
    collector.poll()
    reading = monitor.tasks()
    assert len(reading.value) == TASKS
    assert "Flower has not answered for" in str(reading.error)
    assert "(timeout 1 s)" in str(reading.error)


def test_tasks_flower_no_longer_holds_stay_and_are_marked(monitor, collector, flower):
    collector.poll()
    gone = sorted(collector.mirror.uuids())[:3]
    for uuid in gone:  # Flower forgets them (evicted, or restarted)
        del flower.tasks[uuid]
    collector.sync.full_every = 0  # the next poll is a full reload, which notices
    collector.poll()
    reading = monitor.tasks()
    assert len(reading.value) == TASKS
    assert set(reading.value.loc[~reading.value["in_flower"], "uuid"]) == set(gone)
    assert "3 of the stored tasks are no longer in Flower" in reading.note


def test_a_task_is_read_from_the_store_first(monitor, collector, flower):
    collector.poll()
    uuid = recorded_tasks()[0]["uuid"]
    flower.fault = (500, "down", {})
    assert monitor.task(uuid)["uuid"] == uuid, "the stored row, without asking Flower"


def test_external_mode_reads_what_a_collector_wrote_to_the_store(settings, collector, flower):
    collector.poll()
    store = Store.from_settings(settings)  # another process's view of the same file
    monitor = ClusterMonitor(settings, store, StoredReadout(settings, store))
    try:
        assert monitor.synced and monitor.version == 1
        assert len(monitor.tasks().value) == TASKS
        workers = monitor.workers().value
        assert sorted(workers["worker"]) == sorted(collector.snapshot.workers["worker"])
        assert set(monitor.queues().value["queue"]) == set(collector.snapshot.depths)
        flower.fault = (500, "<html>boom</html>", {})
        collector.poll()
        monitor.readout._read_at = None  # read the kept health again now, not in 0.5 s
        assert "HTTP 500" in str(monitor.tasks().error) and monitor.version == 2
    finally:
        store.close()


def test_the_health_sentence_is_said_in_the_viewers_timezone(monitor, collector, flower):
    from zoneinfo import ZoneInfo

    collector.poll()
    flower.fault = "hang"
    collector.poll()
    error = monitor.tasks().error
    tokyo = error.sentence(ZoneInfo("Asia/Tokyo"))
    assert tokyo.startswith("Flower has not answered for") and " JST" in tokyo
    assert "UTC" not in tokyo
    assert " UTC" in str(error), "without a viewer (logs, the collector's own output): UTC"
    assert monitor.health_sentence(ZoneInfo("Asia/Tokyo")).endswith("JST.")


def test_a_dead_broker_is_said_once_with_its_detail(flower, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on: the broker is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        flower_url=flower.url,
        broker_url=f"redis://127.0.0.1:{port}/0",
        data_dir=tmp_path,
        flower_timeout=1,
        retention_days=3650,
        retention_success_days=3650,
    )
    store = Store.from_settings(settings)
    try:
        collector = Collector(settings, store)
        collector.poll()
        error = ClusterMonitor(settings, store, collector).queues().error
    finally:
        store.close()
    said = str(error)
    assert said.startswith("The broker has failed for"), said
    detail = f"The broker at redis://127.0.0.1:{port}/0 cannot be read"
    assert said.count(detail) == 1, said


FIGURES = ["worker", "online", "active", "processed", "load_1m", "concurrency", "main_peak_rss_mib"]


def figures(workers) -> list[list]:
    return workers.sort_values("worker")[FIGURES].astype(object).values.tolist()


def test_external_mode_has_worker_figures_task_types_and_consumers_from_the_store(
    settings, collector, monitor
):
    collector.poll()
    store = Store.from_settings(settings)  # another process's view of the same file
    external = ClusterMonitor(settings, store, StoredReadout(settings, store))
    try:
        workers = external.workers()
        assert figures(workers.value) == figures(monitor.workers().value)
        assert "Not sampled, so not shown here: heartbeat" in workers.note
        names = sorted(set(store.tasks_window(0.0, 2.0**40)["name"].dropna()))
        assert external.task_types().value == names and names
        mine, theirs = monitor.queues().value, external.queues().value
        assert mine["consumers"].sum() > 0, "the recorded workers consume queues"
        assert theirs.set_index("queue")["consumers"].to_dict() == (
            mine.set_index("queue")["consumers"].to_dict()
        )
    finally:
        store.close()


def test_a_restarted_collector_shows_the_last_samples_before_its_first_poll(
    settings, collector, monitor, flower
):
    collector.poll()
    flower.fault = "hang"  # the restarted one's first poll would wait: it has not polled
    again = Collector(settings, collector.store)
    restarted = ClusterMonitor(settings, collector.store, again)
    assert restarted.synced and restarted.version == 0
    workers = restarted.workers()
    assert figures(workers.value) == figures(monitor.workers().value)
    assert workers.note.startswith("Sampled before this console started")
    assert len(restarted.tasks().value) == TASKS and restarted.queues().value is not None
    assert restarted.task_types().value, "the stored tasks' names until Flower is read"


HOURS_LATER = 3 * 3600.0  # longer than the hour of samples a snapshot is read from


def test_a_console_restarted_hours_after_its_last_poll_still_shows_the_last_samples(
    settings, collector, monitor, flower
):
    collector.poll()
    flower.fault = "hang"
    later = lambda: time.time() + HOURS_LATER  # noqa: E731
    again = Collector(settings, collector.store, clock=later)
    workers = ClusterMonitor(settings, collector.store, again, clock=later).workers()
    assert figures(workers.value) == figures(monitor.workers().value)
    assert workers.note.startswith("Sampled before this console started")


def test_an_external_console_keeps_the_last_samples_of_a_collector_failing_for_hours(
    settings, collector, monitor
):
    collector.poll()
    store = Store.from_settings(settings)
    later = lambda: time.time() + HOURS_LATER  # noqa: E731
    try:
        external = ClusterMonitor(
            settings, store, StoredReadout(settings, store, clock=later), clock=later
        )
        assert figures(external.workers().value) == figures(monitor.workers().value)
        assert external.queues().value is not None
    finally:
        store.close()


def test_the_attention_strip_says_a_growing_queue_is_paused(monitor, collector):
    collector.poll()
    end = collector.health.data_until
    no_workers = pd.DataFrame(columns=["worker", "online"])
    for step, depth in enumerate([5, 6, 7, 8]):
        queues = pd.DataFrame({"queue": ["held"], "messages": [depth], "consumers": [0]})
        collector.store.record_samples(queues, no_workers, end - 40 + 10 * step)
    PauseBook(collector.store).pause(QueuePause("held", 0.0, "olga"))
    (item,) = [i for i in monitor.attention().value if i.subject == "held"]
    assert item.kind == "Queue growing"
    assert "paused (since 1970-01-01 00:00 UTC by olga)" in item.sentence
