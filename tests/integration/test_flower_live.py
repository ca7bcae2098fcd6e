"""The Flower client and broker probe against a real Redis, Celery workers and Flower."""

from __future__ import annotations

import socket

import pytest

from lib.broker import BrokerProbe, redis_queue_keys
from lib.errors import BrokerError, FlowerAuthError, FlowerNoApi, FlowerNotFound
from lib.flower import FlowerClient
from tests.live import send, wait_final


@pytest.fixture(scope="module")
def client(cluster) -> FlowerClient:
    return FlowerClient(cluster.flower_url, auth=cluster.http_auth(), timeout=10)


def test_reads_workers_with_pool_and_queues(cluster, client):
    info = client.list_workers(refresh=True)
    assert set(info) == set(cluster.worker_names)
    for name in cluster.worker_names:
        assert info[name]["stats"]["pool"]["max-concurrency"] >= 1
        assert info[name]["active_queues"], "each worker consumes at least one queue"
    assert client.worker_status() == dict.fromkeys(cluster.worker_names, True)
    hosts = {row["hostname"] for row in client.worker_summaries()}
    assert hosts == set(cluster.worker_names)


def test_reads_tasks_task_info_and_types(cluster, producer, client):
    ok = send(producer, "demo.add", 20, 22)
    bad = send(producer, "demo.flaky", "validation")
    wait_final(cluster, [ok, bad])
    tasks = {t["uuid"]: t for t in client.list_tasks(limit=1000)}
    assert tasks[ok]["state"] == "SUCCESS" and tasks[ok]["result"] == "42"
    assert tasks[bad]["state"] == "FAILURE" and tasks[bad]["exception"].startswith("ValueError")
    assert client.task_info(bad)["uuid"] == bad
    assert {"demo.add", "demo.flaky"} <= set(client.task_types())
    assert client.task_count() >= 2


def test_wrong_password_is_an_auth_error(cluster):
    with pytest.raises(FlowerAuthError):
        FlowerClient(cluster.flower_url, auth=("admin", "wrong"), timeout=5).list_tasks(limit=1)


def test_queue_depth_from_redis_counts_priority_lists(cluster, producer, client):
    parked = "parked_nobody_consumes"
    for priority in (0, 0, 5, 9):
        producer.send_task("demo.add", args=[1, 1], queue=parked, priority=priority)
    probe = BrokerProbe(cluster.broker_url)
    assert probe.queue_depths([parked]) == {parked: 4}
    # and the keys really are spread over priority lists, which Flower's client also sums
    import redis

    r = redis.Redis.from_url(cluster.broker_url)
    per_key = [r.llen(k) for k in redis_queue_keys(parked)]
    r.close()
    assert sum(per_key) == 4 and per_key[0] < 4
    lengths = {q["name"]: q["messages"] for q in client.queue_lengths()}
    assert set(lengths) >= {"default", "ml"}


def test_broker_down_is_a_plain_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BrokerError) as err:
        BrokerProbe(f"redis://:secretpw@127.0.0.1:{port}/0", timeout=1).queue_depths(["default"])
    assert "cannot be read" in str(err.value)
    assert "secretpw" not in str(err.value)


def test_a_wrong_url_prefix_is_named_and_an_unknown_task_is_not(cluster, client):
    # Flower answers an unknown route with its HTML "page not found", an unknown task with
    # plain text: the first is a wrong url_prefix, the second a task Flower never saw.
    wrong = FlowerClient(cluster.flower_url + "/flower", auth=cluster.http_auth(), timeout=10)
    for read in (wrong.list_tasks, wrong.list_workers, wrong.queue_lengths):
        with pytest.raises(FlowerNoApi) as err:
            read(**({"limit": 1} if read == wrong.list_tasks else {}))
        assert "check the url_prefix in FLOWER_URL" in str(err.value)
        assert "<" not in str(err.value), "no HTML in the sentence"
    with pytest.raises(FlowerNotFound) as err:
        client.task_info("no-such-task")
    assert "Unknown task" in str(err.value)
