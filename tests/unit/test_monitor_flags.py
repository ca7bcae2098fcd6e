"""The monitor's flags over a real collector and store: built once per poll, on every
unfinished stored task, and carried on a task's record for the actions' checks."""

from __future__ import annotations

import json
import time
from datetime import UTC

import pandas as pd

from lib.collector.stored import StoredReadout
from lib.frames import TaskFilter
from lib.frames.flags import flag_sentence
from lib.monitor import ClusterMonitor
from lib.store import Store
from tests.factories import task_payload
from tests.recorded import recorded
from tests.unit import test_monitor as base

# The monitor over a collector polling a recorded Flower, as test_monitor builds it.
flower, settings, collector, monitor = base.flower, base.settings, base.collector, base.monitor

OFFLINE = (200, json.dumps({"w1@vm": False, "w2@vm": True}), {})


def long_up(script) -> None:
    """The recorded workers' processes up for a day (recorded: 14 s, i.e. just restarted)."""
    info = recorded("workers")
    for worker in info.values():
        worker["stats"]["uptime"] = 86400
    script.answers["workers"] = (200, json.dumps(info), {})


def flagged(console, *uuids: str) -> list[list]:
    """The flag and cause of each of ``uuids`` that is flagged."""
    found = console.flags().value
    mine = found[found["uuid"].isin(uuids)].sort_values("uuid")
    return mine[["uuid", "flag", "cause"]].values.tolist()


def started(uuid: str, worker: str) -> dict:
    """A task STARTED a minute ago on ``worker`` (not finished)."""
    now = time.time()
    task = task_payload(uuid, "STARTED", at=now - 60, worker=worker, name="demo.sleep")
    task.update(timestamp=now - 60)
    return task


def test_a_task_on_an_offline_worker_is_flagged_once_per_poll(monitor, collector, flower):
    flower.extra_tasks = {"lost": started("lost", "w1@vm"), "fine": started("fine", "w2@vm")}
    flower.answers["workers_status"] = OFFLINE
    long_up(flower)
    collector.poll()
    assert monitor.flags().error is None
    assert flagged(monitor, "lost", "fine") == [["lost", "orphaned", "offline"]]
    builds = monitor.builds
    monitor.flags(), monitor.task("lost")
    assert monitor.builds == builds, "built once per poll, however often read"
    assert monitor.task("lost")["flag"]["flag"] == "orphaned"
    assert monitor.task("fine")["flag"] is None
    flower.answers.pop("workers_status")  # w1 comes back, up since before the task
    collector.poll()
    assert flagged(monitor, "lost", "fine") == []


def test_the_flagged_ids_filter_the_page_by_query(monitor, collector, flower):
    flower.extra_tasks = {"lost": started("lost", "w1@vm")}
    flower.answers["workers_status"] = OFFLINE
    long_up(flower)
    collector.poll()
    ids = tuple(monitor.flags().value["uuid"])
    assert "lost" in ids
    page = monitor.task_page(TaskFilter(uuids=ids), 100).value
    assert sorted(page.rows["uuid"]) == sorted(ids) and page.matching == len(ids)
    assert monitor.task_page(TaskFilter(uuids=()), 100).value.matching == 0
    assert sorted(monitor.matching_uuids(TaskFilter(uuids=ids))) == sorted(ids)


def test_external_mode_flags_a_task_on_a_worker_sampled_offline(settings, collector, flower):
    flower.extra_tasks = {"lost": started("lost", "w1@vm"), "fine": started("fine", "w2@vm")}
    flower.answers["workers_status"] = OFFLINE
    collector.poll()
    store = Store.from_settings(settings)  # ``./ops collect`` wrote it; this console reads
    external = ClusterMonitor(settings, store, StoredReadout(settings, store))
    try:
        assert flagged(external, "lost", "fine") == [["lost", "orphaned", "offline"]]
        said = flag_sentence(external.task("lost")["flag"], UTC)
        assert said == "orphaned: worker w1@vm is offline (when it went is not sampled)"
    finally:
        store.close()


def test_external_mode_flags_a_task_on_a_worker_restarted_since_it_started(
    settings, collector, flower
):
    # w2's inspect, answered now, says its process is 10 s old; the task started a minute ago.
    info = recorded("workers")
    for worker, uptime in (("w1@vm", 86400), ("w2@vm", 10)):
        info[worker].update(timestamp=time.time())
        info[worker]["stats"]["uptime"] = uptime
    flower.answers["workers"] = (200, json.dumps(info), {})
    flower.extra_tasks = {"cut": started("cut", "w2@vm"), "fine": started("fine", "w1@vm")}
    collector.poll()
    store = Store.from_settings(settings)  # ``./ops collect`` wrote it; this console reads
    external = ClusterMonitor(settings, store, StoredReadout(settings, store))
    try:
        assert flagged(external, "cut", "fine") == [["cut", "orphaned", "restarted"]]
        up_since = external.workers().value.set_index("worker")["up_since"]
        assert up_since["w2@vm"] == pd.Timestamp(
            info["w2@vm"]["timestamp"] - 10, unit="s", tz="UTC"
        )
    finally:
        store.close()
