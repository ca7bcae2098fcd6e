"""What the Alerts page is given of the outbox (``outbox_summary``), from a real store after
real deliveries: counts by status, the last success, the last error, the next attempt."""

from __future__ import annotations

from lib.alerts.delivery import GIVE_UP_AFTER, Deliverer
from lib.alerts.outbox import outbox_summary
from tests.unit.alert_delivery.conftest import (
    QUEUED_AT,
    TOKEN,
    hook_url,
    port_of,
    queue,
)


def test_an_empty_outbox_says_nothing_was_sent(shared_store):
    summary = outbox_summary(shared_store, "default", QUEUED_AT)
    assert (summary.queued, summary.sent, summary.gave_up) == (0, 0, 0)
    assert summary.sentence() == "No notification sent yet."


def test_sent_waiting_and_given_up_are_counted_and_said(shared_store, receiver):
    sender = Deliverer(shared_store, "default", hook_url(port_of(receiver)))
    queue(shared_store, subject="w1")
    queue(shared_store, subject="w2")
    sender.deliver_due(QUEUED_AT)  # both sent
    receiver.status = 503
    queue(shared_store, subject="w3", at=QUEUED_AT - GIVE_UP_AFTER)  # a day old: its last try
    queue(shared_store, subject="w4", at=QUEUED_AT + 50)
    sender.deliver_due(QUEUED_AT + 60)  # w3 given up; the round ends
    sender.deliver_due(QUEUED_AT + 61)  # w4 fails: retried at +71
    summary = outbox_summary(shared_store, "default", QUEUED_AT + 66)
    assert (summary.queued, summary.sent, summary.gave_up) == (1, 2, 1)
    assert (summary.last_sent_at, summary.next_at) == (QUEUED_AT, QUEUED_AT + 71)
    assert summary.last_error == "the webhook answered 503 (Service Unavailable)"
    assert summary.sentence() == (
        "2 notifications sent, the last 1 min 6 s ago. "
        "1 waiting: next attempt in 5 s (20:27:51 UTC). "
        "Last error: the webhook answered 503 (Service Unavailable). "
        "1 notification given up (not delivered within 24 h)."
    )
    assert TOKEN not in summary.sentence()


def test_without_a_webhook_the_waiting_notifications_are_said(shared_store):
    queue(shared_store)
    summary = outbox_summary(shared_store, "default", QUEUED_AT)
    assert summary.sentence(webhook_set=False) == (
        "No webhook is set (OPS_ALERT_WEBHOOK): alerts are not sent anywhere. "
        "1 notification waits in the outbox until one is set."
    )
