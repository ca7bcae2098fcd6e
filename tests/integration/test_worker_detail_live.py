"""A worker's detail on the real cluster: the collector's inspect facts of real workers (pool,
concurrency, prefetch, queues, registered types) and a task running on one, busy since its
start, from the store the collector wrote.

Uses the session's cluster (two workers: w1 with --autoscale=4,2, w2 with -c 2)."""

from __future__ import annotations

import time

import pytest

from demo.cluster import DEFAULT_WORKERS
from lib.collector import Collector
from lib.frames.waiting import for_worker, scheduled_frame
from lib.frames.worker_detail import running_filter, worker_detail
from lib.settings import load_settings
from lib.store import Store
from tests.live import send, wait_final, wait_until

SPECS = {spec.hostname: spec for spec in DEFAULT_WORKERS}  # the cluster's own, by hostname


@pytest.fixture
def collector(cluster, tmp_path):
    """A collector of the live cluster, configured as the console is (``cluster.env()``)."""
    settings = load_settings({**cluster.env(), "OPS_DATA_DIR": str(tmp_path)}, {})
    store = Store.from_settings(settings)
    yield Collector(settings, store)
    store.close()


def test_real_inspect_data_yields_pool_prefetch_queues_and_types(cluster, collector):
    report = collector.poll()
    assert not report.problems, report.problems
    facts = collector.snapshot.worker_facts
    assert set(cluster.worker_names) <= set(facts)
    for name in cluster.worker_names:
        one, spec = facts[name], SPECS[name]
        assert one.pool == "prefork" and one.queues == tuple(sorted(spec.queues))
        assert {"demo.add", "demo.sleep", "demo.train_model"} <= set(one.registered)
        if spec.autoscale:
            assert spec.autoscale[1] <= one.concurrency <= spec.autoscale[0]
            assert one.autoscale == f"{spec.autoscale[1]}–{spec.autoscale[0]}"
        else:
            assert one.concurrency == spec.concurrency
        # The demo's worker_prefetch_multiplier is 1: the worker prefetches one per process.
        assert one.prefetch_multiplier == 1 and one.prefetch_count >= 1
        assert one.started_at is not None and one.started_at <= time.time()
    w2 = next(n for n in cluster.worker_names if n.startswith("w2@"))
    # -c 2 × multiplier 1, plus one for each ETA task it holds: Celery raises the QoS for them
    # (a test before may have left a revoked countdown task in its timer).
    held = for_worker(scheduled_frame(collector.snapshot.waiting), w2)
    assert facts[w2].prefetch_count == 2 + len(held)


def test_a_running_task_shows_busy_since_its_start(cluster, producer, collector):
    uuid = send(producer, "demo.sleep", 4.0, queue="ml")  # only w2 consumes ml
    worker = next(n for n in cluster.worker_names if n.startswith("w2@"))

    def running_on_w2():
        collector.poll()
        store = collector.store
        wanted = running_filter(worker, store.task_values()["state"])
        rows = store.tasks_page(wanted, 50).rows if wanted is not None else None
        return (rows,) if rows is not None and uuid in set(rows["uuid"]) else None

    (rows,) = wait_until(running_on_w2, "the sleep task to run on w2 in the store")
    snap = collector.snapshot
    detail = worker_detail(worker, snap.workers, snap.worker_facts, rows, None, time.time())
    active = detail.active.set_index("uuid").loc[uuid]
    assert detail.online is True and active["since_what"] == "started"
    assert active["busy_since"] == rows.set_index("uuid").loc[uuid, "started"]
    assert active["task"] == f"tasks?task={uuid}"
    wait_final(cluster, [uuid])
