"""The outbox between consoles and across restarts, on SQLite and PostgreSQL: a claim is taken
once; two deliverers on one store send each row once; a restarted deliverer neither re-sends a
sent row nor loses a queued one; a claimant that died leaves its row due after the lease."""

from __future__ import annotations

import threading

from lib.alerts.delivery import LEASE_MARGIN, Deliverer
from lib.store import Store
from lib.store.alert_outbox import claim, due_rows, record_attempt
from tests.unit.alert_delivery.conftest import (
    QUEUED_AT,
    Receiver,
    free_port,
    hook_url,
    outbox,
    port_of,
    queue,
    receiving,
)


def test_a_row_read_by_two_is_claimed_by_one(shared_store):
    queue(shared_store)
    [seen_by_a] = due_rows(shared_store.engine, "default", QUEUED_AT, 10)
    [seen_by_b] = due_rows(shared_store.engine, "default", QUEUED_AT, 10)
    assert claim(shared_store.engine, seen_by_a, QUEUED_AT + 60)
    assert not claim(shared_store.engine, seen_by_b, QUEUED_AT + 60)
    assert due_rows(shared_store.engine, "default", QUEUED_AT + 59, 10) == []
    # Only the claimant records; a lease that is not the row's records nothing.
    assert not record_attempt(shared_store.engine, seen_by_a.id, QUEUED_AT + 1, "sent", QUEUED_AT)
    assert record_attempt(shared_store.engine, seen_by_a.id, QUEUED_AT + 60, "sent", QUEUED_AT)
    assert outbox(shared_store)[0]["status"] == "sent"


def test_two_deliverers_on_one_store_send_each_row_once(shared_store, receiver):
    sent = [queue(shared_store, subject=f"w{i}")[0] for i in range(12)]
    second = Store(shared_store.url)  # another console's Store on the same database
    url = hook_url(port_of(receiver))
    senders = [Deliverer(s, "default", url, batch=50) for s in (shared_store, second)]
    start = threading.Barrier(2)
    reports = []

    def run(sender: Deliverer) -> None:
        start.wait(10)
        reports.append(sender.deliver_due(QUEUED_AT))

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    keys = sorted(int(headers["Idempotency-Key"]) for *_, headers in receiver.posts)
    assert keys == sorted(sent)
    assert sum(r.sent for r in reports) == 12
    assert {r["status"] for r in outbox(shared_store)} == {"sent"}


def test_a_restart_mid_retry_neither_resends_nor_loses(shared_store):
    port = free_port()
    queue(shared_store, subject="w1")
    queue(shared_store, subject="w2", at=QUEUED_AT + 1)
    first = Deliverer(shared_store, "default", hook_url(port))
    assert first.deliver_due(QUEUED_AT + 1).retrying == 1  # down: w1 retried, w2 untried
    with receiving(Receiver(), port) as back:
        restarted = Deliverer(Store(shared_store.url), "default", hook_url(port))
        assert restarted.deliver_due(QUEUED_AT + 11).sent == 2
        assert restarted.deliver_due(QUEUED_AT + 7200).handled == 0
        again = Deliverer(Store(shared_store.url), "default", hook_url(port))
        assert again.deliver_due(QUEUED_AT + 7200).handled == 0
    assert [b["subject"] for b in back.bodies()] == ["w1", "w2"]
    assert [(r["status"], r["attempts"]) for r in outbox(shared_store)] == [
        ("sent", 2),
        ("sent", 1),
    ]


def test_a_claim_whose_console_died_is_delivered_after_its_lease(shared_store, receiver):
    queue(shared_store)
    [row] = due_rows(shared_store.engine, "default", QUEUED_AT, 10)
    lease = QUEUED_AT + 5 + LEASE_MARGIN
    assert claim(shared_store.engine, row, lease)  # ...and the claimant died before sending
    sender = Deliverer(shared_store, "default", hook_url(port_of(receiver)))
    assert sender.deliver_due(lease - 1).handled == 0
    assert sender.deliver_due(lease).sent == 1
    assert len(receiver.posts) == 1


def test_another_cluster_s_rows_are_left_to_its_deliverer(shared_store, receiver):
    queue(shared_store, cluster="other")
    sender = Deliverer(shared_store, "default", hook_url(port_of(receiver)))
    assert sender.deliver_due(QUEUED_AT).handled == 0
    assert outbox(shared_store)[0]["status"] == "queued"
