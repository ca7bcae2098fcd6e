"""Pause and resume on a real cluster, on Redis and on RabbitMQ: a paused queue's new tasks wait
while another queue's run; a worker restarted under the same name consumes it again until the
collector's next poll cancels its consumer (audited as "collector"); resume drains the queue.

Redis runs on this module's own cluster (its worker is restarted and its queue paused: never
the session's shared ``cluster``); RabbitMQ on the session's ``rabbit_cluster``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery

from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.broker import BrokerProbe
from lib.collector import Collector
from lib.flower import FlowerClient
from lib.settings import load_settings
from lib.store import Store
from lib.store.pauses import PauseBook
from tests.live import producer_app, send, wait_final, wait_until

OPERATOR, VIEWER = Actor("olga", "operator"), Actor("vic", "viewer")
QUEUE, OTHER = "etl", "default"


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory):
    """One worker on ``default`` and ``etl``: this module's own, restarted by its tests."""
    from demo.cluster import Cluster, WorkerSpec

    workers = (WorkerSpec("pw1@%h", (OTHER, QUEUE), concurrency=2),)
    with Cluster(tmp_path_factory.mktemp("pause-cluster"), workers=workers) as running:
        yield running


@pytest.fixture(params=["redis", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def live(request):
    name = "redis_cluster" if request.param == "redis" else "rabbit_cluster"
    return request.getfixturevalue(name)


@pytest.fixture
def producer(live) -> Iterator[Celery]:
    app = producer_app(live)
    yield app
    app.close()


@pytest.fixture
def console(live, tmp_path) -> Iterator[tuple[ActionDesk, Collector]]:
    """The desk and a collector (polled by hand: one ``poll()`` is one poll) on one store."""
    environ = {**live.env(), "OPS_DATA_DIR": str(tmp_path), "OPS_POLL_SECONDS": "1"}
    settings = load_settings(environ, {})
    store = Store.from_settings(settings)
    client = FlowerClient.from_settings(settings)
    desk = ActionDesk(client, AuditLog(settings.store_url), lambda _: None, pauses=PauseBook(store))
    collector = Collector(settings, store, client=client)
    yield desk, collector
    if desk.pauses.pause_of(QUEUE):  # a failed test must not leave the shared node paused
        desk.perform(OPERATOR, "resume", [QUEUE], {}, "cleanup-resume")
    store.close()


def consumes(live, worker: str) -> bool:
    info = live.flower_get("/api/workers", refresh=1, workername=worker).json()
    return QUEUE in {q["name"] for q in info.get(worker, {}).get("active_queues", [])}


def waiting(live) -> int:
    return BrokerProbe(live.broker_url).queue_stats([QUEUE])[QUEUE].messages


def test_pause_holds_the_queue_through_a_restart_and_resume_drains_it(live, console, producer):
    desk, collector = console
    (worker,) = live.worker_names
    refused = desk.perform(VIEWER, "pause", [QUEUE], {"queue": QUEUE}, "crafted")
    assert refused.outcome == "refused" and consumes(live, worker)

    paused = desk.perform(OPERATOR, "pause", [QUEUE], {}, "op-pause")
    assert paused.outcome == "sent", paused.message
    assert not consumes(live, worker)
    held = send(producer, "demo.add", 1, 2, queue=QUEUE)
    ran = send(producer, "demo.add", 3, 4, queue=OTHER)
    wait_final(live, [ran])
    assert waiting(live) == 1, "the paused queue's task waits while the other queue's ran"

    collector.poll()
    assert desk.audit.rows(users=["collector"]) == [], "nothing to enforce: the pause holds"
    live.restart_worker(worker)  # it consumes its -Q queues again, etl too
    collector.poll()
    assert not consumes(live, worker), "one poll after the restart its consumer is cancelled"
    (kept,) = desk.audit.rows(users=["collector"])
    assert (kept.action, kept.outcome) == ("pause", "sent") and worker in kept.message

    after = send(producer, "demo.add", 5, 6, queue=QUEUE)
    wait_until(lambda: waiting(live) >= 1, "the task sent after the restart to wait")
    resumed = desk.perform(OPERATOR, "resume", [QUEUE], {}, "op-resume")
    assert resumed.outcome == "sent", resumed.message
    assert consumes(live, worker) and desk.pauses.paused() == {}
    done = wait_final(live, [held, after])  # the one held before the restart may have run then
    assert {t["state"] for t in done.values()} == {"SUCCESS"}
    assert waiting(live) == 0


def test_a_queue_paused_while_nobody_consumed_it_is_kept_from_a_worker_that_starts(live, console):
    desk, collector = console
    (worker,) = live.worker_names
    desk.client.cancel_consumer(worker, QUEUE)  # as if its workers were down for a deploy
    assert not consumes(live, worker)
    paused = desk.perform(OPERATOR, "pause", [QUEUE], {}, "op-pause-idle")
    assert paused.outcome == "sent" and "nothing to send" in paused.message, paused.message
    assert desk.pauses.pause_of(QUEUE).workers == ()

    live.restart_worker(worker)  # it starts consuming its -Q queues, etl too
    collector.poll()
    assert not consumes(live, worker), "one poll after it started its consumer is cancelled"
    assert desk.pauses.pause_of(QUEUE).workers == (worker,), "resume gives the queue to it"
    resumed = desk.perform(OPERATOR, "resume", [QUEUE], {}, "op-resume-idle")
    assert resumed.outcome == "sent", resumed.message
    assert consumes(live, worker) and desk.pauses.paused() == {}
