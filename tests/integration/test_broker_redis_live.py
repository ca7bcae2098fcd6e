"""Purging a queue on the cluster's real Redis: its list and priority sub-lists, nothing else."""

from __future__ import annotations

import uuid

import redis

from lib.broker import BrokerProbe, Purged, QueueStats, redis_queue_keys


def test_purge_empties_the_list_and_its_priority_lists_and_returns_the_count(cluster, producer):
    queue, other = (f"parked-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for priority in (0, 0, 3, 6, 9, 9):
        producer.send_task("demo.add", args=[1, 1], queue=queue, priority=priority)
    producer.send_task("demo.add", args=[1, 1], queue=other)
    client = redis.Redis.from_url(cluster.broker_url)
    try:
        assert sum(client.llen(k) for k in redis_queue_keys(queue)) == 6
        assert client.llen(queue) < 6, "some messages wait on priority lists"
        probe = BrokerProbe(cluster.broker_url)
        assert probe.queue_depths([queue]) == {queue: 6}
        assert probe.purge(queue) == 6
        assert probe.queue_depths([queue, other]) == {queue: 0, other: 1}
        assert not any(client.exists(k) for k in redis_queue_keys(queue))
        assert probe.purge(queue) == 0
    finally:
        client.delete(*redis_queue_keys(other))
        client.close()


def test_redis_knows_no_consumers_per_queue(cluster):
    stats = BrokerProbe(cluster.broker_url).queue_stats(["default"])
    assert stats["default"].consumers is None
    assert isinstance(stats["default"], QueueStats)


def test_purge_reads_the_removed_tasks_ids_in_the_same_transaction(cluster, producer):
    queue = f"parked-{uuid.uuid4().hex[:8]}"
    sent = [
        producer.send_task("demo.add", args=[i, 1], queue=queue, priority=(0, 3, 9)[i % 3]).id
        for i in range(5)
    ]
    client = redis.Redis.from_url(cluster.broker_url)
    try:
        client.lpush(queue, b"not a kombu message")  # counted as removed, marks no task
        purged = BrokerProbe(cluster.broker_url).purge_tasks(queue)
        assert purged.removed == 6
        assert sorted(purged.task_ids) == sorted(sent), "every task of every priority list"
        assert BrokerProbe(cluster.broker_url).purge_tasks(queue) == Purged(0, ())
    finally:
        client.delete(*redis_queue_keys(queue))
        client.close()
