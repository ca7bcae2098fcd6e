"""Purge through the action desk on a real Redis (the cluster's broker) and a real RabbitMQ node:
the preview's count is what the broker removes, the audit keeps both, other queues keep theirs;
a wrong typed name or a role below admin removes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from celery import Celery

from demo.cluster import free_port
from lib.actions import ActionDesk
from lib.audit import AuditLog
from lib.auth import Actor
from lib.broker import BrokerProbe
from lib.flower import FlowerClient
from lib.store import Store

ADMIN = Actor("ada", "admin")


@pytest.fixture(params=["redis", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def broker_url(request) -> str:
    if request.param == "redis":
        return request.getfixturevalue("cluster").broker_url
    return request.getfixturevalue("rabbitmq").url


@pytest.fixture
def sender(broker_url) -> Iterator[Celery]:
    app = Celery("purge-producer", broker=broker_url)
    app.conf.update(broker_connection_retry_on_startup=True)
    yield app
    app.close()


@pytest.fixture
def desk(broker_url, tmp_path) -> ActionDesk:
    # A purge asks Flower nothing: its client points at a port nobody answers.
    client = FlowerClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    audit = AuditLog(tmp_path / "store.sqlite3")
    return ActionDesk(client, audit, {}.get, broker=BrokerProbe(broker_url))


@pytest.fixture
def queues(desk) -> Iterator[tuple[str, str]]:
    """Two fresh queues no worker consumes; both emptied at the end."""
    names = tuple(f"purge-{uuid.uuid4().hex[:8]}" for _ in range(2))
    yield names
    for name in names:
        desk.broker.purge(name)


def send(app: Celery, queue: str, count: int) -> None:
    with app.producer_or_acquire() as producer:
        for i in range(count):
            # Priorities put some on Redis's priority lists; RabbitMQ's plain queue ignores them.
            app.send_task(
                "demo.add", args=[i, 1], queue=queue, priority=(0, 3, 9)[i % 3], producer=producer
            )


def test_purge_removes_what_the_preview_counted_and_the_audit_keeps_both(desk, sender, queues):
    queue, other = queues
    send(sender, queue, 7)
    send(sender, other, 2)
    previewed = desk.queue_depth(queue)
    assert previewed == 7
    asked = {"confirm_name": queue, "previewed": previewed}
    result = desk.perform(ADMIN, "purge", [queue], asked, "op-purge")
    assert result.outcome == "sent", result.message
    assert result.message == (
        f"Purge: {queue}. The broker said: 7 messages removed (7 messages previewed)"
    )
    row = desk.audit.row(result.audit_id)
    assert (row.action, row.user, row.outcome, row.preview_count) == ("purge", "ada", "sent", 7)
    (target,) = desk.audit.targets(row.id)
    assert (target.target, target.outcome) == (queue, "sent")
    assert target.reply == "7 messages removed (7 messages previewed)"
    assert desk.broker.queue_depths([queue, other]) == {queue: 0, other: 2}
    again = desk.perform(ADMIN, "purge", [queue], asked, "op-purge")
    assert again.audit_id == row.id and desk.broker.queue_depths([other]) == {other: 2}, (
        "the same click purges once"
    )


@pytest.mark.parametrize(
    ("actor", "typed", "why"),
    [
        (ADMIN, "not-the-queue", "type its exact name"),
        (Actor("olga", "operator"), None, "needs the admin role"),
        (Actor("vic", "viewer"), None, "needs the admin role"),
    ],
)
def test_a_wrong_name_or_a_lesser_role_removes_nothing(desk, sender, queues, actor, typed, why):
    queue, _ = queues
    send(sender, queue, 3)
    asked = {"confirm_name": typed or queue, "previewed": 3}
    result = desk.perform(actor, "purge", [queue], asked, "op-crafted")
    assert result.outcome == "refused" and why in result.message
    assert desk.audit.row(result.audit_id).outcome == "refused"
    assert desk.broker.queue_depths([queue]) == {queue: 3}


def test_a_purge_keeps_the_removed_tasks_ids_on_redis_and_none_on_rabbitmq(
    desk, sender, queues, broker_url, tmp_path
):
    queue, _ = queues
    ids = [sender.send_task("demo.add", args=[i, 1], queue=queue).id for i in range(4)]
    asked = {"confirm_name": queue, "previewed": 4}
    result = desk.perform(ADMIN, "purge", [queue], asked, "op-marks")
    assert result.outcome == "sent", result.message
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    marks = store.purge_marks(ids)
    store.close()
    if broker_url.startswith("redis"):
        assert sorted(marks) == sorted(ids)
        assert {(m.queue, m.user) for m in marks.values()} == {(queue, "ada")}
    else:  # queue.purge answers a count only: nothing to mark
        assert marks == {}
    assert desk.broker.queue_depths([queue]) == {queue: 0}
