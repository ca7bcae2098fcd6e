"""The broker probe on a real RabbitMQ node: depth and consumers by passive declare, purge,
message rates from the management API, and every failure a plain sentence without a password."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from celery import Celery

from demo.cluster import REPO_ROOT, free_port
from lib.broker import BrokerProbe, QueueStats
from lib.errors import BrokerError
from lib.rabbitmq_rates import RabbitManagement
from tests.live import wait_until

pytestmark = pytest.mark.rabbitmq


@pytest.fixture(scope="module")
def sender(rabbitmq):
    """A Celery client on the node, as any producer would send tasks to it."""
    app = Celery("rabbit-producer", broker=rabbitmq.url)
    app.conf.update(broker_connection_retry_on_startup=True)
    yield app
    app.close()


def fresh_queue() -> str:
    return f"q-{uuid.uuid4().hex[:8]}"


def send_many(app: Celery, queue: str, count: int) -> None:
    with app.producer_or_acquire() as producer:
        for i in range(count):
            app.send_task("demo.add", args=[i, 1], queue=queue, producer=producer)


def test_depth_and_consumers_by_passive_declare_and_a_missing_queue_is_empty(rabbitmq, sender):
    queue, missing = fresh_queue(), fresh_queue()
    send_many(sender, queue, 5)
    probe = BrokerProbe(rabbitmq.url)
    assert probe.queue_depths([queue, missing]) == {queue: 5, missing: 0}
    stats = probe.queue_stats([queue, missing])
    assert stats == {queue: QueueStats(5, 0), missing: QueueStats(0, 0)}
    # the passive declare created nothing: the missing queue is still missing
    assert missing not in RabbitManagement(rabbitmq.management_url, rabbitmq.url).queue_names()


def test_purge_removes_the_waiting_messages_and_returns_the_count(rabbitmq, sender):
    queue, other = fresh_queue(), fresh_queue()
    send_many(sender, queue, 7)
    send_many(sender, other, 3)
    probe = BrokerProbe(rabbitmq.url)
    assert probe.queue_depths([queue]) == {queue: 7}
    assert probe.purge(queue) == 7
    assert probe.queue_depths([queue, other]) == {queue: 0, other: 3}
    assert probe.purge(queue) == 0, "nothing left to remove"
    assert probe.purge(fresh_queue()) == 0, "a queue the broker does not know holds nothing"


def test_wrong_credentials_are_a_broker_error_without_the_password(rabbitmq):
    url = f"amqp://ops:notthepassword@127.0.0.1:{rabbitmq.port}//"
    for read in (lambda p: p.queue_depths(["celery"]), lambda p: p.purge("celery")):
        with pytest.raises(BrokerError) as err:
            read(BrokerProbe(url, timeout=3))
        said = str(err.value)
        assert said.startswith("The broker at amqp://") and "cannot be read" in said, said
        assert "refused" in said.lower(), "the reason is the broker's: access refused"
        assert "notthepassword" not in said and rabbitmq.password not in said


def test_a_dead_node_is_a_plain_broker_error():
    url = f"amqp://ops:secretpw@127.0.0.1:{free_port()}//"
    with pytest.raises(BrokerError) as err:
        BrokerProbe(url, timeout=1).queue_stats(["celery"])
    said = str(err.value)
    assert (
        said.startswith("The broker at amqp://") and said.endswith(".") and "secretpw" not in said
    )


def test_a_celery_worker_consuming_the_queue_is_its_consumer(rabbitmq, sender, tmp_path):
    queue = fresh_queue()
    env = {**os.environ, "CELERY_BROKER_URL": rabbitmq.url, "CELERY_RESULT_BACKEND": ""}
    env["PYTHONPATH"] = str(REPO_ROOT)
    args = [sys.executable, "-m", "celery", "-A", "demo.tasks", "worker", "-Q", queue]
    args += ["-P", "solo", "-n", f"rabbit-{queue}@%h", "--without-mingle", "--without-gossip"]
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        probe = BrokerProbe(rabbitmq.url)
        stats = wait_until(
            lambda: probe.queue_stats([queue])[queue].consumers == 1 or None,
            "the worker's consumer on the queue",
        )
        assert stats
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert probe.queue_stats([queue])[queue].consumers == 0, "its consumer left with it"


def test_message_rates_from_the_management_api(rabbitmq, sender):
    queue, idle = fresh_queue(), fresh_queue()
    send_many(sender, idle, 1)
    management = RabbitManagement(rabbitmq.management_url, rabbitmq.url)

    def publishing():
        send_many(sender, queue, 20)
        return management.queue_rates([queue]).get(queue, {}).get("published", 0) > 0 or None

    wait_until(publishing, "a publish rate on the queue")
    rates = management.queue_rates([queue, idle, "no-such-queue"])
    assert set(rates) == {queue, idle}, "a queue the node does not have has no rates"
    assert rates[idle]["published"] == 0 and rates[idle]["delivered"] == 0


def test_management_api_failures_are_plain_and_without_the_password(rabbitmq):
    wrong = f"http://ops:notthepassword@127.0.0.1:{rabbitmq.management_port}"
    for url, reason in ((wrong, "credentials"), (f"http://127.0.0.1:{free_port()}", "")):
        with pytest.raises(BrokerError) as err:
            RabbitManagement(url, rabbitmq.url, timeout=2).queue_rates(["celery"])
        said = str(err.value)
        assert said.startswith("The RabbitMQ management API at http://"), said
        assert reason in said and "notthepassword" not in said and rabbitmq.password not in said
