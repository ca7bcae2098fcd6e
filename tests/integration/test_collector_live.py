"""The collector on the real cluster: it writes tasks and samples, keeps history through a
Flower restart, rides out a stopped Flower, a restarted collector resumes incrementally, and a
first load shows the newest tasks while it is still walking Flower's list.

Uses the session's cluster and leaves Flower running for the tests after these.
"""

from __future__ import annotations

import pytest

from lib.collector import Collector, catch_up_sentence, health_sentence
from lib.flower import FlowerClient
from lib.settings import Settings
from lib.store import Store
from tests.live import FINAL, flower_tasks, live_settings, send, wait_final, wait_until

FAR = 4102444800.0  # 2100: a window end after every task


@pytest.fixture
def settings(cluster, tmp_path) -> Settings:
    return live_settings(cluster, tmp_path)


@pytest.fixture
def store(settings):
    opened = Store.from_settings(settings)
    yield opened
    opened.close()


@pytest.fixture
def flower_back(cluster):
    """Whatever a test did to Flower, it runs again afterwards."""
    yield
    cluster.start_flower()


def stored(store: Store) -> dict[str, dict]:
    frame = store.tasks_window(0.0, FAR)
    return {row["uuid"]: row for row in frame.to_dict("records")}


def test_the_collector_writes_tasks_and_samples(cluster, producer, settings, store):
    ids = [send(producer, "demo.add", i, 1) for i in range(3)]
    wait_final(cluster, ids)
    report = Collector(settings, store).poll()
    assert not report.problems, report.problems
    rows = stored(store)
    assert {rows[u]["state"] for u in ids} == {"SUCCESS"} and all(rows[u]["in_flower"] for u in ids)
    workers = store.worker_samples(0.0, FAR)
    assert set(cluster.worker_names) <= set(workers["worker"]) and workers["online"].all()
    # Real workers' pool sizes and their main processes' peak RSS (rusage maxrss, KiB → MiB).
    mine = workers[workers["worker"].isin(cluster.worker_names)]
    assert (mine["pool_size"] >= 1).all(), mine
    assert mine["main_peak_rss_mib"].between(5, 4096).all(), mine
    queues = store.queue_samples(0.0, FAR)
    assert {"default", "ml", "etl", "email"} <= set(queues["queue"])


def test_history_survives_a_flower_restart(cluster, producer, settings, store, flower_back):
    before = [send(producer, "demo.add", 2, i) for i in range(3)]
    wait_final(cluster, before)
    collector = Collector(settings, store)
    collector.poll()
    cluster.restart_flower()
    after = send(producer, "demo.add", 5, 5)
    wait_until(lambda: flower_tasks(cluster).get(after, {}).get("state") in FINAL, "a new task")
    report = collector.poll()
    assert report.mode == "full" and not report.problems, report.problems
    rows = stored(store)
    assert [(rows[u]["state"], rows[u]["in_flower"]) for u in before] == [("SUCCESS", False)] * 3
    assert rows[after]["in_flower"]


def test_a_stopped_flower_is_reported_and_the_loop_recovers(cluster, settings, store, flower_back):
    with Collector(settings, store) as collector:
        wait_until(lambda: collector.health.data_until, "a first poll that reached the store")
        cluster.stop_flower()
        wait_until(lambda: collector.health.consecutive_failures >= 2, "two failed polls")
        health = collector.health
        sentence = health_sentence(health, health.last_attempt + 5)
        assert sentence.startswith("Flower has not answered for") and "(timeout 2 s)" in sentence
        cluster.start_flower()
        wait_until(lambda: collector.health.last_error is None, "a poll after Flower is back")


def test_a_restarted_collector_resumes_from_the_kept_cursor(cluster, producer, settings, store):
    wait_final(cluster, [send(producer, "demo.add", 8, 8)])  # a watermark even after a restart
    assert not Collector(settings, store).poll().problems
    new = send(producer, "demo.add", 9, 9)
    wait_final(cluster, [new])
    again = Collector(settings, store)
    assert again.resumed
    report = again.poll()
    assert report.mode == "incremental" and not report.problems, report.problems
    assert stored(store)[new]["state"] == "SUCCESS"


class WatchedClient(FlowerClient):
    """The real client; before each page of tasks after the first it looks at the store."""

    def __init__(self, settings: Settings, look):
        super().__init__(settings.flower_url, settings.flower_auth, settings.flower_timeout)
        self.look, self.pages = look, []

    def list_tasks(self, limit: int, offset: int = 0, **filters) -> list[dict]:
        if self.pages:
            self.look(self.pages)
        page = super().list_tasks(limit, offset, **filters)
        self.pages.append([t["uuid"] for t in page])
        return page


def test_a_first_load_shows_the_newest_tasks_while_the_walk_goes_on(
    cluster, producer, settings, store
):
    ids = [send(producer, "demo.add", 7, i) for i in range(6)]
    wait_final(cluster, ids)
    seen = []

    def look(pages: list[list[str]]) -> None:
        if len(pages) == 1:  # the first page is written, the second not yet read
            seen.append((set(stored(store)), catch_up_sentence(collector.health)))

    client = WatchedClient(settings, look)
    collector = Collector(settings, store, client=client)
    collector.sync.page_size = 2
    report = collector.poll()
    assert report.mode == "full" and not report.problems, report.problems
    (held, sentence), first = seen[0], set(client.pages[0])
    assert held == first and first <= set(ids), "the store holds Flower's newest tasks"
    assert sentence.startswith("Catching up: 2 of ~")
    assert set(ids) <= set(stored(store)) and len(client.pages) >= 3


def test_the_collector_reads_a_running_training_job_s_progress_for_the_page(
    cluster, producer, settings, store
):
    from dataclasses import replace
    from datetime import UTC, datetime

    from lib import workflows as wf
    from lib.monitor import ClusterMonitor
    from lib.workflows.config import load_workflows

    settings = replace(settings, result_backend=cluster.backend_url)
    collector = Collector(settings, store)
    monitor = ClusterMonitor(settings, store, collector)
    uuid = send(producer, "demo.train_model", "coll-net", epochs=12, step_seconds=0.5, queue="ml")

    def progress_read():
        collector.poll()
        got = monitor.training_metas()
        meta = (got.value or {}).get(uuid, {}).get("result") if got else None
        return meta if isinstance(meta, dict) and 0 < meta.get("progress", 0) < 100 else None

    meta = wait_until(progress_read, "the collector to read the job's progress", timeout=60)
    view = load_workflows().views[0]
    jobs = wf.training_jobs_frame(
        monitor.tasks().value, view, monitor.training_metas().value, datetime.now(UTC)
    )
    row = jobs.set_index("uuid").loc[uuid]
    assert (row["model"], row["source"]) == ("coll-net", "backend")
    assert (row["progress"], row["loss"]) == (meta["progress"], meta["loss"])
    sampled = store.progress_samples(0.0, FAR)
    mine = sampled[sampled["uuid"] == uuid]
    assert meta["progress"] in mine["progress"].tolist(), "the time series has the reading"
    assert set(mine["name"]) == {"demo.train_model"}
    wait_final(cluster, [uuid], timeout=60)
