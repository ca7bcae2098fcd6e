"""A worker killed with SIGKILL while running a task: the collector (1 s polls) flags the task
orphaned within 30 s (issue 14, Tests), on a cluster of this module's own (the session's
``cluster`` keeps its workers)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from demo.cluster import Cluster, WorkerSpec
from lib.collector import Collector
from lib.monitor import ClusterMonitor
from lib.store import Store
from tests.live import flower_tasks, live_settings, producer_app, send, wait_until

#: The issue's bound from the kill to the flag.
FLAGGED_WITHIN = 30.0
VICTIM = WorkerSpec("victim@%h", ("default",), concurrency=1)


@pytest.fixture(scope="module")
def doomed(tmp_path_factory):
    """Redis, one worker and Flower of this module's own: a test here kills the worker."""
    with Cluster(tmp_path_factory.mktemp("doomed"), workers=(VICTIM,)) as running:
        yield running


@pytest.fixture
def watched(doomed, tmp_path):
    """A collector polling ``doomed`` every second in its thread, and the monitor over it."""
    settings = live_settings(doomed, tmp_path)
    store = Store.from_settings(settings)
    collector = Collector(settings, store).start()
    yield ClusterMonitor(settings, store, collector)
    collector.stop(timeout=10)
    store.close()


def worker_pid(cluster: Cluster, name: str) -> int:
    """The worker's main process id, as its inspect stats report it through Flower."""
    answer = cluster.flower_get("/api/workers", refresh="true", workername=name)
    answer.raise_for_status()
    return int(answer.json()[name]["stats"]["pid"])


def orphaned_cause(monitor: ClusterMonitor, uuid: str) -> str | None:
    flags = monitor.flags().value
    if flags is None:
        return None
    mine = flags[(flags["uuid"] == uuid) & (flags["flag"] == "orphaned")]
    return None if mine.empty else str(mine["cause"].iloc[0])


def test_a_task_whose_worker_is_killed_is_flagged_orphaned_within_30_s(doomed, watched):
    app = producer_app(doomed)
    try:
        uuid = send(app, "demo.sleep", 300)
    finally:
        app.close()

    def started() -> bool:
        return flower_tasks(doomed).get(uuid, {}).get("state") == "STARTED"

    wait_until(started, "the sleeping task to start")
    wait_until(lambda: watched.task(uuid)["state"] == "STARTED", "the store to hold it STARTED")
    assert orphaned_cause(watched, uuid) is None, "running on a live worker: not orphaned"
    os.kill(worker_pid(doomed, VICTIM.hostname), signal.SIGKILL)
    killed = time.monotonic()
    cause = wait_until(lambda: orphaned_cause(watched, uuid), "the orphaned flag", FLAGGED_WITHIN)
    print(f"flagged orphaned {time.monotonic() - killed:.1f} s after the SIGKILL")
    assert cause == "offline"
    assert watched.task(uuid)["flag"]["worker"] == VICTIM.hostname
