"""The queue's panel on ``Queues?queue=<name>`` (issue 14 point 3): its consumers with their
links, the oldest waiting age and the drain estimate, laid out from a seeded store, the real
Redis broker's depth and the (recorded) Flower's workers."""

from __future__ import annotations

import time
import uuid

import pandas as pd
import pytest
import redis

from lib.broker import redis_queue_keys
from lib.store import Store
from tests import factories
from tests.apptest.conftest import open_page, texts


def metric(at, label: str) -> str:
    (value,) = [m.value for m in at.metric if m.label == label]
    return value


def seed(tmp_path, queue: str, now: float) -> None:
    """The console's store: 10 tasks of ``queue`` received in the last 10 minutes (sent before
    them), 2 still PENDING (sent 270 s and 100 s ago), the depth sampled 10 minutes ago."""
    store = Store(f"sqlite:///{tmp_path / 'ops-data' / 'store.sqlite3'}")
    done = [
        factories.task_payload(f"done-{i}", at=now - 60 - i, routing_key=queue, sent=now - 700)
        for i in range(10)
    ]
    waiting = [
        {"uuid": f"wait-{age}", "name": "demo.add", "state": "PENDING", "sent": now - age}
        | {"timestamp": now - age, "routing_key": queue}
        for age in (270, 100)
    ]
    store.upsert_tasks(done + waiting, now=now)
    sampled = pd.DataFrame({"queue": [queue], "messages": [11], "consumers": [0]})
    store.record_samples(sampled, pd.DataFrame(columns=["worker", "online"]), now=now - 605)
    store.close()


@pytest.fixture
def parked(cluster, producer, recorded_flower, monkeypatch, tmp_path):
    """A queue no worker consumes, holding 3 messages on the cluster's Redis (the console's
    broker), with its history in the console's store."""
    monkeypatch.setenv("CELERY_BROKER_URL", cluster.broker_url)
    queue = f"parked-{uuid.uuid4().hex[:8]}"
    seed(tmp_path, queue, time.time())
    for _ in range(3):
        producer.send_task("demo.add", args=[1, 1], queue=queue)
    client = redis.Redis.from_url(cluster.broker_url)
    yield queue
    client.delete(*redis_queue_keys(queue))
    client.close()


def test_a_queue_without_consumers_shows_its_oldest_waiting_task_and_drain_estimate(parked):
    at = open_page("Queues", {"queue": parked})
    assert not at.exception, [e.message for e in at.exception]
    assert metric(at, "Waiting now (broker)") == "3"
    said = texts(at)
    assert "No online worker consumes this queue now" in said
    assert metric(at, "Oldest waiting").startswith("4 min "), "sent 270 s ago"
    assert "From the oldest PENDING task's sent time." in said
    # 10 consumed, 2 arrived (sent) in 10 minutes: 8 net; 3 waiting → 3.75 min
    assert metric(at, "Drain estimate") == "drains in about 4 min at the current rate"
    assert "10 consumed, 2 arrived in 10 min" in said and "arrivals from sent events" in said
    labels = [m.label for m in at.metric]
    assert labels.index("Waiting now (broker)") < labels.index("Oldest waiting")
    assert labels.index("Oldest waiting") < labels.index("Drain estimate")


def test_a_consumed_queue_lists_its_workers_with_links_and_says_why_figures_are_missing(
    recorded_flower, monkeypatch
):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    at = open_page("Queues", {"queue": "etl"})
    assert not at.exception, [e.message for e in at.exception]
    (consumers,) = [df.value for df in at.dataframe if "link" in df.value.columns]
    assert consumers["worker"].tolist() == ["w1@vm", "w2@vm"]
    assert consumers["link"].tolist() == ["workers?worker=w1%40vm", "workers?worker=w2%40vm"]
    assert (metric(at, "Oldest waiting"), metric(at, "Drain estimate")) == ("—", "—")
    said = texts(at)
    assert "No sent events seen: producers send them with task_send_sent_event = True." in said
    assert "The broker's depth can't be read." in said
