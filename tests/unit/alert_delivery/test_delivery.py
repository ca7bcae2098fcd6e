"""The webhook outbox delivered to a real HTTP receiver from a real SQLite store: once, with the
exact JSON; retried with backoff when the receiver is down, answers 500 or hangs; given up
after 24 h; in order per alert; and the webhook's token never stored or logged."""

from __future__ import annotations

import itertools
import json
import logging

import pytest

from lib.alerts.delivery import BACKOFF_SECONDS, GIVE_UP_AFTER, Deliverer, backoff
from tests.live import wait_until
from tests.unit.alert_delivery.conftest import (
    QUEUED_AT,
    TOKEN,
    Receiver,
    free_port,
    hook_url,
    outbox,
    port_of,
    queue,
    receiving,
)


def deliverer(store, port: int, **kw) -> Deliverer:
    return Deliverer(store, "default", hook_url(port), clock=lambda: QUEUED_AT, **kw)


def test_a_queued_notification_is_posted_once_with_its_exact_json(store, receiver):
    change_id, text = queue(store)
    sender = deliverer(store, port_of(receiver))
    report = sender.deliver_due(QUEUED_AT + 1)
    again = sender.deliver_due(QUEUED_AT + 3600)
    assert (report.sent, again.handled) == (1, 0)
    [(method, path, body, headers)] = receiver.posts
    assert (method, path, body) == ("POST", f"/hooks/{TOKEN}", text.encode())
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == str(change_id)
    [row] = outbox(store)
    assert (row["status"], row["attempts"], row["sent_at"], row["last_error"]) == (
        "sent",
        1,
        QUEUED_AT + 1,
        None,
    )


def test_a_receiver_that_is_down_is_retried_with_backoff_and_gets_it_when_back(store, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3's debug lines print the path: the token
    port = free_port()
    queue(store)
    sender = deliverer(store, port)
    report = sender.deliver_due(QUEUED_AT)
    assert (report.retrying, report.sent) == (1, 0)
    [row] = outbox(store)
    assert (row["status"], row["attempts"], row["next_at"]) == ("queued", 1, QUEUED_AT + 10)
    assert row["last_error"] == "the webhook refused the connection (nothing listening there?)"
    with receiving(Receiver(), port) as back:
        assert sender.deliver_due(QUEUED_AT + 9).handled == 0  # still backing off
        assert sender.deliver_due(QUEUED_AT + 10).sent == 1
    assert len(back.posts) == 1
    [row] = outbox(store)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert TOKEN not in json.dumps(outbox(store)) and TOKEN not in caplog.text
    assert "refused the connection" in caplog.text  # said, in plain words


def test_a_500_is_retried_and_recorded_in_plain_words(store, receiver):
    receiver.status = 503
    queue(store)
    sender = deliverer(store, port_of(receiver))
    times = [QUEUED_AT]
    for _ in range(3):
        sender.deliver_due(times[-1])
        times.append(outbox(store)[0]["next_at"])
    assert [b - a for a, b in itertools.pairwise(times)] == [10.0, 30.0, 60.0]
    [row] = outbox(store)
    assert (row["status"], row["attempts"]) == ("queued", 3)
    assert row["last_error"] == "the webhook answered 503 (Service Unavailable)"
    receiver.status = 204
    assert sender.deliver_due(times[-1]).sent == 1
    assert len(receiver.posts) == 4


def test_a_redirect_is_not_followed_and_says_to_check_the_url(store, receiver):
    receiver.status = 301
    queue(store)
    deliverer(store, port_of(receiver)).deliver_due(QUEUED_AT)
    assert "301 (Moved Permanently), a redirect, not followed" in outbox(store)[0]["last_error"]


def test_the_backoff_grows_then_stays_at_half_an_hour():
    assert [backoff(n) for n in range(1, 10)] == [*BACKOFF_SECONDS, 1800.0, 1800.0]


def test_after_24_hours_of_failures_the_notification_is_given_up_and_says_so(store, receiver):
    receiver.status = 500
    queue(store)
    sender = deliverer(store, port_of(receiver))
    sender.deliver_due(QUEUED_AT + GIVE_UP_AFTER - 5)  # a late first try: its retry at the deadline
    [row] = outbox(store)
    assert (row["status"], row["next_at"]) == ("queued", QUEUED_AT + GIVE_UP_AFTER)
    report = sender.deliver_due(row["next_at"])  # the last try, at the deadline
    assert report.gave_up == 1
    [row] = outbox(store)
    assert row["status"] == "gave_up"
    assert row["last_error"] == (
        "the webhook answered 500 (Internal Server Error); "
        "gave up: not delivered within 24 h (2 attempts)"
    )
    receiver.status = 200
    assert sender.deliver_due(QUEUED_AT + 2 * GIVE_UP_AFTER).handled == 0
    assert len(receiver.posts) == 2


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("{not json", "not sent: its payload is not valid JSON (Expecting property name"),
        ('["a list"]', "not sent: its payload is a JSON list, not an object"),
    ],
    ids=["broken", "not-an-object"],
)
def test_an_unreadable_payload_is_given_up_with_why_and_the_rest_still_go(
    store, receiver, body, why
):
    queue(store, subject="w1", body=body)
    _, good = queue(store, subject="w2")
    report = deliverer(store, port_of(receiver)).deliver_due(QUEUED_AT)
    assert (report.gave_up, report.sent) == (1, 1)
    broken, sent = outbox(store)
    assert broken["status"] == "gave_up" and broken["last_error"].startswith(why)
    assert sent["status"] == "sent"
    assert [p[2] for p in receiver.posts] == [good.encode()]


def test_a_resolved_never_overtakes_its_firing(store, receiver):
    receiver.status = 500
    queue(store, subject="w1", state="firing")
    queue(store, subject="w1", state="resolved", at=QUEUED_AT + 1)
    queue(store, subject="w2", state="firing", at=QUEUED_AT + 2)
    sender = deliverer(store, port_of(receiver))
    sender.deliver_due(QUEUED_AT + 5)  # w1's firing fails: the round ends
    receiver.status = 200
    sender.deliver_due(QUEUED_AT + 6)  # w1's firing backs off; w1's resolved must wait
    assert [(b["subject"], b["state"]) for b in receiver.bodies()] == [
        ("w1", "firing"),
        ("w2", "firing"),
    ]
    sender.deliver_due(QUEUED_AT + 15)
    assert [(b["subject"], b["state"]) for b in receiver.bodies()[2:]] == [
        ("w1", "firing"),
        ("w1", "resolved"),
    ]
    assert {r["status"] for r in outbox(store)} == {"sent"}


def test_a_round_takes_at_most_a_batch_and_the_thread_sends_the_rest(store, receiver):
    for i in range(7):
        queue(store, subject=f"w{i}")
    sender = deliverer(store, port_of(receiver), batch=3)
    assert sender.deliver_due(QUEUED_AT).sent == 3
    with_thread = sender.start()
    try:
        wait_until(lambda: len(receiver.posts) == 7, "the backlog sent by the thread", 10, 0.02)
    finally:
        assert with_thread.stop()
    assert {r["status"] for r in outbox(store)} == {"sent"}


def test_a_hung_receiver_times_out_is_recorded_and_the_thread_still_stops(store, receiver):
    receiver.status = "hang"
    queue(store)
    sender = deliverer(store, port_of(receiver), timeout=0.3).start()
    try:
        wait_until(lambda: outbox(store)[0]["attempts"] == 1, "a timed-out attempt", 10, 0.02)
        wait_until(lambda: len(receiver.posts) >= 1, "the POST reached the receiver", 10, 0.02)
    finally:
        stopped = sender.stop()
    assert stopped
    [row] = outbox(store)
    assert row["last_error"] == "the webhook did not answer within 0.3 s"
    assert row["status"] == "queued"


def test_stop_ends_the_thread_while_a_post_hangs(store, receiver):
    receiver.status = "hang"
    queue(store)
    sender = deliverer(store, port_of(receiver), timeout=0.5).start()
    wait_until(lambda: receiver.posts, "a POST in flight", 10, 0.02)
    assert sender.stop()  # within one request's timeout and its margin
