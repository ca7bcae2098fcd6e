"""The collector's /metrics on the real cluster: failures by exception equal those counted from
Flower's raw tasks, a queue's messages equal the broker's depth (Redis LLEN over its priority
lists), the text parses with prometheus-client's parser, every series carries ``cluster``, and no
configured secret appears. Leaves every worker running."""

from __future__ import annotations

import socket
from collections import Counter

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from lib.broker import redis_queue_keys
from lib.collector import Collector
from lib.failures import parse_exception
from lib.store import Store
from tests.live import flower_tasks, live_settings, send, wait_final, wait_until

KINDS = ("validation", "missing", "key", "connection", "ok", "validation", "timeout")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def collector(cluster, tmp_path):
    settings = live_settings(cluster, tmp_path, metrics_port=free_port())
    store = Store.from_settings(settings)
    with Collector(settings, store) as running:
        yield running
    store.close()


def scrape(collector: Collector) -> tuple[str, list]:
    port = collector.metrics.serving_port
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    return text, samples


def failures_by_exception(samples: list) -> Counter:
    found: Counter = Counter()
    for sample in samples:
        if sample.name == "celery_console_task_failures":
            found[sample.labels["exception"]] += int(sample.value)
    return +found


def flower_failures(cluster) -> Counter:
    return Counter(
        parse_exception(t.get("exception"), t.get("traceback"))[0]
        for t in flower_tasks(cluster).values()
        if t.get("state") == "FAILURE"
    )


def test_failures_by_exception_equal_flower_s_raw_tasks(cluster, producer, collector):
    ids = [send(producer, "demo.flaky", kind, seconds=0.01, ref=i) for i, kind in enumerate(KINDS)]
    wait_final(cluster, ids)

    def agree():
        expected, got = flower_failures(cluster), failures_by_exception(scrape(collector)[1])
        return expected if expected == got and expected["ValueError"] >= 2 else None

    expected = wait_until(agree, "the metrics to count Flower's failures")
    assert {"ValueError", "LookupError", "KeyError", "ConnectionRefusedError"} <= set(expected)
    text, samples = scrape(collector)
    assert samples and all(s.labels.get("cluster") == "default" for s in samples)
    _, password = cluster.http_auth()
    assert password not in text
    names = {s.name for s in samples}
    assert "celery_console_tasks_finished_total" in names
    assert "celery_console_task_runtime_histogram_seconds_bucket" in names


def test_queue_messages_equal_the_broker_s_depth(cluster, producer, collector):
    worker = next(name for name in cluster.worker_names if name.startswith("w1@"))
    cluster.stop_worker(worker)  # the only consumer of "email": its messages stay put
    broker = redis.Redis.from_url(cluster.broker_url)
    try:
        for i in range(3):
            send(producer, "demo.add", i, 1, queue="email")
        depth = sum(broker.llen(key) for key in redis_queue_keys("email"))
        assert depth == 3

        def reported():
            wanted = ("celery_console_queue_messages", "email", depth)
            for sample in scrape(collector)[1]:
                if (sample.name, sample.labels.get("queue"), sample.value) == wanted:
                    return sample
            return None

        wait_until(reported, "queue_messages{queue=email} to equal the broker's depth")
        offline = [
            s
            for s in scrape(collector)[1]
            if s.name == "celery_console_workers" and s.labels["state"] == "offline"
        ]
        assert offline and offline[0].value >= 1
    finally:
        broker.close()
        cluster.start_worker(worker)  # it runs the parked tasks
